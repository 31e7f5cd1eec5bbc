/* handle.c - request routing and internal redirects. */
#include "http/handle.h"

#include <stddef.h>
#include <string.h>

#include "conf/module.h"
#include "core/log.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/route.h"
#include "http/uri.h"

#define HANDLE_MAX_REDIRECTS 10
#define HANDLE_MAX_HOOKS 32

/* Settings that depend on the location: nginx checks the body size once
 * the location is known. */
static int handle_location_checks(struct req *r)
{
    long max = r->loc->client_max_body_size;
    if (max > 0 && r->content_length > max) {
        conn_logf(r->c, LL_ERR, 0, "client intended to send too large body: %lld bytes",
                  (long long)r->content_length);
        return 413;
    }
    return 0;
}

/* The steps of a request after its server is found, nginx's phases.  The
 * server and location rewrite phases run the same hooks (a hook asks
 * handle_phase_is_server() which one it is in). */
enum handle_phase_id {
    HP_SERVER_REWRITE, /* the server's own level */
    HP_FIND,           /* choose the location; `internal`, client_max_body_size */
    HP_REWRITE,        /* the location's rewrite directives */
    HP_PREACCESS,      /* limit_req, limit_conn */
    HP_ACCESS,         /* allow/deny, auth_basic */
    HP_POST_ACCESS,    /* satisfy any: the refusal, if nothing granted access */
    HP_PRECONTENT,     /* try_files */
    HP_CONTENT,        /* the location's handler, or the content hooks */
    HP_END,            /* not a phase */
};

/* The hooks of each phase, in module order, gathered once: the modules
 * are fixed when the program is linked, and a request should not walk
 * every descriptor in every phase. */
static const size_t handle_phase_offsets[HP_END] = {
    [HP_SERVER_REWRITE] = offsetof(struct http_hooks, rewrite),
    [HP_REWRITE] = offsetof(struct http_hooks, rewrite),
    [HP_PREACCESS] = offsetof(struct http_hooks, preaccess),
    [HP_ACCESS] = offsetof(struct http_hooks, access),
    [HP_PRECONTENT] = offsetof(struct http_hooks, precontent),
    [HP_CONTENT] = offsetof(struct http_hooks, content),
};

static struct {
    phase_cb hooks[HP_END][HANDLE_MAX_HOOKS]; /* each phase's hooks */
    unsigned n[HP_END];                       /* how many */
    bool built;                               /* gathered */
} handle_phases;

static bool handle_has_hooks(unsigned ph)
{
    return ph != HP_FIND && ph != HP_POST_ACCESS;
}

static void handle_gather(void)
{
    for (size_t i = 0; i < nmodules; i++) {
        const struct http_hooks *h = modules[i]->http;
        for (unsigned ph = 0; h != NULL && ph < HP_END; ph++) {
            phase_cb hook;
            if (!handle_has_hooks(ph))
                continue;
            memcpy(&hook, (const char *)h + handle_phase_offsets[ph], sizeof(hook));
            if (hook != NULL && handle_phases.n[ph] < HANDLE_MAX_HOOKS)
                handle_phases.hooks[ph][handle_phases.n[ph]++] = hook;
        }
    }
    handle_phases.built = true;
}

bool handle_phase_is_server(const struct req *r)
{
    return r->phase == HP_SERVER_REWRITE;
}

/* Runs one phase's hooks from `from` until one takes the request or says
 * the phase is decided. */
static enum phase_rc handle_hooks(struct req *r, unsigned ph, unsigned from)
{
    for (unsigned i = from; i < handle_phases.n[ph]; i++) {
        r->phase_hook = (uint8_t)i;
        enum phase_rc rc = handle_phases.hooks[ph][i](r);
        if (rc != PHASE_DECLINED)
            return rc;
    }
    return PHASE_DECLINED;
}

static void handle_find_location(struct req *r)
{
    const struct loc_conf *loc = route_location(r->srv, r->path, &r->captures);
    r->loc = loc != NULL ? loc : r->srv->loc;
}

/* nginx's find-config phase: an `internal` location is not there for a
 * client's own request, and the body size is checked once the location
 * is known.  Returns -1 when it answered. */
static int handle_find(struct req *r)
{
    handle_find_location(r);
    if (r->loc->internal && !r->internal) {
        resp_error(r, 404);
        return -1;
    }
    int status = handle_location_checks(r);
    if (status != 0) {
        r->keepalive = false;
        resp_error(r, status);
        return -1;
    }
    return 0;
}

/* A step that is not a list of hooks (and the access phase's start, from
 * its first hook); returns -1 when it answered. */
static int handle_step(struct req *r, unsigned ph, unsigned from)
{
    if (ph == HP_FIND)
        return handle_find(r);
    if (ph == HP_ACCESS && from == 0)
        r->access_code = 0; /* a refusal of an earlier location is not this one's */
    if (ph == HP_POST_ACCESS && r->access_code != 0) {
        if (r->access_code == 403) /* nginx says it here under satisfy any */
            conn_logf(r->c, LL_ERR, 0, "access forbidden by rule");
        resp_error(r, r->access_code);
        return -1;
    }
    return 0;
}

/* Runs the phases from `ph` (its hooks from `from`) until one answers. */
static void handle_run(struct req *r, unsigned ph, unsigned from)
{
    for (; ph < HP_END; ph++, from = 0) {
        r->phase = (uint8_t)ph;
        if (handle_step(r, ph, from) < 0)
            return;
        if (ph == HP_CONTENT && r->loc->content != NULL) {
            r->loc->content(r);
            return;
        }
        if (handle_has_hooks(ph) && handle_hooks(r, ph, from) == PHASE_TAKEN)
            return;
    }
    resp_error(r, 404); /* no content hook answered */
}

void handle_resume(struct req *r, enum phase_rc rc)
{
    if (rc == PHASE_DONE)
        handle_run(r, r->phase + 1u, 0);
    else
        handle_run(r, r->phase, r->phase_hook + 1u);
}

void handle_request(struct req *r)
{
    if (!handle_phases.built)
        handle_gather();
    r->srv = route_server(r->c->addr, r->host);
    r->loc = r->srv->loc;
    handle_run(r, HP_SERVER_REWRITE, 0);
}

static int handle_cycle(struct req *r, struct str uri)
{
    if (++r->redirects <= HANDLE_MAX_REDIRECTS)
        return 0;
    conn_logf(r->c, LL_ERR, 0,
              "rewrite or internal redirection cycle while internally redirecting to \"%.*s\"",
              (int)uri.len, uri.p);
    r->error_page_used = true;
    resp_error(r, 500);
    return -1;
}

static void handle_named(struct req *r, struct str name)
{
    const struct loc_conf *loc = route_named(r->srv, name);
    if (loc == NULL) {
        conn_logf(r->c, LL_ERR, 0, "could not find named location \"%.*s\"", (int)name.len, name.p);
        r->error_page_used = true;
        resp_error(r, 500);
        return;
    }
    r->loc = loc;
    r->internal = true;
    handle_run(r, HP_REWRITE, 0);
}

/* An internal redirect starts the response's headers afresh, except for
 * an auth_basic challenge: nginx keeps it, so that `error_page 401` pages
 * still make browsers ask for a password. */
static void handle_keep_challenge(struct req *r)
{
    struct resp_hdr *h = r->out_hdrs;
    r->out_hdrs = NULL;
    r->out_tail = &r->out_hdrs;
    for (; h != NULL; h = h->next) {
        if (str_case_eq(h->name, "WWW-Authenticate")) {
            h->next = NULL;
            *r->out_tail = h;
            r->out_tail = &h->next;
            return;
        }
    }
}

/* What an internal redirect resets: the new target decides again, and
 * every module starts afresh (nginx). */
static int handle_restart(struct req *r, struct str uri)
{
    if (handle_cycle(r, uri) < 0)
        return -1;
    handle_keep_challenge(r);
    r->head_filtered = false; /* the new target's head filters run */
    r->gzip_done = r->gzip_vary = false;
    r->ctx = NULL;
    return 0;
}

void handle_redirect(struct req *r, struct str uri)
{
    struct uri_parts parts;
    if (handle_restart(r, uri) < 0)
        return;
    if (uri.len > 0 && uri.p[0] == '@') {
        handle_named(r, uri);
        return;
    }
    bool merge = http_extra(r->srv->loc)->merge_slashes;
    if (uri_split(uri, &parts) < 0 || uri_normalize(&r->pool, parts.path, merge, &r->path) < 0) {
        r->error_page_used = true;
        resp_error(r, 500);
        return;
    }
    r->args = parts.args; /* nginx: the new URI's arguments, or none */
    r->internal = true;
    handle_find_location(r);
    handle_run(r, HP_REWRITE, 0);
}

void handle_relocate(struct req *r)
{
    if (++r->redirects > HANDLE_MAX_REDIRECTS) {
        conn_logf(r->c, LL_ERR, 0,
                  "rewrite or internal redirection cycle while processing \"%.*s\"",
                  (int)r->path.len, r->path.p);
        r->error_page_used = true;
        resp_error(r, 500);
        return;
    }
    r->internal = true;
    handle_run(r, HP_FIND, 0);
}

void handle_redirect_path(struct req *r, struct str path, struct str args)
{
    if (handle_restart(r, path) < 0)
        return;
    r->path = path;
    r->args = args;
    r->internal = true;
    handle_find_location(r);
    handle_run(r, HP_REWRITE, 0);
}

void handle_error_page(struct req *r, const struct error_page *e, int status)
{
    struct str uri;
    r->error_page_used = true;
    if (cval_eval(&e->uri, r, &uri) < 0) {
        resp_error(r, 500);
        return;
    }
    /* nginx decides in the location of the first error: with
     * recursive_error_pages, the page's own error may find an error_page
     * too, until the limit of internal redirects gives 500. */
    r->error_page_used = !http_extra(r->loc)->recursive_error_pages;
    /* nginx: a URI or @name is an internal redirect whatever the code;
     * anything else goes to the client as a redirect (302 unless =3xx). */
    if (uri.len > 0 && (uri.p[0] == '/' || uri.p[0] == '@')) {
        r->err_status = status;
        r->status_override = e->overwrite;
        if (r->method != HTTP_HEAD)
            r->method = HTTP_GET;
        handle_redirect(r, uri);
        return;
    }
    bool redirect_code = e->overwrite >= 301 && e->overwrite <= 308 && e->overwrite != 304 &&
                         e->overwrite != 305 && e->overwrite != 306;
    req_reset_headers(r);
    req_add_header(r, STR_LIT("Location"), uri);
    resp_error(r, redirect_code ? e->overwrite : 302);
}

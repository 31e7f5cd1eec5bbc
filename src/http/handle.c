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

/* The hooks of each phase, in module order, gathered once: the modules
 * are fixed when the program is linked, and a request should not walk
 * every descriptor in every phase. */
enum handle_phase_id { HP_REWRITE, HP_ACCESS, HP_PRECONTENT, HP_CONTENT, HP_COUNT };

static const size_t handle_phase_offsets[HP_COUNT] = {
    offsetof(struct http_hooks, rewrite),
    offsetof(struct http_hooks, access),
    offsetof(struct http_hooks, precontent),
    offsetof(struct http_hooks, content),
};

static struct {
    phase_cb hooks[HP_COUNT][HANDLE_MAX_HOOKS]; /* each phase's hooks */
    unsigned n[HP_COUNT];                       /* how many */
    bool built;                                 /* gathered */
} handle_phases;

static void handle_gather(void)
{
    for (size_t i = 0; i < nmodules; i++) {
        const struct http_hooks *h = modules[i]->http;
        for (unsigned ph = 0; h != NULL && ph < HP_COUNT; ph++) {
            phase_cb hook;
            memcpy(&hook, (const char *)h + handle_phase_offsets[ph], sizeof(hook));
            if (hook != NULL && handle_phases.n[ph] < HANDLE_MAX_HOOKS)
                handle_phases.hooks[ph][handle_phases.n[ph]++] = hook;
        }
    }
    handle_phases.built = true;
}

/* Runs one phase until a hook takes the request; returns whether one did. */
static bool handle_phase(struct req *r, enum handle_phase_id ph)
{
    for (unsigned i = 0; i < handle_phases.n[ph]; i++)
        if (handle_phases.hooks[ph][i](r) == PHASE_TAKEN)
            return true;
    return false;
}

/* The phases from the location's rewrite on, as nginx runs them after a
 * location is found (and after an internal redirect). */
static void handle_content(struct req *r)
{
    if (handle_phase(r, HP_REWRITE) || handle_phase(r, HP_ACCESS) || handle_phase(r, HP_PRECONTENT))
        return;
    if (r->loc->content != NULL) {
        r->loc->content(r);
        return;
    }
    if (!handle_phase(r, HP_CONTENT))
        resp_error(r, 404);
}

void handle_resume(struct req *r)
{
    handle_content(r);
}

static void handle_find_location(struct req *r)
{
    const struct loc_conf *loc = route_location(r->srv, r->path, &r->captures);
    r->loc = loc != NULL ? loc : r->srv->loc;
}

void handle_request(struct req *r)
{
    if (!handle_phases.built)
        handle_gather();
    r->srv = route_server(r->c->addr, r->host);
    r->loc = r->srv->loc;
    /* The server's own rewrite directives run before any location is
     * chosen. */
    if (handle_phase(r, HP_REWRITE))
        return;
    handle_find_location(r);
    int status = handle_location_checks(r);
    if (status != 0) {
        r->keepalive = false;
        resp_error(r, status);
        return;
    }
    handle_content(r);
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
    handle_content(r);
}

/* What an internal redirect resets: the new target decides again, and
 * every module starts afresh (nginx). */
static int handle_restart(struct req *r, struct str uri)
{
    if (handle_cycle(r, uri) < 0)
        return -1;
    req_reset_headers(r);
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
    handle_find_location(r);
    handle_content(r);
}

void handle_redirect_path(struct req *r, struct str path, struct str args)
{
    if (handle_restart(r, path) < 0)
        return;
    r->path = path;
    r->args = args;
    handle_find_location(r);
    handle_content(r);
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

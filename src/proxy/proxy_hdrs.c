/* proxy_hdrs.c - the upstream response's headers as the client gets them:
 * hop-by-hop and framing headers dropped, nginx's hidden ones hidden
 * (proxy_hide_header, proxy_pass_header), Location and Refresh rewritten
 * (proxy_redirect). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "http/resp.h"
#include "proxy/proxy_int.h"

/* nginx hides these unless proxy_pass_header names them (Date and Server
 * are then the upstream's, not turnpike's). */
static const struct str proxy_hidden[] = {
    STR_LIT("date"),
    STR_LIT("server"),
    STR_LIT("x-pad"),
    STR_LIT("x-accel-expires"),
    STR_LIT("x-accel-redirect"),
    STR_LIT("x-accel-limit-rate"),
    STR_LIT("x-accel-buffering"),
    STR_LIT("x-accel-charset"),
};

const struct str *proxy_hdr_find(const struct proxy_hdr *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (str_case_eq(h[i].name, name))
            return &h[i].value;
    return NULL;
}

static bool proxy_listed(const struct str *list, size_t n, struct str name)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].len == name.len && strncasecmp(list[i].p, name.p, name.len) == 0)
            return true;
    return false;
}

static bool proxy_hidden_default(struct str name)
{
    return proxy_listed(proxy_hidden, sizeof(proxy_hidden) / sizeof(proxy_hidden[0]), name);
}

static bool proxy_is_hidden(const struct proxy_loc *pl, struct str name)
{
    if (proxy_listed(pl->hide, pl->nhide, name))
        return true;
    return proxy_hidden_default(name) && !proxy_listed(pl->show, pl->nshow, name);
}

/* ---- proxy_redirect -------------------------------------------------------------- */

/* The rules that apply: the level's (or inherited) list, else nginx's
 * default for this location's proxy_pass. */
static const struct proxy_redirect *proxy_rules(const struct proxy_loc *pl, size_t *n)
{
    *n = 0;
    if (!pl->redirect)
        return NULL;
    if (pl->nredirects > 0) {
        *n = pl->nredirects;
        return pl->redirects;
    }
    if (pl->pass == NULL || pl->pass->vars)
        return NULL;
    *n = 1;
    return &pl->pass->dflt;
}

static int proxy_join3(struct req *r, struct str a, struct str b, struct str c, struct str *out)
{
    char *s = mpool_alloc(&r->pool, a.len + b.len + c.len + 1);
    if (s == NULL)
        return -1;
    memcpy(s, a.p, a.len);
    memcpy(s + a.len, b.p, b.len);
    memcpy(s + a.len + b.len, c.p, c.len);
    *out = str_make(s, a.len + b.len + c.len);
    return 0;
}

/* A regex rule: the whole URL is replaced, $1.. from its captures. */
static int proxy_redirect_regex(struct req *r, const struct proxy_redirect *rd, struct str url,
                                struct str *to)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(rd->regex, NULL);
    if (md == NULL)
        return -1;
    int rc = pcre2_match(rd->regex, (PCRE2_SPTR)url.p, url.len, 0, 0, md, NULL);
    if (rc <= 0) {
        pcre2_match_data_free(md);
        return 0;
    }
    struct route_captures saved = r->captures;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int n = rc < ROUTE_MAX_CAPTURES ? rc : ROUTE_MAX_CAPTURES;
    r->captures.subject = url.p;
    r->captures.n = n;
    for (int i = 0; i < 2 * n; i++)
        r->captures.ovector[i] = ov[i];
    int ev = cval_eval(&rd->to, r, to);
    r->captures = saved;
    pcre2_match_data_free(md);
    return ev < 0 ? -1 : 1;
}

/* 1 when a rule rewrote url (the part of v from at on) into *out. */
static int proxy_redirect_one(struct req *r, const struct proxy_redirect *rd, struct str v,
                              size_t at, struct str *out)
{
    struct str url = str_make(v.p + at, v.len - at), from, to;
    if (rd->regex != NULL) {
        int rc = proxy_redirect_regex(r, rd, url, &to);
        if (rc <= 0)
            return rc;
        return proxy_join3(r, str_make(v.p, at), to, STR_LIT(""), out) < 0 ? -1 : 1;
    }
    if (cval_eval(&rd->from, r, &from) < 0)
        return -1;
    if (from.len > url.len || memcmp(url.p, from.p, from.len) != 0)
        return 0;
    if (cval_eval(&rd->to, r, &to) < 0)
        return -1;
    struct str rest = str_make(url.p + from.len, url.len - from.len);
    return proxy_join3(r, str_make(v.p, at), to, rest, out) < 0 ? -1 : 1;
}

/* The first rule that matches rewrites the URL in v starting at at. */
static int proxy_redirect(struct proxy_ctx *ctx, struct str v, size_t at, struct str *out)
{
    size_t n;
    const struct proxy_redirect *rules = proxy_rules(ctx->pl, &n);
    *out = v;
    for (size_t i = 0; i < n; i++) {
        int rc = proxy_redirect_one(ctx->r, &rules[i], v, at, out);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    return 0;
}

/* Refresh: "5; url=http://..." has its URL after "url=". */
static size_t proxy_refresh_url(struct str v)
{
    for (size_t i = 0; i + 4 <= v.len; i++)
        if (strncasecmp(v.p + i, "url=", 4) == 0)
            return i + 4;
    return v.len;
}

/* Location after proxy_redirect, made absolute as nginx's header filter
 * makes any relative one (absolute_redirect). */
static int proxy_location(struct proxy_ctx *ctx, struct str v, struct str *out)
{
    if (proxy_redirect(ctx, v, 0, out) < 0)
        return -1;
    *out = resp_absolute(ctx->r, *out);
    return 0;
}

/* ---- the headers -------------------------------------------------------------- */

static bool proxy_is_connection(struct str name)
{
    return name.len == 10 && strncasecmp(name.p, "connection", 10) == 0;
}

/* Whether the upstream's Connection headers list any name beyond
 * keep-alive, close and upgrade (dropped anyway): only then is every
 * header compared with them. */
static bool proxy_conn_names(const struct proxy_hdr *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!proxy_is_connection(h[i].name))
            continue;
        const char *s = h[i].value.p, *end = s + h[i].value.len;
        while (s < end) {
            const char *comma = memchr(s, ',', (size_t)(end - s));
            const char *stop = comma ? comma : end;
            struct str t = str_trim(str_make(s, (size_t)(stop - s)));
            if (t.len > 0 && !str_case_eq(t, "keep-alive") && !str_case_eq(t, "close") &&
                !str_case_eq(t, "upgrade"))
                return true;
            s = stop + 1;
        }
    }
    return false;
}

/* Not the client's: framing and hop-by-hop headers (Upgrade passes only
 * with a 101), and what the upstream's Connection header lists. */
static bool proxy_dropped(const struct proxy_hdr *h, size_t n, struct str name, bool upgrade,
                          bool conn_names)
{
    if (str_case_eq(name, "content-length") || proxy_hop_by_hop(name))
        return true;
    if (str_case_eq(name, "upgrade"))
        return !upgrade;
    for (size_t i = 0; conn_names && i < n; i++)
        if (proxy_is_connection(h[i].name) && proxy_conn_lists(h[i].value, name))
            return true;
    return false;
}

static int proxy_hdr_value(struct proxy_ctx *ctx, const struct proxy_hdr *h, struct str *v)
{
    *v = h->value;
    if (str_case_eq(h->name, "location"))
        return proxy_location(ctx, h->value, v);
    if (str_case_eq(h->name, "refresh"))
        return proxy_redirect(ctx, h->value, proxy_refresh_url(h->value), v);
    return 0;
}

static int proxy_hdr_one(struct proxy_ctx *ctx, const struct proxy_hdr *all, size_t n,
                         const struct proxy_hdr *h, bool upgrade, bool conn_names)
{
    struct req *r = ctx->r;
    struct str v;
    if (proxy_dropped(all, n, h->name, upgrade, conn_names) || proxy_is_hidden(ctx->pl, h->name))
        return 0;
    if (str_case_eq(h->name, "content-type") && r->content_type.len == 0) {
        r->content_type = h->value;
        return 0;
    }
    r->own_server |= str_case_eq(h->name, "server");
    r->own_date |= str_case_eq(h->name, "date");
    if (proxy_hdr_value(ctx, h, &v) < 0)
        return -1;
    return req_add_header(r, h->name, v);
}

int proxy_hdrs_out(struct proxy_ctx *ctx, const struct proxy_hdr *h, size_t n, bool upgrade)
{
    struct req *r = ctx->r;
    r->content_type = STR_LIT("");
    r->last_modified = -1;
    bool conn_names = proxy_conn_names(h, n);
    for (size_t i = 0; i < n; i++)
        if (proxy_hdr_one(ctx, h, n, &h[i], upgrade, conn_names) < 0)
            return -1;
    return 0;
}

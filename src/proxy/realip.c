/* realip.c - set_real_ip_from, real_ip_header, real_ip_recursive. */
#include "proxy/realip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "event/pp_wait.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/vars.h"

/* ---- addresses ---------------------------------------------------------------- */

static bool realip_trusted(const struct realip_loc *rl, const union sockaddr_any *a)
{
    return cidr_list_match(rl->from, rl->nfrom, a);
}

static int realip_port(const char *p, size_t len, unsigned *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    *port = (unsigned)v;
    return v <= 65535 ? 0 : -1;
}

int realip_parse_addr(const char *p, size_t len, union sockaddr_any *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    unsigned port = 0;
    const char *end = p + len, *colon = memchr(p, ':', len);
    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (close == NULL ||
            (close + 1 < end &&
             (close[1] != ':' || realip_port(close + 2, (size_t)(end - close - 2), &port) < 0)))
            return -1;
        p++;
        len = (size_t)(close - p);
    } else if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL) {
        if (realip_port(colon + 1, (size_t)(end - colon - 1), &port) < 0)
            return -1;
        len = (size_t)(colon - p);
    }
    if (len == 0 || len >= sizeof(host))
        return -1;
    memcpy(host, p, len);
    host[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, host, &out->sin.sin_addr) == 1) {
        out->sin.sin_family = AF_INET;
        out->sin.sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) != 1)
        return -1;
    out->sin6.sin6_family = AF_INET6;
    out->sin6.sin6_port = htons((uint16_t)port);
    return 0;
}

enum realip_rc { RIP_OK, RIP_DECLINED, RIP_DONE };

/* ngx_http_get_forwarded_addr_internal: the last address of the value
 * replaces a trusted *addr; recursively, so does the one before it while
 * the new one is trusted too. */
static enum realip_rc realip_one(const struct realip_loc *rl, union sockaddr_any *addr,
                                 const char *v, size_t len, bool recursive)
{
    union sockaddr_any found;
    if (!realip_trusted(rl, addr))
        return RIP_DECLINED;
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == ','))
        len--;
    size_t start = len;
    while (start > 0 && v[start - 1] != ' ' && v[start - 1] != ',')
        start--;
    if (realip_parse_addr(v + start, len - start, &found) < 0)
        return RIP_DECLINED;
    *addr = found;
    if (!recursive || start == 0)
        return RIP_OK;
    enum realip_rc rc = realip_one(rl, addr, v, start - 1, true);
    return rc == RIP_DECLINED ? RIP_DONE : rc;
}

bool realip_forwarded(const struct realip_loc *rl, union sockaddr_any *addr,
                      const struct str *values, size_t n)
{
    enum realip_rc rc = RIP_DECLINED;
    bool found = false;
    for (size_t i = n; i-- > 0;) {
        rc = realip_one(rl, addr, values[i].p, values[i].len, rl->recursive);
        if (!rl->recursive)
            break;
        if (rc == RIP_DECLINED && found) {
            rc = RIP_DONE;
            break;
        }
        if (rc != RIP_OK)
            break;
        found = true;
    }
    return rc != RIP_DECLINED;
}

/* ---- the request ------------------------------------------------------------------ */

/* What the connection's address was, given back when the request ends. */
struct realip_state {
    struct conn *c;          /* the connection */
    union sockaddr_any orig; /* its own address */
};

static void realip_restore(void *data)
{
    struct realip_state *st = data;
    st->c->peer = st->orig;
}

/* The applied state: the cleanup that restores it (an internal redirect
 * does not forget it, nor may the address be replaced twice). */
static const struct realip_state *realip_applied(const struct req *r)
{
    for (const struct req_cleanup *cl = r->cleanups; cl != NULL; cl = cl->next)
        if (cl->fn == realip_restore)
            return cl->data;
    return NULL;
}

/* The header's values: every X-Forwarded-For line, or the first of any
 * other header. */
static size_t realip_values(const struct req *r, const char *name, struct str *out, size_t cap)
{
    bool all = strcasecmp(name, "X-Forwarded-For") == 0;
    size_t n = 0;
    for (uint32_t i = 0; i < r->nhdrs && n < cap; i++) {
        if (!str_case_eq(r->hdrs[i].name, name))
            continue;
        out[n++] = r->hdrs[i].value;
        if (!all)
            break;
    }
    return n;
}

#define REALIP_MAX_LINES 16

/* `real_ip_header proxy_protocol`: the PROXY header's source, when the
 * balancer that sent it (the connection's peer) is trusted; LOCAL and
 * UNKNOWN headers carry none. */
static bool realip_from_pp(const struct realip_loc *rl, const struct conn *c,
                           union sockaddr_any *addr)
{
    if (c->pp == NULL || c->pp->info.local || !realip_trusted(rl, &c->peer))
        return false;
    *addr = c->pp->info.src;
    return true;
}

static enum phase_rc realip_phase(struct req *r)
{
    const struct realip_loc *rl = loc_part(r->loc, &mod_realip);
    struct str values[REALIP_MAX_LINES];
    if (rl->nfrom == 0 || realip_applied(r) != NULL)
        return PHASE_DECLINED;
    union sockaddr_any addr = r->c->peer;
    if (strcmp(rl->header, "proxy_protocol") == 0) {
        if (!realip_from_pp(rl, r->c, &addr))
            return PHASE_DECLINED;
    } else {
        size_t n = realip_values(r, rl->header, values, REALIP_MAX_LINES);
        if (n == 0 || !realip_forwarded(rl, &addr, values, n))
            return PHASE_DECLINED;
    }
    struct realip_state *st = mpool_alloc(&r->pool, sizeof(*st));
    if (st == NULL || req_cleanup_add(r, realip_restore, st) < 0)
        return PHASE_DECLINED; /* out of memory: the connection's address stays */
    st->c = r->c;
    st->orig = r->c->peer;
    r->c->peer = addr;
    return PHASE_DECLINED;
}

/* ---- variables ----------------------------------------------------------------------- */

static const union sockaddr_any *realip_orig(const struct req *r)
{
    const struct realip_state *st = realip_applied(r);
    return st != NULL ? &st->orig : &r->c->peer;
}

static void var_realip_remote_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[64];
    size_t n = sockaddr_text(realip_orig(r), false, buf, sizeof(buf));
    char *s = mpool_strndup(&r->pool, buf, n);
    (void)p;
    *out = s != NULL ? str_make(s, n) : STR_LIT("");
}

static void var_realip_remote_port(struct req *r, const struct cval_part *p, struct str *out)
{
    char *s = mpool_printf(&r->pool, "%u", sockaddr_port(realip_orig(r)));
    (void)p;
    *out = s != NULL ? str_make(s, strlen(s)) : STR_LIT("");
}

static const struct var_def realip_vars[] = {
    {"realip_remote_addr", false, var_realip_remote_addr},
    {"realip_remote_port", false, var_realip_remote_port},
};

/* ---- directives ------------------------------------------------------------------------ */

static int realip_set_from(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct realip_loc *rl = cl->part(cl, &mod_realip);
    (void)cmd;
    return conf_cidr_trust(cl, n, &rl->from, &rl->nfrom);
}

static int realip_set_header(struct conf_loader *cl, const struct conf_node *n,
                             const struct conf_cmd *cmd)
{
    struct realip_loc *rl = cl->part(cl, &mod_realip);
    if (rl->header != NULL)
        return conf_err_dup(cl, n, cmd);
    rl->header = mpool_strdup(cl->pool, n->args[1].s);
    return rl->header != NULL ? 0 : conf_err_nomem(cl, n);
}

static void realip_merge(const void *parent, void *child)
{
    const struct realip_loc *p = parent;
    struct realip_loc *c = child;
    if (c->nfrom == 0) {
        c->from = p->from;
        c->nfrom = p->nfrom;
    }
}

#define RL_F(f) CS_PART, offsetof(struct realip_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd realip_cmds[] = {
    {"set_real_ip_from", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, realip_set_from, NULL},
    {"real_ip_header", HSL, ARGS(1), CT_STR, RL_F(header), "X-Real-IP", realip_set_header, NULL},
    {"real_ip_recursive", HSL, ARGS(1), CT_FLAG, RL_F(recursive), "off", NULL, NULL},
};

static const struct http_hooks realip_hooks = {.rewrite = realip_phase};

struct module mod_realip = {
    .name = "http_realip",
    .cmds = realip_cmds,
    .ncmds = sizeof(realip_cmds) / sizeof(realip_cmds[0]),
    .part_size = sizeof(struct realip_loc),
    .part_merge = realip_merge,
    .http = &realip_hooks,
    .vars = realip_vars,
    .nvars = sizeof(realip_vars) / sizeof(realip_vars[0]),
};

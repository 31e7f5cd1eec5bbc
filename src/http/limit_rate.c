/* limit_rate.c - limit_rate and limit_rate_after (see limit_rate.h). */
#include "http/limit_rate.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/vars.h"

/* A size that may hold variables: computed at load when it has none. */
struct rate_value {
    struct cval cv; /* the value as written */
    long size;      /* its bytes when constant, else -1 */
};

/* The module's part of a level. */
struct rate_loc {
    struct rate_value *rate;  /* limit_rate, NULL until set */
    struct rate_value *after; /* limit_rate_after, NULL until set */
};

static const struct rate_loc *rate_of(const struct req *r)
{
    return loc_part(resp_loc(r), &mod_http_limit_rate);
}

/* nginx's ngx_http_complex_value_size: a value that is not a size counts
 * as 0, with an [error] line. */
static int64_t rate_size(struct req *r, const struct rate_value *v)
{
    struct str s;
    char buf[32];
    long n;
    if (v == NULL)
        return 0;
    if (v->size >= 0)
        return v->size;
    if (cval_eval(&v->cv, r, &s) < 0 || s.len >= sizeof(buf))
        return 0;
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    if (conf_parse_size(buf, &n) == 0)
        return n;
    conn_logf(r->c, LL_ERR, 0, "invalid size \"%.*s\"", (int)s.len, s.p);
    return 0;
}

/* Both values, once per response, as nginx's write filter takes them. */
static void rate_resolve(struct req *r)
{
    const struct rate_loc *rl = rate_of(r);
    if (!r->limit_rate_set) {
        r->limit_rate = rate_size(r, rl->rate);
        r->limit_rate_set = true;
    }
    if (r->limit_rate != 0 && !r->limit_rate_after_set) {
        r->limit_rate_after = rate_size(r, rl->after);
        r->limit_rate_after_set = true;
    }
}

/* nginx counts whole seconds since the request began, plus one; this
 * counts milliseconds, so the allowance grows smoothly. */
long rate_before(struct req *r, double now, size_t *room)
{
    rate_resolve(r);
    *room = 0;
    if (r->limit_rate == 0)
        return 0;
    int64_t ms = (int64_t)((now - r->start) * 1000.0);
    int64_t allowed = r->limit_rate * ((ms < 0 ? 0 : ms) + 1000) / 1000 -
                      ((int64_t)r->bytes_sent - r->limit_rate_after);
    if (allowed <= 0)
        return (long)(-allowed * 1000 / r->limit_rate + 1);
    *room = (size_t)allowed;
    return 0;
}

static int64_t rate_past(int64_t sent, int64_t after)
{
    return sent > after ? sent - after : 0;
}

long rate_after(const struct req *r, uint64_t before)
{
    if (r->limit_rate == 0)
        return 0;
    int64_t went = rate_past((int64_t)r->bytes_sent, r->limit_rate_after) -
                   rate_past((int64_t)before, r->limit_rate_after);
    return (long)(went * 1000 / r->limit_rate);
}

/* ---- $limit_rate ------------------------------------------------------------ */

static void var_limit_rate(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[24];
    (void)p;
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)r->limit_rate);
    char *v = mpool_strndup(&r->pool, buf, (size_t)n);
    *out = v != NULL ? str_make(v, (size_t)n) : STR_LIT("");
}

/* `set $limit_rate`: nginx's set handler. */
static void var_set_limit_rate(struct req *r, struct str v)
{
    char buf[32];
    long n;
    if (v.len < sizeof(buf)) {
        memcpy(buf, v.p, v.len);
        buf[v.len] = '\0';
        if (conf_parse_size(buf, &n) == 0) {
            r->limit_rate = n;
            r->limit_rate_set = true;
            return;
        }
    }
    conn_logf(r->c, LL_ERR, 0, "invalid $limit_rate \"%.*s\"", (int)v.len, v.p);
}

/* ---- configuration ------------------------------------------------------------ */

static int rate_set_value(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd, struct rate_value **out)
{
    struct rate_value *v;
    if (*out != NULL)
        return conf_err_dup(cl, n, cmd);
    if ((v = mpool_calloc(cl->pool, sizeof(*v))) == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], &v->cv) < 0)
        return -1;
    v->size = -1;
    if (!v->cv.has_vars && conf_parse_size(n->args[1].s, &v->size) < 0)
        return conf_err(cl, n, "\"%s\" directive invalid value", cmd->name); /* nginx's words */
    *out = v;
    return 0;
}

static int rate_set_rate(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct rate_loc *rl = cl->part(cl, &mod_http_limit_rate);
    return rate_set_value(cl, n, cmd, &rl->rate);
}

static int rate_set_after(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct rate_loc *rl = cl->part(cl, &mod_http_limit_rate);
    return rate_set_value(cl, n, cmd, &rl->after);
}

static void rate_merge(const void *from, void *to)
{
    const struct rate_loc *parent = from;
    struct rate_loc *child = to;
    if (child->rate == NULL)
        child->rate = parent->rate;
    if (child->after == NULL)
        child->after = parent->after;
}

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd rate_cmds[] = {
    {"limit_rate", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, rate_set_rate, NULL},
    {"limit_rate_after", HSL, ARGS(1), CT_CUSTOM, CS_MAIN, 0, NULL, rate_set_after, NULL},
};

static const struct var_def rate_vars[] = {
    {"limit_rate", false, var_limit_rate},
};

static const struct var_set rate_sets[] = {
    {"limit_rate", var_set_limit_rate},
};

struct module mod_http_limit_rate = {
    .name = "http_limit_rate",
    .cmds = rate_cmds,
    .ncmds = sizeof(rate_cmds) / sizeof(rate_cmds[0]),
    .part_size = sizeof(struct rate_loc),
    .part_merge = rate_merge,
    .vars = rate_vars,
    .nvars = sizeof(rate_vars) / sizeof(rate_vars[0]),
    .sets = rate_sets,
    .nsets = sizeof(rate_sets) / sizeof(rate_sets[0]),
};

/* limit_req_conf.c - the limit_req module's directives, its zones' kind
 * and its descriptor. */
#include <string.h>

#include "conf/conf_table.h"
#include "core/shm.h"
#include "handler/limit_req.h"
#include "handler/limit_zone.h"
#include "http/core_conf.h"
#include "http/phases.h"

/* An empty zone: the map of keys.  A node is about 80 bytes with a short
 * key; one bucket per 128 bytes of zone keeps chains short when full. */
static int lreq_zone_init(struct shm_zone *z)
{
    struct lreq_shared *sh = shm_alloc(z, sizeof(*sh));
    if (sh == NULL || (sh->map = shm_map_new(z, sizeof(struct lreq_node), 128)) == NULL)
        return -1;
    shm_set_root(z, sh);
    return 0;
}

static int lreq_reuse(const struct conf_shm *d, const char *old, char *err, size_t errlen)
{
    return limit_zone_reuse("limit_req", d, old, err, errlen);
}

const struct conf_shm_kind lreq_kind = {.shm = {"limit_req", lreq_zone_init}, .reuse = lreq_reuse};

/* ---- limit_req_zone ------------------------------------------------------------ */

/* One parameter of limit_req_zone: zone= or rate=. */
static int lreq_zone_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                           struct str *name, size_t *size, int64_t *rate)
{
    if (strncmp(a, "zone=", 5) == 0)
        return limit_zone_arg(cl, n, a, name, size);
    if (strncmp(a, "rate=", 5) == 0) {
        if ((*rate = lb_parse_rate(a + 5)) < 0)
            return conf_err(cl, n, "invalid rate \"%s\"", a);
        return 0;
    }
    return conf_err_param(cl, n, a);
}

static int lreq_set_zone(struct conf_loader *cl, const struct conf_node *n,
                         const struct conf_cmd *cmd)
{
    struct limit_zone *lz = mpool_calloc(cl->pool, sizeof(*lz));
    struct str name = {NULL, 0};
    size_t size = 0;
    if (lz == NULL)
        return conf_err_nomem(cl, n);
    lz->rate = LB_ONE; /* nginx: 1r/s when rate= is left out */
    if (conf_cval(cl, n, &n->args[1], &lz->key) < 0)
        return -1;
    for (size_t i = 2; i < n->nargs; i++)
        if (lreq_zone_param(cl, n, n->args[i].s, &name, &size, &lz->rate) < 0)
            return -1;
    if (name.len == 0)
        return conf_err(cl, n, "\"%s\" must have \"zone\" parameter", cmd->name);
    return limit_zone_declare(cl, n, cmd, name, size, &lreq_kind, lz);
}

/* ---- limit_req -------------------------------------------------------------------- */

static int lreq_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                      struct lreq_limit *l)
{
    if (strncmp(a, "zone=", 5) == 0) {
        l->shm = conf_shm_add(cl, n, str_make(a + 5, strlen(a + 5)), 0, &lreq_kind);
        return l->shm != NULL ? 0 : -1;
    }
    if (strncmp(a, "burst=", 6) == 0) {
        if ((l->burst = lb_parse_count(a + 6)) < 0)
            return conf_err(cl, n, "invalid burst value \"%s\"", a);
        return 0;
    }
    if (strncmp(a, "delay=", 6) == 0) {
        if ((l->delay = lb_parse_count(a + 6)) < 0)
            return conf_err(cl, n, "invalid delay value \"%s\"", a);
        return 0;
    }
    if (strcmp(a, "nodelay") == 0) {
        l->delay = LB_NODELAY;
        return 0;
    }
    return conf_err_param(cl, n, a);
}

static int lreq_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct lreq_loc *ll = cl->part(cl, &mod_limit_req);
    struct lreq_limit l = {0};
    for (size_t i = 1; i < n->nargs; i++)
        if (lreq_param(cl, n, n->args[i].s, &l) < 0)
            return -1;
    if (l.shm == NULL)
        return conf_err(cl, n, "\"%s\" must have \"zone\" parameter", cmd->name);
    for (size_t i = 0; i < ll->nlimits; i++)
        if (ll->limits[i].shm == l.shm)
            return conf_err_dup(cl, n, cmd);
    struct lreq_limit *slot = conf_push(cl->pool, &ll->limits, &ll->nlimits, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = l;
    return 0;
}

static void lreq_merge(const void *from, void *to)
{
    const struct lreq_loc *parent = from;
    struct lreq_loc *child = to;
    if (child->nlimits == 0) {
        child->limits = parent->limits;
        child->nlimits = parent->nlimits;
    }
}

#define LR_F(f) CS_PART, offsetof(struct lreq_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd lreq_cmds[] = {
    {"limit_req_zone", CTX_HTTP, ARGS(3), CT_CUSTOM, CS_MAIN, 0, NULL, lreq_set_zone, NULL},
    {"limit_req", HSL, ARGS(1) | ARGS(2) | ARGS(3), CT_CUSTOM, CS_MAIN, 0, NULL, lreq_set, NULL},
    {"limit_req_log_level", HSL, ARGS(1), CT_ENUM, LR_F(log_level), "error", limit_set_level,
     limit_log_levels},
    {"limit_req_status", HSL, ARGS(1), CT_NUM, LR_F(status), "503", limit_set_status,
     &limit_status_range},
    {"limit_req_dry_run", HSL, ARGS(1), CT_FLAG, LR_F(dry_run), "off", NULL, NULL},
};

static const struct var_def lreq_vars[] = {
    {"limit_req_status", false, lreq_var_status},
};

static const struct http_hooks lreq_hooks = {.preaccess = lreq_phase};

struct module mod_limit_req = {
    .name = "http_limit_req",
    .cmds = lreq_cmds,
    .ncmds = sizeof(lreq_cmds) / sizeof(lreq_cmds[0]),
    .part_size = sizeof(struct lreq_loc),
    .part_merge = lreq_merge,
    .http = &lreq_hooks,
    .vars = lreq_vars,
    .nvars = sizeof(lreq_vars) / sizeof(lreq_vars[0]),
};

/* limit_conn.c - the limit_conn module (see limit_conn.h). */
#include "handler/limit_conn.h"

#include <string.h>

#include "conf/conf_table.h"
#include "core/log.h"
#include "core/shm.h"
#include "core/shm_map.h"
#include "handler/limit_zone.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"

#define LCONN_KEY_MAX 255
#define LCONN_MAX 65535

/* A key's node: how many requests hold a slot. */
struct lconn_node {
    struct shm_node node; /* the map's part; first */
    uint32_t conn;        /* slots held */
};

/* The zone's shared structures (its root). */
struct lconn_shared {
    struct shm_map *map; /* the keys being served */
};

/* One limit_conn line. */
struct lconn_limit {
    struct conf_shm *shm; /* the zone: its data is the struct limit_zone */
    long conn;            /* slots a key may hold */
};

/* The module's part of a level. */
struct lconn_loc {
    struct lconn_limit *limits; /* limit_conn lines, inherited as a whole */
    size_t nlimits;             /* how many */
    long log_level;             /* limit_conn_log_level (enum log_level) */
    long status;                /* limit_conn_status */
    int dry_run;                /* limit_conn_dry_run */
};

/* A slot a request holds, given back by its cleanup. */
struct lconn_hold {
    struct shm_zone *zone;   /* whose */
    struct lconn_node *node; /* the key's node, or NULL once given back */
    uint64_t epoch;          /* the zone's epoch when taken */
};

static const struct lconn_loc *lconn_of(const struct req *r)
{
    return loc_part(r->loc, &mod_limit_conn);
}

/* ---- slots --------------------------------------------------------------- */

static void lconn_release(void *data)
{
    struct lconn_hold *h = data;
    if (h->node == NULL)
        return;
    shm_lock(h->zone);
    struct lconn_shared *sh = shm_root(h->zone);
    if (shm_epoch(h->zone) == h->epoch && --h->node->conn == 0)
        shm_map_remove(h->zone, sh->map, h->node);
    shm_unlock(h->zone);
    h->node = NULL;
}

/* What taking a slot found. */
enum lconn_rc {
    LCONN_TAKEN, /* the request holds one */
    LCONN_FULL,  /* the key holds its limit already */
    LCONN_NOMEM, /* no room for the key's node */
};

/* Takes a slot of key in zone z (limit conn), the zone locked. */
static enum lconn_rc lconn_take(struct shm_zone *z, struct str key, long conn, struct lconn_hold *h)
{
    struct lconn_shared *sh = shm_root(z);
    struct lconn_node *nd = sh != NULL ? shm_map_find(sh->map, key.p, key.len) : NULL;
    if (nd == NULL && sh != NULL && (nd = shm_map_add(z, sh->map, key.p, key.len)) == NULL)
        log_msg(LL_CRIT, 0, 0, "could not allocate node in limit_conn_zone \"%s\"", shm_name(z));
    if (nd == NULL)
        return LCONN_NOMEM;
    if (nd->conn >= (uint32_t)conn)
        return LCONN_FULL;
    nd->conn++;
    *h = (struct lconn_hold){z, nd, shm_epoch(z)};
    return LCONN_TAKEN;
}

/* ---- the phase ------------------------------------------------------------ */

/* One request's pass: the slots it took so far. */
struct lconn_run {
    const struct lconn_loc *ll; /* the limits */
    struct lconn_hold **holds;  /* one per limit taken */
    size_t nholds;              /* how many */
};

/* nginx's cleanup_all: a refused request gives back what it took. */
static enum phase_rc lconn_refuse(struct req *r, struct lconn_run *run)
{
    for (size_t i = 0; i < run->nholds; i++)
        lconn_release(run->holds[i]);
    if (run->ll->dry_run) {
        r->limit_conn_status = LCONN_REJECTED_DRY_RUN;
        return PHASE_DECLINED;
    }
    r->limit_conn_status = LCONN_REJECTED;
    resp_error(r, (int)run->ll->status);
    return PHASE_TAKEN;
}

/* Limit l for r: 1 when the request took its slot or is not counted, 0
 * when refused, -1 on failure. */
static int lconn_check(struct req *r, struct lconn_run *run, const struct lconn_limit *l)
{
    const struct limit_zone *lz = l->shm->data;
    struct str key;
    if (limit_zone_key(lz, r, &key) < 0)
        return -1;
    if (key.len == 0 || l->shm->zone == NULL)
        return 1;
    if (key.len > LCONN_KEY_MAX) {
        conn_logf(r->c, LL_ERR, 0, "the value of the \"%s\" key is more than 255 bytes: \"%.*s\"",
                  lz->key.text, (int)key.len, key.p);
        return 1;
    }
    r->limit_conn_status = LCONN_PASSED;
    struct lconn_hold *h = mpool_calloc(&r->pool, sizeof(*h));
    if (h == NULL)
        return -1;
    shm_lock(l->shm->zone);
    enum lconn_rc rc = lconn_take(l->shm->zone, key, l->conn, h);
    shm_unlock(l->shm->zone);
    if (rc == LCONN_FULL)
        conn_logf(r->c, (enum log_level)run->ll->log_level, 0,
                  "limiting connections%s by zone \"%s\"", run->ll->dry_run ? ", dry run," : "",
                  l->shm->name);
    if (rc != LCONN_TAKEN)
        return 0;
    run->holds[run->nholds++] = h;
    if (req_cleanup_add(r, lconn_release, h) < 0) {
        lconn_release(h);
        return -1;
    }
    return 1;
}

static enum phase_rc lconn_phase(struct req *r)
{
    const struct lconn_loc *ll = lconn_of(r);
    if (r->limit_conn_status != 0 || ll->nlimits == 0)
        return PHASE_DECLINED;
    struct lconn_run run = {.ll = ll,
                            .holds = mpool_calloc(&r->pool, sizeof(*run.holds) * ll->nlimits)};
    for (size_t i = 0; i < ll->nlimits; i++) {
        int rc = run.holds == NULL ? -1 : lconn_check(r, &run, &ll->limits[i]);
        if (rc == 0)
            return lconn_refuse(r, &run);
        if (rc < 0) {
            resp_error(r, 500);
            return PHASE_TAKEN;
        }
    }
    return PHASE_DECLINED;
}

static void var_limit_conn_status(struct req *r, const struct cval_part *p, struct str *out)
{
    static const char *const names[] = {"PASSED", "REJECTED", "REJECTED_DRY_RUN"};
    const char *v = r->limit_conn_status == 0 ? "" : names[r->limit_conn_status - 1];
    (void)p;
    *out = str_make(v, strlen(v));
}

/* ---- configuration ---------------------------------------------------------- */

static int lconn_zone_init(struct shm_zone *z)
{
    struct lconn_shared *sh = shm_alloc(z, sizeof(*sh));
    if (sh == NULL || (sh->map = shm_map_new(z, sizeof(struct lconn_node), 128)) == NULL)
        return -1;
    shm_set_root(z, sh);
    return 0;
}

static int lconn_reuse(const struct conf_shm *d, const char *old, char *err, size_t errlen)
{
    return limit_zone_reuse("limit_conn_zone", d, old, err, errlen);
}

static const struct conf_shm_kind lconn_kind = {.shm = {"limit_conn", lconn_zone_init},
                                                .reuse = lconn_reuse};

static int lconn_set_zone(struct conf_loader *cl, const struct conf_node *n,
                          const struct conf_cmd *cmd)
{
    struct limit_zone *lz = mpool_calloc(cl->pool, sizeof(*lz));
    struct str name = {NULL, 0};
    size_t size = 0;
    if (lz == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], &lz->key) < 0)
        return -1;
    for (size_t i = 2; i < n->nargs; i++) {
        const char *a = n->args[i].s;
        if (strncmp(a, "zone=", 5) != 0)
            return conf_err_param(cl, n, a);
        if (limit_zone_arg(cl, n, a, &name, &size) < 0)
            return -1;
    }
    if (name.len == 0)
        return conf_err(cl, n, "\"%s\" must have \"zone\" parameter", cmd->name);
    return limit_zone_declare(cl, n, cmd, name, size, &lconn_kind, lz);
}

static int lconn_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct lconn_loc *ll = cl->part(cl, &mod_limit_conn);
    const char *name = n->args[1].s;
    struct conf_shm *d = conf_shm_add(cl, n, str_make(name, strlen(name)), 0, &lconn_kind);
    long conn;
    if (d == NULL)
        return -1;
    for (size_t i = 0; i < ll->nlimits; i++)
        if (ll->limits[i].shm == d)
            return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[2].s, &conn) < 0 || conn <= 0)
        return conf_err(cl, n, "invalid number of connections \"%s\"", n->args[2].s);
    if (conn > LCONN_MAX)
        return conf_err(cl, n, "connection limit must be less 65536");
    struct lconn_limit *slot = conf_push(cl->pool, &ll->limits, &ll->nlimits, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = (struct lconn_limit){d, conn};
    return 0;
}

static void lconn_merge(const void *from, void *to)
{
    const struct lconn_loc *parent = from;
    struct lconn_loc *child = to;
    if (child->nlimits == 0) {
        child->limits = parent->limits;
        child->nlimits = parent->nlimits;
    }
}

#define LC_F(f) CS_PART, offsetof(struct lconn_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd lconn_cmds[] = {
    {"limit_conn_zone", CTX_HTTP, ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL, lconn_set_zone, NULL},
    {"limit_conn", HSL, ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL, lconn_set, NULL},
    {"limit_conn_log_level", HSL, ARGS(1), CT_ENUM, LC_F(log_level), "error", limit_set_level,
     limit_log_levels},
    {"limit_conn_status", HSL, ARGS(1), CT_NUM, LC_F(status), "503", limit_set_status,
     &limit_status_range},
    {"limit_conn_dry_run", HSL, ARGS(1), CT_FLAG, LC_F(dry_run), "off", NULL, NULL},
};

static const struct var_def lconn_vars[] = {
    {"limit_conn_status", false, var_limit_conn_status},
};

static const struct http_hooks lconn_hooks = {.preaccess = lconn_phase};

struct module mod_limit_conn = {
    .name = "http_limit_conn",
    .cmds = lconn_cmds,
    .ncmds = sizeof(lconn_cmds) / sizeof(lconn_cmds[0]),
    .part_size = sizeof(struct lconn_loc),
    .part_merge = lconn_merge,
    .http = &lconn_hooks,
    .vars = lconn_vars,
    .nvars = sizeof(lconn_vars) / sizeof(lconn_vars[0]),
};

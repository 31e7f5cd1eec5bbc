/* limit_req.c - limit_req's check of a request (see limit_req.h): nginx's
 * lookup, account and expire, ported onto a shared keyed map. */
#include "handler/limit_req.h"

#include <string.h>

#include "core/log.h"
#include "core/shm.h"
#include "event/reactor.h"
#include "handler/limit_zone.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/req.h"
#include "http/resp.h"

#define LREQ_KEY_MAX 65535

/* How a lookup ended (nginx's NGX_OK, NGX_AGAIN, NGX_BUSY, NGX_ERROR). */
enum lreq_rc {
    LREQ_NONE,  /* no key counted yet (NGX_DECLINED) */
    LREQ_OK,    /* the last limit accounted the request */
    LREQ_AGAIN, /* within burst, to be accounted once every limit agrees */
    LREQ_BUSY,  /* over burst */
    LREQ_ERROR, /* no room for the key's node */
};

/* A node a lookup counted (nginx's ctx->node), until it is accounted or
 * released.  The epoch tells whether the zone was emptied meanwhile. */
struct lreq_hit {
    struct lreq_node *node; /* counted, or NULL */
    uint64_t epoch;         /* the zone's epoch then */
};

/* One request's pass over its location's limits. */
struct lreq_run {
    const struct lreq_loc *ll;      /* the limits */
    struct lreq_hit *hits;          /* one per limit */
    size_t n;                       /* the limit the pass stopped at */
    int64_t excess;                 /* the excess to report */
    const struct lreq_limit *limit; /* the limit it is of */
};

/* A request waiting out its delay. */
struct lreq_wait {
    struct timer_node timer; /* the delay */
    struct req *r;           /* who waits */
};

static const struct lreq_loc *lreq_of(const struct req *r)
{
    return loc_part(r->loc, &mod_limit_req);
}

static const struct limit_zone *lreq_zone(const struct lreq_limit *l)
{
    return l->shm->data;
}

/* ---- the zone: nodes ---------------------------------------------------- */

/* nginx's expire: n == 1 drops up to two drained nodes among the oldest;
 * n == 0 first drops the oldest unconditionally.  A counted node stops the
 * walk: the nodes behind it were used later. */
static void lreq_expire(struct shm_zone *z, struct lreq_shared *sh, int64_t rate, int n,
                        uint64_t now)
{
    while (n < 3) {
        struct lreq_node *nd = shm_map_oldest(sh->map);
        if (nd == NULL || nd->count != 0)
            return;
        if (n++ != 0 && !lb_drained(&nd->st, rate, (int64_t)(now - nd->st.last)))
            return;
        shm_map_remove(z, sh->map, nd);
    }
}

static struct lreq_node *lreq_new_node(struct shm_zone *z, struct lreq_shared *sh,
                                       const struct limit_zone *lz, struct str key, uint64_t now)
{
    lreq_expire(z, sh, lz->rate, 1, now);
    struct lreq_node *nd = shm_map_add(z, sh->map, key.p, key.len);
    if (nd != NULL)
        return nd;
    lreq_expire(z, sh, lz->rate, 0, now);
    nd = shm_map_add(z, sh->map, key.p, key.len);
    if (nd == NULL)
        log_msg(LL_ALERT, 0, 0, "could not allocate node in limit_req zone \"%s\"", shm_name(z));
    return nd;
}

/* The node of a key seen for the first time. */
static enum lreq_rc lreq_first(struct shm_zone *z, struct lreq_shared *sh,
                               const struct limit_zone *lz, struct str key, bool account,
                               struct lreq_hit *hit, int64_t *excess)
{
    uint64_t now = limit_now_ms();
    struct lreq_node *nd = lreq_new_node(z, sh, lz, key, now);
    *excess = 0;
    if (nd == NULL)
        return LREQ_ERROR;
    if (account) {
        nd->st.last = now;
        return LREQ_OK;
    }
    nd->count = 1; /* st.last stays 0: accounting drains everything */
    *hit = (struct lreq_hit){nd, shm_epoch(z)};
    return LREQ_AGAIN;
}

/* nginx's lookup, the zone locked. */
static enum lreq_rc lreq_lookup(const struct lreq_limit *l, struct str key, bool account,
                                struct lreq_hit *hit, int64_t *excess)
{
    const struct limit_zone *lz = lreq_zone(l);
    struct shm_zone *z = l->shm->zone;
    struct lreq_shared *sh = shm_root(z);
    if (sh == NULL)
        return LREQ_ERROR;
    struct lreq_node *nd = shm_map_find(sh->map, key.p, key.len);
    if (nd == NULL)
        return lreq_first(z, sh, lz, key, account, hit, excess);
    if (lb_take(&nd->st, lz->rate, l->burst, limit_now_ms(), account, excess) == LB_BUSY)
        return LREQ_BUSY;
    if (account)
        return LREQ_OK;
    nd->count++;
    *hit = (struct lreq_hit){nd, shm_epoch(z)};
    return LREQ_AGAIN;
}

/* ---- one request's pass ---------------------------------------------------- */

/* Lets the nodes counted before limit n go (nginx's limit_req_unlock). */
static void lreq_release(struct lreq_run *run, size_t n)
{
    while (n-- > 0) {
        struct lreq_hit *h = &run->hits[n];
        struct shm_zone *z = run->ll->limits[n].shm->zone;
        if (h->node == NULL)
            continue;
        shm_lock(z);
        if (shm_epoch(z) == h->epoch)
            h->node->count--;
        shm_unlock(z);
        h->node = NULL;
    }
}

/* Limit n for r: its key (an empty one is not counted, nor one too long),
 * looked up with the zone locked. */
static int lreq_check_one(struct req *r, struct lreq_run *run, size_t n, enum lreq_rc *rc)
{
    const struct lreq_limit *l = &run->ll->limits[n];
    const struct limit_zone *lz = lreq_zone(l);
    struct str key;
    if (limit_zone_key(lz, r, &key) < 0)
        return -1;
    if (key.len == 0 || l->shm->zone == NULL)
        return 0;
    if (key.len > LREQ_KEY_MAX) {
        conn_logf(r->c, LL_ERR, 0, "the value of the \"%s\" key is more than 65535 bytes: \"%.*s\"",
                  lz->key.text, (int)key.len, key.p);
        return 0;
    }
    shm_lock(l->shm->zone);
    *rc = lreq_lookup(l, key, n + 1 == run->ll->nlimits, &run->hits[n], &run->excess);
    shm_unlock(l->shm->zone);
    run->limit = l;
    return 0;
}

/* Every limit in order until one says more than "again"; -1 when a key
 * could not be made. */
static int lreq_check_all(struct req *r, struct lreq_run *run, enum lreq_rc *rc)
{
    *rc = LREQ_NONE;
    for (run->n = 0; run->n < run->ll->nlimits; run->n++) {
        if (lreq_check_one(r, run, run->n, rc) < 0) {
            lreq_release(run, run->n);
            return -1;
        }
        if (*rc != LREQ_NONE && *rc != LREQ_AGAIN)
            break;
    }
    return 0;
}

/* nginx's account: the limits before the one the pass stopped at take the
 * request now; the longest delay any of them asks for wins. */
static int64_t lreq_account(struct lreq_run *run)
{
    const struct lreq_limit *l = run->limit;
    int64_t max = lb_delay(run->excess, l->delay, lreq_zone(l)->rate);
    for (size_t n = run->n; n-- > 0;) {
        struct lreq_hit *h = &run->hits[n];
        const struct lreq_limit *ln = &run->ll->limits[n];
        int64_t rate = lreq_zone(ln)->rate, excess = 0;
        if (h->node == NULL)
            continue;
        shm_lock(ln->shm->zone);
        if (shm_epoch(ln->shm->zone) == h->epoch) {
            excess = lb_account(&h->node->st, rate, limit_now_ms());
            h->node->count--;
        }
        shm_unlock(ln->shm->zone);
        h->node = NULL;
        int64_t d = lb_delay(excess, ln->delay, rate);
        if (d > max) {
            max = d;
            run->excess = excess;
            run->limit = ln;
        }
    }
    return max;
}

/* ---- waiting ------------------------------------------------------------------ */

static void lreq_wake(struct timer_node *t)
{
    struct lreq_wait *w = (struct lreq_wait *)t;
    struct req *r = w->r;
    req_wait_end(r);
    handle_resume(r, PHASE_DECLINED);
}

/* The client went away (or the worker stops) while the request waited. */
static void lreq_wait_done(struct req *r, bool complete)
{
    struct lreq_wait *w = req_ctx(r, &mod_limit_req);
    (void)complete;
    if (w != NULL)
        timer_disarm(&w->timer);
}

static const struct resp_gen lreq_gen = {.done = lreq_wait_done};

static void lreq_wait_free(void *data)
{
    struct lreq_wait *w = data;
    timer_disarm(&w->timer);
}

/* The request waits ms on the heap of varying timers, watching the client
 * as a handler that waits does. */
static enum phase_rc lreq_delay(struct req *r, int64_t ms)
{
    struct lreq_wait *w = mpool_calloc(&r->pool, sizeof(*w));
    if (w == NULL || req_set_ctx(r, &mod_limit_req, w) < 0 ||
        req_cleanup_add(r, lreq_wait_free, w) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    w->r = r;
    w->timer.expire = lreq_wake;
    if (timer_arm_var(&r->c->sk.rx->timers, &w->timer, (long)ms) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    req_wait(r, &lreq_gen, 0);
    return PHASE_TAKEN;
}

/* ---- the phase ------------------------------------------------------------------ */

static const char *lreq_dry(const struct lreq_loc *ll)
{
    return ll->dry_run ? ", dry run" : "";
}

static enum phase_rc lreq_refuse(struct req *r, struct lreq_run *run, enum lreq_rc rc)
{
    const struct lreq_loc *ll = run->ll;
    if (rc == LREQ_BUSY)
        conn_logf(r->c, (enum log_level)ll->log_level, 0,
                  "limiting requests%s, excess: %lld.%03lld by zone \"%s\"", lreq_dry(ll),
                  (long long)(run->excess / 1000), (long long)(run->excess % 1000),
                  run->limit->shm->name);
    lreq_release(run, run->n);
    if (ll->dry_run) {
        r->limit_req_status = LREQ_REJECTED_DRY_RUN;
        return PHASE_DECLINED;
    }
    r->limit_req_status = LREQ_REJECTED;
    resp_error(r, (int)ll->status);
    return PHASE_TAKEN;
}

static enum phase_rc lreq_pass(struct req *r, struct lreq_run *run, enum lreq_rc rc)
{
    const struct lreq_loc *ll = run->ll;
    if (rc == LREQ_AGAIN)
        run->excess = 0;
    int64_t delay = lreq_account(run);
    if (delay == 0) {
        r->limit_req_status = LREQ_PASSED;
        return PHASE_DECLINED;
    }
    conn_logf(r->c, (enum log_level)limit_log_lower(ll->log_level), 0,
              "delaying request%s, excess: %lld.%03lld, by zone \"%s\"", lreq_dry(ll),
              (long long)(run->excess / 1000), (long long)(run->excess % 1000),
              run->limit->shm->name);
    if (ll->dry_run) {
        r->limit_req_status = LREQ_DELAYED_DRY_RUN;
        return PHASE_DECLINED;
    }
    r->limit_req_status = LREQ_DELAYED;
    return lreq_delay(r, delay);
}

enum phase_rc lreq_phase(struct req *r)
{
    const struct lreq_loc *ll = lreq_of(r);
    if (r->limit_req_status != 0 || ll->nlimits == 0)
        return PHASE_DECLINED;
    struct lreq_run run = {.ll = ll,
                           .hits = mpool_calloc(&r->pool, sizeof(*run.hits) * ll->nlimits)};
    enum lreq_rc rc;
    if (run.hits == NULL || lreq_check_all(r, &run, &rc) < 0) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    if (rc == LREQ_NONE)
        return PHASE_DECLINED;
    if (rc == LREQ_BUSY || rc == LREQ_ERROR)
        return lreq_refuse(r, &run, rc);
    return lreq_pass(r, &run, rc);
}

/* ---- $limit_req_status ------------------------------------------------------- */

void lreq_var_status(struct req *r, const struct cval_part *p, struct str *out)
{
    static const char *const names[] = {"PASSED", "DELAYED", "REJECTED", "DELAYED_DRY_RUN",
                                        "REJECTED_DRY_RUN"};
    const char *v = r->limit_req_status == 0 ? "" : names[r->limit_req_status - 1];
    (void)p;
    *out = str_make(v, strlen(v));
}

/* limit_req.h - limit_req_zone, limit_req, limit_req_status,
 * limit_req_log_level and limit_req_dry_run, with nginx's meaning.
 *
 * A zone counts requests per key in shared memory (core/shm.h), so that
 * every worker counts into the same buckets; the bucket arithmetic is
 * handler/limit_bucket.h.  The check runs in the preaccess phase, once per
 * request (internal redirects included), before limit_conn's.  A request
 * over a limit's `delay` threshold waits on a timer while the connection
 * watches the client (req_wait), then the phases go on
 * (handle_resume). */
#ifndef TP_HANDLER_LIMIT_REQ_H
#define TP_HANDLER_LIMIT_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "conf/module.h"
#include "core/shm_map.h"
#include "handler/limit_bucket.h"
#include "http/phases.h"
#include "http/vars.h"

struct conf_shm;
struct req;

/* What limit_req did with a request ($limit_req_status); 0 is nothing yet. */
enum lreq_status {
    LREQ_PASSED = 1,
    LREQ_DELAYED,
    LREQ_REJECTED,
    LREQ_DELAYED_DRY_RUN,
    LREQ_REJECTED_DRY_RUN,
};

/* A key's node in the zone. */
struct lreq_node {
    struct shm_node node; /* the map's part; first */
    struct lb_state st;   /* its bucket */
    uint32_t count;       /* requests looked up but not yet accounted: the node stays */
};

/* The zone's shared structures (its root). */
struct lreq_shared {
    struct shm_map *map; /* the keys' nodes, by last use */
};

/* One limit_req line. */
struct lreq_limit {
    struct conf_shm *shm; /* zone=: its data is the struct limit_zone */
    int64_t burst;        /* thousandths of a request */
    int64_t delay;        /* thousandths; LB_NODELAY for nodelay */
};

/* The module's part of a level. */
struct lreq_loc {
    struct lreq_limit *limits; /* limit_req lines, inherited as a whole */
    size_t nlimits;            /* how many */
    long log_level;            /* limit_req_log_level (enum log_level) */
    long status;               /* limit_req_status */
    int dry_run;               /* limit_req_dry_run */
};

/* The zones' kind (limit_req_conf.c). */
extern const struct conf_shm_kind lreq_kind;

/* The phase hook (limit_req.c), and $limit_req_status's value. */
enum phase_rc lreq_phase(struct req *r);
void lreq_var_status(struct req *r, const struct cval_part *p, struct str *out);

/* Listed before mod_limit_conn: a request limit_req refuses or delays
 * does not hold a connection slot meanwhile, as in nginx. */
extern struct module mod_limit_req;

#endif

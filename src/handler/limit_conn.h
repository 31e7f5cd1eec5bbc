/* limit_conn.h - limit_conn_zone, limit_conn, limit_conn_status,
 * limit_conn_log_level and limit_conn_dry_run, with nginx's meaning.
 *
 * A zone counts, per key, the requests being served, in shared memory
 * (core/shm.h), so the limit holds across every worker.  A request takes a
 * slot of each of its location's limits in the preaccess phase (after
 * limit_req) and holds it until it ends: a request cleanup gives it back,
 * and a key whose count drops to 0 leaves the zone. */
#ifndef TP_HANDLER_LIMIT_CONN_H
#define TP_HANDLER_LIMIT_CONN_H

#include "conf/module.h"

/* What limit_conn did with a request ($limit_conn_status); 0 is nothing. */
enum lconn_status {
    LCONN_PASSED = 1,
    LCONN_REJECTED,
    LCONN_REJECTED_DRY_RUN,
};

extern struct module mod_limit_conn;

#endif

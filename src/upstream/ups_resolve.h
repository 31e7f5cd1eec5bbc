/* ups_resolve.h - a group's `resolve` servers, looked up again and again
 * at run time in one worker (nginx 1.27.3's `server ... resolve`).
 *
 * Each such server is looked up through the group's resolver when the
 * worker starts, and again when its answer expires (valid=, else the
 * TTL; plus a second, as nginx waits).  A new answer replaces the
 * server's peers; the addresses it keeps keep their state.  "Host not
 * found" empties the server until a later lookup finds it; any other
 * failure keeps the last addresses and tries again after
 * resolver_timeout (at least a second).  Failures are logged as nginx
 * logs them: "app.example could not be resolved (3: Host not found)". */
#ifndef TP_UPSTREAM_UPS_RESOLVE_H
#define TP_UPSTREAM_UPS_RESOLVE_H

#include <ev.h>

struct resolver;
struct ups_resolving;
struct ups_rt;

/* Starts the lookups of rt's `resolve` servers; *out is NULL when the
 * group has none.  -1 when out of memory. */
int ups_resolve_start(struct ups_rt *rt, struct resolver *rs, struct ev_loop *loop,
                      struct ups_resolving **out);

/* Stops them (before the group's state goes). */
void ups_resolve_stop(struct ups_resolving *ur);

#endif

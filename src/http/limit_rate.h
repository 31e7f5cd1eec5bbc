/* limit_rate.h - limit_rate, limit_rate_after and $limit_rate: how fast a
 * response goes out, with the arithmetic of nginx's write filter.
 *
 * The rate is per response, in bytes per second; the first
 * limit_rate_after bytes go at full speed.  Both may hold variables
 * (nginx 1.17+) and are evaluated once, at the response's first write;
 * `set $limit_rate` overrides the location's rate.  The writer
 * (conn_write.c) asks before each write how much may go and, after it, how
 * long to pause: a pause waits on a timer, never in a loop. */
#ifndef TP_HTTP_LIMIT_RATE_H
#define TP_HTTP_LIMIT_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/module.h"

struct req;

extern struct module mod_http_limit_rate;

/* Before a write at time now (seconds, the loop's clock): how many bytes
 * may go (*room, 0 when the response is not limited), or, when it is
 * ahead of its rate already, the ms to wait first (> 0). */
long rate_before(struct req *r, double now, size_t *room);

/* After a write that began with `before` bytes sent: the ms the next
 * write waits (0 for none). */
long rate_after(const struct req *r, uint64_t before);

#endif

/* limit_bucket.h - nginx's leaky bucket for limit_req, as its arithmetic
 * goes: rates and excesses are integers in thousandths of a request
 * (1000 is one request; a rate of 1r/m is 16), times are milliseconds of
 * a clock every worker shares (CLOCK_MONOTONIC).
 *
 * A key's state is the excess its last request left and when that was.
 * A request adds 1000 and the time since drains `rate` per second; over
 * `burst` it is refused, over `delay` it waits until the excess above
 * `delay` has drained.  Kept apart from the shared memory so that it can
 * be checked step by step. */
#ifndef TP_HANDLER_LIMIT_BUCKET_H
#define TP_HANDLER_LIMIT_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#define LB_ONE 1000          /* one request */
#define LB_MAX 1000000000    /* largest rate, burst or delay in requests accepted */
#define LB_NODELAY INT64_MAX /* the delay threshold of `nodelay`: never waits */

/* A key's bucket, kept in its shared node. */
struct lb_state {
    uint64_t last;  /* ms of its last accounted request; 0 before the first */
    int64_t excess; /* thousandths of a request left over then */
};

enum lb_rc {
    LB_OK,   /* within burst */
    LB_BUSY, /* over burst: refused */
};

/* The milliseconds since last as nginx counts them: a clock that stepped
 * back counts 0, more than a minute back 1. */
int64_t lb_elapsed(uint64_t now, uint64_t last);

/* The excess after ms of draining at rate, with one request added. */
int64_t lb_excess(int64_t excess, int64_t rate, int64_t ms);

/* The request this state would take now: its excess in *excess, LB_BUSY
 * over burst; when account, the state keeps it (the last of a location's
 * limits accounts at once, the others after every limit agreed). */
enum lb_rc lb_take(struct lb_state *st, int64_t rate, int64_t burst, uint64_t now, bool account,
                   int64_t *excess);

/* Accounts a request that lb_take let through without accounting;
 * returns its excess. */
int64_t lb_account(struct lb_state *st, int64_t rate, uint64_t now);

/* How many ms a request with this excess waits under a limit with this
 * delay threshold; 0 for none. */
int64_t lb_delay(int64_t excess, int64_t delay, int64_t rate);

/* Whether a state idle for ms has drained away and its node may go
 * (nginx keeps every node for a minute at least). */
bool lb_drained(const struct lb_state *st, int64_t rate, int64_t ms);

/* "Nr/s", "Nr/m" or "N" (per second) in thousandths per second, or -1
 * (nginx's "invalid rate"). */
int64_t lb_parse_rate(const char *s);

/* A positive count of requests ("burst=N"'s N) in thousandths, or -1. */
int64_t lb_parse_count(const char *s);

#endif

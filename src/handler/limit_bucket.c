/* limit_bucket.c - the leaky bucket's arithmetic (limit_bucket.h). */
#include "handler/limit_bucket.h"

#include <string.h>

int64_t lb_elapsed(uint64_t now, uint64_t last)
{
    int64_t ms = (int64_t)(now - last);
    if (ms < -60000)
        return 1;
    return ms < 0 ? 0 : ms;
}

int64_t lb_excess(int64_t excess, int64_t rate, int64_t ms)
{
    /* Long enough to drain it all: said without the product, which a
     * node's first accounting (last 0) would overflow. */
    if (ms >= ((excess + LB_ONE) / rate + 1) * 1000)
        return 0;
    int64_t e = excess - rate * ms / 1000 + LB_ONE;
    return e < 0 ? 0 : e;
}

enum lb_rc lb_take(struct lb_state *st, int64_t rate, int64_t burst, uint64_t now, bool account,
                   int64_t *excess)
{
    int64_t ms = lb_elapsed(now, st->last);
    *excess = lb_excess(st->excess, rate, ms);
    if (*excess > burst)
        return LB_BUSY;
    if (account) {
        st->excess = *excess;
        if (ms != 0)
            st->last = now;
    }
    return LB_OK;
}

int64_t lb_account(struct lb_state *st, int64_t rate, uint64_t now)
{
    int64_t ms = lb_elapsed(now, st->last);
    st->excess = lb_excess(st->excess, rate, ms);
    if (ms != 0)
        st->last = now;
    return st->excess;
}

int64_t lb_delay(int64_t excess, int64_t delay, int64_t rate)
{
    return excess <= delay ? 0 : (excess - delay) * 1000 / rate;
}

bool lb_drained(const struct lb_state *st, int64_t rate, int64_t ms)
{
    if (ms < 0)
        ms = -ms;
    if (ms < 60000)
        return false;
    return ms >= (st->excess / rate + 1) * 1000 || st->excess - rate * ms / 1000 <= 0;
}

/* nginx's ngx_atoi: digits only, at least one. */
static int64_t lb_atoi(const char *s, size_t len)
{
    int64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > LB_MAX)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int64_t lb_parse_rate(const char *s)
{
    size_t len = strlen(s);
    int64_t scale = 1;
    if (len >= 3 && strcmp(s + len - 3, "r/s") == 0) {
        len -= 3;
    } else if (len >= 3 && strcmp(s + len - 3, "r/m") == 0) {
        scale = 60;
        len -= 3;
    }
    int64_t n = lb_atoi(s, len);
    if (n <= 0 || n > LB_MAX)
        return -1;
    return n * LB_ONE / scale > 0 ? n * LB_ONE / scale : -1;
}

int64_t lb_parse_count(const char *s)
{
    int64_t n = lb_atoi(s, strlen(s));
    return n <= 0 || n > LB_MAX ? -1 : n * LB_ONE;
}

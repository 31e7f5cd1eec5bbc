/* test_limit_bucket.c - unit tests for limit_req's leaky bucket: nginx's
 * arithmetic step by step, with a clock the test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "handler/limit_bucket.h"

#define T0 1000000u /* ms: a clock well past zero, as CLOCK_MONOTONIC is */

static void test_parse_rate(void **state)
{
    (void)state;
    assert_int_equal(lb_parse_rate("1r/s"), 1000);
    assert_int_equal(lb_parse_rate("1r/m"), 16); /* nginx's integer division */
    assert_int_equal(lb_parse_rate("30r/m"), 500);
    assert_int_equal(lb_parse_rate("5"), 5000); /* no unit: per second */
    assert_int_equal(lb_parse_rate("0r/s"), -1);
    assert_int_equal(lb_parse_rate("r/s"), -1);
    assert_int_equal(lb_parse_rate("5r/h"), -1);
    assert_int_equal(lb_parse_rate("-1r/s"), -1);
    assert_int_equal(lb_parse_rate("1.5r/s"), -1);
    assert_int_equal(lb_parse_rate("99999999999r/s"), -1);
}

static void test_parse_count(void **state)
{
    (void)state;
    assert_int_equal(lb_parse_count("5"), 5000);
    assert_int_equal(lb_parse_count("0"), -1); /* nginx: burst=0 is invalid */
    assert_int_equal(lb_parse_count(""), -1);
    assert_int_equal(lb_parse_count("5k"), -1);
}

/* A clock that steps back counts no time, or 1 ms beyond a minute. */
static void test_elapsed(void **state)
{
    (void)state;
    assert_int_equal(lb_elapsed(T0 + 250, T0), 250);
    assert_int_equal(lb_elapsed(T0, T0 + 10), 0);
    assert_int_equal(lb_elapsed(T0, T0 + 60001), 1);
}

/* The state of a key's first request, as the lookup makes it. */
static struct lb_state first(uint64_t now)
{
    return (struct lb_state){.last = now, .excess = 0};
}

/* nginx's documentation: rate=1r/s burst=5, seven requests at once: the
 * first goes, five wait 1 to 5 s, the seventh is refused. */
static void test_burst_at_once(void **state)
{
    (void)state;
    struct lb_state st = first(T0);
    int64_t excess;
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(lb_take(&st, 1000, 5000, T0, true, &excess), LB_OK);
        assert_int_equal(excess, i * 1000);
        assert_int_equal(lb_delay(excess, 0, 1000), i * 1000);
    }
    assert_int_equal(lb_take(&st, 1000, 5000, T0, true, &excess), LB_BUSY);
    assert_int_equal(excess, 6000);
    assert_int_equal(st.excess, 5000); /* a refusal is not accounted */
}

/* delay=2 lets the first two excess requests through at once; nodelay
 * lets all within burst through, but still counts them. */
static void test_delay_thresholds(void **state)
{
    (void)state;
    struct lb_state st = first(T0);
    int64_t excess;
    static const int64_t want[] = {0, 0, 100, 200, 300}; /* rate=10r/s burst=5 delay=2 */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(lb_take(&st, 10000, 5000, T0, true, &excess), LB_OK);
        assert_int_equal(lb_delay(excess, 2000, 10000), want[i]);
        assert_int_equal(lb_delay(excess, LB_NODELAY, 10000), 0);
    }
    assert_int_equal(lb_take(&st, 10000, 5000, T0, true, &excess), LB_BUSY);
}

/* Time drains the excess at the rate: 1r/m is 16 thousandths a second,
 * so a minute and a bit frees one request's worth. */
static void test_draining(void **state)
{
    (void)state;
    struct lb_state st = first(T0);
    int64_t excess;
    assert_int_equal(lb_take(&st, 16, 0, T0, true, &excess), LB_BUSY);
    assert_int_equal(excess, 1000);
    assert_int_equal(lb_take(&st, 16, 0, T0 + 30000, true, &excess), LB_BUSY);
    assert_int_equal(excess, 1000 - 16 * 30);
    assert_int_equal(lb_take(&st, 16, 0, T0 + 62500, true, &excess), LB_OK);
    assert_int_equal(excess, 0);
    assert_int_equal(st.last, T0 + 62500);
}

/* Requests in the same millisecond keep `last`: nginx moves it only when
 * time passed, so rounding never loses the drain of a partial ms. */
static void test_last_moves_with_time_only(void **state)
{
    (void)state;
    struct lb_state st = first(T0);
    int64_t excess;
    assert_int_equal(lb_take(&st, 2000, 10000, T0 + 100, true, &excess), LB_OK);
    assert_int_equal(excess, 800);
    assert_int_equal(st.last, T0 + 100);
    assert_int_equal(lb_take(&st, 2000, 10000, T0 + 100, true, &excess), LB_OK);
    assert_int_equal(excess, 1800);
    assert_int_equal(st.last, T0 + 100);
    assert_int_equal(lb_delay(excess, 0, 2000), 900);
}

/* A limit looked up without accounting (not the location's last) is
 * accounted afterwards; a key new then has last 0, and accounting drains
 * it all without overflowing. */
static void test_account_later(void **state)
{
    (void)state;
    struct lb_state st = {.last = 0, .excess = 0};
    int64_t excess;
    assert_int_equal(lb_take(&st, 16, 0, T0, false, &excess), LB_OK);
    assert_int_equal(st.last, 0);
    assert_int_equal(lb_account(&st, 16, T0), 0);
    assert_int_equal(st.last, T0);
    assert_int_equal(lb_take(&st, 16, 0, T0, false, &excess), LB_BUSY);
    assert_int_equal(lb_account(&st, 1000000000000LL, T0 + 5), 0);
    assert_int_equal(lb_excess(LB_MAX * 1000LL, 16, 1LL << 50), 0);
}

/* A node may go once it is a minute old and its excess has drained. */
static void test_drained(void **state)
{
    (void)state;
    struct lb_state st = {.last = T0, .excess = 5000};
    assert_false(lb_drained(&st, 1000, 59999));
    assert_true(lb_drained(&st, 1000, 60000));
    assert_false(lb_drained(&st, 16, 60000)); /* 5 requests at 1r/m: 5 minutes */
    assert_true(lb_drained(&st, 16, 320000));
    assert_true(lb_drained(&st, 16, -320000)); /* nginx takes the absolute value */
    assert_true(lb_drained(&st, 16, 1LL << 50));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rate),
        cmocka_unit_test(test_parse_count),
        cmocka_unit_test(test_elapsed),
        cmocka_unit_test(test_burst_at_once),
        cmocka_unit_test(test_delay_thresholds),
        cmocka_unit_test(test_draining),
        cmocka_unit_test(test_last_moves_with_time_only),
        cmocka_unit_test(test_account_later),
        cmocka_unit_test(test_drained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

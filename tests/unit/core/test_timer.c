/* test_timer.c - unit tests for the timeouts: the per-value lists and the
 * heap of varying timeouts (timer_arm_var), driven by a real libev loop.
 * Only the order of expiry is checked, never how long anything took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ev.h>
#include <stdlib.h>

#include "core/timer.h"

#define NODES 64

/* One test's nodes and what fired. */
static struct {
    struct timer_node node[NODES]; /* the nodes under test */
    int order[NODES];              /* indexes, in the order they expired */
    int nfired;                    /* how many expired */
    struct timers *t;              /* for nodes that re-arm themselves */
} tt;

static int node_index(const struct timer_node *n)
{
    return (int)(n - tt.node);
}

static void expired(struct timer_node *n)
{
    tt.order[tt.nfired++] = node_index(n);
}

static void setup_nodes(void)
{
    tt.nfired = 0;
    for (int i = 0; i < NODES; i++)
        tt.node[i] = (struct timer_node){.expire = expired};
}

/* Runs the loop until `want` nodes fired. */
static void run_until(struct ev_loop *loop, int want)
{
    while (tt.nfired < want)
        ev_run(loop, EVRUN_ONCE);
}

/* Varying timeouts expire by deadline, whatever the order of arming. */
static void test_heap_order(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct timers t;
    static const long ms[] = {9, 3, 27, 1, 14, 5, 22, 2, 18, 11};
    const int n = (int)(sizeof(ms) / sizeof(ms[0]));
    timers_init(&t, loop);
    setup_nodes();
    for (int i = 0; i < n; i++)
        assert_int_equal(timer_arm_var(&t, &tt.node[i], ms[i]), 0);
    run_until(loop, n);
    for (int i = 1; i < n; i++)
        assert_true(ms[tt.order[i - 1]] <= ms[tt.order[i]]);
    for (int i = 0; i < n; i++)
        assert_false(timer_armed(&tt.node[i]));
    timers_destroy(&t);
    ev_loop_destroy(loop);
}

/* A node taken off the middle of the heap never fires; the others keep
 * their order. */
static void test_heap_disarm_middle(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct timers t;
    timers_init(&t, loop);
    setup_nodes();
    for (int i = 0; i < 20; i++)
        assert_int_equal(timer_arm_var(&t, &tt.node[i], 1 + (i * 7) % 20), 0);
    timer_disarm(&tt.node[7]);
    timer_disarm(&tt.node[0]);
    assert_false(timer_armed(&tt.node[7]));
    run_until(loop, 18);
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(tt.nfired, 18);
    for (int i = 0; i < tt.nfired; i++)
        assert_true(tt.order[i] != 7 && tt.order[i] != 0);
    for (int i = 1; i < tt.nfired; i++)
        assert_true((tt.order[i - 1] * 7) % 20 <= (tt.order[i] * 7) % 20);
    timers_destroy(&t);
    ev_loop_destroy(loop);
}

/* A node moves between a list and the heap: arming one way takes it off
 * the other. */
static void test_list_and_heap(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct timers t;
    timers_init(&t, loop);
    setup_nodes();
    assert_int_equal(timer_arm(&t, &tt.node[0], 60000), 0);
    assert_int_equal(timer_arm_var(&t, &tt.node[0], 2), 0);
    assert_null(tt.node[0].list);
    assert_non_null(tt.node[0].heap);
    assert_int_equal(timer_arm_var(&t, &tt.node[1], 60000), 0);
    assert_int_equal(timer_arm(&t, &tt.node[1], 1), 0);
    assert_null(tt.node[1].heap);
    run_until(loop, 2);
    assert_false(timer_armed(&tt.node[0]));
    assert_false(timer_armed(&tt.node[1]));
    timers_destroy(&t);
    ev_loop_destroy(loop);
}

/* A node that re-arms itself from its own expiry (a writer pausing again)
 * is not fired twice in one pass. */
static void rearm_once(struct timer_node *n)
{
    expired(n);
    if (tt.nfired == 1)
        timer_arm_var(tt.t, n, 1);
}

static void test_heap_rearm_from_expiry(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct timers t;
    timers_init(&t, loop);
    setup_nodes();
    tt.t = &t;
    tt.node[0].expire = rearm_once;
    assert_int_equal(timer_arm_var(&t, &tt.node[0], 1), 0);
    run_until(loop, 2);
    assert_int_equal(tt.order[0], 0);
    assert_int_equal(tt.order[1], 0);
    assert_false(timer_armed(&tt.node[0]));
    timers_destroy(&t);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order),
        cmocka_unit_test(test_heap_disarm_middle),
        cmocka_unit_test(test_list_and_heap),
        cmocka_unit_test(test_heap_rearm_from_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

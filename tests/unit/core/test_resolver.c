/* test_resolver.c - the worker's name cache: lookups in the pool, answers
 * kept for valid= or the TTL, failures not kept, concurrent lookups of one
 * name coalesced, waiters' own timeouts, cancel, and a destroy that does
 * not wait for a silent DNS server.  The DNS server is dns_fake.h's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/dns.h"
#include "core/resolver.h"
#include "core/tpool.h"
#include "dns_fake.h"

#define SAFETY 10.0 /* seconds a loop run may take before the test fails */

struct rt {
    struct ev_loop *loop;    /* the test's loop */
    struct tpool *pool;      /* where lookups run */
    struct timers timers;    /* the waiters' timeouts */
    struct resolver *rs;     /* under test */
    struct fake_dns dns;     /* the DNS server */
    union sockaddr_any srv;  /* its address */
    struct resolver_conf rc; /* a `resolver` pointing at it */
    ev_timer safety;         /* ends a run that takes too long */
    ev_timer pause;          /* ends a run after a while */
    bool timed_out;          /* the safety timer fired */
    unsigned calls;          /* callbacks so far */
    unsigned want;           /* stop the loop at this many */
};

/* One waiter of the tests and what it was told. */
struct waiter {
    struct resolver_wait w; /* first: the callback's pointer is ours */
    struct rt *t;           /* the fixture */
    int status;             /* what it was told, -2 until then */
    size_t naddrs;          /* how many addresses */
    uint32_t first;         /* the first IPv4 address, host order */
    bool restart;           /* start again from inside the callback */
};

static void on_safety(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rt *t = w->data;
    (void)revents;
    t->timed_out = true;
    ev_break(loop, EVBREAK_ALL);
}

static void on_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int rt_setup(void **state)
{
    struct rt *t = calloc(1, sizeof(*t));
    if (t == NULL || fake_start(&t->dns) < 0)
        return -1;
    t->loop = ev_loop_new(EVFLAG_AUTO);
    t->pool = tpool_create(t->loop, 2, 64);
    timers_init(&t->timers, t->loop);
    t->rs = resolver_create(t->loop, t->pool, &t->timers);
    t->srv = fake_addr(t->dns.port);
    t->rc = (struct resolver_conf){.addrs = &t->srv, .naddrs = 1, .ipv4 = true};
    ev_timer_init(&t->safety, on_safety, SAFETY, 0.);
    t->safety.data = t;
    ev_timer_init(&t->pause, on_pause, 0., 0.);
    *state = t;
    return t->pool != NULL && t->rs != NULL ? 0 : -1;
}

static int rt_teardown(void **state)
{
    struct rt *t = *state;
    resolver_destroy(t->rs);
    tpool_destroy(t->pool);
    timers_destroy(&t->timers);
    ev_timer_stop(t->loop, &t->safety);
    ev_loop_destroy(t->loop);
    fake_stop(&t->dns);
    free(t);
    return 0;
}

/* Runs the loop until `want` callbacks in all happened. */
static void rt_run(struct rt *t, unsigned want)
{
    t->want = want;
    ev_timer_again(t->loop, &t->safety);
    if (t->calls < want)
        ev_run(t->loop, 0);
    ev_timer_stop(t->loop, &t->safety);
    assert_false(t->timed_out);
    assert_int_equal(t->calls, want);
}

/* Runs the loop for `seconds` (for expiry). */
static void rt_wait(struct rt *t, double seconds)
{
    ev_timer_set(&t->pause, seconds, 0.);
    ev_timer_start(t->loop, &t->pause);
    ev_run(t->loop, 0);
}

static int start(struct rt *t, struct waiter *w, const char *name, long timeout);

static void on_answer(struct resolver_wait *rw, int status, const struct resolver_answer *a)
{
    struct waiter *w = (struct waiter *)rw;
    struct rt *t = w->t;
    w->status = status;
    w->naddrs = a != NULL ? a->naddrs : 0;
    if (a != NULL && a->naddrs > 0 && a->addrs[0].sa.sa_family == AF_INET)
        w->first = ntohl(a->addrs[0].sin.sin_addr.s_addr);
    if (w->restart) {
        w->restart = false;
        assert_int_equal(start(t, w, "app.test", 2000), 0);
    }
    if (++t->calls >= t->want)
        ev_break(t->loop, EVBREAK_ALL);
}

static int start(struct rt *t, struct waiter *w, const char *name, long timeout)
{
    int status;
    w->t = t;
    w->status = -2;
    return resolver_start(t->rs, &t->rc, str_make(name, strlen(name)), timeout, &w->w, on_answer,
                          &status);
}

static const struct resolver_answer *cached(struct rt *t, const char *name)
{
    return resolver_cached(t->rs, &t->rc, str_make(name, strlen(name)));
}

static void test_answer_and_cache(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    fake_add(&t->dns, "app.test", 1, "10.0.0.1", 300);
    assert_null(cached(t, "app.test"));
    assert_int_equal(start(t, &w, "App.Test.", 2000), 0);
    assert_int_equal(w.status, -2); /* never from inside the call */
    rt_run(t, 1);
    assert_int_equal(w.status, DNS_OK);
    assert_int_equal(w.first, 0x0a000001);
    const struct resolver_answer *a = cached(t, "app.test");
    assert_non_null(a);
    assert_int_equal(a->naddrs, 1);
    assert_int_equal(atomic_load(&t->dns.udp_queries), 1);
}

static void test_coalesced(void **state)
{
    struct rt *t = *state;
    struct waiter w[3];
    memset(w, 0, sizeof(w));
    fake_add(&t->dns, "app.test", 1, "10.0.0.2", 300);
    for (int i = 0; i < 3; i++)
        assert_int_equal(start(t, &w[i], "app.test", 2000), 0);
    rt_run(t, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(w[i].first, 0x0a000002);
    assert_int_equal(atomic_load(&t->dns.udp_queries), 1);
}

/* valid= overrides the TTL: after it the name is asked again, and a
 * changed record is picked up. */
static void test_valid_expires(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    t->rc.valid = 200;
    fake_add(&t->dns, "app.test", 1, "10.0.0.3", 3600);
    assert_int_equal(start(t, &w, "app.test", 2000), 0);
    rt_run(t, 1);
    assert_non_null(cached(t, "app.test"));
    rt_wait(t, 0.3);
    assert_null(cached(t, "app.test"));
    fake_clear(&t->dns);
    fake_add(&t->dns, "app.test", 1, "10.0.0.4", 3600);
    assert_int_equal(start(t, &w, "app.test", 2000), 0);
    rt_run(t, 2);
    assert_int_equal(w.first, 0x0a000004);
    assert_int_equal(atomic_load(&t->dns.udp_queries), 2);
}

/* Without valid=, the TTL decides: 0 keeps nothing. */
static void test_ttl_decides(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    fake_add(&t->dns, "zero.test", 1, "10.0.0.5", 0);
    fake_add(&t->dns, "long.test", 1, "10.0.0.6", 600);
    assert_int_equal(start(t, &w, "zero.test", 2000), 0);
    rt_run(t, 1);
    assert_int_equal(w.status, DNS_OK);
    assert_null(cached(t, "zero.test"));
    assert_int_equal(start(t, &w, "long.test", 2000), 0);
    rt_run(t, 2);
    assert_non_null(cached(t, "long.test"));
}

/* A failure is reported with nginx's number and not kept. */
static void test_failure_not_kept(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    assert_int_equal(start(t, &w, "nobody.test", 2000), 0);
    rt_run(t, 1);
    assert_int_equal(w.status, DNS_NXDOMAIN);
    assert_int_equal(w.naddrs, 0);
    assert_int_equal(start(t, &w, "nobody.test", 2000), 0);
    rt_run(t, 2);
    assert_int_equal(atomic_load(&t->dns.udp_queries), 2);
    int status;
    assert_int_equal(
        resolver_start(t->rs, &t->rc, STR_LIT("bad..name"), 100, &w.w, on_answer, &status), -1);
    assert_int_equal(status, DNS_FORMERR);
}

static void test_timeout_and_cancel(void **state)
{
    struct rt *t = *state;
    struct waiter a = {0}, b = {0};
    fake_set(&t->dns, &t->dns.silent, true);
    assert_int_equal(start(t, &a, "slow.test", 200), 0);
    assert_int_equal(start(t, &b, "slow.test", 200), 0);
    resolver_cancel(&b.w);
    assert_false(resolver_waiting(&b.w));
    rt_run(t, 1);
    assert_int_equal(a.status, DNS_TIMEDOUT);
    assert_int_equal(b.status, -2);
}

/* A callback that starts again gets a new lookup, not the old answer. */
static void test_restart_from_callback(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    fake_add(&t->dns, "app.test", 1, "10.0.0.7", 0);
    assert_int_equal(start(t, &w, "app.test", 2000), 0);
    w.restart = true;
    rt_run(t, 2);
    assert_int_equal(atomic_load(&t->dns.udp_queries), 2);
}

/* Destroying the resolver tells a lookup stuck on a silent server to
 * give up, so the pool's threads join at once (not after 60 s). */
static void test_destroy_cancels(void **state)
{
    struct rt *t = *state;
    struct waiter w = {0};
    fake_set(&t->dns, &t->dns.silent, true);
    assert_int_equal(start(t, &w, "slow.test", 60000), 0);
    rt_wait(t, 0.1);
    resolver_destroy(t->rs);
    t->rs = NULL;
    tpool_destroy(t->pool);
    t->pool = tpool_create(t->loop, 1, 4);
    assert_int_equal(w.status, -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answer_and_cache, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_coalesced, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_valid_expires, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_ttl_decides, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_failure_not_kept, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_cancel, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_restart_from_callback, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_cancels, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

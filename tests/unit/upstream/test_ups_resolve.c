/* test_ups_resolve.c - `server ... resolve` in a worker: looked up when
 * the group starts, again once the answer expires (valid= plus nginx's
 * second), a changed record picked up, "Host not found" emptying the
 * server, a failure keeping the last addresses.  DNS is dns_fake.h's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "../core/dns_fake.h"
#include "core/dns.h"
#include "core/resolver.h"
#include "core/tpool.h"
#include "upstream/ups_peer.h"
#include "upstream/ups_resolve.h"

#define SAFETY 8.0 /* seconds a wait may take */

struct fx {
    struct ev_loop *loop;    /* the test's loop */
    struct tpool *pool;      /* lookups run here */
    struct timers timers;    /* the resolver's timeouts */
    struct resolver *rs;     /* the worker's resolver */
    struct fake_dns dns;     /* the DNS server */
    union sockaddr_any srv;  /* its address */
    struct resolver_conf rc; /* `resolver` naming it */
    struct ups_group g;      /* one static and one resolve server */
    struct ups_server servers[2];
    struct ups_addr addr;     /* the static server's address */
    struct ups_rt *rt;        /* the group in the "worker" */
    struct ups_resolving *ur; /* its lookups */
    ev_timer poll;            /* checks the condition waited for */
    size_t want;              /* stop when the group has this many peers */
    const char *want_name;    /* ... and this one among them (or NULL) */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL || fake_start(&f->dns) < 0)
        return -1;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->pool = tpool_create(f->loop, 2, 16);
    timers_init(&f->timers, f->loop);
    f->rs = resolver_create(f->loop, f->pool, &f->timers);
    f->srv = fake_addr(f->dns.port);
    f->rc = (struct resolver_conf){.addrs = &f->srv, .naddrs = 1, .valid = 200, .ipv4 = true};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    ups_addr_inet(&f->addr, (struct sockaddr *)&sin, 8080);
    f->servers[0] = (struct ups_server){
        .name = "127.0.0.1:8080", .addrs = &f->addr, .naddrs = 1, .weight = 1, .max_fails = 1};
    f->servers[1] = (struct ups_server){.name = "app.test:9000",
                                        .host = "app.test",
                                        .port = 9000,
                                        .weight = 1,
                                        .max_fails = 1,
                                        .resolve = true};
    f->g = (struct ups_group){.name = "g",
                              .servers = f->servers,
                              .nservers = 2,
                              .resolver = &f->rc,
                              .resolver_timeout = 500};
    f->rt = ups_rt_create(&f->g);
    *state = f;
    return f->rt != NULL ? 0 : -1;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    ups_resolve_stop(f->ur);
    ups_rt_destroy(f->rt);
    resolver_destroy(f->rs);
    tpool_destroy(f->pool);
    timers_destroy(&f->timers);
    ev_loop_destroy(f->loop);
    fake_stop(&f->dns);
    free(f);
    return 0;
}

static bool has_peer(const struct ups_rt *rt, const char *name)
{
    for (size_t i = 0; i < rt->primary.n; i++)
        if (strcmp(rt->primary.peers[i]->addr.name, name) == 0)
            return true;
    return false;
}

static void on_poll(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct fx *f = t->data;
    (void)revents;
    if (f->rt->primary.n == f->want && (f->want_name == NULL || has_peer(f->rt, f->want_name)))
        ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until the group has `want` peers (with `name`). */
static void wait_peers(struct fx *f, size_t want, const char *name)
{
    ev_tstamp start = ev_time();
    f->want = want;
    f->want_name = name;
    ev_timer_init(&f->poll, on_poll, 0.02, 0.02);
    f->poll.data = f;
    ev_timer_start(f->loop, &f->poll);
    while (ev_time() - start < SAFETY &&
           !(f->rt->primary.n == want && (name == NULL || has_peer(f->rt, name))))
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &f->poll);
    assert_int_equal(f->rt->primary.n, want);
    if (name != NULL)
        assert_true(has_peer(f->rt, name));
}

static void test_lookups_follow_dns(void **state)
{
    struct fx *f = *state;
    fake_add(&f->dns, "app.test", 1, "10.0.0.1", 3600);
    fake_add(&f->dns, "app.test", 1, "10.0.0.2", 3600);
    assert_int_equal(f->rt->primary.n, 1); /* nothing known before the first lookup */
    assert_int_equal(ups_resolve_start(f->rt, f->rs, f->loop, &f->ur), 0);
    assert_non_null(f->ur);
    wait_peers(f, 3, "10.0.0.2:9000");
    /* valid=200ms overrides the hour of TTL: a changed record arrives. */
    fake_clear(&f->dns);
    fake_add(&f->dns, "app.test", 1, "10.0.0.2", 3600);
    fake_add(&f->dns, "app.test", 1, "10.0.0.7", 3600);
    wait_peers(f, 3, "10.0.0.7:9000");
    assert_false(has_peer(f->rt, "10.0.0.1:9000"));
    /* A server failure keeps what was known... */
    fake_clear(&f->dns);
    fake_rcode(&f->dns, "app.test", DNS_SERVFAIL);
    unsigned asked = atomic_load(&f->dns.udp_queries);
    /* Two more questions: the failed lookup's answer was handled before
     * the next lookup was scheduled. */
    ev_tstamp start = ev_time();
    while (atomic_load(&f->dns.udp_queries) < asked + 2 && ev_time() - start < SAFETY)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(f->rt->primary.n, 3);
    /* ... "Host not found" empties the server. */
    fake_clear(&f->dns);
    wait_peers(f, 1, "127.0.0.1:8080");
}

static void test_no_resolve_servers(void **state)
{
    struct fx *f = *state;
    f->servers[1].resolve = false;
    f->g.nservers = 1;
    struct ups_resolving *ur = (void *)1;
    assert_int_equal(ups_resolve_start(f->rt, f->rs, f->loop, &ur), 0);
    assert_null(ur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookups_follow_dns, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_no_resolve_servers, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

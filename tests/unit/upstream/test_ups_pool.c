/* test_ups_pool.c - connections to backends and the keep-alive pool, on a
 * real reactor and loop, with a backend on loopback that the test drives:
 * connects that succeed, are refused, time out or hit worker_connections,
 * with nginx's error text; idle connections kept, reused, closed when the
 * backend closes them (seen by the watcher, or by the probe just before
 * reuse), LRU eviction, keepalive_requests/_timeout, the drain and the
 * fast stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "event/reactor.h"
#include "upstream/ups.h"
#include "upstream/ups_conn.h"
#include "upstream/ups_pool.h"

#define SAFETY 5.0  /* seconds any loop run may take */
#define MAX_PEERS 8 /* backend-side sockets the test keeps */

struct fx {
    struct ev_loop *loop; /* the test's loop */
    struct conf conf;     /* just what the reactor reads */
    struct reactor rx;    /* under test, with its sockets */
    int lsn;              /* the backend's listening socket */
    struct ups_addr addr; /* its address */
    int peers[MAX_PEERS]; /* accepted backend sides */
    size_t npeers;        /* how many */
    ev_timer safety;      /* fails a run that takes too long */
    ev_timer pause;       /* ends a timed run */
    bool timed_out;       /* safety fired */
    unsigned connected;   /* connected() calls */
    unsigned aborted;     /* abort() calls */
    struct ups_err err;   /* the last error reported */
    bool failed;          /* connected() had an error */
};

static void on_connected(struct ups_conn *uc, const struct ups_err *e)
{
    struct fx *f = uc->data;
    f->connected++;
    f->failed = e != NULL;
    if (e != NULL)
        f->err = *e;
    ev_break(f->loop, EVBREAK_ALL);
}

static void on_io(struct ups_conn *uc, int revents)
{
    (void)uc;
    (void)revents;
}

static void on_timeout(struct ups_conn *uc)
{
    (void)uc;
}

static void on_abort(struct ups_conn *uc)
{
    struct fx *f = uc->data;
    f->aborted++;
}

static const struct ups_conn_user user = {on_connected, on_io, on_timeout, on_abort};

static void on_safety(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct fx *f = t->data;
    (void)revents;
    f->timed_out = true;
    ev_break(loop, EVBREAK_ALL);
}

static void on_pause(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->conf.thread_pool_threads = 1;
    f->conf.thread_pool_max_queue = 8;
    f->conf.worker_connections = 64;
    if (reactor_init(&f->rx, f->loop, &f->conf) < 0)
        return -1;
    f->lsn = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(f->lsn, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(f->lsn, 16) < 0 ||
        getsockname(f->lsn, (struct sockaddr *)&sin, &len) < 0)
        return -1;
    ups_addr_inet(&f->addr, (struct sockaddr *)&sin, ntohs(sin.sin_port));
    ev_timer_init(&f->safety, on_safety, SAFETY, 0.);
    f->safety.data = f;
    ev_timer_init(&f->pause, on_pause, 0., 0.);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    reactor_destroy(&f->rx);
    ev_timer_stop(f->loop, &f->safety);
    ev_loop_destroy(f->loop);
    for (size_t i = 0; i < f->npeers; i++)
        if (f->peers[i] >= 0)
            close(f->peers[i]);
    close(f->lsn);
    free(f);
    return 0;
}

static void run(struct fx *f)
{
    ev_timer_again(f->loop, &f->safety);
    ev_run(f->loop, 0);
    ev_timer_stop(f->loop, &f->safety);
    assert_false(f->timed_out);
}

/* Runs the loop for a while (for events and timeouts to arrive). */
static void run_for(struct fx *f, double seconds)
{
    ev_timer_set(&f->pause, seconds, 0.);
    ev_timer_start(f->loop, &f->pause);
    run(f);
}

/* A connection to the backend, connected and accepted there. */
static struct ups_conn *connect_one(struct fx *f)
{
    struct ups_err e;
    unsigned before = f->connected;
    struct ups_conn *uc = ups_conn_open(&f->rx, &f->addr, 1000, &user, f, &e);
    assert_non_null(uc);
    assert_int_equal(uc->state, UC_CONNECTING);
    assert_int_equal(f->connected, before); /* never from inside the call */
    run(f);
    assert_int_equal(f->connected, before + 1);
    assert_false(f->failed);
    assert_int_equal(uc->state, UC_BUSY);
    f->peers[f->npeers++] = accept(f->lsn, NULL, NULL);
    return uc;
}

static struct ups_pool pool_of(long max, long requests, long timeout)
{
    struct ups_group g = {.keepalive = max,
                          .keepalive_timeout = timeout,
                          .keepalive_requests = requests,
                          .keepalive_time = 3600000};
    struct ups_pool p;
    ups_pool_init(&p, &g);
    return p;
}

/* ---- connecting -------------------------------------------------------------- */

static void test_connect(void **state)
{
    struct fx *f = *state;
    struct ups_conn *uc = connect_one(f);
    assert_int_equal(uc->sock.kind, SOCK_UPSTREAM);
    assert_int_equal(f->rx.nsocks, 1); /* counted by worker_connections */
    assert_string_equal(uc->addr.name, f->addr.name);
    ups_conn_close(uc);
    assert_int_equal(f->rx.nsocks, 0);
}

static void test_connect_refused(void **state)
{
    struct fx *f = *state;
    struct ups_err e;
    struct ups_addr dead = f->addr;
    close(f->lsn);
    f->lsn = socket(AF_INET, SOCK_STREAM, 0); /* nobody listens at addr now */
    struct ups_conn *uc = ups_conn_open(&f->rx, &dead, 1000, &user, f, &e);
    char want[300];
    if (uc == NULL) {
        snprintf(want, sizeof(want), "connect() to %s failed (111: Connection refused)", dead.name);
    } else {
        run(f);
        assert_true(f->failed);
        e = f->err;
        snprintf(want, sizeof(want), "connect() failed (111: Connection refused)");
    }
    assert_string_equal(e.text, want);
    assert_int_equal(e.err, ECONNREFUSED);
    assert_int_equal(e.level, LL_ERR);
    assert_false(e.local);
    assert_int_equal(f->rx.nsocks, 0);
}

static void test_connect_unix_missing(void **state)
{
    struct fx *f = *state;
    struct ups_err e;
    struct ups_addr a;
    assert_int_equal(ups_addr_unix(&a, "/nonexistent/app.sock"), 0);
    assert_null(ups_conn_open(&f->rx, &a, 1000, &user, f, &e));
    assert_string_equal(e.text,
                        "connect() to unix:/nonexistent/app.sock failed (2: No such file or "
                        "directory)");
    assert_int_equal(e.level, LL_CRIT); /* nginx's level for what is not the network's */
}

static void test_connect_unix(void **state)
{
    struct fx *f = *state;
    struct ups_err e;
    struct ups_addr a;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/test_ups_pool.%d.sock", (int)getpid());
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(ups_addr_unix(&a, path), 0);
    assert_int_equal(bind(l, &a.u.sa, a.len), 0);
    assert_int_equal(listen(l, 4), 0);
    struct ups_conn *uc = ups_conn_open(&f->rx, &a, 1000, &user, f, &e);
    assert_non_null(uc);
    assert_int_equal(f->connected, 0); /* even a connect done at once is told later */
    run(f);
    assert_false(f->failed);
    assert_int_equal(uc->state, UC_BUSY);
    assert_string_equal(uc->addr.name, a.name);
    ups_conn_close(uc);
    close(l);
    unlink(path);
}

/* A backend whose accept queue is full never completes the handshake. */
static void test_connect_timeout(void **state)
{
    struct fx *f = *state;
    struct ups_err e;
    close(f->lsn);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    f->lsn = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(f->lsn, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(f->lsn, 0), 0);
    getsockname(f->lsn, (struct sockaddr *)&sin, &len);
    ups_addr_inet(&f->addr, (struct sockaddr *)&sin, ntohs(sin.sin_port));
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(filler, (struct sockaddr *)&sin, sizeof(sin)), 0);
    struct ups_conn *uc = ups_conn_open(&f->rx, &f->addr, 200, &user, f, &e);
    assert_non_null(uc);
    run(f);
    assert_true(f->failed);
    assert_string_equal(f->err.text, "upstream timed out (110: Connection timed out)");
    assert_int_equal(f->err.level, LL_ERR);
    assert_int_equal(f->rx.nsocks, 0); /* closed before the user heard */
    close(filler);
}

static void test_connect_worker_connections(void **state)
{
    struct fx *f = *state;
    struct ups_err e;
    f->conf.worker_connections = 1;
    struct ups_conn *uc = connect_one(f);
    assert_null(ups_conn_open(&f->rx, &f->addr, 1000, &user, f, &e));
    assert_string_equal(e.text, "1 worker_connections are not enough");
    assert_true(e.local);
    assert_int_equal(e.level, LL_ALERT);
    ups_conn_close(uc);
}

/* ---- the pool ------------------------------------------------------------------- */

static void test_put_get(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 60000);
    struct ups_conn *uc = connect_one(f);
    assert_true(ups_pool_put(&p, uc));
    assert_int_equal(uc->state, UC_IDLE);
    assert_int_equal(p.n, 1);
    struct ups_addr other = f->addr;
    other.u.sin.sin_port = htons(1);
    assert_null(ups_pool_get(&p, &other, &user, f));
    assert_ptr_equal(ups_pool_get(&p, &f->addr, &user, f), uc);
    assert_int_equal(uc->state, UC_BUSY);
    assert_int_equal(uc->requests, 2);
    assert_int_equal(p.n, 0);
    ups_conn_close(uc);
}

/* The backend closes an idle connection: the watcher closes it here. */
static void test_backend_closes_idle(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 60000);
    struct ups_conn *uc = connect_one(f);
    assert_true(ups_pool_put(&p, uc));
    close(f->peers[0]);
    f->peers[0] = -1;
    run_for(f, 0.1);
    assert_int_equal(p.n, 0);
    assert_int_equal(f->rx.nsocks, 0);
}

/* The close arrived but the loop has not seen it yet: the probe before
 * reuse catches it (the race behind proxies' spurious 502s). */
static void test_probe_before_reuse(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 60000);
    struct ups_conn *a = connect_one(f);
    struct ups_conn *b = connect_one(f);
    assert_true(ups_pool_put(&p, a));
    assert_true(ups_pool_put(&p, b));
    close(f->peers[1]); /* b's backend side; b is the most recent */
    f->peers[1] = -1;
    assert_ptr_equal(ups_pool_get(&p, &f->addr, &user, f), a);
    assert_int_equal(p.n, 0);
    assert_int_equal(f->rx.nsocks, 1);
    ups_conn_close(a);
}

/* Anything a backend sends on an idle connection is a protocol error. */
static void test_backend_talks_idle(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 60000);
    struct ups_conn *uc = connect_one(f);
    assert_true(ups_pool_put(&p, uc));
    assert_int_equal(write(f->peers[0], "HTTP/1.1 200 OK\r\n", 17), 17);
    run_for(f, 0.1);
    assert_int_equal(p.n, 0);
}

static void test_lru_and_limits(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(2, 2, 60000);
    struct ups_conn *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = connect_one(f);
    for (int i = 0; i < 3; i++)
        assert_true(ups_pool_put(&p, c[i]));
    assert_int_equal(p.n, 2); /* c[0], the least recently used, went */
    assert_int_equal(f->rx.nsocks, 2);
    assert_ptr_equal(ups_pool_get(&p, &f->addr, &user, f), c[2]);
    assert_ptr_equal(ups_pool_get(&p, &f->addr, &user, f), c[1]);
    /* keepalive_requests 2: each has carried two now. */
    assert_false(ups_pool_put(&p, c[2]));
    assert_false(ups_pool_put(&p, c[1]));
    assert_int_equal(f->rx.nsocks, 0);
    /* keepalive 0 keeps nothing. */
    struct ups_pool none = pool_of(0, 100, 60000);
    assert_false(ups_pool_put(&none, connect_one(f)));
}

static void test_idle_timeout(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 100);
    assert_true(ups_pool_put(&p, connect_one(f)));
    run_for(f, 0.3);
    assert_int_equal(p.n, 0);
    assert_int_equal(f->rx.nsocks, 0);
}

/* A drain closes idle connections and leaves busy ones to finish; a
 * draining worker keeps nothing; the fast stop tells the busy one's user. */
static void test_drain_and_stop(void **state)
{
    struct fx *f = *state;
    struct ups_pool p = pool_of(4, 100, 60000);
    struct ups_conn *idle = connect_one(f);
    struct ups_conn *busy = connect_one(f);
    assert_true(ups_pool_put(&p, idle));
    reactor_drain(&f->rx);
    assert_int_equal(p.n, 0);
    assert_int_equal(f->rx.nsocks, 1);
    f->rx.draining = true;
    struct ups_conn *late = connect_one(f);
    assert_false(ups_pool_put(&p, late));
    reactor_close_all(&f->rx);
    assert_int_equal(f->aborted, 1);
    assert_int_equal(f->rx.nsocks, 0);
    (void)busy;
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_connect),
        T(test_connect_refused),
        T(test_connect_unix_missing),
        T(test_connect_unix),
        T(test_connect_timeout),
        T(test_connect_worker_connections),
        T(test_put_get),
        T(test_backend_closes_idle),
        T(test_probe_before_reuse),
        T(test_backend_talks_idle),
        T(test_lru_and_limits),
        T(test_idle_timeout),
        T(test_drain_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

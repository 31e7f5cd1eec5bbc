/* test_relay.c - unit tests for the two-way relay: bytes both ways, a side
 * that does not read (backpressure, bounded holding), half-close, the idle
 * timeout, a failing side.
 *
 * Two socketpairs: the test is the client on one and the upstream on the
 * other; the relay runs between the two middle ends, owned by socks of a
 * real reactor whose callbacks forward to the relay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "event/reactor.h"
#include "event/relay.h"
#include "event/sock.h"

struct fx {
    struct ev_loop *loop; /* the loop */
    struct reactor rx;    /* just loop and timers */
    struct conf conf;     /* what reactor_init reads */
    struct sock a, b;     /* the relay's two sockets */
    int client, upstream; /* the test's ends */
    struct relay rl;      /* under test */
    int done_calls;       /* done callbacks */
    int done_err;         /* the last one's error */
    int freed;            /* socks freed */
};

static struct fx *cur;

static void on_done(struct relay *rl, int err)
{
    (void)rl;
    cur->done_calls++;
    cur->done_err = err;
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct sock *s = (struct sock *)((char *)io - offsetof(struct sock, io));
    relay_ready(&cur->rl, s);
}

static void timer_cb(struct timer_node *node)
{
    (void)node;
    relay_timeout(&cur->rl);
}

static void sock_noop(struct sock *s)
{
    (void)s;
}

static void sock_freed(struct sock *s)
{
    (void)s;
    cur->freed++;
}

static const struct sock_ops ops = {sock_noop, sock_noop, sock_freed};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    int p1[2], p2[2];
    assert_non_null(f);
    cur = f;
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->conf.thread_pool_threads = 1;
    f->conf.thread_pool_max_queue = 4;
    assert_int_equal(reactor_init(&f->rx, f->loop, &f->conf), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p1), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p2), 0);
    sock_open(&f->a, &f->rx, p1[0], SOCK_CLIENT, &ops, io_cb, timer_cb);
    sock_open(&f->b, &f->rx, p2[0], SOCK_UPSTREAM, &ops, io_cb, timer_cb);
    f->client = p1[1];
    f->upstream = p2[1];
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    relay_free(&f->rl);
    sock_close(&f->a);
    sock_close(&f->b);
    reactor_destroy(&f->rx);
    assert_int_equal(f->freed, 2);
    ev_loop_destroy(f->loop);
    close(f->client);
    close(f->upstream);
    free(f);
    return 0;
}

static void spin(struct fx *f, int n)
{
    for (int i = 0; i < n; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
}

static size_t drain(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0)
            return got;
        got += (size_t)n;
    }
}

static void test_both_ways(void **state)
{
    struct fx *f = *state;
    char buf[64];
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    assert_int_equal(write(f->client, "hello", 5), 5);
    assert_int_equal(write(f->upstream, "world!", 6), 6);
    spin(f, 5);
    assert_int_equal(drain(f->upstream, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(drain(f->client, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "world!", 6);
    assert_int_equal(f->rl.up.bytes, 5);
    assert_int_equal(f->rl.down.bytes, 6);
    assert_int_equal(f->done_calls, 0);
}

/* The upstream does not read: the relay stops reading the client once
 * the socket buffers are full, holding at most one read's worth. */
static void test_backpressure(void **state)
{
    struct fx *f = *state;
    static char chunk[65536], sink[1 << 16];
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    size_t written = 0;
    for (int i = 0; i < 200; i++) {
        ssize_t n = write(f->client, chunk, sizeof(chunk));
        if (n > 0)
            written += (size_t)n;
        spin(f, 2);
    }
    assert_true(f->rl.up.held_len - f->rl.up.held_off <= 16384);
    uint64_t moved = f->rl.up.bytes;
    assert_true(moved < written); /* the rest waits in the client's socket */
    spin(f, 10);
    assert_int_equal(f->rl.up.bytes, moved); /* nothing moves without a reader */
    size_t got = 0;
    for (int i = 0; i < 2000 && got < written; i++) {
        got += drain(f->upstream, sink, sizeof(sink));
        spin(f, 2);
    }
    assert_int_equal(got, written);
    assert_null(f->rl.up.held);
}

/* The client shuts its writing: the upstream sees the end, and its answer
 * still reaches the client; done once both ends are closed. */
static void test_half_close(void **state)
{
    struct fx *f = *state;
    char buf[64];
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    assert_int_equal(write(f->client, "req", 3), 3);
    shutdown(f->client, SHUT_WR);
    spin(f, 5);
    assert_int_equal(read(f->upstream, buf, sizeof(buf)), 3);
    assert_int_equal(read(f->upstream, buf, sizeof(buf)), 0); /* end of stream */
    assert_int_equal(f->done_calls, 0);
    assert_int_equal(write(f->upstream, "answer", 6), 6);
    spin(f, 5);
    assert_int_equal(read(f->client, buf, sizeof(buf)), 6);
    shutdown(f->upstream, SHUT_WR);
    spin(f, 5);
    assert_int_equal(read(f->client, buf, sizeof(buf)), 0);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->done_err, 0);
}

static void test_idle_timeout(void **state)
{
    struct fx *f = *state;
    relay_start(&f->rl, &f->a, &f->b, 16384, 50, on_done);
    for (int i = 0; i < 200 && f->done_calls == 0; i++)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->done_err, ETIMEDOUT);
}

static void test_side_fails(void **state)
{
    struct fx *f = *state;
    static char chunk[65536];
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    close(f->upstream); /* its end is gone: writing to it fails */
    f->upstream = socket(AF_UNIX, SOCK_STREAM, 0);
    for (int i = 0; i < 20 && f->done_calls == 0; i++) {
        (void)!write(f->client, chunk, sizeof(chunk));
        spin(f, 2);
    }
    assert_int_equal(f->done_calls, 1);
    assert_int_not_equal(f->done_err, 0);
}

/* ---- zero copy: splice between the two plain sockets -------------------- */

static void test_splice_both_ways_half_close(void **state)
{
    struct fx *f = *state;
    char buf[64];
    f->rl.splice = true;
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    assert_true(relay_spliced(&f->rl));
    assert_int_equal(write(f->client, "hello", 5), 5);
    assert_int_equal(write(f->upstream, "world!", 6), 6);
    spin(f, 5);
    assert_int_equal(drain(f->upstream, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(drain(f->client, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "world!", 6);
    assert_null(f->rl.up.held); /* nothing passed through user space */
    shutdown(f->client, SHUT_WR);
    spin(f, 5);
    assert_int_equal(read(f->upstream, buf, sizeof(buf)), 0);
    assert_int_equal(write(f->upstream, "late", 4), 4);
    shutdown(f->upstream, SHUT_WR);
    spin(f, 5);
    assert_int_equal(read(f->client, buf, sizeof(buf)), 4);
    assert_int_equal(read(f->client, buf, sizeof(buf)), 0);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->done_err, 0);
}

/* A pushed prefix (a PROXY header) goes before spliced bytes. */
static void test_splice_push_first(void **state)
{
    struct fx *f = *state;
    char buf[64];
    f->rl.splice = true;
    relay_init(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    assert_int_equal(write(f->client, "data", 4), 4);
    assert_int_equal(relay_push(&f->rl, &f->b, "HEAD:", 5), 0);
    relay_ready(&f->rl, &f->a);
    spin(f, 5);
    assert_int_equal(drain(f->upstream, buf, sizeof(buf)), 9);
    assert_memory_equal(buf, "HEAD:data", 9);
}

/* Backpressure: the pipe is the bound; nothing is read while it holds
 * bytes the upstream has not taken. */
static void test_splice_backpressure(void **state)
{
    struct fx *f = *state;
    static char chunk[65536], sink[1 << 16];
    f->rl.splice = true;
    relay_start(&f->rl, &f->a, &f->b, 16384, 0, on_done);
    size_t written = 0;
    for (int i = 0; i < 200; i++) {
        ssize_t n = write(f->client, chunk, sizeof(chunk));
        if (n > 0)
            written += (size_t)n;
        spin(f, 2);
    }
    assert_true(f->rl.up.piped <= 65536);
    uint64_t moved = f->rl.up.bytes;
    assert_true(moved < written);
    spin(f, 10);
    assert_int_equal(f->rl.up.bytes, moved);
    size_t got = 0;
    for (int i = 0; i < 4000 && got < written; i++) {
        got += drain(f->upstream, sink, sizeof(sink));
        spin(f, 2);
    }
    assert_int_equal(got, written);
    assert_int_equal(f->rl.up.piped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_side_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_splice_both_ways_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_splice_push_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_splice_backpressure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

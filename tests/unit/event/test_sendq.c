/* test_sendq.c - unit tests for sending a head, a chain and a tail: memory
 * and tail in one go, a socket that fills up, a file without sendfile (from
 * the page cache on the loop, or through the pool once its pages are
 * dropped), sendfile, sendfile_max_chunk's yield, a file that shrinks
 * under the sender, and a byte limit per call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/ofile.h"
#include "core/out.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "event/sendq.h"
#include "event/sock.h"

struct fx {
    struct ev_loop *loop; /* the loop */
    struct reactor rx;    /* loop and pool */
    struct conf conf;     /* what reactor_init reads */
    struct sock s;        /* the sending side */
    int peer;             /* the test's end */
    struct sendq q;       /* under test */
    struct mpool pool;    /* segments */
    struct out chain;     /* the body */
    struct ofile file;    /* a hand-made open file */
    char path[64];        /* its name */
    int fills;            /* filled callbacks */
    uint64_t sent;        /* bytes sendq_write reported */
};

static void sock_noop(struct sock *s)
{
    (void)s;
}

static const struct sock_ops ops = {sock_noop, sock_noop, sock_noop};

static void on_filled(struct sendq *q, void *data)
{
    (void)q;
    ((struct fx *)data)->fills++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    int sv[2];
    assert_non_null(f);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    f->conf.thread_pool_threads = 2;
    f->conf.thread_pool_max_queue = 8;
    assert_int_equal(reactor_init(&f->rx, f->loop, &f->conf), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    sock_open(&f->s, &f->rx, sv[0], SOCK_UPSTREAM, &ops, NULL, NULL);
    f->peer = sv[1];
    mpool_init(&f->pool, 1024);
    out_init(&f->chain);
    f->q.filled = on_filled;
    f->q.data = f;
    f->file.fd = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sendq_free(&f->q);
    sock_close(&f->s);
    reactor_destroy(&f->rx);
    ev_loop_destroy(f->loop);
    close(f->peer);
    if (f->file.fd >= 0) {
        close(f->file.fd);
        unlink(f->path);
    }
    mpool_destroy(&f->pool);
    free(f);
    return 0;
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

/* A file of n bytes of a pattern, opened for the chain. */
static void make_file(struct fx *f, size_t n)
{
    strcpy(f->path, "/tmp/test_sendq.XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    for (size_t i = 0; i < n; i++) {
        char ch = (char)('a' + i % 26);
        assert_int_equal(write(fd, &ch, 1), 1);
    }
    f->file.fd = fd;
    f->file.refs = 1;
    assert_int_equal(out_file(&f->pool, &f->chain, &f->file, 0, n), 0);
}

static void check_pattern(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i], 'a' + i % 26);
}

static void test_memory_and_tail(void **state)
{
    struct fx *f = *state;
    char buf[64];
    assert_int_equal(out_mem(&f->pool, &f->chain, "body", 4), 0);
    sendq_set(&f->q, STR_LIT("head:"), f->chain.head, STR_LIT(":tail"));
    assert_int_equal(sendq_write(&f->q, &f->s, &f->sent), SENDQ_DONE);
    assert_true(sendq_empty(&f->q));
    assert_int_equal(f->sent, 14);
    assert_int_equal(drain(f->peer, buf, sizeof(buf)), 14);
    assert_memory_equal(buf, "head:body:tail", 14);
}

/* A socket that fills up: AGAIN, and after the reader drains, the rest. */
static void test_socket_full(void **state)
{
    struct fx *f = *state;
    static char big[1 << 20], got[1 << 20];
    memset(big, 'z', sizeof(big));
    assert_int_equal(out_mem(&f->pool, &f->chain, big, sizeof(big)), 0);
    sendq_set(&f->q, STR_LIT(""), f->chain.head, STR_LIT(""));
    assert_int_equal(sendq_write(&f->q, &f->s, &f->sent), SENDQ_AGAIN);
    assert_true(f->sent < sizeof(big));
    size_t n = 0;
    while (n < sizeof(big)) {
        n += drain(f->peer, got + n, sizeof(got) - n);
        enum sendq_rc rc = sendq_write(&f->q, &f->s, &f->sent);
        assert_true(rc == SENDQ_DONE || rc == SENDQ_AGAIN);
    }
    assert_int_equal(f->sent, sizeof(big));
    assert_memory_equal(got, big, sizeof(big));
}

/* No sendfile: the file's bytes come through the buffer, from the page
 * cache on the loop. */
static void test_file_cached(void **state)
{
    struct fx *f = *state;
    static char got[200000];
    make_file(f, 100000);
    sendq_set(&f->q, STR_LIT("H"), f->chain.head, STR_LIT("T"));
    size_t n = 0;
    for (int i = 0; i < 1000 && !sendq_empty(&f->q); i++) {
        assert_int_not_equal(sendq_write(&f->q, &f->s, &f->sent), SENDQ_ERROR);
        n += drain(f->peer, got + n, sizeof(got) - n);
    }
    n += drain(f->peer, got + n, sizeof(got) - n);
    assert_int_equal(n, 100002);
    assert_int_equal(got[0], 'H');
    check_pattern(got + 1, 100000);
    assert_int_equal(got[100001], 'T');
    assert_int_equal(f->fills, 0);
}

/* Pages dropped from the cache: the read goes to the pool, and the owner
 * hears when the buffer is full. */
static void test_file_cold_goes_to_pool(void **state)
{
    struct fx *f = *state;
    static char got[70000];
    make_file(f, 65536);
    fsync(f->file.fd);
    posix_fadvise(f->file.fd, 0, 0, POSIX_FADV_DONTNEED);
    sendq_set(&f->q, STR_LIT(""), f->chain.head, STR_LIT(""));
    enum sendq_rc rc = sendq_write(&f->q, &f->s, &f->sent);
    if (rc == SENDQ_DONE)
        skip(); /* the pages came back already (a filesystem without fadvise) */
    assert_int_equal(rc, SENDQ_POOL);
    for (int i = 0; i < 100 && f->fills == 0; i++)
        ev_run(f->loop, EVRUN_ONCE);
    assert_int_equal(f->fills, 1);
    size_t n = 0;
    for (int i = 0; i < 100 && !sendq_empty(&f->q); i++) {
        assert_int_not_equal(sendq_write(&f->q, &f->s, &f->sent), SENDQ_ERROR);
        n += drain(f->peer, got + n, sizeof(got) - n);
    }
    n += drain(f->peer, got + n, sizeof(got) - n);
    assert_int_equal(n, 65536);
    check_pattern(got, 65536);
}

static void test_sendfile(void **state)
{
    struct fx *f = *state;
    static char got[40000];
    make_file(f, 30000);
    f->q.sendfile = true;
    sendq_set(&f->q, STR_LIT(""), f->chain.head, STR_LIT(""));
    size_t n = 0;
    for (int i = 0; i < 100 && !sendq_empty(&f->q); i++) {
        assert_int_not_equal(sendq_write(&f->q, &f->s, &f->sent), SENDQ_ERROR);
        n += drain(f->peer, got + n, sizeof(got) - n);
    }
    assert_int_equal(n, 30000);
    check_pattern(got, 30000);
    assert_null(f->q.fbuf); /* the bytes never passed through user space */
}

/* sendfile_max_chunk: each call stops after that many file bytes with
 * AGAIN and the socket's readiness wanted, though the socket would take
 * more, so the worker serves others before going on. */
static void test_max_chunk_yields(void **state)
{
    struct fx *f = *state;
    static char got[40000];
    make_file(f, 30000);
    f->q.sendfile = true;
    f->q.max_chunk = 4096;
    sendq_set(&f->q, STR_LIT("H"), f->chain.head, STR_LIT(""));
    size_t n = 0;
    int calls = 0;
    uint64_t before = 0;
    for (; calls < 100 && !sendq_empty(&f->q); calls++) {
        enum sendq_rc rc = sendq_write(&f->q, &f->s, &f->sent);
        assert_true(f->sent - before <= 4096 + 1); /* at most one chunk (and the head) */
        before = f->sent;
        if (rc == SENDQ_AGAIN)
            assert_int_equal(f->s.want, EV_WRITE);
        n += drain(f->peer, got + n, sizeof(got) - n);
    }
    assert_int_equal(n, 30001);
    assert_int_equal(got[0], 'H');
    check_pattern(got + 1, 30000);
    assert_true(calls >= 30000 / 4096);
}

/* The file is shorter than the chain says: an error, not a hang. */
static void test_file_shrank(void **state)
{
    struct fx *f = *state;
    make_file(f, 1000);
    assert_int_equal(ftruncate(f->file.fd, 10), 0);
    sendq_set(&f->q, STR_LIT(""), f->chain.head, STR_LIT(""));
    enum sendq_rc rc;
    char buf[2000];
    for (int i = 0; i < 10 && (rc = sendq_write(&f->q, &f->s, &f->sent)) != SENDQ_ERROR; i++)
        drain(f->peer, buf, sizeof(buf));
    assert_int_equal(rc, SENDQ_ERROR);
    assert_int_equal(f->q.err, EIO);
    assert_string_equal(f->q.failed, "pread()");
}

/* A byte limit per call (limit_rate's): each write sends at most `limit`
 * bytes, across head, memory, a file (by sendfile or through the buffer)
 * and tail, and asks to be called again for the rest. */
static void limited(struct fx *f, bool use_sendfile)
{
    char got[256];
    size_t n = 0;
    int calls = 0;
    assert_int_equal(out_mem(&f->pool, &f->chain, "0123456789", 10), 0);
    make_file(f, 26);
    f->q.sendfile = use_sendfile;
    f->q.limit = 7;
    sendq_set(&f->q, STR_LIT("head:"), f->chain.head, STR_LIT(":tail"));
    for (;;) {
        uint64_t before = f->sent;
        enum sendq_rc rc = sendq_write(&f->q, &f->s, &f->sent);
        calls++;
        assert_true(f->sent - before <= 7);
        n += drain(f->peer, got + n, sizeof(got) - n);
        if (rc == SENDQ_DONE)
            break;
        assert_int_equal(rc, SENDQ_AGAIN);
        assert_int_equal(f->s.want, EV_WRITE);
        assert_int_equal(f->sent - before, 7);
    }
    assert_int_equal(n, 46);
    assert_int_equal(calls, 7); /* 46 bytes, 7 at a time */
    assert_memory_equal(got, "head:0123456789", 15);
    check_pattern(got + 15, 26);
    assert_memory_equal(got + 41, ":tail", 5);
}

static void test_limit_buffered(void **state)
{
    limited(*state, false);
}

static void test_limit_sendfile(void **state)
{
    limited(*state, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_and_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cold_goes_to_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sendfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_chunk_yields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_shrank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_buffered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_sendfile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_engine.c - unit tests for the HTTP engine under handlers: the plain
 * transport, streamed responses with backpressure, request bodies (whole,
 * in pieces, in a temporary file, failures) and handlers that wait.
 *
 * A real configuration (conf_load from a temporary file), a real reactor
 * with its loop and thread pool, and a real connection (conn_accept) on one
 * end of a socketpair; the test is the client on the other end.  The
 * location's content handler is the test's own, chosen per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/module.h"
#include "core/log.h"
#include "core/ofile.h"
#include "core/out.h"
#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"
#include "http/body.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"

#define SAFETY 10.0 /* seconds any loop run may take */

/* One test's world. */
struct fx {
    char dir[64];         /* temporary prefix */
    struct conf *conf;    /* the loaded configuration */
    struct ev_loop *loop; /* the worker's loop */
    struct reactor rx;    /* the worker */
    int client;           /* the test's end of the socketpair */
    ev_timer safety;      /* ends a run that takes too long */
    bool timed_out;       /* it fired */
    char resp[1 << 20];   /* what the client read */
    size_t resp_len;      /* how much */
};

/* What the handler under test does and saw. */
static struct {
    void (*content)(struct req *r); /* the handler */
    struct req *r;                  /* the request it has */
    int pieces_sent;                /* streamed pieces so far */
    int proceeds;                   /* proceed calls */
    int done_calls;                 /* gen->done calls */
    bool complete;                  /* the last done's argument */
    int body_status;                /* body done(r, status), -1 before */
    char body[1 << 18];             /* the body as the handler got it */
    size_t body_len;                /* its length */
    bool body_in_file;              /* it came in a file segment */
    bool last_seen;                 /* a last piece arrived */
    bool hold_pieces;               /* do not resume after a piece */
} h;

/* ---- the handler's side --------------------------------------------------- */

static void gen_done(struct req *r, bool complete)
{
    (void)r;
    h.done_calls++;
    h.complete = complete;
}

static const char *const stream_pieces[] = {"abc", "defg", ""};

static void stream_next(struct req *r)
{
    static struct out_seg seg;
    const char *p = stream_pieces[h.pieces_sent];
    bool last = h.pieces_sent == 2;
    seg = (struct out_seg){.kind = OUT_MEM, .p = p, .len = strlen(p)};
    h.pieces_sent++;
    resp_write(r, seg.len ? &seg : NULL, last);
}

static void stream_proceed(struct req *r)
{
    h.proceeds++;
    stream_next(r);
}

static const struct resp_gen stream_gen = {stream_proceed, gen_done};

static void content_stream(struct req *r)
{
    h.pieces_sent = 0;
    r->status = 200;
    r->content_type = STR_LIT("text/plain");
    if (resp_start(r, &stream_gen) == 0)
        stream_next(r);
}

static void content_stream_known(struct req *r)
{
    r->resp_length = 7;
    content_stream(r);
}

/* 64 pieces of 64 KB: far more than a socket buffer holds. */
static char big_piece[65536];

static void big_proceed(struct req *r)
{
    static struct out_seg seg;
    h.proceeds++;
    seg = (struct out_seg){.kind = OUT_MEM, .p = big_piece, .len = sizeof(big_piece)};
    h.pieces_sent++;
    resp_write(r, &seg, h.pieces_sent == 64);
}

static const struct resp_gen big_gen = {big_proceed, gen_done};

static void content_big(struct req *r)
{
    r->status = 200;
    r->resp_length = 64 * (int64_t)sizeof(big_piece);
    if (resp_start(r, &big_gen) == 0) {
        h.proceeds--; /* the first piece is not asked for */
        big_proceed(r);
    }
}

static const struct resp_gen wait_gen = {NULL, gen_done};

static void content_wait(struct req *r)
{
    h.r = r;
    req_wait(r, &wait_gen, 0);
}

static void content_wait_timeout(struct req *r)
{
    h.r = r;
    req_wait(r, &wait_gen, 100);
}

static void answer_len(struct req *r, size_t len)
{
    char *text = mpool_printf(&r->pool, "%zu", len);
    r->status = 200;
    req_set_body(r, str_make(text, strlen(text)));
    resp_send(r);
}

static void body_keep(const char *p, size_t len)
{
    assert_true(h.body_len + len <= sizeof(h.body));
    if (len > 0)
        memcpy(h.body + h.body_len, p, len);
    h.body_len += len;
}

static void body_whole_done(struct req *r, int status)
{
    h.body_status = status;
    if (status != 0) {
        resp_error(r, status);
        return;
    }
    for (const struct out_seg *s = body_chain(r)->head; s != NULL; s = s->next) {
        if (s->kind == OUT_MEM) {
            body_keep(s->p, s->len);
            continue;
        }
        h.body_in_file = true;
        char buf[4096];
        for (off_t off = 0; off < (off_t)s->len;) {
            ssize_t n = pread(s->file->fd, buf, sizeof(buf), s->off + off);
            assert_true(n > 0);
            body_keep(buf, (size_t)n);
            off += n;
        }
    }
    answer_len(r, h.body_len);
}

static void content_body_whole(struct req *r)
{
    h.r = r;
    assert_int_equal(body_read_whole(r, body_whole_done), 0);
}

static void body_piece(struct req *r, const char *p, size_t len, bool last)
{
    body_keep(p, len);
    if (last) {
        h.last_seen = true;
        answer_len(r, h.body_len);
        return;
    }
    h.pieces_sent++;
    if (!h.hold_pieces)
        body_resume(r);
}

static void body_stream_failed(struct req *r, int status)
{
    h.body_status = status;
    resp_error(r, status);
}

static void content_body_stream(struct req *r)
{
    h.r = r;
    assert_int_equal(body_read_stream(r, body_piece, body_stream_failed), 0);
}

static void content_dispatch(struct req *r)
{
    h.content(r);
}

/* ---- fixture ----------------------------------------------------------------- */

static void write_conf(struct fx *f, const char *extra)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/t.conf", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out,
            "events {}\nhttp {\n access_log off;\n client_body_buffer_size 1k;\n"
            " client_body_temp_path %s/body;\n client_max_body_size 100k;\n"
            " client_body_timeout 200ms;\n %s\n"
            " server { listen 127.0.0.1:1; location / { } }\n}\n",
            f->dir, extra);
    fclose(out);
}

static void load(struct fx *f, const char *extra)
{
    char file[256], prefix[256], err[1024];
    write_conf(f, extra);
    snprintf(file, sizeof(file), "%s/t.conf", f->dir);
    snprintf(prefix, sizeof(prefix), "%s/", f->dir);
    struct conf_paths paths = {
        .prefix = prefix, .conf_file = file, .conf_prefix = prefix, .error_log = "stderr"};
    f->conf = conf_load(&paths, false, err, sizeof(err));
    if (f->conf == NULL)
        fail_msg("conf_load: %s", err);
    assert_int_equal(modules_master_open(f->conf, err, sizeof(err)), 0);
    http_main(f->conf)->servers[0]->locs[0]->content = content_dispatch;
}

static void safety_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct fx *f = t->data;
    (void)revents;
    f->timed_out = true;
    ev_break(loop, EVBREAK_ALL);
}

/* Connects a client: the server end goes to conn_accept. */
static void start(struct fx *f, const char *extra)
{
    int sv[2];
    load(f, extra);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    assert_int_equal(reactor_init(&f->rx, f->loop, f->conf), 0);
    assert_int_equal(modules_worker_start(&f->rx), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    union sockaddr_any peer = {0};
    peer.sa.sa_family = AF_UNIX;
    conn_accept(&f->rx, sv[0], &peer, &http_main(f->conf)->ports[0]);
    f->client = sv[1];
    ev_timer_init(&f->safety, safety_cb, SAFETY, 0.);
    f->safety.data = f;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_engine.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    memset(&h, 0, sizeof(h));
    h.body_status = -1;
    f->client = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    if (f->loop != NULL) {
        reactor_close_all(&f->rx);
        MODULES_WORKER(&f->rx, worker_stop);
        reactor_destroy(&f->rx);
        ev_loop_destroy(f->loop);
    }
    if (f->client >= 0)
        close(f->client);
    conf_free(f->conf);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* ---- the client's side --------------------------------------------------------- */

static void client_send(struct fx *f, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(write(f->client, text, len), (ssize_t)len);
}

/* Reads what is there; returns false once the server closed. */
static bool client_read(struct fx *f)
{
    static char scratch[65536];
    for (;;) {
        size_t room = sizeof(f->resp) - 1 - f->resp_len;
        bool full = room == 0; /* past what the tests look at: counted only */
        ssize_t n =
            read(f->client, full ? scratch : f->resp + f->resp_len, full ? sizeof(scratch) : room);
        if (n > 0 && !full) {
            f->resp_len += (size_t)n;
            f->resp[f->resp_len] = '\0';
        }
        if (n > 0)
            continue;
        return n < 0 && errno == EAGAIN;
    }
}

/* Runs the loop until until(f) holds (or the safety timer fires). */
static void run_until(struct fx *f, bool (*until)(struct fx *f))
{
    f->timed_out = false;
    ev_timer_start(f->loop, &f->safety);
    while (!until(f) && !f->timed_out)
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &f->safety);
    if (f->timed_out)
        print_error("timed out: pieces %d proceeds %d done %d body %d resp %zu: %.200s\n",
                    h.pieces_sent, h.proceeds, h.done_calls, h.body_status, f->resp_len, f->resp);
    assert_false(f->timed_out);
}

static bool got_done(struct fx *f)
{
    client_read(f);
    return h.done_calls > 0;
}

static bool got_response(struct fx *f)
{
    client_read(f);
    char *end = strstr(f->resp, "\r\n\r\n");
    if (end == NULL)
        return false;
    const char *cl = strstr(f->resp, "Content-Length: ");
    size_t body = cl != NULL && cl < end ? (size_t)atol(cl + 16) : 0;
    return f->resp_len >= (size_t)(end + 4 - f->resp) + body;
}

static bool got_close(struct fx *f)
{
    return !client_read(f);
}

static const char *resp_body(const struct fx *f)
{
    const char *end = strstr(f->resp, "\r\n\r\n");
    return end != NULL ? end + 4 : "";
}

/* ---- the transport --------------------------------------------------------------- */

static void test_plain_transport(void **state)
{
    struct fx *f = *state;
    int sv[2];
    struct sock s = {0};
    char buf[8];
    (void)f;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    s.tp = &transport_plain;
    ev_io_init(&s.io, NULL, sv[0], EV_READ);
    assert_int_equal(s.tp->probe(&s), PROBE_NOTHING);
    assert_int_equal(s.tp->read(&s, buf, sizeof(buf)), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(s.want, EV_READ);
    assert_int_equal(write(sv[1], "xy", 2), 2);
    assert_int_equal(s.tp->probe(&s), PROBE_DATA);
    assert_int_equal(s.tp->probe(&s), PROBE_DATA); /* a probe never consumes */
    assert_int_equal(s.tp->read(&s, buf, sizeof(buf)), 2);
    struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
    assert_int_equal(s.tp->writev(&s, iov, 2, false), 4);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "abcd", 4);
    assert_int_equal(s.tp->shutdown(&s), 0);
    assert_int_equal(read(sv[1], buf, sizeof(buf)), 0); /* the peer sees the end */
    close(sv[1]);
    assert_int_equal(s.tp->probe(&s), PROBE_CLOSED);
    close(sv[0]);
}

/* ---- streamed responses --------------------------------------------------------- */

static void test_stream_chunked(void **state)
{
    struct fx *f = *state;
    h.content = content_stream;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_done);
    assert_true(h.complete);
    assert_int_equal(h.proceeds, 2);
    assert_non_null(strstr(f->resp, "Transfer-Encoding: chunked\r\n"));
    assert_null(strstr(f->resp, "Content-Length"));
    assert_string_equal(resp_body(f), "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    /* kept alive: a second request gets a second response */
    f->resp_len = 0;
    h.done_calls = 0;
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_done);
    assert_string_equal(resp_body(f), "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
}

static void test_stream_known_length(void **state)
{
    struct fx *f = *state;
    h.content = content_stream_known;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_done);
    assert_non_null(strstr(f->resp, "Content-Length: 7\r\n"));
    assert_null(strstr(f->resp, "Transfer-Encoding"));
    assert_string_equal(resp_body(f), "abcdefg");
}

/* HTTP/1.0 has no chunks: the close ends the body. */
static void test_stream_http10(void **state)
{
    struct fx *f = *state;
    h.content = content_stream;
    start(f, "");
    client_send(f, "GET / HTTP/1.0\r\n\r\n");
    run_until(f, got_close);
    assert_true(h.complete);
    assert_null(strstr(f->resp, "Transfer-Encoding"));
    assert_non_null(strstr(f->resp, "Connection: close\r\n"));
    assert_string_equal(resp_body(f), "abcdefg");
}

static void test_stream_head(void **state)
{
    struct fx *f = *state;
    h.content = content_stream;
    start(f, "");
    client_send(f, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_done);
    assert_true(h.complete);
    assert_string_equal(resp_body(f), "");
}

static bool producer_stalled(struct fx *f)
{
    (void)f;
    return h.pieces_sent > 1;
}

/* The client does not read: the handler is not asked for more than the
 * socket takes, and the writer holds one piece at a time. */
static void test_stream_backpressure(void **state)
{
    struct fx *f = *state;
    h.content = content_big;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, producer_stalled);
    for (int i = 0; i < 20; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    int stalled_at = h.pieces_sent;
    assert_true(stalled_at < 64);
    for (int i = 0; i < 20; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(h.pieces_sent, stalled_at); /* nothing more without a reader */
    run_until(f, got_done);                      /* reading lets it finish */
    assert_true(h.complete);
    assert_int_equal(h.pieces_sent, 64);
}

/* The client goes away mid-stream: the handler hears done(false). */
static void test_stream_client_gone(void **state)
{
    struct fx *f = *state;
    h.content = content_big;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, producer_stalled);
    close(f->client);
    f->client = -1;
    run_until(f, got_done);
    assert_false(h.complete);
    assert_int_equal(h.done_calls, 1);
}

/* Pieces of a response sent under limit_rate. */
static char rate_piece[4096];

static void rate_proceed(struct req *r)
{
    static struct out_seg seg;
    h.proceeds++;
    seg = (struct out_seg){.kind = OUT_MEM, .p = rate_piece, .len = sizeof(rate_piece)};
    h.pieces_sent++;
    resp_write(r, &seg, h.pieces_sent == 3);
}

static const struct resp_gen rate_gen = {rate_proceed, gen_done};

static void content_rate(struct req *r)
{
    h.r = r;
    r->status = 200;
    r->resp_length = 3 * (int64_t)sizeof(rate_piece);
    if (resp_start(r, &rate_gen) == 0) {
        h.proceeds--; /* the first piece is not asked for */
        rate_proceed(r);
    }
}

static bool writer_paused(struct fx *f)
{
    client_read(f);
    return h.r != NULL && h.r->wout.delayed;
}

/* limit_rate 4k: the head and the first piece are more than the first
 * second's allowance, so the writer stops after 4096 bytes and pauses on
 * the timer heap, watching neither the socket nor asking the handler for
 * more; then it goes on, and the 12 KB body cannot have arrived before
 * (bytes - 4096) / 4096 seconds. */
static void test_stream_limit_rate_pauses(void **state)
{
    struct fx *f = *state;
    memset(rate_piece, 'r', sizeof(rate_piece));
    h.content = content_rate;
    start(f, "limit_rate 4k;");
    ev_tstamp t0 = ev_time();
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, writer_paused);
    struct conn *c = h.r->c;
    assert_non_null(c->sk.timer.heap);
    assert_false(ev_is_active(&c->sk.io));
    assert_int_equal(h.proceeds, 0);
    assert_int_equal(f->resp_len, 4096);
    run_until(f, got_done);
    ev_tstamp took = ev_time() - t0;
    assert_true(h.complete);
    assert_int_equal(h.pieces_sent, 3);
    assert_int_equal(strlen(resp_body(f)), 3 * sizeof(rate_piece));
    assert_true(took >= (double)(f->resp_len - 4096) / 4096 - 0.05);
}

/* ---- handlers that wait ---------------------------------------------------------- */

static void test_wait_client_closes(void **state)
{
    struct fx *f = *state;
    h.content = content_wait;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    for (int i = 0; i < 10 && h.r == NULL; i++)
        ev_run(f->loop, EVRUN_ONCE);
    assert_non_null(h.r);
    assert_int_equal(h.done_calls, 0);
    close(f->client);
    f->client = -1;
    run_until(f, got_done);
    assert_false(h.complete);
    assert_int_equal(f->rx.nsocks, 0); /* the connection closed */
}

static void test_wait_timeout(void **state)
{
    struct fx *f = *state;
    h.content = content_wait_timeout;
    start(f, "");
    client_send(f, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_done);
    assert_false(h.complete);
    assert_false(client_read(f)); /* closed */
}

/* ---- request bodies ------------------------------------------------------------- */

static bool got_body(struct fx *f)
{
    return got_response(f) && h.body_status >= 0;
}

static void test_body_content_length(void **state)
{
    struct fx *f = *state;
    h.content = content_body_whole;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
    run_until(f, got_body);
    assert_int_equal(h.body_status, 0);
    assert_int_equal(h.body_len, 11);
    assert_memory_equal(h.body, "hello world", 11);
    assert_false(h.body_in_file);
    assert_string_equal(resp_body(f), "11");
}

static void test_body_chunked(void **state)
{
    struct fx *f = *state;
    h.content = content_body_whole;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n6\r\n world\r\n");
    for (int i = 0; i < 5; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    client_send(f, "1\r\n!\r\n0\r\n\r\n");
    run_until(f, got_body);
    assert_int_equal(h.body_status, 0);
    assert_int_equal(h.body_len, 12);
    assert_memory_equal(h.body, "hello world!", 12);
}

/* More than client_body_buffer_size (1k): a temporary file, written by the
 * pool, with every byte in order; and the next request still parses. */
static void test_body_temp_file(void **state)
{
    struct fx *f = *state;
    static char big[50000];
    char head[128];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    h.content = content_body_whole;
    start(f, "");
    snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n",
             sizeof(big));
    client_send(f, head);
    for (size_t off = 0; off < sizeof(big);) {
        ssize_t n = write(f->client, big + off, sizeof(big) - off);
        if (n > 0)
            off += (size_t)n;
        ev_run(f->loop, EVRUN_NOWAIT);
    }
    run_until(f, got_body);
    assert_int_equal(h.body_status, 0);
    assert_true(h.body_in_file);
    assert_int_equal(h.body_len, sizeof(big));
    assert_memory_equal(h.body, big, sizeof(big));
    /* Nothing named is left in the directory: the file was unnamed. */
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/body)\"", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_body_chunked_too_large(void **state)
{
    struct fx *f = *state;
    static char chunk[4096 + 16];
    h.content = content_body_whole;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    memset(chunk, 'x', sizeof(chunk));
    memcpy(chunk, "1000\r\n", 6);
    memcpy(chunk + 6 + 4096, "\r\n", 2);
    for (int i = 0; i < 30 && h.body_status < 0; i++) { /* 120k > 100k */
        (void)!write(f->client, chunk, 6 + 4096 + 2);
        ev_run(f->loop, EVRUN_NOWAIT);
    }
    run_until(f, got_body);
    assert_int_equal(h.body_status, 413);
    assert_non_null(strstr(f->resp, "HTTP/1.1 413 "));
}

static void test_body_bad_chunk(void **state)
{
    struct fx *f = *state;
    h.content = content_body_whole;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    client_send(f, "zz\r\nhello\r\n0\r\n\r\n");
    run_until(f, got_body);
    assert_int_equal(h.body_status, 400);
}

static void test_body_timeout(void **state)
{
    struct fx *f = *state;
    h.content = content_body_whole;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    run_until(f, got_body);
    assert_int_equal(h.body_status, 408);
    assert_non_null(strstr(f->resp, "HTTP/1.1 408 "));
}

/* The temporary directory cannot be written: 500, never a block. */
static void test_body_temp_unwritable(void **state)
{
    struct fx *f = *state;
    static char big[5000];
    char head[128];
    memset(big, 'q', sizeof(big));
    h.content = content_body_whole;
    start(f, "");
    char path[128];
    snprintf(path, sizeof(path), "%s/body", f->dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(mkdir(path, 0500), 0);
    if (geteuid() == 0)
        assert_int_equal(rmdir(path), 0); /* root writes anywhere: take it away */
    snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n",
             sizeof(big));
    client_send(f, head);
    assert_int_equal(write(f->client, big, sizeof(big)), (ssize_t)sizeof(big));
    run_until(f, got_body);
    assert_int_equal(h.body_status, 500);
}

/* A write that fails midway (a full disk; here the file size limit gives
 * the same failed pwrite): 500. */
static void test_body_temp_write_fails(void **state)
{
    struct fx *f = *state;
    static char big[20000];
    char head[128];
    struct rlimit old, small = {4096, RLIM_INFINITY};
    memset(big, 'w', sizeof(big));
    h.content = content_body_whole;
    start(f, "");
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n",
             sizeof(big));
    client_send(f, head);
    for (size_t off = 0; off < sizeof(big) && h.body_status < 0;) {
        ssize_t n = write(f->client, big + off, sizeof(big) - off);
        if (n > 0)
            off += (size_t)n;
        ev_run(f->loop, EVRUN_NOWAIT);
    }
    run_until(f, got_body);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(h.body_status, 500);
}

static bool got_continue(struct fx *f)
{
    client_read(f);
    return strstr(f->resp, "HTTP/1.1 100 Continue\r\n\r\n") != NULL;
}

static void test_body_expect_continue(void **state)
{
    struct fx *f = *state;
    h.content = content_body_whole;
    start(f, "");
    client_send(f,
                "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    run_until(f, got_continue);
    assert_int_equal(strncmp(f->resp, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
    f->resp_len = 0;
    client_send(f, "data");
    run_until(f, got_body);
    assert_int_equal(h.body_status, 0);
    assert_memory_equal(h.body, "data", 4);
    assert_non_null(strstr(f->resp, "HTTP/1.1 200 OK"));
}

/* Pieces wait for the handler: nothing more is read until it resumes. */
static void test_body_stream_backpressure(void **state)
{
    struct fx *f = *state;
    h.content = content_body_stream;
    h.hold_pieces = true;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    for (int i = 0; i < 20; i++)
        ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(h.pieces_sent, 1);
    assert_int_equal(h.body_len, 3);
    body_resume(h.r);
    assert_int_equal(h.pieces_sent, 2);
    h.hold_pieces = false;
    body_resume(h.r);
    run_until(f, got_response);
    assert_true(h.last_seen);
    assert_memory_equal(h.body, "abcdef", 6);
    assert_string_equal(resp_body(f), "6");
}

static bool got_two_done(struct fx *f)
{
    client_read(f);
    return h.done_calls >= 2 && strstr(strstr(f->resp, "abcdefg") + 7, "abcdefg") != NULL;
}

/* A body nobody reads is still discarded, and the next request parses. */
static void test_body_unread_is_discarded(void **state)
{
    struct fx *f = *state;
    h.content = content_stream_known;
    start(f, "");
    client_send(f, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nxxxxx"
                   "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    run_until(f, got_two_done);
    assert_int_equal(h.done_calls, 2);
    assert_non_null(strstr(strstr(f->resp, "abcdefg") + 7, "abcdefg"));
}

int main(void)
{
    log_set_startup(false);
    if (getenv("TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_transport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_known_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_http10, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_limit_rate_pauses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_client_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_content_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_chunked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_temp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_chunked_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_bad_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_temp_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_temp_write_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_stream_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_unread_is_discarded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

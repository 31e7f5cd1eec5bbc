/* conn_write.c - sending the pieces of a response through the transport.
 *
 * Memory goes out with writev (the head and the segments after it in one
 * call), files with sendfile on a transport that has it.  A transport that
 * must see the bytes (TLS, or sendfile off) gets them through one buffer
 * per connection: filled on the loop when the file's pages are cached
 * (preadv2 RWF_NOWAIT), else by a pool job, so a cold disk never stalls
 * the loop. */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/ofile.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "event/transport.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/req.h"
#include "http/resp.h"

#define CONN_IOV_MAX 16
#define CONN_FILE_CHUNK 65536

static const struct loc_conf *conn_write_loc(const struct conn *c)
{
    return resp_loc(c->req);
}

/* ---- advancing ------------------------------------------------------------ */

static void conn_skip_empty(struct conn_out *o)
{
    while (o->seg != NULL && o->seg->len == o->off) {
        o->seg = o->seg->next;
        o->off = 0;
    }
}

static void conn_advance(struct conn_out *o, size_t n)
{
    size_t take = n < o->head.len ? n : o->head.len;
    o->head.p += take;
    o->head.len -= take;
    n -= take;
    while (n > 0 && o->seg != NULL) {
        size_t left = o->seg->len - o->off;
        if (n < left) {
            o->off += n;
            return;
        }
        n -= left;
        o->seg = o->seg->next;
        o->off = 0;
    }
    conn_skip_empty(o);
    take = n < o->tail.len ? n : o->tail.len;
    o->tail.p += take;
    o->tail.len -= take;
}

static bool conn_out_pending(const struct conn_out *o)
{
    return o->head.len > 0 || o->seg != NULL || o->tail.len > 0;
}

/* ---- memory --------------------------------------------------------------- */

/* The head, the memory segments that follow it and, once the chain ends,
 * the tail, in one writev.  When a file comes next, MSG_MORE (tcp_nopush)
 * lets the kernel put the head and the file's first bytes in one packet
 * without two TCP_CORK syscalls. */
static ssize_t conn_write_mem(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    struct iovec iov[CONN_IOV_MAX];
    const struct out_seg *s = o->seg;
    int n = 0;
    if (o->head.len > 0)
        iov[n++] = (struct iovec){(void *)o->head.p, o->head.len};
    size_t off = o->off;
    for (; s != NULL && s->kind == OUT_MEM && n < CONN_IOV_MAX; s = s->next) {
        iov[n++] = (struct iovec){(char *)s->p + off, s->len - off};
        off = 0;
    }
    if (s == NULL && o->tail.len > 0 && n < CONN_IOV_MAX)
        iov[n++] = (struct iovec){(void *)o->tail.p, o->tail.len};
    bool more = s != NULL && s->kind == OUT_FILE && c->nopush;
    return c->sk.tp->writev(&c->sk, iov, n, more);
}

/* ---- files ---------------------------------------------------------------- */

/* A pool job reading the next file bytes into the connection's buffer. */
struct conn_read_job {
    struct tpool_job job; /* the pool's part; first */
    struct conn *c;       /* held by the job: the buffer and the file stay valid */
    char *buf;            /* the connection's file buffer, which the job fills */
    int fd;               /* the file */
    off_t off;            /* where to read */
    size_t len;           /* how much */
    ssize_t n;            /* result: bytes, or -1 */
    int err;              /* its errno */
};

static void conn_read_work(struct tpool_job *job)
{
    struct conn_read_job *j = (struct conn_read_job *)job;
    do
        j->n = pread(j->fd, j->buf, j->len, j->off);
    while (j->n < 0 && errno == EINTR);
    j->err = errno;
}

static int conn_filled(struct conn *c, ssize_t n, int err);

static void conn_read_done(struct tpool_job *job)
{
    struct conn_read_job *j = (struct conn_read_job *)job;
    struct conn *c = j->c;
    c->req->wout.file_wait = false;
    if (conn_filled(c, j->n, j->err) == 0)
        conn_write(c);
}

static void conn_read_release(struct tpool_job *job)
{
    free(job);
}

/* The buffer holds what pread gave; 0 when there is something to send. */
static int conn_filled(struct conn *c, ssize_t n, int err)
{
    if (n <= 0) {
        conn_logf(c, LL_CRIT, n < 0 ? err : 0, n < 0 ? "pread() failed" : "file was truncated");
        conn_close(c);
        return -1;
    }
    c->req->wout.flen = (uint32_t)n;
    c->req->wout.fsent = 0;
    return 0;
}

static int conn_read_in_pool(struct conn *c, int fd, off_t off, size_t len)
{
    struct conn_read_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->job = (struct tpool_job){.work = conn_read_work,
                                .done = conn_read_done,
                                .release = conn_read_release,
                                .owner = &c->sk.own,
                                .cls = TPOOL_FILE};
    j->c = c;
    j->buf = c->req->wout.fbuf;
    j->fd = fd;
    j->off = off;
    j->len = len;
    if (tpool_submit(c->sk.rx->pool, &j->job) < 0) {
        free(j);
        return -1;
    }
    c->req->wout.file_wait = true;
    return 0;
}

/* Fills the buffer from the current file segment: 1 when it has bytes,
 * 0 when a pool job will fill it, -1 when the connection closed. */
static int conn_fill(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    const struct out_seg *s = o->seg;
    off_t off = s->off + (off_t)o->off;
    size_t len = s->len - o->off;
    len = len < CONN_FILE_CHUNK ? len : CONN_FILE_CHUNK;
    if (o->fbuf == NULL && (o->fbuf = malloc(CONN_FILE_CHUNK)) == NULL) {
        conn_close(c);
        return -1;
    }
    struct iovec iov = {o->fbuf, len};
    ssize_t n = preadv2(s->file->fd, &iov, 1, off, RWF_NOWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
        if (conn_read_in_pool(c, s->file->fd, off, len) == 0)
            return 0;
        n = pread(s->file->fd, o->fbuf, len, off); /* the queue is full: read here */
    }
    return conn_filled(c, n, errno) == 0 ? 1 : -1;
}

static ssize_t conn_write_buffered(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    struct iovec iov = {o->fbuf + o->fsent, o->flen - o->fsent};
    ssize_t n = c->sk.tp->writev(&c->sk, &iov, 1, false);
    if (n > 0)
        o->fsent += (uint32_t)n;
    return n;
}

/* One step of a file segment: sendfile, or the buffer (filled first when
 * empty).  Returns what the transport returned; -2 when the buffer is
 * being filled in the pool or the connection closed. */
static ssize_t conn_write_file(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    const struct out_seg *s = o->seg;
    if (conn_write_loc(c)->sendfile && c->sk.tp->sendfile != NULL) {
        off_t off = s->off + (off_t)o->off;
        size_t len = s->len - o->off;
        long max = http_extra(conn_write_loc(c))->sendfile_max_chunk;
        if (max > 0 && len > (size_t)max)
            len = (size_t)max;
        return c->sk.tp->sendfile(&c->sk, s->file->fd, &off, len);
    }
    if (o->fsent == o->flen && conn_fill(c) <= 0)
        return -2;
    return conn_write_buffered(c);
}

/* ---- the loop ------------------------------------------------------------- */

/* sendfile_max_chunk: after that many file bytes, wait for the next
 * round of the loop (the socket's readiness), so that one fast client on
 * a big file does not hold the worker while others wait (nginx 1.21.4+
 * posts its write event to the next iteration the same way). */
static int conn_write_yield(struct conn *c)
{
    sock_watch(&c->sk, EV_WRITE);
    sock_arm(&c->sk, conn_write_loc(c)->send_timeout);
    return -1;
}

/* Writes until the piece is out or the socket is full; -1 when it must
 * wait (or closed), 0 when the piece has gone. */
static int conn_write_piece(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    long max = http_extra(conn_write_loc(c))->sendfile_max_chunk;
    uint64_t file_bytes = 0;
    while (conn_out_pending(o)) {
        if (max > 0 && file_bytes >= (uint64_t)max)
            return conn_write_yield(c);
        bool mem = o->head.len > 0 || o->seg == NULL || o->seg->kind == OUT_MEM;
        ssize_t n = mem ? conn_write_mem(c) : conn_write_file(c);
        if (n == -2)
            return -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            sock_watch(&c->sk, c->sk.want);
            sock_arm(&c->sk, conn_write_loc(c)->send_timeout);
            return -1;
        }
        if (n < 0) {
            conn_logf(c, LL_INFO, errno, mem ? "writev() failed" : "sendfile() failed");
            conn_close(c);
            return -1;
        }
        c->req->bytes_sent += (uint64_t)n;
        file_bytes += mem ? 0 : (uint64_t)n;
        conn_advance(o, (size_t)n);
    }
    return 0;
}

/* A handler asked for more from inside its proceed callback is served by
 * this loop, not by recursion, so a fast producer cannot grow the stack.
 * The last piece ends the response, which may free the request and with
 * it this state: nothing here is touched after that. */
void conn_write(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    if (o->writing || o->file_wait)
        return;
    o->writing = true;
    while (o->queued && c->state == CS_WRITE) {
        if (conn_write_piece(c) < 0)
            break;
        o->queued = false;
        timer_disarm(&c->sk.timer);
        if (o->last) {
            o->writing = false;
            conn_sent(c);
            return;
        }
        conn_sent(c);
    }
    o->writing = false;
}

void conn_send(struct conn *c, struct str head, struct out_seg *chain, struct str tail, bool last)
{
    struct conn_out *o = &c->req->wout;
    const struct loc_conf *loc = conn_write_loc(c);
    c->state = CS_WRITE;
    o->head = head;
    o->seg = chain;
    o->off = 0;
    o->tail = tail;
    o->last = last;
    o->queued = true;
    conn_skip_empty(o);
    c->nopush = loc->tcp_nopush && loc->sendfile;
    conn_write(c);
}

void conn_out_reset(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    free(o->fbuf);
    *o = (struct conn_out){0};
}

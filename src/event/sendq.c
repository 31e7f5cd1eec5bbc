/* sendq.c - a head, a chain and a tail through a transport. */
#include "event/sendq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/ofile.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"

#define SENDQ_IOV_MAX 16
#define SENDQ_FILE_CHUNK 65536

static void sendq_skip_empty(struct sendq *q)
{
    while (q->seg != NULL && q->seg->len == q->off) {
        q->seg = q->seg->next;
        q->off = 0;
    }
}

void sendq_set(struct sendq *q, struct str head, struct out_seg *chain, struct str tail)
{
    q->head = head;
    q->seg = chain;
    q->off = 0;
    q->tail = tail;
    q->flen = q->fsent = 0;
    q->read_failed = false;
    sendq_skip_empty(q);
}

bool sendq_empty(const struct sendq *q)
{
    return q->head.len == 0 && q->seg == NULL && q->tail.len == 0;
}

static void sendq_advance(struct sendq *q, size_t n)
{
    size_t take = n < q->head.len ? n : q->head.len;
    q->head.p += take;
    q->head.len -= take;
    n -= take;
    while (n > 0 && q->seg != NULL) {
        size_t left = q->seg->len - q->off;
        if (n < left) {
            q->off += n;
            return;
        }
        n -= left;
        q->seg = q->seg->next;
        q->off = 0;
    }
    sendq_skip_empty(q);
    take = n < q->tail.len ? n : q->tail.len;
    q->tail.p += take;
    q->tail.len -= take;
}

/* ---- the byte limit ------------------------------------------------------- */

static size_t sendq_cap(const struct sendq *q, size_t len)
{
    return len < q->room ? len : q->room;
}

/* Shortens an iovec to the bytes the limit leaves; returns its count. */
static int sendq_trim(const struct sendq *q, struct iovec *iov, int n)
{
    size_t left = q->room;
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len >= left) {
            iov[i].iov_len = left;
            return left > 0 ? i + 1 : i;
        }
        left -= iov[i].iov_len;
    }
    return n;
}

/* ---- memory --------------------------------------------------------------- */

/* The head, the memory segments that follow it and, once the chain ends,
 * the tail, in one writev.  When a file comes next, MSG_MORE (tcp_nopush)
 * lets the kernel put the head and the file's first bytes in one packet
 * without two TCP_CORK syscalls.  A transport that cannot sendfile (TLS)
 * is told so whatever tcp_nopush says: it seals the head with the file's
 * first bytes, one record and one send, as nginx's SSL buffer does. */
static ssize_t sendq_write_mem(struct sendq *q, struct sock *s)
{
    struct iovec iov[SENDQ_IOV_MAX];
    const struct out_seg *seg = q->seg;
    int n = 0;
    if (q->head.len > 0)
        iov[n++] = (struct iovec){(void *)q->head.p, q->head.len};
    size_t off = q->off;
    for (; seg != NULL && seg->kind == OUT_MEM && n < SENDQ_IOV_MAX; seg = seg->next) {
        iov[n++] = (struct iovec){(char *)seg->p + off, seg->len - off};
        off = 0;
    }
    if (seg == NULL && q->tail.len > 0 && n < SENDQ_IOV_MAX)
        iov[n++] = (struct iovec){(void *)q->tail.p, q->tail.len};
    bool more = seg != NULL && seg->kind == OUT_FILE && (q->nopush || s->tp->sendfile == NULL);
    int whole = n;
    size_t last = n > 0 ? iov[n - 1].iov_len : 0;
    n = sendq_trim(q, iov, n);
    /* What the rate limit cuts short is not followed at once. */
    if (n < whole || (n > 0 && iov[n - 1].iov_len < last))
        more = false;
    q->failed = "writev()";
    return s->tp->writev(s, iov, n, more);
}

/* ---- files ---------------------------------------------------------------- */

/* A pool job reading the next file bytes into the queue's buffer. */
struct sendq_read_job {
    struct tpool_job job; /* the pool's part; first */
    struct sendq *q;      /* whose buffer (its owner's socket is held by the job) */
    char *buf;            /* the buffer, which only this job touches meanwhile */
    int fd;               /* the file */
    off_t off;            /* where to read */
    size_t len;           /* how much */
    ssize_t n;            /* result: bytes, or -1 */
    int err;              /* its errno */
};

static void sendq_read_work(struct tpool_job *job)
{
    struct sendq_read_job *j = (struct sendq_read_job *)job;
    do
        j->n = pread(j->fd, j->buf, j->len, j->off);
    while (j->n < 0 && errno == EINTR);
    j->err = errno;
}

/* The buffer holds what pread gave; 0 when there is something to send. */
static int sendq_filled(struct sendq *q, ssize_t n, int err)
{
    if (n <= 0) {
        q->err = n < 0 ? err : EIO; /* 0: the file shrank under us */
        q->failed = "pread()";
        return -1;
    }
    q->flen = (uint32_t)n;
    q->fsent = 0;
    return 0;
}

static void sendq_read_done(struct tpool_job *job)
{
    struct sendq_read_job *j = (struct sendq_read_job *)job;
    struct sendq *q = j->q;
    q->file_wait = false;
    q->read_failed = sendq_filled(q, j->n, j->err) < 0; /* the next write reports it */
    q->filled(q, q->data);
}

static void sendq_read_release(struct tpool_job *job)
{
    free(job);
}

static int sendq_read_in_pool(struct sendq *q, struct sock *s, int fd, off_t off, size_t len)
{
    struct sendq_read_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->job = (struct tpool_job){.work = sendq_read_work,
                                .done = sendq_read_done,
                                .release = sendq_read_release,
                                .owner = &s->own,
                                .cls = TPOOL_FILE};
    j->q = q;
    j->buf = q->fbuf;
    j->fd = fd;
    j->off = off;
    j->len = len;
    if (tpool_submit(s->rx->pool, &j->job) < 0) {
        free(j);
        return -1;
    }
    q->file_wait = true;
    return 0;
}

/* Fills the buffer from the current file segment: 1 when it has bytes,
 * 0 when a pool job will fill it, -1 on failure. */
static int sendq_fill(struct sendq *q, struct sock *s)
{
    const struct out_seg *seg = q->seg;
    off_t off = seg->off + (off_t)q->off;
    size_t len = seg->len - q->off;
    len = len < SENDQ_FILE_CHUNK ? len : SENDQ_FILE_CHUNK;
    if (q->fbuf == NULL && (q->fbuf = malloc(SENDQ_FILE_CHUNK)) == NULL) {
        q->err = ENOMEM;
        q->failed = "malloc()";
        return -1;
    }
    struct iovec iov = {q->fbuf, len};
    ssize_t n = preadv2(seg->file->fd, &iov, 1, off, RWF_NOWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
        if (q->filled != NULL && sendq_read_in_pool(q, s, seg->file->fd, off, len) == 0)
            return 0;
        n = pread(seg->file->fd, q->fbuf, len, off); /* no pool to ask: read here */
    }
    return sendq_filled(q, n, errno) == 0 ? 1 : -1;
}

static ssize_t sendq_write_buffered(struct sendq *q, struct sock *s)
{
    struct iovec iov = {q->fbuf + q->fsent, sendq_cap(q, q->flen - q->fsent)};
    q->failed = "writev()";
    ssize_t n = s->tp->writev(s, &iov, 1, false);
    if (n > 0)
        q->fsent += (uint32_t)n;
    return n;
}

/* One step of a file segment: sendfile, or the buffer (filled first when
 * empty).  -2 when the buffer is being filled in the pool, -3 on a failed
 * fill. */
static ssize_t sendq_write_file(struct sendq *q, struct sock *s)
{
    const struct out_seg *seg = q->seg;
    if (q->sendfile && s->tp->sendfile != NULL) {
        off_t off = seg->off + (off_t)q->off;
        size_t len = seg->len - q->off;
        if (q->max_chunk > 0 && len > q->max_chunk)
            len = q->max_chunk;
        q->failed = "sendfile()";
        return s->tp->sendfile(s, seg->file->fd, &off, sendq_cap(q, len));
    }
    if (q->fsent == q->flen) {
        int rc = sendq_fill(q, s);
        if (rc <= 0)
            return rc == 0 ? -2 : -3;
    }
    return sendq_write_buffered(q, s);
}

/* ---- the loop ------------------------------------------------------------- */

/* After max_chunk file bytes, the socket's owner waits for the next turn
 * of the loop (the socket stays writable, so it comes at once), so that
 * one fast client on a big file does not hold the worker while others
 * wait; nginx's sendfile_max_chunk, as 1.21.4 and later post their write
 * event to the next iteration. */
static enum sendq_rc sendq_yield(struct sock *s)
{
    s->want = EV_WRITE;
    return SENDQ_AGAIN;
}

enum sendq_rc sendq_write(struct sendq *q, struct sock *s, uint64_t *sent)
{
    uint64_t file_bytes = 0;
    if (q->file_wait)
        return SENDQ_POOL;
    if (q->read_failed)
        return SENDQ_ERROR;
    q->room = q->limit > 0 ? q->limit : SIZE_MAX;
    while (!sendq_empty(q)) {
        if (q->room == 0) /* the limit's pause is the caller's: it is asked at once */
            return sendq_yield(s);
        if (q->max_chunk > 0 && file_bytes >= q->max_chunk)
            return sendq_yield(s);
        bool mem = q->head.len > 0 || q->seg == NULL || q->seg->kind == OUT_MEM;
        ssize_t n = mem ? sendq_write_mem(q, s) : sendq_write_file(q, s);
        if (n == -2)
            return SENDQ_POOL;
        if (n == -3)
            return SENDQ_ERROR;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return SENDQ_AGAIN;
        if (n < 0) {
            q->err = errno;
            return SENDQ_ERROR;
        }
        *sent += (uint64_t)n;
        q->room -= (size_t)n;
        file_bytes += mem ? 0 : (uint64_t)n;
        sendq_advance(q, (size_t)n);
    }
    return SENDQ_DONE;
}

void sendq_free(struct sendq *q)
{
    free(q->fbuf);
    q->fbuf = NULL;
    q->flen = q->fsent = 0;
}

/* body.c - reading request bodies: decoded by http-parser (Content-Length)
 * or the chunk decoder (chunked), handed to the handler in pieces or
 * gathered whole (memory, then a temporary file that the thread pool
 * writes). */
#include "http/body.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ofile.h"
#include "core/out.h"
#include "event/reactor.h"
#include "event/transport.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/req_job.h"

#define BODY_READ_CHUNK 16384

static const char body_continue[] = "HTTP/1.1 100 Continue\r\n\r\n";

enum body_mode {
    BODY_WHOLE,  /* gathered, then done(r, 0) */
    BODY_STREAM, /* handed over piece by piece */
};

struct body_reader {
    enum body_mode mode; /* how the handler takes the body */
    body_done_cb done;   /* whole: the end; stream: a failure */
    body_piece_cb piece; /* stream: each piece */
    char *rbuf;          /* socket bytes beyond the head's buffer (arena) */
    uint32_t rlen;       /* bytes in rbuf */
    uint32_t rpos;       /* of those, given to the parser */
    const char *held;    /* decoded bytes taken from the parser, not yet used */
    size_t held_len;     /* their length */
    char *mem;           /* whole: the bytes kept in memory (malloc) */
    size_t mem_cap;      /* client_body_buffer_size */
    size_t mem_len;      /* bytes in mem */
    struct ofile *file;  /* whole: the temporary file, or NULL */
    uint64_t file_len;   /* bytes written to it */
    uint64_t total;      /* decoded bytes so far */
    struct out chain;    /* whole: the result */
    size_t cont_sent;    /* bytes of "100 Continue" written so far */
    int fail;            /* a status to fail with once the parser stops, or 0 */
    bool want_continue;  /* "100 Continue" is due before reading */
    bool paused;         /* the handler or a pool job has the next step */
    bool over;           /* finished, failed or stopped: no more callbacks */
};

static struct conn *body_conn(const struct req *r)
{
    return r->c;
}

bool body_expected(const struct req *r)
{
    return r->chunked || r->content_length > 0;
}

const struct out *body_chain(const struct req *r)
{
    static const struct out none = {NULL, NULL, 0};
    return r->body != NULL ? &r->body->chain : &none;
}

static void body_cleanup(void *data)
{
    struct body_reader *rd = data;
    free(rd->mem);
    if (rd->file != NULL)
        ofile_put(rd->file);
}

/* ---- ending ---------------------------------------------------------------- */

static void body_fail(struct req *r, int status)
{
    struct body_reader *rd = r->body;
    rd->over = true;
    r->keepalive = false;
    conn_body_end(body_conn(r));
    rd->done(r, status);
}

/* Socket bytes the parser has not seen (the next pipelined request, or the
 * rest of a body nobody reads now) go back to the connection's buffer. */
static int body_give_back(struct req *r)
{
    struct body_reader *rd = r->body;
    uint32_t left = rd->rlen - rd->rpos;
    if (left > 0 && conn_append(body_conn(r), rd->rbuf + rd->rpos, left) < 0)
        return -1;
    rd->rpos = rd->rlen;
    return 0;
}

static void body_finish_whole(struct req *r)
{
    struct body_reader *rd = r->body;
    int rc = 0;
    out_init(&rd->chain);
    if (rd->file != NULL)
        rc = out_file(&r->pool, &rd->chain, rd->file, 0, (size_t)rd->file_len);
    else if (rd->mem_len > 0)
        rc = out_mem(&r->pool, &rd->chain, rd->mem, rd->mem_len);
    rd->over = true;
    conn_body_end(body_conn(r));
    rd->done(r, rc < 0 ? 500 : 0);
}

static int body_flush(struct req *r);

/* The parser saw the end of the message. */
static void body_complete(struct req *r)
{
    struct body_reader *rd = r->body;
    if (body_give_back(r) < 0) {
        body_fail(r, 500);
        return;
    }
    if (rd->mode == BODY_STREAM) {
        rd->over = true;
        conn_body_end(body_conn(r));
        rd->piece(r, NULL, 0, true);
        return;
    }
    if (rd->file != NULL && rd->mem_len > 0) {
        if (body_flush(r) < 0)
            body_fail(r, 500);
        return;
    }
    body_finish_whole(r);
}

/* ---- the temporary file (pool) ------------------------------------------- */

/* A pool job that appends one buffer to the temporary file, creating it
 * first if need be. */
struct body_write_job {
    struct req_job rj;  /* the request's part; first */
    char *dir;          /* client_body_temp_path */
    int fd;             /* the file, or -1 to create it */
    bool created;       /* the job made fd (and owns it until done takes it) */
    char *data;         /* the buffer, owned by the job */
    size_t len;         /* its length */
    off_t off;          /* where it goes */
    const char *failed; /* the call that failed, or NULL */
    int err;            /* its errno */
};

/* An unnamed file where the kernel allows it (nothing to clean up if the
 * worker dies), else a named one removed at once. */
static int body_temp_open(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[4096];
    snprintf(path, sizeof(path), "%s/body.XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static void body_write_work(struct tpool_job *job)
{
    struct body_write_job *j = (struct body_write_job *)job;
    if (j->fd < 0) {
        j->fd = body_temp_open(j->dir);
        j->created = j->fd >= 0;
        if (j->fd < 0) {
            j->failed = "open()";
            j->err = errno;
            return;
        }
    }
    for (size_t done = 0; done < j->len;) {
        ssize_t n = pwrite(j->fd, j->data + done, j->len - done, j->off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            j->failed = "pwrite()";
            j->err = n < 0 ? errno : ENOSPC;
            return;
        }
        done += (size_t)n;
    }
}

static int body_adopt_file(struct req *r, struct body_write_job *j)
{
    struct body_reader *rd = r->body;
    if (rd->file != NULL)
        return 0;
    struct ofile_raw raw = {.fd = j->fd};
    struct ofile_result res;
    if (fstat(j->fd, &raw.st) < 0 || ofile_from_raw(&raw, &res) < 0 || res.file == NULL)
        return -1;
    j->created = false; /* the reader owns it now */
    rd->file = res.file;
    return 0;
}

static void body_absorb(struct req *r);
static void body_pump(struct req *r);

static void body_write_done(struct req_job *rj)
{
    struct body_write_job *j = (struct body_write_job *)rj;
    struct req *r = rj->r;
    struct body_reader *rd = r->body;
    if (rd->over)
        return;
    if (j->failed != NULL) {
        conn_logf(r->c, LL_CRIT, j->err, "%s \"%s\" failed", j->failed, j->dir);
        body_fail(r, 500);
        return;
    }
    if (body_adopt_file(r, j) < 0) {
        body_fail(r, 500);
        return;
    }
    rd->file_len += j->len;
    rd->paused = false;
    if (r->body_done && rd->held_len == 0) {
        body_finish_whole(r);
        return;
    }
    body_absorb(r);
    body_pump(r);
}

static void body_write_release(struct tpool_job *job)
{
    struct body_write_job *j = (struct body_write_job *)job;
    if (j->created)
        close(j->fd);
    free(j->data);
    free(j);
}

/* Hands the memory buffer to a pool job that appends it to the file; the
 * reader waits for it (and gets a fresh buffer when it goes on). */
static int body_flush(struct req *r)
{
    struct body_reader *rd = r->body;
    struct body_write_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->dir = r->loc->client_body_temp_path;
    j->fd = rd->file != NULL ? rd->file->fd : -1;
    j->data = rd->mem;
    j->len = rd->mem_len;
    j->off = (off_t)rd->file_len;
    rd->mem = NULL;
    rd->mem_len = 0;
    if (req_job_submit(r, &j->rj, TPOOL_FILE, body_write_work, body_write_done,
                       body_write_release) < 0) {
        rd->mem = j->data; /* still ours: the cleanup frees it */
        free(j);
        return -1;
    }
    rd->paused = true;
    conn_body_pause(body_conn(r));
    return 0;
}

/* ---- decoded bytes -------------------------------------------------------- */

/* Whole mode: the held bytes go to memory; a full buffer goes to the file
 * first. */
static void body_absorb(struct req *r)
{
    struct body_reader *rd = r->body;
    while (rd->held_len > 0 && !rd->paused) {
        if (rd->mem == NULL && (rd->mem = malloc(rd->mem_cap)) == NULL) {
            body_fail(r, 500);
            return;
        }
        size_t room = rd->mem_cap - rd->mem_len;
        size_t take = rd->held_len < room ? rd->held_len : room;
        memcpy(rd->mem + rd->mem_len, rd->held, take);
        rd->mem_len += take;
        rd->held += take;
        rd->held_len -= take;
        if (rd->held_len > 0 && body_flush(r) < 0)
            body_fail(r, 500);
    }
}

static bool body_too_large(struct req *r)
{
    long max = r->loc->client_max_body_size;
    return max > 0 && r->body->total > (uint64_t)max;
}

void body_on_data(struct req *r, const char *p, size_t len)
{
    struct body_reader *rd = r->body;
    if (rd->over || rd->fail != 0)
        return;
    rd->total += len;
    if (body_too_large(r)) {
        conn_logf(r->c, LL_ERR, 0, "client intended to send too large chunked body: %llu+ bytes",
                  (unsigned long long)rd->total);
        rd->fail = 413;
        http_parser_pause(&r->parser, 1);
        return;
    }
    rd->held = p;
    rd->held_len = len;
    /* The parser stops after this piece, so the bytes it points at stay
     * put until the handler (or the file) has taken them. */
    http_parser_pause(&r->parser, 1);
}

/* The parser stopped on a piece: where it goes. */
static void body_take_held(struct req *r)
{
    struct body_reader *rd = r->body;
    if (rd->mode == BODY_WHOLE) {
        body_absorb(r);
        return;
    }
    const char *p = rd->held;
    size_t len = rd->held_len;
    rd->held_len = 0;
    rd->paused = true;
    conn_body_pause(body_conn(r));
    rd->piece(r, p, len, false);
}

/* ---- parsing and reading ---------------------------------------------------- */

/* Feeds bytes to the parser; returns how many it took, or -1 on bad
 * framing (or a parser that stopped short for no reason: an Upgrade). */
static ssize_t body_feed(struct req *r, const char *p, size_t len)
{
    struct conn *c = body_conn(r);
    http_parser_pause(&r->parser, 0);
    ssize_t n = req_feed_body(r, p, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (n >= 0 && (e == HPE_PAUSED || (size_t)n == len))
        return n;
    conn_logf(c, LL_INFO, 0, "client sent invalid chunked body");
    return -1;
}

/* Runs the parser over what is buffered: the head's buffer first, then
 * the reader's.  Returns 1 when it stopped (a piece, the end, a failure)
 * and 0 when everything buffered was parsed. */
static int body_parse(struct req *r)
{
    struct conn *c = body_conn(r);
    struct body_reader *rd = r->body;
    bool in_head_buf = c->parsed < c->buf_len;
    const char *p = in_head_buf ? c->buf + c->parsed : rd->rbuf + rd->rpos;
    size_t len = in_head_buf ? c->buf_len - c->parsed : rd->rlen - rd->rpos;
    if (len == 0)
        return 0;
    ssize_t n = body_feed(r, p, len);
    if (n < 0) {
        body_fail(r, 400);
        return 1;
    }
    if (in_head_buf)
        c->parsed += (uint32_t)n;
    else
        rd->rpos += (uint32_t)n;
    if (rd->fail != 0) {
        body_fail(r, rd->fail);
        return 1;
    }
    if (rd->held_len > 0)
        body_take_held(r);
    if (r->body_done && !rd->over && !rd->paused) {
        body_complete(r);
        return 1;
    }
    return rd->over || rd->paused ? 1 : 0;
}

/* Chunked framing is checked before the parser sees it (req_check.c's
 * validator), as for the bytes that came with the head. */
static int body_check_chunks(struct req *r, const char *p, size_t len)
{
    if (!r->chunked || r->chunk.done)
        return 0;
    if (chunk_check_feed(&r->chunk, p, len) >= 0)
        return 0;
    conn_logf(r->c, LL_INFO, 0, "client sent invalid chunked body");
    return -1;
}

/* Reads the next bytes from the socket; 1 if some came, 0 if none yet,
 * -1 if the connection is gone or the body is bad. */
static int body_read(struct req *r)
{
    struct conn *c = body_conn(r);
    struct body_reader *rd = r->body;
    rd->rlen = rd->rpos = 0;
    ssize_t n = c->sk.tp->read(&c->sk, rd->rbuf, BODY_READ_CHUNK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        conn_body_read(c);
        return 0;
    }
    if (n <= 0) {
        conn_logf(c, LL_INFO, n < 0 ? errno : 0, "client prematurely closed connection");
        rd->over = true;
        conn_close(c);
        return -1;
    }
    if (body_check_chunks(r, rd->rbuf, (size_t)n) < 0) {
        body_fail(r, 400);
        return -1;
    }
    rd->rlen = (uint32_t)n;
    return 1;
}

/* "100 Continue" goes out before the first read: the client waits for it. */
static int body_send_continue(struct req *r)
{
    struct conn *c = body_conn(r);
    struct body_reader *rd = r->body;
    size_t len = sizeof(body_continue) - 1;
    while (rd->cont_sent < len) {
        struct iovec iov = {(char *)body_continue + rd->cont_sent, len - rd->cont_sent};
        ssize_t n = c->sk.tp->writev(&c->sk, &iov, 1, false);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            conn_body_write(c);
            return 0;
        }
        if (n < 0) {
            conn_logf(c, LL_INFO, errno, "writev() failed");
            rd->over = true;
            conn_close(c);
            return -1;
        }
        rd->cont_sent += (size_t)n;
    }
    rd->want_continue = false;
    return 1;
}

static bool body_buffered(const struct req *r)
{
    const struct conn *c = r->c;
    return c->parsed < c->buf_len || r->body->rpos < r->body->rlen;
}

static void body_pump(struct req *r)
{
    struct body_reader *rd = r->body;
    while (!rd->over && !rd->paused) {
        if (rd->want_continue && body_send_continue(r) <= 0)
            return;
        if (body_buffered(r)) {
            if (body_parse(r) != 0)
                return;
            continue;
        }
        if (body_read(r) <= 0)
            return;
    }
}

void body_io(struct req *r)
{
    body_pump(r);
}

void body_resume(struct req *r)
{
    struct body_reader *rd = r->body;
    if (rd == NULL || rd->over || !rd->paused)
        return;
    rd->paused = false;
    conn_body_read(body_conn(r));
    if (r->body_done) {
        body_complete(r);
        return;
    }
    body_pump(r);
}

void body_timeout(struct req *r)
{
    conn_logf(r->c, LL_INFO, ETIMEDOUT, "client timed out while reading client request body");
    body_fail(r, 408);
}

int body_stop(struct req *r)
{
    struct body_reader *rd = r->body;
    if (rd == NULL || rd->over)
        return 0;
    rd->over = true;
    rd->held_len = 0;
    return body_give_back(r);
}

/* ---- starting ----------------------------------------------------------------- */

static struct body_reader *body_start(struct req *r, enum body_mode mode)
{
    struct body_reader *rd = mpool_calloc(&r->pool, sizeof(*rd));
    if (rd == NULL || (rd->rbuf = mpool_alloc(&r->pool, BODY_READ_CHUNK)) == NULL ||
        req_cleanup_add(r, body_cleanup, rd) < 0)
        return NULL;
    rd->mode = mode;
    rd->mem_cap = (size_t)r->loc->client_body_buffer_size;
    if (rd->mem_cap == 0)
        rd->mem_cap = 1;
    /* Only a client that has not sent any of its body yet waits for it. */
    struct conn *c = body_conn(r);
    rd->want_continue = r->expect_continue && !r->body_done && c->buf_len <= r->head_len;
    out_init(&rd->chain);
    r->body = rd;
    return rd;
}

static void body_begin(struct req *r)
{
    if (!body_expected(r) || r->body_done) {
        body_complete(r);
        return;
    }
    body_pump(r);
}

int body_read_whole(struct req *r, body_done_cb done)
{
    struct body_reader *rd = body_start(r, BODY_WHOLE);
    if (rd == NULL)
        return -1;
    rd->done = done;
    body_begin(r);
    return 0;
}

int body_read_stream(struct req *r, body_piece_cb piece, body_done_cb failed)
{
    struct body_reader *rd = body_start(r, BODY_STREAM);
    if (rd == NULL)
        return -1;
    rd->piece = piece;
    rd->done = failed;
    body_begin(r);
    return 0;
}

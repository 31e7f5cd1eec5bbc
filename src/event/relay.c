/* relay.c - bytes both ways between two sockets, through their transports. */
#include "event/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "event/reactor.h"
#include "event/sock.h"
#include "event/transport.h"

#define RELAY_SCRATCH 65536

/* The loop is single-threaded: one scratch buffer serves every relay,
 * since what it holds is written on (or copied aside) before anyone else
 * reads into it. */
static char relay_scratch[RELAY_SCRATCH];

enum relay_step {
    RELAY_MORE,  /* progress: go on */
    RELAY_WAIT,  /* a socket must become ready first */
    RELAY_ENDED, /* this direction is finished */
    RELAY_ERROR, /* a socket failed: errno says why */
};

static void relay_dir_init(struct relay_dir *d, struct sock *from, struct sock *to)
{
    memset(d, 0, sizeof(*d));
    d->from = from;
    d->to = to;
    d->pipe[0] = d->pipe[1] = -1;
}

static void relay_pipe_close(struct relay_dir *d)
{
    for (int i = 0; i < 2; i++)
        if (d->pipe[i] >= 0)
            close(d->pipe[i]);
    d->pipe[0] = d->pipe[1] = -1;
}

/* A pipe as large as the buffer setting (the kernel rounds it up to
 * whole pages): the direction's bound.  -1 leaves the direction copying. */
static int relay_pipe_open(struct relay_dir *d, size_t size)
{
    if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        d->pipe[0] = d->pipe[1] = -1;
        return -1;
    }
    (void)fcntl(d->pipe[1], F_SETPIPE_SZ, (int)size);
    return 0;
}

/* Zero copy needs both ends on the plain transport (TLS must see the
 * bytes) and a pipe for each direction. */
static void relay_splice_setup(struct relay *rl)
{
    if (!rl->splice || rl->up.from->tp != &transport_plain || rl->up.to->tp != &transport_plain ||
        relay_pipe_open(&rl->up, rl->max_read) < 0 ||
        relay_pipe_open(&rl->down, rl->max_read) < 0) {
        relay_pipe_close(&rl->up);
        rl->splice = false;
    }
}

bool relay_spliced(const struct relay *rl)
{
    return rl->splice;
}

void relay_init(struct relay *rl, struct sock *a, struct sock *b, size_t max_read, long idle_ms,
                relay_done_cb done)
{
    relay_dir_init(&rl->up, a, b);
    relay_dir_init(&rl->down, b, a);
    rl->idle_ms = idle_ms;
    rl->max_read = max_read == 0 || max_read > RELAY_SCRATCH ? RELAY_SCRATCH : max_read;
    rl->done = done;
    rl->over = false;
    relay_splice_setup(rl);
}

void relay_start(struct relay *rl, struct sock *a, struct sock *b, size_t max_read, long idle_ms,
                 relay_done_cb done)
{
    relay_init(rl, a, b, max_read, idle_ms, done);
    relay_ready(rl, a);
}

static int relay_hold(struct relay_dir *d, const char *p, size_t len)
{
    char *grown = realloc(d->held, d->held_len + len);
    if (grown == NULL)
        return -1;
    memcpy(grown + d->held_len, p, len);
    d->held = grown;
    d->held_len += len;
    return 0;
}

int relay_push(struct relay *rl, struct sock *to, const char *p, size_t len)
{
    struct relay_dir *d = to == rl->up.to ? &rl->up : &rl->down;
    return len == 0 ? 0 : relay_hold(d, p, len);
}

/* Writes what `to` has not taken yet. */
static enum relay_step relay_flush(struct relay_dir *d)
{
    while (d->held_off < d->held_len) {
        struct iovec iov = {d->held + d->held_off, d->held_len - d->held_off};
        ssize_t n = d->to->tp->writev(d->to, &iov, 1, false);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            d->write_want = d->to->want;
            return RELAY_WAIT;
        }
        if (n < 0) {
            d->err = errno;
            return RELAY_ERROR;
        }
        d->held_off += (size_t)n;
        d->bytes += (uint64_t)n;
    }
    free(d->held);
    d->held = NULL;
    d->held_len = d->held_off = 0;
    return RELAY_MORE;
}

/* Bytes just read go on at once; what `to` leaves is held. */
static enum relay_step relay_forward(struct relay_dir *d, size_t len)
{
    struct iovec iov = {relay_scratch, len};
    ssize_t n = d->to->tp->writev(d->to, &iov, 1, false);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        d->err = errno;
        return RELAY_ERROR;
    }
    size_t sent = n > 0 ? (size_t)n : 0;
    d->bytes += sent;
    if (sent < len && relay_hold(d, relay_scratch + sent, len - sent) < 0) {
        d->err = ENOMEM;
        return RELAY_ERROR;
    }
    return RELAY_MORE;
}

/* A short read took everything there was (nginx's test too): the next
 * read waits for readiness instead of failing with EAGAIN first; a
 * transport holding more says so through its pending hook. */
static enum relay_step relay_read(struct relay *rl, struct relay_dir *d)
{
    ssize_t n = d->from->tp->read(d->from, relay_scratch, rl->max_read);
    if (n > 0) {
        enum relay_step st = relay_forward(d, (size_t)n);
        if (st == RELAY_MORE && (size_t)n < rl->max_read && d->held == NULL) {
            d->read_want = EV_READ;
            return RELAY_WAIT;
        }
        return st;
    }
    if (n == 0) {
        d->eof = true;
        return RELAY_MORE;
    }
    if (errno == EINTR)
        return RELAY_MORE;
    if (errno == EAGAIN) {
        d->read_want = d->from->want;
        return RELAY_WAIT;
    }
    d->err = errno;
    return RELAY_ERROR;
}

/* Moves what the pipe holds on to `to`. */
static enum relay_step relay_pipe_flush(struct relay_dir *d)
{
    while (d->piped > 0) {
        ssize_t n = splice(d->pipe[0], NULL, sock_fd(d->to), NULL, d->piped,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            d->write_want = EV_WRITE;
            return RELAY_WAIT;
        }
        if (n <= 0) {
            d->err = n < 0 ? errno : EPIPE;
            return RELAY_ERROR;
        }
        d->piped -= (size_t)n;
        d->bytes += (uint64_t)n;
    }
    return RELAY_MORE;
}

/* Reads into the (empty) pipe, as much as it takes, and writes on. */
static enum relay_step relay_splice_read(struct relay *rl, struct relay_dir *d)
{
    ssize_t n = splice(sock_fd(d->from), NULL, d->pipe[1], NULL, rl->max_read,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
        d->piped = (size_t)n;
        enum relay_step st = relay_pipe_flush(d);
        if (st == RELAY_MORE && (size_t)n < rl->max_read) {
            d->read_want = EV_READ; /* a short read took all there was */
            return RELAY_WAIT;
        }
        return st;
    }
    if (n == 0) {
        d->eof = true;
        return RELAY_MORE;
    }
    if (errno == EINTR)
        return RELAY_MORE;
    if (errno == EAGAIN) {
        d->read_want = EV_READ;
        return RELAY_WAIT;
    }
    d->err = errno;
    return RELAY_ERROR;
}

static bool relay_holding(const struct relay_dir *d)
{
    return d->held != NULL || d->piped > 0;
}

/* One direction as far as it goes now. */
static enum relay_step relay_pump(struct relay *rl, struct relay_dir *d)
{
    for (;;) {
        enum relay_step st;
        if (d->held != NULL)
            st = relay_flush(d);
        else if (d->piped > 0)
            st = relay_pipe_flush(d);
        else if (d->eof && !d->shut) {
            d->shut = true;
            /* Half-close: the other side learns there is no more. */
            st = RELAY_MORE;
            if (d->to->tp->shutdown(d->to) < 0 && errno != ENOTCONN) {
                d->err = errno;
                st = RELAY_ERROR;
            }
        } else if (d->shut)
            return RELAY_ENDED;
        else if (rl->splice)
            st = relay_splice_read(rl, d);
        else
            st = relay_read(rl, d);
        if (st != RELAY_MORE)
            return st;
    }
}

/* What a socket must wait for: reading, for the direction that reads from
 * it while that one holds nothing; writing, for the direction that holds
 * bytes for it.  A transport may need the other readiness (TLS), which
 * it said when the call could not progress. */
static int relay_events(const struct relay_dir *from_it, enum relay_step from_st,
                        const struct relay_dir *to_it, enum relay_step to_st)
{
    int ev = 0;
    if (from_st == RELAY_WAIT && !relay_holding(from_it))
        ev |= from_it->read_want != 0 ? from_it->read_want : EV_READ;
    if (to_st == RELAY_WAIT && relay_holding(to_it))
        ev |= to_it->write_want != 0 ? to_it->write_want : EV_WRITE;
    return ev;
}

static void relay_end(struct relay *rl, int err)
{
    if (rl->over)
        return;
    rl->over = true;
    rl->done(rl, err);
}

/* A direction waiting to read from the other socket, with nothing held
 * for s, has nothing to do on s's readiness. */
static enum relay_step relay_pump_for(struct relay *rl, struct relay_dir *d, struct sock *s)
{
    if (s != NULL && d->from != s && !relay_holding(d) && d->waiting)
        return RELAY_WAIT;
    enum relay_step st = relay_pump(rl, d);
    d->waiting = st == RELAY_WAIT && !relay_holding(d);
    return st;
}

void relay_ready(struct relay *rl, struct sock *s)
{
    if (rl->over)
        return;
    uint64_t before = rl->up.bytes + rl->down.bytes;
    enum relay_step up = relay_pump_for(rl, &rl->up, s);
    enum relay_step down = up == RELAY_ERROR ? RELAY_ERROR : relay_pump_for(rl, &rl->down, s);
    if (up == RELAY_ERROR || down == RELAY_ERROR) {
        int err = rl->up.err != 0 ? rl->up.err : rl->down.err;
        relay_end(rl, err != 0 ? err : EIO);
        return;
    }
    if (up == RELAY_ENDED && down == RELAY_ENDED) {
        relay_end(rl, 0);
        return;
    }
    struct sock *a = rl->up.from, *b = rl->down.from;
    sock_watch(a, relay_events(&rl->up, up, &rl->down, down));
    sock_watch(b, relay_events(&rl->down, down, &rl->up, up));
    if (rl->idle_ms > 0 && (rl->up.bytes + rl->down.bytes != before || !a->timer.list))
        sock_arm(a, rl->idle_ms);
}

void relay_timeout(struct relay *rl)
{
    relay_end(rl, ETIMEDOUT);
}

void relay_free(struct relay *rl)
{
    free(rl->up.held);
    free(rl->down.held);
    rl->up.held = rl->down.held = NULL;
    rl->up.held_len = rl->down.held_len = 0;
    if (rl->splice) { /* a relay never started has no pipes (nor -1s) */
        relay_pipe_close(&rl->up);
        relay_pipe_close(&rl->down);
    }
}

/* conn_write.c - sending the pieces of a response (event/sendq.c does
 * the bytes): the send timeout, limit_rate's pauses, and asking the
 * handler for more. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "event/reactor.h"
#include "event/sendq.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/limit_rate.h"
#include "http/req.h"
#include "http/resp.h"

static void conn_filled(struct sendq *q, void *data)
{
    (void)q;
    conn_write(data);
}

/* A write put the response ahead of limit_rate: nothing is written, and
 * the socket not watched, until the pause is over.  The connection's
 * timer node serves it, since no send timeout runs meanwhile; pauses vary,
 * so they go on the timer heap. */
static void conn_write_pause(struct conn *c, long ms)
{
    c->req->wout.delayed = true;
    sock_watch(&c->sk, 0);
    if (timer_arm_var(&c->sk.rx->timers, &c->sk.timer, ms) < 0)
        conn_close(c);
}

void conn_write_wake(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    o->delayed = false;
    if (o->queued) {
        conn_write(c);
        return;
    }
    /* The handler is making the next piece: watch for the client to go,
     * as conn_sent does. */
    sock_watch(&c->sk, c->req->gen != NULL ? EV_READ : 0);
}

/* What a write that could not finish waits for: the pause it earned, or
 * the socket (with the send timeout) or the pool. */
static void conn_write_wait(struct conn *c, enum sendq_rc rc, long pause)
{
    if (pause > 0) {
        conn_write_pause(c, pause);
    } else if (rc == SENDQ_AGAIN) {
        sock_watch(&c->sk, c->sk.want);
        sock_arm(&c->sk, resp_loc(c->req)->send_timeout);
    } else {
        sock_watch(&c->sk, 0);
    }
}

/* Writes until the piece is out, the socket is full or limit_rate says
 * stop; -1 when it must wait (or closed), 0 when the piece has gone, with
 * the pause the next piece waits in *pause. */
static int conn_write_piece(struct conn *c, long *pause)
{
    struct req *r = c->req;
    struct sendq *q = &r->wout.q;
    uint64_t before = r->bytes_sent;
    if (r->wout.delayed) {
        sock_watch(&c->sk, 0);
        return -1;
    }
    if ((*pause = rate_before(r, ev_now(c->sk.rx->loop), &q->limit)) > 0) {
        conn_write_pause(c, *pause);
        return -1;
    }
    enum sendq_rc rc = sendq_write(q, &c->sk, &r->bytes_sent);
    *pause = rc == SENDQ_ERROR ? 0 : rate_after(r, before);
    if (rc == SENDQ_DONE)
        return 0;
    if (rc != SENDQ_ERROR) {
        conn_write_wait(c, rc, *pause);
        return -1;
    }
    /* A client that went away is routine; a file that cannot be read is not. */
    bool socket = strcmp(q->failed, "writev()") == 0 || strcmp(q->failed, "sendfile()") == 0;
    conn_logf(c, socket ? LL_INFO : LL_CRIT, q->err, "%s failed", q->failed);
    conn_close(c);
    return -1;
}

/* A handler asked for more from inside its proceed callback is served by
 * this loop, not by recursion, so a fast producer cannot grow the stack.
 * The last piece ends the response, which may free the request and with
 * it this state: nothing here is touched after that. */
void conn_write(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    long pause;
    if (o->delayed && !timer_armed(&c->sk.timer))
        o->delayed = false; /* another state took the timer: the pause is over */
    if (o->writing || o->q.file_wait)
        return;
    o->writing = true;
    while (o->queued && c->state == CS_WRITE) {
        if (conn_write_piece(c, &pause) < 0)
            break;
        o->queued = false;
        timer_disarm(&c->sk.timer);
        if (o->last) {
            o->writing = false;
            conn_sent(c);
            return;
        }
        if (pause > 0)
            conn_write_pause(c, pause);
        conn_sent(c);
    }
    o->writing = false;
}

void conn_send(struct conn *c, struct str head, struct out_seg *chain, struct str tail, bool last)
{
    struct conn_out *o = &c->req->wout;
    const struct loc_conf *loc = resp_loc(c->req);
    c->state = CS_WRITE;
    sendq_set(&o->q, head, chain, tail);
    o->q.sendfile = loc->sendfile;
    o->q.nopush = loc->tcp_nopush && loc->sendfile;
    o->q.max_chunk = (size_t)http_extra(loc)->sendfile_max_chunk;
    o->q.filled = conn_filled;
    o->q.data = c;
    o->last = last;
    o->queued = true;
    conn_write(c);
}

void conn_out_reset(struct conn *c)
{
    struct conn_out *o = &c->req->wout;
    sendq_free(&o->q);
    *o = (struct conn_out){0};
}

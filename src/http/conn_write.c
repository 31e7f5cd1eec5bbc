/* conn_write.c - sending the pieces of a response (event/sendq.c does
 * the bytes): the send timeout, and asking the handler for more. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "event/reactor.h"
#include "event/sendq.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/req.h"
#include "http/resp.h"

static void conn_filled(struct sendq *q, void *data)
{
    (void)q;
    conn_write(data);
}

/* Writes until the piece is out or the socket is full; -1 when it must
 * wait (or closed), 0 when the piece has gone. */
static int conn_write_piece(struct conn *c)
{
    struct sendq *q = &c->req->wout.q;
    switch (sendq_write(q, &c->sk, &c->req->bytes_sent)) {
    case SENDQ_DONE:
        return 0;
    case SENDQ_AGAIN:
        sock_watch(&c->sk, c->sk.want);
        sock_arm(&c->sk, resp_loc(c->req)->send_timeout);
        return -1;
    case SENDQ_POOL:
        sock_watch(&c->sk, 0);
        return -1;
    case SENDQ_ERROR:
        break;
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
    if (o->writing || o->q.file_wait)
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

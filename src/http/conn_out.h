/* conn_out.h - the response writer's state (conn_write.c), kept in the
 * request: an idle connection does not pay for it. */
#ifndef TP_HTTP_CONN_OUT_H
#define TP_HTTP_CONN_OUT_H

#include <stdbool.h>

#include "event/sendq.h"

/* What the connection is sending: one piece of the response at a time
 * (h2o's model), made of a head (the response head, a chunk's size line),
 * a chain of body segments, and a tail (a chunk's CRLF, the last chunk). */
struct conn_out {
    struct sendq q; /* the piece's bytes, and how far they went */
    bool queued;    /* a piece is waiting to be written */
    bool last;      /* the response ends with this piece */
    bool writing;   /* inside the write loop: a piece queued meanwhile waits for it */
    bool delayed;   /* limit_rate's pause: nothing is written until the timer ends it */
};

#endif

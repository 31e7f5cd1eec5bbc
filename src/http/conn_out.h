/* conn_out.h - the writer's state for one response (conn_write.c), kept
 * in the request: an idle connection does not pay for it. */
#ifndef TP_HTTP_CONN_OUT_H
#define TP_HTTP_CONN_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/out.h"
#include "core/str.h"

/* What the connection is sending: one piece of the response at a time
 * (h2o's model), made of a head (the response head, a chunk's size line),
 * a chain of body segments, and a tail (a chunk's CRLF, the last chunk). */
struct conn_out {
    struct str head;     /* bytes before the chain */
    struct out_seg *seg; /* segment being sent, or NULL */
    size_t off;          /* bytes of seg already sent */
    struct str tail;     /* bytes after the chain */
    char *fbuf;          /* file bytes read for a transport without sendfile */
    uint32_t flen;       /* bytes in fbuf */
    uint32_t fsent;      /* of those, sent */
    bool queued;         /* a piece is waiting to be written */
    bool last;           /* the response ends with this piece */
    bool writing;        /* inside the write loop: a piece queued meanwhile waits for it */
    bool file_wait;      /* a pool job is reading file bytes into fbuf */
};

#endif

/* sendq.h - sending a head, a chain of memory and file segments, and a
 * tail through a socket's transport, as far as the socket takes them.
 *
 * Memory goes out with writev (the head and the segments after it in one
 * call), files with sendfile when the transport has it and the caller
 * wants it.  A transport that must see the bytes (TLS, or sendfile off)
 * gets them through one buffer per queue, filled on the loop with
 * preadv2(RWF_NOWAIT) when the file's pages are cached and by a pool job
 * when they are not, so a cold disk never stalls the loop.  The client
 * connection's response writer and the proxy's request writer both use
 * it. */
#ifndef TP_EVENT_SENDQ_H
#define TP_EVENT_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/out.h"
#include "core/str.h"

struct sock;
struct sendq;

/* A pool read filled the buffer: the owner calls sendq_write again. */
typedef void (*sendq_filled_cb)(struct sendq *q, void *data);

struct sendq {
    struct str head;        /* bytes before the chain */
    struct out_seg *seg;    /* segment being sent, or NULL */
    size_t off;             /* bytes of seg already sent */
    struct str tail;        /* bytes after the chain */
    char *fbuf;             /* file bytes read for a transport without sendfile */
    uint32_t flen;          /* bytes in fbuf */
    uint32_t fsent;         /* of those, sent */
    bool file_wait;         /* a pool job is reading file bytes into fbuf */
    bool read_failed;       /* that read failed: err says why */
    bool sendfile;          /* files may go by sendfile (the location's setting) */
    bool nopush;            /* tcp_nopush: MSG_MORE before file data */
    size_t limit;           /* bytes one sendq_write may send (limit_rate); 0 = any */
    size_t room;            /* what is left of limit in the sendq_write running */
    size_t max_chunk;       /* file bytes per sendq_write before yielding; 0 = no limit */
    sendq_filled_cb filled; /* called when a pool read is done */
    void *data;             /* its argument */
    int err;                /* errno of the failure (SENDQ_ERROR) */
    const char *failed;     /* the call that failed, for the log line */
};

enum sendq_rc {
    SENDQ_DONE,  /* everything has gone */
    SENDQ_AGAIN, /* the socket is full, or `limit` bytes or max_chunk file bytes went:
                  * wait for s->want */
    SENDQ_POOL,  /* a pool read is filling the buffer: wait for filled */
    SENDQ_ERROR, /* a write or read failed: err and failed say which */
};

/* Queues head + chain + tail (any may be empty; all stay valid until
 * they have gone). */
void sendq_set(struct sendq *q, struct str head, struct out_seg *chain, struct str tail);

/* Nothing left to send. */
bool sendq_empty(const struct sendq *q);

/* Writes what the socket takes; adds the bytes written to *sent. */
enum sendq_rc sendq_write(struct sendq *q, struct sock *s, uint64_t *sent);

/* Frees the buffer (not while file_wait: the job is filling it). */
void sendq_free(struct sendq *q);

#endif

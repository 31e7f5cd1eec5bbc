/* transport.h - the seam between a socket and the bytes it carries.
 *
 * Socket I/O happens only here.  Plain TCP is the first implementation and
 * TLS the second; the HTTP engine, the proxy and the stream module use
 * whichever the socket has.  A call that cannot make progress returns -1
 * with errno EAGAIN and sets s->want to the readiness it needs, which for
 * TLS may be the other direction (a read that must first write). */
#ifndef TP_EVENT_TRANSPORT_H
#define TP_EVENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct sock;

/* What a probe of a waiting connection found. */
enum probe_rc {
    PROBE_NOTHING, /* nothing to read yet */
    PROBE_DATA,    /* bytes are waiting (a pipelined request, a body) */
    PROBE_CLOSED,  /* the peer closed or reset */
};

struct transport {
    const char *name; /* "plain", "tls" */
    /* Up to len bytes; 0 at the peer's end of stream. */
    ssize_t (*read)(struct sock *s, void *buf, size_t len);
    /* Scatters into n buffers, or NULL: the caller then reads into one
     * at a time (the proxy fills several of its buffers at once). */
    ssize_t (*readv)(struct sock *s, const struct iovec *iov, int n);
    /* Gathers n buffers; more: further data follows at once (MSG_MORE). */
    ssize_t (*writev)(struct sock *s, const struct iovec *iov, int n, bool more);
    /* Zero-copy file data, or NULL when the transport must see the bytes
     * (the caller then reads the file and uses writev). */
    ssize_t (*sendfile)(struct sock *s, int fd, off_t *off, size_t len);
    /* No more writes from us (TCP FIN; TLS close_notify first). */
    int (*shutdown)(struct sock *s);
    /* Has a waiting connection been closed?  Never consumes data. */
    enum probe_rc (*probe)(struct sock *s);
    /* Bytes a read would return at once although the socket need not be
     * readable (TLS decrypted a whole record, the reader took part), or
     * NULL if the transport never holds any.  sock_watch turns them into
     * a read event, so readiness stays level-triggered. */
    bool (*pending)(struct sock *s);
    /* Frees s->tp_state (the descriptor is the socket's). */
    void (*free)(struct sock *s);
};

extern const struct transport transport_plain;

#endif

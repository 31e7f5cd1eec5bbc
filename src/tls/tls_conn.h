/* tls_conn.h - TLS as a transport: the second implementation of
 * struct transport (event/transport.h), under the HTTP engine unchanged.
 *
 * tls_conn_start puts a freshly accepted socket under TLS.  Its first read
 * runs the handshake: light steps (parsing the ClientHello, resumed TLS 1.2
 * handshakes) on the loop, the CPU-heavy ones (key exchange, signatures,
 * client certificate checks) as TPOOL_CRYPTO jobs.  While a job holds the
 * library's context the loop neither watches nor touches the socket (the
 * job holds a socket reference, so the descriptor stays valid), and reads
 * and writes report EAGAIN with want = 0.  Once the handshake is over the
 * owner's ready() runs and reads return application data.
 *
 * A client whose first byte is not a TLS handshake record but a letter is
 * a plain HTTP client: the socket goes back to transport_plain (its TLS
 * state freed) and the owner answers it (nginx's 400 "The plain HTTP
 * request was sent to HTTPS port").
 *
 * Writes: the bytes of a writev become records of at most ssl_buffer_size.
 * A record that could not be sent whole is already sealed: writev returns
 * EAGAIN (or the bytes before it), and the next writev must start with the
 * same bytes, as the HTTP writer's retries do; it then sends that record.
 *
 * Memory: an idle connection (nothing buffered either way for
 * TLS_IDLE_RELEASE_MS) gives the pages of both record buffers back to the
 * kernel; only the 8-byte incoming record counter is kept aside, and the
 * next read or write puts it back.  Partial records are never dropped: a
 * connection with a byte of one buffered is not idle. */
#ifndef TP_TLS_CONN_H
#define TP_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>

struct sock;
struct tls_ctx;
struct tls_conn;

/* Quiet time after which an idle connection releases its buffer pages:
 * long enough that a busy keep-alive connection never pays the faults. */
#define TLS_IDLE_RELEASE_MS 1000

extern const struct transport transport_tls;

/* What the owner of a TLS socket provides. */
struct tls_owner {
    /* The context whose certificates answer `name` (SNI, as sent; NULL
     * when the client sent none).  NULL or a rejecting context refuses the
     * handshake with an unrecognized_name alert. */
    const struct tls_ctx *(*select)(const void *data, const char *name, size_t len);
    /* The handshake is over, or the client turned out to speak plain
     * HTTP: the owner's own timeouts take over. */
    void (*ready)(struct sock *s);
};

/* Puts s under TLS with the handshake context ctx; data is for select.
 * -1 when out of memory (s is untouched then). */
int tls_conn_start(struct sock *s, const struct tls_ctx *ctx, const struct tls_owner *owner,
                   const void *data);

/* The TLS state of s, or NULL if s is not (or no longer) under TLS. */
struct tls_conn *tls_conn_of(const struct sock *s);

/* Releases the record buffers now if the connection is idle; returns
 * whether it did (for tests; the idle timer normally does this). */
bool tls_conn_release(struct tls_conn *t);

#endif

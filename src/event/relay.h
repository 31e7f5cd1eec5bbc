/* relay.h - moving bytes both ways between two sockets: a WebSocket
 * tunnel after a 101, a stream session.
 *
 * Each direction reads from one socket and writes to the other through its
 * transport.  Bytes are read into the reactor's scratch buffer and written
 * on at once; only what the other side does not take right away is kept,
 * in a buffer of its own, and that direction stops reading until it has
 * gone (backpressure).  An idle relay holds no buffer at all.  A side that
 * reaches its end of stream is shut for writing on the other (half-close):
 * the other direction goes on until it ends too.
 *
 * The owners of the two sockets keep their own watchers and callbacks and
 * forward readiness here (relay_ready); the relay says which events it
 * wants through sock_watch, and arms each socket's timer with the idle
 * timeout.
 *
 * Zero copy: with `splice` asked for and both sockets on the plain
 * transport, each direction moves its bytes through a pipe of its own
 * (splice(2) in, splice(2) out), sized to the buffer setting, so the
 * bytes never enter user space; the pipe is the direction's bounded
 * buffer, and a direction with bytes left in it stops reading just as
 * with held bytes. */
#ifndef TP_EVENT_RELAY_H
#define TP_EVENT_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct relay;
struct sock;

/* The relay is over: both directions ended (err 0), or one side failed
 * (err is its errno), or nothing moved for the idle timeout (ETIMEDOUT).
 * The owner closes the sockets; the relay touches them no more. */
typedef void (*relay_done_cb)(struct relay *rl, int err);

/* One direction: from one socket to the other. */
struct relay_dir {
    struct sock *from;  /* read here */
    struct sock *to;    /* write there */
    char *held;         /* bytes `to` has not taken yet (malloc), or NULL */
    size_t held_len;    /* how many */
    size_t held_off;    /* of those, written */
    uint64_t bytes;     /* moved so far */
    int pipe[2];        /* splice: the direction's pipe (read end, write end), or -1 */
    size_t piped;       /* splice: bytes in the pipe not yet written to `to` */
    int err;            /* errno of a failed read or write, or 0 */
    uint8_t read_want;  /* what a read that could not progress waits for */
    uint8_t write_want; /* what a write that could not progress waits for */
    bool eof;           /* `from` reached its end of stream */
    bool shut;          /* `to` was shut for writing after that */
    bool waiting;       /* the last pump stopped for `from` to become readable */
};

struct relay {
    struct relay_dir up;   /* a to b (client to upstream) */
    struct relay_dir down; /* b to a */
    long idle_ms;          /* a side with no traffic for this long ends it, 0 = never */
    size_t max_read;       /* bytes read at once (the buffer size setting) */
    relay_done_cb done;    /* how it ended */
    bool over;             /* done was called */
    bool splice;           /* set before relay_start: zero copy between plain sockets */
};

/* Starts relaying between a and b (both open, no pending I/O of their
 * owners): relay_init, then relay_ready. */
void relay_start(struct relay *rl, struct sock *a, struct sock *b, size_t max_read, long idle_ms,
                 relay_done_cb done);

/* Sets the relay up without moving anything yet, so that bytes its owners
 * already read from a or b (relay_push) go before any read later; the
 * first relay_ready starts it. */
void relay_init(struct relay *rl, struct sock *a, struct sock *b, size_t max_read, long idle_ms,
                relay_done_cb done);

/* Bytes meant for `to` that an owner already holds (a response head's
 * surplus, a request's pipelined bytes): sent before anything else of
 * that direction.  -1 when out of memory. */
int relay_push(struct relay *rl, struct sock *to, const char *p, size_t len);

/* Readiness of s (one of the relay's sockets), from its owner's callback. */
void relay_ready(struct relay *rl, struct sock *s);

/* A timer of one of the sockets fired (its owner forwards it). */
void relay_timeout(struct relay *rl);

/* Whether the relay moves its bytes with splice (after relay_start). */
bool relay_spliced(const struct relay *rl);

/* Frees the held bytes and the pipes (after done, or when the owner ends
 * it first). */
void relay_free(struct relay *rl);

#endif

/* body.h - reading a request body for a handler that wants it.
 *
 * Content-Length and chunked bodies arrive decoded.  "Expect: 100-continue"
 * is answered when the reading starts, client_max_body_size is checked as
 * the bytes arrive (a chunked body has no length up front), and
 * client_body_timeout runs between reads.  A handler reads either:
 *
 *   - whole: in memory up to client_body_buffer_size, beyond that in a
 *     temporary file under client_body_temp_path that the thread pool
 *     writes (the loop never touches the disk); done(r, 0) then finds the
 *     body as one segment of body_chain(r);
 *   - in pieces: piece() gets each decoded piece, pointing into the
 *     connection's buffers, valid until the handler calls body_resume();
 *     reading waits until then, so a slow consumer slows the client
 *     (backpressure).  The end comes as a last piece, maybe empty.
 *
 * A body nobody reads is discarded after the response, as before. */
#ifndef TP_HTTP_BODY_H
#define TP_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out;
struct req;

/* Reading is over: status 0, or the status to answer with (400 bad
 * framing, 408 timeout, 413 too large, 500 the temporary file failed),
 * already logged.  A client that went away is not reported: the
 * connection closes and the handler hears it through its resp_gen. */
typedef void (*body_done_cb)(struct req *r, int status);
typedef void (*body_piece_cb)(struct req *r, const char *p, size_t len, bool last);

/* The request has a body (Content-Length > 0, or chunked). */
bool body_expected(const struct req *r);

/* Starts reading the whole body.  -1 if it cannot start (out of memory:
 * nothing was called). */
int body_read_whole(struct req *r, body_done_cb done);

/* Starts reading in pieces; failed() is called instead of a last piece
 * when reading fails.  -1 if it cannot start. */
int body_read_stream(struct req *r, body_piece_cb piece, body_done_cb failed);

/* The handler is done with the last piece: read on. */
void body_resume(struct req *r);

/* The body read whole: one memory or file segment (empty for no body). */
const struct out *body_chain(const struct req *r);

/* Decoded bytes from the parser (req.c's on_body). */
void body_on_data(struct req *r, const char *p, size_t len);

/* The connection's readiness while reading (conn.c). */
void body_io(struct req *r);

/* The body reading timed out (conn.c's timer). */
void body_timeout(struct req *r);

/* Reading ended early (a response went out first): bytes the reader took
 * from the socket but did not parse go back to the connection's buffer,
 * where discarding the rest of the body finds them.  -1 when out of
 * memory (the connection must close). */
int body_stop(struct req *r);

#endif

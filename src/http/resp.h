/* resp.h - writing a response: status line, headers, body. */
#ifndef TP_RESP_H
#define TP_RESP_H

#include <stdbool.h>

#include "core/out.h"
#include "core/str.h"

struct req;
struct resp_gen;
struct loc_conf;

/* Sends r->status with r->content_type and the whole body r->out, after
 * the modules' response filters (gzip).  Decides keep-alive. */
void resp_send(struct req *r);

/* A response whose body comes in pieces (the proxy's).  resp_start makes
 * the head for r->status and headers, with Content-Length when
 * r->resp_length >= 0, chunked framing when it is unknown (HTTP/1.1) or
 * the connection's close (HTTP/1.0).  Each resp_write queues one piece;
 * the chain must stay valid until gen->proceed asks for the next, and
 * only one piece is out at a time (backpressure).  The head goes with
 * the first piece (an empty one sends just the head).  gen->done tells
 * how the response ended.  A HEAD response drops the pieces' bytes.
 * Streamed responses do not pass the response filters, but the head
 * filters (expires, charset) see them. */
int resp_start(struct req *r, const struct resp_gen *gen);
void resp_write(struct req *r, struct out_seg *chain, bool last);

/* The piece written last has gone (the connection's writer). */
void resp_proceed(struct req *r);

/* Sends nginx's built-in page for status (the one way errors reach a
 * client).  400, 413, 414, 500 and 501 also close the connection.  Once a
 * response's head has gone, an error can only cut the connection. */
void resp_error(struct req *r, int status);

/* absolute_redirect: makes "/x" into "http://host:port/x" for Location. */
struct str resp_absolute(struct req *r, struct str url);

/* Whether add_header (without "always") and expires apply to a response
 * with this status: nginx's list of 200, 201, 204, 206, 301, 302, 303,
 * 304, 307 and 308. */
bool resp_headers_apply(int status);

/* The settings that apply to r: its location's, or before routing, its
 * address's default server's. */
const struct loc_conf *resp_loc(const struct req *r);

#endif

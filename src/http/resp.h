/* resp.h - writing a response: status line, headers, body. */
#ifndef TP_RESP_H
#define TP_RESP_H

#include "core/str.h"

struct req;
struct loc_conf;

/* Sends r->status with r->content_type and r->body.  Decides keep-alive. */
void resp_send(struct req *r);

/* Sends nginx's built-in page for status (the one way errors reach a
 * client).  400, 413, 414, 500 and 501 also close the connection. */
void resp_error(struct req *r, int status);

/* absolute_redirect: makes "/x" into "http://host:port/x" for Location. */
struct str resp_absolute(struct req *r, struct str url);

/* The settings that apply to r: its location's, or before routing, its
 * address's default server's. */
const struct loc_conf *resp_loc(const struct req *r);

#endif

/* req_check.h - the strictness http-parser 2.9.4 lacks.
 *
 * http-parser accepts several ambiguous requests that request-smuggling
 * attacks rely on (obs-fold, bare CR, HTTP/0.9, duplicate Transfer-Encoding,
 * loose chunk extensions, ...).  These checks refuse them; the connection
 * then answers 400 (501 for an unknown transfer coding, 505 for a version)
 * and closes without acting on any byte that follows.  Each refusal comes
 * with its reason for the error log, in nginx's words ("client sent
 * invalid host header", ...): a static string. */
#ifndef TP_REQ_CHECK_H
#define TP_REQ_CHECK_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/str.h"

struct req;

/* Scans the raw request head (request line through the blank line): exact
 * "METHOD SP target SP HTTP/d.d" request line, every line ending in CRLF
 * or a bare LF (RFC 9112 2.2, as nginx), no NUL, bare CR or other control
 * byte (HTAB allowed in values), no obs-fold, no whitespace before a colon
 * or before the first header.  Returns 0, or the status to answer with its
 * reason in *why. */
int req_check_head(const char *buf, size_t len, const char **why);

/* Checks what the parsed head means: version 1.0 or 1.1 (else 505; 0.9 is
 * 400); exactly one valid Host in HTTP/1.1 (none, empty, duplicate or
 * malformed is 400); Transfer-Encoding only in 1.1, once, exactly "chunked"
 * (a list not ending in chunked is 400, an unknown coding 501); not both
 * Content-Length and Transfer-Encoding; one valid Content-Length; the target
 * in origin-form or absolute-form, "*" only for OPTIONS.  Header views in r
 * must be set.  Returns 0, or the status to answer with its reason in *why. */
int req_check_semantics(const struct req *r, const char **why);

/* Validates and decodes chunked framing over the raw body bytes: hex
 * size, extensions as token[=token|quoted-string] with no control bytes,
 * CRLF or bare LF at every line end (never a bare CR), trailers, the final
 * empty line.  It both checks bytes ahead of use and decodes them: the
 * same machine, so the two can never disagree on where a body ends. */
struct chunk_check {
    int state;          /* where in the framing we are */
    uint64_t remaining; /* data bytes left in the current chunk */
    unsigned digits;    /* size digits seen */
    bool done;          /* the message ended */
};

void chunk_check_init(struct chunk_check *cc);
/* Consumes bytes up to the end of the chunked message.  Returns how many
 * belong to the message (the rest is the next request), or -1 on a
 * framing violation. */
ssize_t chunk_check_feed(struct chunk_check *cc, const char *p, size_t len);

/* Consumes framing up to and including the next run of chunk data, which
 * *data then points at (the last data->len bytes consumed; empty when the
 * bytes ran out or the message ended first).  Returns the bytes consumed,
 * or -1 on a framing violation. */
ssize_t chunk_check_next(struct chunk_check *cc, const char *p, size_t len, struct str *data);

#endif

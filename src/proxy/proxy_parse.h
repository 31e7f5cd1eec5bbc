/* proxy_parse.h - reading an upstream's response: the head parsed and
 * checked, the body decoded in place; http-parser (HTTP_RESPONSE) below.
 *
 * The head is read into one buffer that does not move (proxy_buffer_size);
 * interim responses (1xx but 101) are dropped as they end, and their bytes
 * removed from the buffer.  The framing is checked as the issue and nginx
 * ask: both Content-Length and Transfer-Encoding, a repeated or invalid
 * Content-Length, a Transfer-Encoding other than chunked, an invalid status
 * line or header line are errors, each with nginx's words for the log.
 *
 * Body bytes are decoded in place: what the chunked framing wraps moves to
 * the front of the bytes given, so a buffer holds only payload afterwards.
 * Decoding stops at the end of the message; bytes after it are the
 * caller's to drop (an upstream that sent more than it said). */
#ifndef TP_PROXY_PARSE_H
#define TP_PROXY_PARSE_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mpool.h"
#include "core/str.h"

/* A slice of the head buffer while parsing. */
struct proxy_span {
    uint32_t off; /* offset in the buffer */
    uint32_t len; /* length */
};

/* A header line while parsing. */
struct proxy_hspan {
    struct proxy_span name;  /* field name */
    struct proxy_span value; /* field value */
};

/* A response header, once the head is complete. */
struct proxy_hdr {
    struct str name;  /* as sent */
    struct str value; /* without surrounding whitespace */
};

enum proxy_parse_rc {
    PP_AGAIN, /* every byte was taken: more are needed */
    PP_HEAD,  /* the final response's head is complete */
    PP_DONE,  /* the message ended */
    PP_ERROR, /* invalid: err says why */
};

struct proxy_parse {
    http_parser hp;            /* the parser */
    const char *base;          /* the head buffer (spans are offsets in it) */
    struct proxy_hspan *spans; /* header lines so far (malloc) */
    uint32_t nspans;           /* how many */
    uint32_t cap;              /* allocated */
    struct proxy_span reason;  /* the status line's reason phrase */
    uint32_t fed;              /* head bytes parsed so far */
    uint32_t head_len;         /* bytes of the final head, its last LF included */
    char *w;                   /* where the next decoded body bytes go */
    int64_t content_length;    /* Content-Length, or -1 */
    int status;                /* the final status */
    bool skip_body;            /* the request was HEAD: no body follows */
    bool in_value;             /* the last callback was a value */
    bool interim;              /* a 1xx is being read */
    bool head_done;            /* the final head is complete */
    bool msg_done;             /* the message ended */
    bool chunked;              /* Transfer-Encoding: chunked */
    bool keepalive;            /* the connection may carry another request */
    bool nomem;                /* a span could not be recorded */
    char err[256];             /* why it failed, in nginx's words */
};

/* head_request: the request went upstream as HEAD. */
void proxy_parse_init(struct proxy_parse *pp, bool head_request);
void proxy_parse_free(struct proxy_parse *pp);

/* Parses the head bytes buf[0, *len) beyond those seen already.  An
 * interim response that ended is removed (*len shrinks).  PP_HEAD: the
 * head is buf[0, head_len), and what follows is body (or, after a 101,
 * the new protocol's bytes); msg_done may already be set (no body). */
enum proxy_parse_rc proxy_parse_head(struct proxy_parse *pp, char *buf, size_t *len);

/* The head's headers as views into a copy in p; -1 when out of memory. */
int proxy_parse_headers(const struct proxy_parse *pp, struct mpool *p, struct proxy_hdr **out,
                        size_t *n, struct str *reason);

/* Decodes len body bytes at buf in place: the payload goes to the front,
 * *out is its length.  PP_DONE: the message ended, *extra bytes were left
 * after its end. */
enum proxy_parse_rc proxy_parse_body(struct proxy_parse *pp, char *buf, size_t len, size_t *out,
                                     size_t *extra);

/* The upstream closed: PP_DONE when that ends the message (a body
 * delimited by the close), else PP_ERROR. */
enum proxy_parse_rc proxy_parse_eof(struct proxy_parse *pp);

#endif

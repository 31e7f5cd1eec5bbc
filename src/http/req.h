/* req.h - one HTTP request: http-parser glue and what it produced.
 *
 * While the head is read, slices are kept as offsets into the connection's
 * read buffer (which may still grow); once the head is complete they become
 * views, and the buffer stays put until the request is done. */
#ifndef TP_REQ_H
#define TP_REQ_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/mpool.h"
#include "core/out.h"
#include "http/conn_out.h"
#include "http/req_check.h"
#include "http/route.h"
#include "core/str.h"

struct body_reader;
struct conn;
struct conf_addr;
struct module;
struct srv_conf;
struct var_val;
struct loc_conf;
struct req;

/* How the handler that answers a request hears from the connection.  A
 * handler that waits (req_wait) or streams (resp_start) gives one. */
struct resp_gen {
    /* The piece written last has gone to the socket: send the next. */
    void (*proceed)(struct req *r);
    /* The request is over: its response was sent whole (complete), or the
     * client went away or timed out first.  Called once. */
    void (*done)(struct req *r, bool complete);
};

/* Something a request holds until it ends (files, upstream state). */
struct req_cleanup {
    void (*fn)(void *data);   /* releases it */
    void *data;               /* what */
    struct req_cleanup *next; /* the one registered before */
};
/* A slice of the read buffer while parsing. */
struct req_span {
    uint32_t off; /* offset in conn->buf */
    uint32_t len; /* length */
};

/* A header line as received. */
struct req_hdr {
    struct req_span name_span;  /* while parsing */
    struct req_span value_span; /* while parsing */
    struct str name;            /* view, once the head is complete */
    struct str value;           /* view, once the head is complete */
};

/* A header of the response being built. */
struct resp_hdr {
    struct str name;       /* e.g. "Location" */
    struct str value;      /* its value */
    struct resp_hdr *next; /* next header */
};

struct req {
    struct mpool pool;    /* everything this request allocates */
    struct conn *c;       /* its connection */
    http_parser parser;   /* its head and body (a new one per request) */
    struct conn_out wout; /* the writer: the piece of its response being sent */
    double start;         /* ev_now when its first byte arrived */
    /* parsed */
    struct req_span target_span; /* request-target while parsing */
    struct str target;           /* request-target as sent */
    struct str path;             /* decoded, normalized path: $uri */
    struct str args;             /* query string without "?": $args */
    struct str host;             /* lower-case host without port, may be empty */
    struct req_hdr *hdrs;        /* header lines in order */
    uint32_t nhdrs;              /* how many */
    uint32_t cap_hdrs;           /* allocated */
    uint32_t head_len;           /* bytes of the head, request line included */
    uint64_t request_length;     /* bytes received: head, body and framing */
    uint32_t line_max;           /* longest request line or header line allowed */
    unsigned method;             /* enum http_method, or REQ_METHOD_UNKNOWN */
    struct str method_name;      /* the method as sent (its own copy) */
    struct req_span method_span; /* a method http-parser does not know, while parsing */
    uint8_t http_major;          /* version */
    uint8_t http_minor;
    bool in_value;                /* the parser is inside a header value */
    bool head_done;               /* on_headers_complete has run */
    bool body_done;               /* on_message_complete has run */
    bool keepalive;               /* the connection may serve another request */
    int parse_status;             /* status for a head the checks refused, or 0 */
    const char *refusal;          /* why the head was refused, in nginx's words, or NULL */
    int64_t content_length;       /* request body length, -1 if none/chunked */
    bool chunked;                 /* request body is chunked */
    bool upgrade;                 /* the parser saw an Upgrade/CONNECT request */
    struct chunk_check chunk;     /* framing check of a chunked body, ahead of use */
    struct chunk_check chunk_dec; /* decoding of that body (same machine, behind) */
    uint32_t chunk_fed;           /* buffer offset the check has seen up to */
    bool expect_continue;         /* "Expect: 100-continue" */
    bool no_continue;             /* an error response: no "100 Continue" before it (nginx) */
    bool pipelined;               /* its bytes came with the request before ($pipe) */
    const char *request_id;       /* $request_id once asked for (kept across redirects) */
    /* routed */
    const struct srv_conf *srv;     /* chosen server */
    const struct loc_conf *loc;     /* chosen location settings */
    struct route_captures captures; /* last regex match, for $1..$9 */
    unsigned redirects;             /* internal redirects and rewrites so far */
    bool internal;                  /* redirected or rewritten: `internal` locations serve it */
    uint8_t phase;                  /* the phase running (handle.c) */
    uint8_t phase_hook;             /* ... and its hook, for handle_resume */
    int access_code;                /* satisfy any: the refusal so far (401 over 403), or 0 */
    uint8_t limit_req_status;       /* what limit_req did (handler/limit_req.h), 0 = not yet */
    uint8_t limit_conn_status;      /* what limit_conn did (handler/limit_conn.h), 0 = not yet */
    bool error_page_used;           /* an error_page already applied (no recursion) */
    int err_status;                 /* status an error_page redirect answers for, or 0 */
    int status_override;            /* error_page =code: -1 keep err_status, 0 target's, N */
    /* response */
    int status;                     /* status code sent */
    struct str status_line;         /* its reason phrase if not the standard one (a proxied
                                       response's), or empty */
    bool own_server;                /* out_hdrs has the Server header (proxy_pass_header) */
    bool own_date;                  /* ... the Date header */
    struct resp_hdr *out_hdrs;      /* extra response headers */
    struct resp_hdr **out_tail;     /* where the next one goes */
    struct resp_hdr *head_first;    /* the first header the head filters added, or NULL */
    bool head_filtered;             /* the head filters and add_header have run */
    struct str content_type;        /* Content-Type, or empty */
    time_t last_modified;           /* Last-Modified, or -1 */
    struct out out;                 /* the body */
    size_t header_len;              /* bytes of the response head */
    uint64_t bytes_sent;            /* head and body bytes written */
    int64_t limit_rate;             /* bytes per second for the response, 0 = any (limit_rate.h) */
    int64_t limit_rate_after;       /* bytes sent at full speed first */
    bool limit_rate_set;            /* limit_rate is decided ($limit_rate, or the first write) */
    bool limit_rate_after_set;      /* limit_rate_after is decided */
    int64_t resp_length;            /* body length to announce, -1 unknown (chunked) */
    const struct resp_gen *gen;     /* the answering handler's callbacks, or NULL */
    struct str resp_head;           /* a streamed response's head, until its first piece */
    char chunk_line[24];            /* a chunk's size line, while it is sent */
    bool resp_started;              /* the head is made: status and headers are final */
    bool resp_body;                 /* the response carries a body */
    bool resp_chunked;              /* ... in chunked framing */
    bool resp_last;                 /* the last piece is queued */
    bool gen_done;                  /* gen->done has been called */
    void **ctx;                     /* each module's per-request state, by index */
    struct var_val *vars;           /* values of the configuration's variables, or NULL */
    struct req_cleanup *cleanups;   /* run in reverse order when the request ends */
    struct body_reader *body;       /* reading the body for a handler, or NULL */
    void (*tunnel_ready)(void *);   /* CS_TUNNEL: the handler's readiness callback */
    void (*tunnel_timeout)(void *); /* ... and its timeout callback */
    void *tunnel_data;              /* ... and their argument */
    bool gzip_done;                 /* the body is already encoded (gzip_static) */
    bool gzip_vary;                 /* Vary: Accept-Encoding is due */
};

/* r->method of a method http-parser does not know but nginx accepts (any
 * word of A-Z, "_" and "-"): handlers answer 405 as nginx's do. */
#define REQ_METHOD_UNKNOWN 255u

extern const http_parser_settings req_parser_settings;

/* Parses head bytes buf[*parsed, len) with r's parser, advancing *parsed
 * and r->request_length; returns http-parser's error (HPE_PAUSED once the
 * head is complete, HPE_OK when more bytes are needed).  A method
 * http-parser does not know is parsed as if it were GET and recorded as
 * REQ_METHOD_UNKNOWN with its name, so that it reaches a handler. */
enum http_errno req_parse_head(struct req *r, const char *buf, uint32_t len, uint32_t *parsed);

/* Feeds body bytes to r's framing: http-parser for a Content-Length body,
 * the chunk decoder (req_check.h) for a chunked one, which takes a bare LF
 * as a line end as nginx does.  Decoded bytes go to body_on_data when a
 * handler reads the body; a piece or the message's end pauses r->parser,
 * as http-parser's callbacks do.  Returns the bytes taken, or -1 when the
 * framing is bad. */
ssize_t req_feed_body(struct req *r, const char *p, size_t len);

/* The method's name: what a handler sees ($request_method), GET after an
 * error_page redirect as in nginx. */
struct str req_method_name(const struct req *r);

/* The method as the request line had it ($request, log lines). */
struct str req_method_sent(const struct req *r);

/* Creates the request for connection c (its arena included). */
struct req *req_new(struct conn *c);
void req_free(struct req *r);

/* Turns the parser's offsets into views of buf (values without trailing
 * whitespace). */
void req_set_views(struct req *r, const char *buf);

/* Derives path, args, host and Expect from the views; merge says whether
 * "//" in the path merges (merge_slashes).  Returns 0, or an HTTP status
 * for a request that must be refused. */
int req_finish_head(struct req *r, bool merge);

/* The status for a head http-parser stopped on with error e; the reason
 * goes to r->refusal (a callback's own refusal is kept). */
int req_refuse_parse(struct req *r, enum http_errno e);

/* What the error log says about refusing r with status: r->refusal, or
 * the reason a refusal of the connection's own (buffers) implies. */
const char *req_refusal(const struct req *r, int status);

/* First header with this name (case-insensitive), or NULL. */
const struct str *req_header(const struct req *r, const char *name);

/* Sets an in-memory body (the bytes must outlive the response). */
int req_set_body(struct req *r, struct str body);

/* Adds a response header; both strings must outlive the response. */
int req_add_header(struct req *r, struct str name, struct str value);

/* Drops every response header (an internal redirect starts afresh). */
void req_reset_headers(struct req *r);

/* The first response header called name (case-insensitive), or NULL. */
struct resp_hdr *req_out_header(const struct req *r, const char *name);

/* Removes every response header called name. */
void req_del_header(struct req *r, const char *name);

/* Module m's state for this request, or NULL.  An internal redirect
 * starts every module afresh, as in nginx. */
void *req_ctx(const struct req *r, const struct module *m);
int req_set_ctx(struct req *r, const struct module *m, void *data);

/* Registers fn(data) to run when the request ends, whatever happens;
 * -1 when out of memory (then fn has not run). */
int req_cleanup_add(struct req *r, void (*fn)(void *data), void *data);

/* The handler answers later (a pool job, an upstream).  Meanwhile the
 * connection watches for the client to close and, when timeout_ms > 0,
 * for that timeout; either ends the request with gen->done(r, false). */
void req_wait(struct req *r, const struct resp_gen *gen, long timeout_ms);

/* A wait that ends before anything was answered (limit_req's delay ran
 * out): the connection stops watching the client, gen is forgotten
 * (never told done), and the caller goes on with the request's phases. */
void req_wait_end(struct req *r);

#endif

/* req.c - http-parser callbacks and the request they fill. */
#include "http/req.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "conf/module.h"
#include "http/body.h"
#include "http/conn.h"
#include "http/uri.h"

#define REQ_ARENA_BLOCK 2048
#define REQ_MAX_HEADERS 100

static struct req *req_of(http_parser *p)
{
    return ((struct conn *)p->data)->req;
}

static uint32_t req_off(http_parser *p, const char *at)
{
    return (uint32_t)(at - ((struct conn *)p->data)->buf);
}

/* A callback may deliver a field in pieces (split reads); they are always
 * adjacent in the buffer, so a piece just extends the span. */
static void req_extend(struct req_span *s, uint32_t off, size_t len)
{
    if (s->len == 0)
        s->off = off;
    s->len = off + (uint32_t)len - s->off;
}

static int req_on_url(http_parser *p, const char *at, size_t len)
{
    struct req *r = req_of(p);
    req_extend(&r->target_span, req_off(p, at), len);
    if (r->target_span.len > r->line_max) {
        r->parse_status = 414;
        r->refusal = "client sent too long URI";
        return -1;
    }
    return 0;
}

/* A header line longer than one large buffer is refused, as in nginx. */
static int req_check_line(struct req *r)
{
    const struct req_hdr *h = &r->hdrs[r->nhdrs - 1];
    if (h->name_span.len + h->value_span.len + 2 > r->line_max) {
        r->parse_status = 431;
        r->refusal = "client sent too long header line";
        return -1;
    }
    return 0;
}

static struct req_hdr *req_new_hdr(struct req *r)
{
    if (r->nhdrs == r->cap_hdrs) {
        uint32_t cap = r->cap_hdrs ? r->cap_hdrs * 2 : 16;
        struct req_hdr *h = mpool_alloc(&r->pool, sizeof(*h) * cap);
        if (h == NULL)
            return NULL;
        if (r->nhdrs)
            memcpy(h, r->hdrs, sizeof(*h) * r->nhdrs);
        r->hdrs = h;
        r->cap_hdrs = cap;
    }
    struct req_hdr *h = &r->hdrs[r->nhdrs++];
    memset(h, 0, sizeof(*h));
    return h;
}

static int req_on_header_field(http_parser *p, const char *at, size_t len)
{
    struct req *r = req_of(p);
    if (r->nhdrs == 0 || r->in_value) {
        if (r->nhdrs == REQ_MAX_HEADERS) {
            r->parse_status = 431;
            r->refusal = "client sent too large request";
            return -1;
        }
        if (req_new_hdr(r) == NULL)
            return -1;
        r->in_value = false;
    }
    req_extend(&r->hdrs[r->nhdrs - 1].name_span, req_off(p, at), len);
    return req_check_line(r);
}

static int req_on_header_value(http_parser *p, const char *at, size_t len)
{
    struct req *r = req_of(p);
    r->in_value = true;
    req_extend(&r->hdrs[r->nhdrs - 1].value_span, req_off(p, at), len);
    return req_check_line(r);
}

/* Pausing returns control to the connection, which routes the request
 * before reading its body. */
/* The method as sent, copied: the head's buffer is reused for the body
 * while the request is still logged about. */
static int req_keep_method(struct req *r, http_parser *p)
{
    struct conn *c = p->data;
    if (r->method_span.len == 0) {
        const char *name = http_method_str(p->method);
        r->method = p->method;
        r->method_name = str_make(name, strlen(name));
        return 0;
    }
    char *name = mpool_strndup(&r->pool, c->buf + r->method_span.off, r->method_span.len);
    if (name == NULL)
        return -1;
    r->method = REQ_METHOD_UNKNOWN;
    r->method_name = str_make(name, r->method_span.len);
    return 0;
}

static int req_on_headers_complete(http_parser *p)
{
    struct req *r = req_of(p);
    if (req_keep_method(r, p) < 0)
        return -1;
    r->head_done = true;
    r->http_major = (uint8_t)p->http_major;
    r->http_minor = (uint8_t)p->http_minor;
    r->keepalive = http_should_keep_alive(p) != 0;
    r->chunked = (p->flags & F_CHUNKED) != 0;
    r->upgrade = p->upgrade != 0;
    if (!r->chunked && p->content_length != ULLONG_MAX && p->content_length > 0)
        r->content_length = (int64_t)p->content_length;
    http_parser_pause(p, 1);
    return 0;
}

/* Decoded body bytes: to the handler reading them, or dropped. */
static int req_on_body(http_parser *p, const char *at, size_t len)
{
    struct req *r = req_of(p);
    if (r->body != NULL)
        body_on_data(r, at, len);
    return 0;
}

static int req_on_message_complete(http_parser *p)
{
    req_of(p)->body_done = true;
    http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings req_parser_settings = {
    .on_url = req_on_url,
    .on_header_field = req_on_header_field,
    .on_header_value = req_on_header_value,
    .on_headers_complete = req_on_headers_complete,
    .on_body = req_on_body,
    .on_message_complete = req_on_message_complete,
};

/* ---- parsing ------------------------------------------------------------- */

/* nginx's method characters (ngx_http_parse_request_line). */
static bool req_method_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '-';
}

/* http-parser stopped on a method it does not know.  If the request starts
 * with a method as nginx reads one, the parser starts over, is fed "GET"
 * for it, and goes on from the space after it: nothing but the method's
 * value depends on its name, and GET frames a body like any other. */
static enum http_errno req_retry_method(struct req *r, const char *buf, uint32_t len,
                                        uint32_t *parsed)
{
    uint32_t start = 0, end;
    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    for (end = start; end < len && req_method_char(buf[end]); end++)
        ;
    if (end == start || (end < len && buf[end] != ' '))
        return HPE_INVALID_METHOD;
    void *data = r->parser.data;
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = data;
    *parsed = 0;
    r->request_length = 0;
    if (end == len)
        return HPE_OK; /* the method may go on: wait for more */
    http_parser_execute(&r->parser, &req_parser_settings, "GET", 3);
    r->method_span = (struct req_span){start, end - start};
    *parsed = end;
    r->request_length = end;
    return req_parse_head(r, buf, len, parsed);
}

enum http_errno req_parse_head(struct req *r, const char *buf, uint32_t len, uint32_t *parsed)
{
    size_t n = http_parser_execute(&r->parser, &req_parser_settings, buf + *parsed, len - *parsed);
    *parsed += (uint32_t)n;
    r->request_length += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e != HPE_INVALID_METHOD || r->method_span.len > 0 || r->nhdrs > 0)
        return e;
    return req_retry_method(r, buf, len, parsed);
}

/* A chunked body through the decoder: each piece to the handler (which
 * pauses the parser to hold it), then the end. */
static ssize_t req_feed_chunked(struct req *r, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && !r->body_done && HTTP_PARSER_ERRNO(&r->parser) != HPE_PAUSED) {
        struct str data;
        ssize_t n = chunk_check_next(&r->chunk_dec, p + i, len - i, &data);
        if (n < 0)
            return -1;
        i += (size_t)n;
        if (data.len > 0 && r->body != NULL)
            body_on_data(r, data.p, data.len);
        if (r->chunk_dec.done)
            req_on_message_complete(&r->parser);
    }
    return (ssize_t)i;
}

ssize_t req_feed_body(struct req *r, const char *p, size_t len)
{
    if (r->chunked) {
        ssize_t n = req_feed_chunked(r, p, len);
        r->request_length += n > 0 ? (size_t)n : 0;
        return n;
    }
    size_t n = http_parser_execute(&r->parser, &req_parser_settings, p, len);
    r->request_length += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    return e == HPE_OK || e == HPE_PAUSED ? (ssize_t)n : -1;
}

struct str req_method_sent(const struct req *r)
{
    return r->method_name.len > 0 ? r->method_name : req_method_name(r);
}

struct str req_method_name(const struct req *r)
{
    if (r->method == REQ_METHOD_UNKNOWN)
        return r->method_name;
    const char *name = http_method_str(r->method);
    return str_make(name, strlen(name));
}

struct req *req_new(struct conn *c)
{
    struct mpool pool;
    mpool_init(&pool, REQ_ARENA_BLOCK);
    struct req *r = mpool_calloc(&pool, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->pool = pool; /* the arena now lives inside what it allocated */
    r->c = c;
    r->out_tail = &r->out_hdrs;
    r->content_length = -1;
    r->resp_length = -1;
    r->status_override = -1;
    r->last_modified = -1;
    chunk_check_init(&r->chunk_dec);
    out_init(&r->out);
    return r;
}

void req_free(struct req *r)
{
    for (struct req_cleanup *cl = r->cleanups; cl != NULL; cl = cl->next)
        cl->fn(cl->data);
    struct mpool pool = r->pool;
    mpool_destroy(&pool);
}

void *req_ctx(const struct req *r, const struct module *m)
{
    return r->ctx != NULL ? r->ctx[m->index] : NULL;
}

int req_set_ctx(struct req *r, const struct module *m, void *data)
{
    if (r->ctx == NULL && (r->ctx = mpool_calloc(&r->pool, sizeof(void *) * nmodules)) == NULL)
        return -1;
    r->ctx[m->index] = data;
    return 0;
}

int req_cleanup_add(struct req *r, void (*fn)(void *data), void *data)
{
    struct req_cleanup *cl = mpool_alloc(&r->pool, sizeof(*cl));
    if (cl == NULL)
        return -1;
    cl->fn = fn;
    cl->data = data;
    cl->next = r->cleanups;
    r->cleanups = cl;
    return 0;
}

static struct str req_view(const char *buf, struct req_span s)
{
    return str_make(buf + s.off, s.len);
}

const struct str *req_header(const struct req *r, const char *name)
{
    for (uint32_t i = 0; i < r->nhdrs; i++)
        if (str_case_eq(r->hdrs[i].name, name))
            return &r->hdrs[i].value;
    return NULL;
}

/* http-parser keeps a value's trailing whitespace; RFC 9112 says it is
 * not part of the value. */
static struct str req_trim(struct str v)
{
    while (v.len > 0 && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
        v.len--;
    return v;
}

void req_set_views(struct req *r, const char *buf)
{
    r->target = req_view(buf, r->target_span);
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        r->hdrs[i].name = req_view(buf, r->hdrs[i].name_span);
        r->hdrs[i].value = req_trim(req_view(buf, r->hdrs[i].value_span));
    }
}

/* Refuses r: the status, with its reason for the error log. */
static int req_refuse(struct req *r, const char *why, int status)
{
    r->refusal = why;
    return status;
}

int req_finish_head(struct req *r, bool merge)
{
    struct uri_parts parts;
    if (uri_split(r->target, &parts) < 0 ||
        uri_normalize(&r->pool, parts.path, merge, &r->path) < 0)
        return req_refuse(r, "client sent invalid request", 400);
    r->args = parts.args;
    const struct str *host = req_header(r, "Host");
    struct str raw = parts.host.len ? parts.host : host ? *host : str_make("", 0);
    if (uri_host(&r->pool, raw, &r->host) < 0)
        return req_refuse(r,
                          parts.host.len ? "client sent invalid host in request line"
                                         : "client sent invalid host header",
                          400);
    if (r->http_major == 1 && r->http_minor == 1 && host == NULL)
        return req_refuse(r, "client sent HTTP/1.1 request without \"Host\" header", 400);
    const struct str *expect = req_header(r, "Expect");
    if (expect != NULL) {
        if (!str_case_eq(*expect, "100-continue"))
            return req_refuse(r, "client sent unknown \"Expect\" header", 417);
        r->expect_continue = r->http_minor == 1;
    }
    return 0;
}

int req_set_body(struct req *r, struct str body)
{
    out_init(&r->out);
    return body.len == 0 ? 0 : out_mem(&r->pool, &r->out, body.p, body.len);
}

void req_reset_headers(struct req *r)
{
    r->out_hdrs = NULL;
    r->out_tail = &r->out_hdrs;
    r->head_filtered = false; /* the new target's filters decide again */
}

struct resp_hdr *req_out_header(const struct req *r, const char *name)
{
    for (struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        if (str_case_eq(h->name, name))
            return h;
    return NULL;
}

void req_del_header(struct req *r, const char *name)
{
    struct resp_hdr **pp = &r->out_hdrs;
    while (*pp != NULL) {
        if (str_case_eq((*pp)->name, name))
            *pp = (*pp)->next;
        else
            pp = &(*pp)->next;
    }
    r->out_tail = pp;
}

int req_add_header(struct req *r, struct str name, struct str value)
{
    struct resp_hdr *h = mpool_alloc(&r->pool, sizeof(*h));
    if (h == NULL)
        return -1;
    h->name = name;
    h->value = value;
    h->next = NULL;
    *r->out_tail = h;
    r->out_tail = &h->next;
    return 0;
}

/* ---- why a head is refused -------------------------------------------------- */

/* Whether any header line so far is named `name` (while parsing, when
 * only offsets into the connection's buffer exist). */
static bool req_seen_header(const struct req *r, const char *name)
{
    const char *buf = r->c->buf;
    for (uint32_t i = 0; i < r->nhdrs; i++)
        if (str_case_eq(req_view(buf, r->hdrs[i].name_span), name))
            return true;
    return false;
}

/* http-parser's errors in nginx's words. */
static const char *req_parse_why(const struct req *r, enum http_errno e)
{
    switch (e) {
    case HPE_HEADER_OVERFLOW:
        return "client sent too large request";
    case HPE_INVALID_METHOD:
        return "client sent invalid method";
    case HPE_INVALID_VERSION:
        return "client sent invalid version";
    case HPE_INVALID_CONTENT_LENGTH:
        return "client sent invalid \"Content-Length\" header";
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        /* A second Content-Length, or one beside Transfer-Encoding. */
        return req_seen_header(r, "Transfer-Encoding")
                   ? "client sent \"Content-Length\" and \"Transfer-Encoding\" headers at the "
                     "same time"
                   : "client sent duplicate header line";
    case HPE_INVALID_HEADER_TOKEN:
        return "client sent invalid header line";
    case HPE_INVALID_CHUNK_SIZE:
        return "client sent invalid chunked body";
    default:
        /* Past the request line, whatever went wrong is in a header line. */
        return r->nhdrs > 0 ? "client sent invalid header line" : "client sent invalid request";
    }
}

int req_refuse_parse(struct req *r, enum http_errno e)
{
    if (r->parse_status != 0)
        return r->parse_status; /* a callback refused, and said why */
    int status = e == HPE_HEADER_OVERFLOW ? 431 : e == HPE_INVALID_VERSION ? 505 : 400;
    return req_refuse(r, req_parse_why(r, e), status);
}

const char *req_refusal(const struct req *r, int status)
{
    if (r->refusal != NULL)
        return r->refusal;
    /* The connection's own refusals: the head outgrew its buffers. */
    if (status == 414)
        return "client sent too long URI";
    if (status == 431)
        return "client sent too large request";
    return status == 500 ? "not enough memory for the request head" : "client sent invalid request";
}

/* proxy_parse.c - an upstream response's head and body, on http-parser. */
#include "proxy/proxy_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct proxy_parse *pp_of(http_parser *hp)
{
    return hp->data;
}

/* Callbacks get pieces of one buffer that does not move, in order: a
 * piece continues the span it belongs to. */
static void pp_extend(const struct proxy_parse *pp, struct proxy_span *s, const char *at,
                      size_t len)
{
    if (s->len == 0)
        s->off = (uint32_t)(at - pp->base);
    s->len += (uint32_t)len;
}

static int pp_on_begin(http_parser *hp)
{
    struct proxy_parse *pp = pp_of(hp);
    pp->nspans = 0;
    pp->reason = (struct proxy_span){0, 0};
    pp->in_value = false;
    return 0;
}

static int pp_on_status(http_parser *hp, const char *at, size_t len)
{
    struct proxy_parse *pp = pp_of(hp);
    pp_extend(pp, &pp->reason, at, len);
    return 0;
}

static int pp_push(struct proxy_parse *pp)
{
    if (pp->nspans == pp->cap) {
        uint32_t cap = pp->cap ? pp->cap * 2 : 16;
        struct proxy_hspan *grown = realloc(pp->spans, sizeof(*grown) * cap);
        if (grown == NULL) {
            pp->nomem = true;
            return -1;
        }
        pp->spans = grown;
        pp->cap = cap;
    }
    pp->spans[pp->nspans++] = (struct proxy_hspan){{0, 0}, {0, 0}};
    return 0;
}

static int pp_on_field(http_parser *hp, const char *at, size_t len)
{
    struct proxy_parse *pp = pp_of(hp);
    if ((pp->in_value || pp->nspans == 0) && pp_push(pp) < 0)
        return 1;
    pp->in_value = false;
    pp_extend(pp, &pp->spans[pp->nspans - 1].name, at, len);
    return 0;
}

static int pp_on_value(http_parser *hp, const char *at, size_t len)
{
    struct proxy_parse *pp = pp_of(hp);
    if (pp->nspans == 0)
        return 0;
    pp->in_value = true;
    pp_extend(pp, &pp->spans[pp->nspans - 1].value, at, len);
    return 0;
}

/* The final head stops the parser, so the caller sees it before any of
 * the body; an interim one goes on (http-parser ends it at once). */
static int pp_on_headers(http_parser *hp)
{
    struct proxy_parse *pp = pp_of(hp);
    pp->status = (int)hp->status_code;
    if (pp->status >= 100 && pp->status < 200 && pp->status != 101) {
        pp->interim = true;
        return 0;
    }
    pp->head_done = true;
    pp->chunked = (hp->flags & F_CHUNKED) != 0;
    pp->content_length = (hp->flags & F_CONTENTLENGTH) ? (int64_t)hp->content_length : -1;
    http_parser_pause(hp, 1);
    /* 204 and 304 have no body whatever their Content-Length says. */
    return pp->skip_body || pp->status == 204 || pp->status == 304 ? 1 : 0;
}

/* Decoded payload moves to the front: never past bytes not yet parsed. */
static int pp_on_body(http_parser *hp, const char *at, size_t len)
{
    struct proxy_parse *pp = pp_of(hp);
    memmove(pp->w, at, len);
    pp->w += len;
    return 0;
}

static int pp_on_complete(http_parser *hp)
{
    struct proxy_parse *pp = pp_of(hp);
    if (pp->interim) {
        pp->interim = false;
    } else {
        pp->msg_done = true;
        pp->keepalive = http_should_keep_alive(hp) != 0;
    }
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings pp_settings = {
    .on_message_begin = pp_on_begin,
    .on_status = pp_on_status,
    .on_header_field = pp_on_field,
    .on_header_value = pp_on_value,
    .on_headers_complete = pp_on_headers,
    .on_body = pp_on_body,
    .on_message_complete = pp_on_complete,
};

void proxy_parse_init(struct proxy_parse *pp, bool head_request)
{
    memset(pp, 0, sizeof(*pp));
    http_parser_init(&pp->hp, HTTP_RESPONSE);
    pp->hp.data = pp;
    pp->skip_body = head_request;
    pp->content_length = -1;
}

void proxy_parse_free(struct proxy_parse *pp)
{
    free(pp->spans);
    pp->spans = NULL;
    pp->nspans = pp->cap = 0;
}

/* ---- the head's checks ---------------------------------------------------- */

static struct str pp_str(const struct proxy_parse *pp, struct proxy_span s)
{
    return str_trim(str_make(pp->base + s.off, s.len));
}

/* The span of the n-th header called name, or -1. */
static long pp_find(const struct proxy_parse *pp, const char *name, unsigned nth)
{
    for (uint32_t i = 0; i < pp->nspans; i++)
        if (str_case_eq(pp_str(pp, pp->spans[i].name), name) && nth-- == 0)
            return (long)i;
    return -1;
}

/* The line of the head around offset at, without its line end. */
static struct str pp_line_at(const char *buf, size_t len, size_t at)
{
    size_t start = at < len ? at : len, end = start;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    while (end < len && buf[end] != '\r' && buf[end] != '\n')
        end++;
    return str_make(buf + start, end - start);
}

static enum proxy_parse_rc pp_fail(struct proxy_parse *pp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum proxy_parse_rc pp_fail(struct proxy_parse *pp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pp->err, sizeof(pp->err), fmt, ap);
    va_end(ap);
    return PP_ERROR;
}

#define PP_S(s) (int)(s).len, (s).p

static enum proxy_parse_rc pp_bad_length(struct proxy_parse *pp, const char *buf, size_t len,
                                         size_t at)
{
    struct str line = pp_line_at(buf, len, at);
    long first = pp_find(pp, "content-length", 0);
    if (pp_find(pp, "transfer-encoding", 0) >= 0)
        return pp_fail(pp, "upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers "
                           "at the same time");
    if (first < 0 || pp_find(pp, "content-length", 1) < 0)
        return pp_fail(pp, "upstream sent invalid header: \"%.*s\"", PP_S(line));
    struct str prev = pp_line_at(buf, len, pp->spans[first].name.off);
    return pp_fail(pp, "upstream sent duplicate header line: \"%.*s\", previous value: \"%.*s\"",
                   PP_S(line), PP_S(prev));
}

static enum proxy_parse_rc pp_head_error(struct proxy_parse *pp, const char *buf, size_t len,
                                         size_t at, enum http_errno e)
{
    struct str line = pp_line_at(buf, len, at);
    switch (e) {
    case HPE_INVALID_CONSTANT:
    case HPE_INVALID_VERSION:
    case HPE_INVALID_STATUS:
        return pp_fail(pp, "upstream sent no valid HTTP/1.0 header");
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return pp_bad_length(pp, buf, len, at);
    case HPE_INVALID_CONTENT_LENGTH:
        return pp_fail(pp, "upstream sent invalid \"Content-Length\" header: \"%.*s\"", PP_S(line));
    case HPE_HEADER_OVERFLOW:
        return pp_fail(pp, "upstream sent too big header");
    default:
        if (pp->nomem)
            return pp_fail(pp, "out of memory");
        return pp_fail(pp, "upstream sent invalid header: \"%.*s\"", PP_S(line));
    }
}

/* nginx (1.23+) refuses a repeated Transfer-Encoding and any coding but
 * chunked, which it cannot undo. */
static enum proxy_parse_rc pp_head_check(struct proxy_parse *pp)
{
    long te = pp_find(pp, "transfer-encoding", 0), again = pp_find(pp, "transfer-encoding", 1);
    if (te < 0)
        return PP_HEAD;
    struct str v = pp_str(pp, pp->spans[te].value);
    if (again >= 0)
        return pp_fail(pp, "upstream sent duplicate header line: \"Transfer-Encoding: %.*s\"",
                       PP_S(v));
    if (!str_case_eq(v, "chunked"))
        return pp_fail(pp, "upstream sent unknown \"Transfer-Encoding\": \"%.*s\"", PP_S(v));
    return PP_HEAD;
}

/* The parser stopped before the head's last LF: feeding it puts the
 * parser at the body, or at the end of a message that has none.  A 101's
 * bytes after the head are not HTTP: they are left alone. */
static enum proxy_parse_rc pp_head_finish(struct proxy_parse *pp, char *buf, size_t len)
{
    enum proxy_parse_rc rc = pp_head_check(pp);
    if (rc != PP_HEAD || pp->status == 101)
        return rc;
    http_parser_pause(&pp->hp, 0);
    pp->w = buf + pp->head_len;
    http_parser_execute(&pp->hp, &pp_settings, buf + pp->fed, 1);
    enum http_errno e = HTTP_PARSER_ERRNO(&pp->hp);
    if (e == HPE_OK || (e == HPE_PAUSED && pp->msg_done))
        return PP_HEAD;
    return pp_head_error(pp, buf, len, pp->fed, e);
}

enum proxy_parse_rc proxy_parse_head(struct proxy_parse *pp, char *buf, size_t *len)
{
    pp->base = buf;
    for (;;) {
        size_t n = http_parser_execute(&pp->hp, &pp_settings, buf + pp->fed, *len - pp->fed);
        enum http_errno e = HTTP_PARSER_ERRNO(&pp->hp);
        if (e != HPE_OK && e != HPE_PAUSED)
            return pp_head_error(pp, buf, *len, pp->fed + n, e);
        pp->fed += (uint32_t)n;
        if (e == HPE_OK)
            return PP_AGAIN;
        if (pp->head_done) {
            pp->head_len = pp->fed + 1;
            return pp_head_finish(pp, buf, *len);
        }
        /* An interim response ended: its bytes go, the parser is at the
         * start of the next message. */
        memmove(buf, buf + pp->fed, *len - pp->fed);
        *len -= pp->fed;
        pp->fed = 0;
        http_parser_pause(&pp->hp, 0);
    }
}

int proxy_parse_headers(const struct proxy_parse *pp, struct mpool *p, struct proxy_hdr **out,
                        size_t *n, struct str *reason)
{
    char *copy = mpool_alloc(p, pp->head_len);
    struct proxy_hdr *h = mpool_alloc(p, sizeof(*h) * (pp->nspans ? pp->nspans : 1));
    if (copy == NULL || h == NULL)
        return -1;
    memcpy(copy, pp->base, pp->head_len);
    for (uint32_t i = 0; i < pp->nspans; i++) {
        h[i].name = str_make(copy + pp->spans[i].name.off, pp->spans[i].name.len);
        h[i].value = str_trim(str_make(copy + pp->spans[i].value.off, pp->spans[i].value.len));
    }
    *reason = str_trim(str_make(copy + pp->reason.off, pp->reason.len));
    *out = h;
    *n = pp->nspans;
    return 0;
}

/* ---- the body --------------------------------------------------------------- */

enum proxy_parse_rc proxy_parse_body(struct proxy_parse *pp, char *buf, size_t len, size_t *out,
                                     size_t *extra)
{
    *out = 0;
    *extra = len;
    if (pp->msg_done)
        return PP_DONE;
    pp->w = buf;
    http_parser_pause(&pp->hp, 0);
    size_t n = http_parser_execute(&pp->hp, &pp_settings, buf, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&pp->hp);
    *out = (size_t)(pp->w - buf);
    *extra = len - n;
    if (e == HPE_PAUSED && pp->msg_done)
        return PP_DONE;
    if (e == HPE_OK)
        return PP_AGAIN;
    snprintf(pp->err, sizeof(pp->err), "upstream sent invalid chunked response");
    return PP_ERROR;
}

enum proxy_parse_rc proxy_parse_eof(struct proxy_parse *pp)
{
    if (pp->msg_done)
        return PP_DONE;
    http_parser_pause(&pp->hp, 0);
    http_parser_execute(&pp->hp, &pp_settings, NULL, 0);
    if (pp->msg_done)
        return PP_DONE;
    snprintf(pp->err, sizeof(pp->err), "upstream prematurely closed connection");
    return PP_ERROR;
}

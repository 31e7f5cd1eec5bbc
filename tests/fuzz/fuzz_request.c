/* fuzz_request.c - libFuzzer target for the request path.
 *
 * One input is the bytes a client sends.  They go through what conn.c does
 * with them: req_parse_head (http-parser with req_parser_settings),
 * req_check_head, req_check_semantics, req_finish_head (URI split and
 * normalization, Host), then chunk_check and the chunk decoder over a
 * chunked body.  Header values feed range_parse and
 * the conditional-request code.
 *
 * Beyond "no crash, no leak", the target checks agreements whose failure
 * would be a bug even without a crash:
 *  - a head the checks accept has the spans http-parser reported free of
 *    control bytes, and routing code (uri_split, uri_host) takes it;
 *  - a normalized path never climbs ("/../") or holds NUL or "//";
 *  - chunk_check gives the same answer however the body is split;
 *  - where chunk_check says a chunked body ends, the decoder the
 *    connection uses says so too (if the two disagreed, the rest would be
 *    read as a smuggled request);
 *  - ranges lie inside the representation; dates survive a round trip. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/cond.h"
#include "http/conn.h"
#include "http/range.h"
#include "http/req.h"
#include "http/req_check.h"
#include "http/uri.h"

#define FUZZ_LINE_MAX 8192 /* large_client_header_buffers' default size */
#define FUZZ_MAX_RANGES 8  /* ranges range_parse may fill */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a finding: abort so libFuzzer saves the input. */
static void fuzz_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_request: invariant broken: %s\n", what);
        abort();
    }
}

static bool fuzz_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static bool fuzz_has_ctl(struct str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (fuzz_ctl((unsigned char)s.p[i]))
            return true;
    return false;
}

/* What the checks accepted must be clean where http-parser put it. */
static void fuzz_accepted_head(const struct req *r)
{
    fuzz_require(!fuzz_has_ctl(r->target) && memchr(r->target.p, ' ', r->target.len) == NULL,
                 "accepted target holds a control byte or space");
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        fuzz_require(r->hdrs[i].name.len > 0, "accepted header with an empty name");
        fuzz_require(!fuzz_has_ctl(r->hdrs[i].name) && !fuzz_has_ctl(r->hdrs[i].value),
                     "accepted header holds a control byte");
        fuzz_require(memchr(r->hdrs[i].name.p, ' ', r->hdrs[i].name.len) == NULL,
                     "accepted header name holds a space");
    }
}

/* req_check_semantics and routing must agree on what a valid target and
 * Host are, or a request the checks pass would still be refused later. */
static void fuzz_routing_agrees(struct req *r)
{
    struct uri_parts parts;
    struct str host;
    if (str_eq(r->target, "*"))
        return;
    fuzz_require(uri_split(r->target, &parts) == 0, "accepted target refused by uri_split");
    if (parts.host.len > 0)
        fuzz_require(uri_host(&r->pool, parts.host, &host) == 0,
                     "accepted absolute-form host refused by uri_host");
    const struct str *h = req_header(r, "Host");
    if (h == NULL)
        return;
    fuzz_require(uri_host(&r->pool, *h, &host) == 0, "accepted Host refused by uri_host");
}

/* Our framing decision and http-parser's must be the same one: chunked
 * exactly when we let a Transfer-Encoding through, and the same length. */
static void fuzz_framing_agrees(const struct req *r)
{
    const struct str *te = req_header(r, "Transfer-Encoding");
    const struct str *cl = req_header(r, "Content-Length");
    fuzz_require((te != NULL) == r->chunked, "chunked framing: checks and parser disagree");
    if (cl == NULL)
        return;
    int64_t v = 0;
    for (size_t i = 0; i < cl->len; i++)
        if (cl->p[i] >= '0' && cl->p[i] <= '9')
            v = v * 10 + (cl->p[i] - '0');
    fuzz_require(v == (r->content_length < 0 ? 0 : r->content_length),
                 "Content-Length: checks and parser disagree");
}

/* A normalized path is what maps to a file: it must never climb.  With
 * merge_slashes off it may hold "//". */
static void fuzz_path_check(struct str path, bool merged)
{
    fuzz_require(path.len > 0 && path.p[0] == '/', "path does not start with /");
    fuzz_require(memchr(path.p, '\0', path.len) == NULL, "path holds NUL");
    for (size_t i = 0; i + 1 < path.len; i++) {
        fuzz_require(!merged || !(path.p[i] == '/' && path.p[i + 1] == '/'), "path holds //");
        if (path.p[i] != '/' || path.p[i + 1] != '.')
            continue;
        size_t rest = path.len - i - 1;
        fuzz_require(!(rest == 1 || path.p[i + 2] == '/'), "path holds a . segment");
        fuzz_require(!(rest >= 2 && path.p[i + 2] == '.' && (rest == 2 || path.p[i + 3] == '/')),
                     "path holds a .. segment");
    }
}

static void fuzz_path_sane(struct str path)
{
    fuzz_path_check(path, true);
}

static void fuzz_path_no_climb(struct str path)
{
    fuzz_path_check(path, false);
}

/* ---- Range and conditionals on header values --------------------------- */

static void fuzz_range(struct mpool *p, struct str value)
{
    static const int64_t sizes[] = {0, 1, 100, 10000, INT64_MAX};
    static const long limits[] = {-1, 0, 1, FUZZ_MAX_RANGES};
    struct range out[FUZZ_MAX_RANGES];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = 0;
        long max = limits[i % (sizeof(limits) / sizeof(limits[0]))];
        enum range_result res = range_parse(value, sizes[i], max, out, FUZZ_MAX_RANGES, &n);
        if (res != RANGE_OK)
            continue;
        fuzz_require(n >= 1 && n <= FUZZ_MAX_RANGES, "range count out of bounds");
        for (size_t k = 0; k < n; k++)
            fuzz_require(out[k].start >= 0 && out[k].start <= out[k].end && out[k].end < sizes[i],
                         "range outside the representation");
        struct out body;
        struct str ctype;
        out_init(&body);
        range_content_range(p, &out[0], sizes[i]);
        if (n > 1)
            range_multipart(p, out, n, sizes[i], STR_LIT("text/plain"), NULL, &body, &ctype);
    }
}

/* A date we accept must print and parse back to the same instant. */
static void fuzz_date(struct str value)
{
    char buf[64];
    time_t t = cond_parse_date(value);
    if (t == (time_t)-1)
        return;
    size_t n = cond_http_date(t, buf, sizeof(buf));
    fuzz_require(n > 0 && n < sizeof(buf), "cond_http_date failed on a parsed date");
    fuzz_require(cond_parse_date(str_make(buf, n)) == t, "date does not round-trip");
}

static struct str fuzz_header_or_empty(const struct req *r, const char *name)
{
    const struct str *v = req_header(r, name);
    return v != NULL ? *v : str_make("", 0);
}

static void fuzz_cond(const struct req *r)
{
    static const time_t mtime = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    char etag[64];
    struct cond_req c = {
        .if_match = fuzz_header_or_empty(r, "If-Match"),
        .if_none_match = fuzz_header_or_empty(r, "If-None-Match"),
        .if_modified_since = fuzz_header_or_empty(r, "If-Modified-Since"),
        .if_unmodified_since = fuzz_header_or_empty(r, "If-Unmodified-Since"),
        .if_range = fuzz_header_or_empty(r, "If-Range"),
        .get_or_head = r->method == HTTP_GET || r->method == HTTP_HEAD,
    };
    struct str tag = str_make(etag, cond_etag(mtime, 1234, etag, sizeof(etag)));
    for (int ims = COND_IMS_OFF; ims <= COND_IMS_BEFORE; ims++) {
        int st = cond_evaluate(&c, mtime, tag, (enum cond_ims)ims);
        fuzz_require(st == 0 || st == 304 || st == 412, "cond_evaluate status");
    }
    cond_if_range(&c, mtime, tag);
    cond_if_range(&c, mtime, str_make("", 0));
    fuzz_date(c.if_modified_since);
    fuzz_date(c.if_unmodified_since);
    fuzz_date(c.if_range);
}

/* ---- chunked bodies ---------------------------------------------------- */

/* Feeds in pieces of `step` bytes; returns consumed bytes, -1, or -2 if the
 * message did not end. */
static ssize_t fuzz_chunk_steps(const char *p, size_t len, size_t step)
{
    struct chunk_check cc;
    size_t total = 0;
    chunk_check_init(&cc);
    for (size_t i = 0; i < len && !cc.done; i += step) {
        size_t n = len - i < step ? len - i : step;
        ssize_t got = chunk_check_feed(&cc, p + i, n);
        if (got < 0)
            return -1;
        fuzz_require(cc.done || (size_t)got == n, "unfinished feed left bytes");
        total += (size_t)got;
    }
    return cc.done ? (ssize_t)total : -2;
}

/* The checker running ahead and the decoder behind it (req_feed_body,
 * which the connection uses) must end the message at the same byte: if
 * the two disagreed, the rest would be read as a smuggled request.
 * `from` is where the paused parser stopped (the head's last byte). */
static void fuzz_chunked(struct conn *c, size_t from, size_t size)
{
    const char *body = c->buf + from + 1;
    size_t blen = size - from - 1;
    ssize_t whole = fuzz_chunk_steps(body, blen, blen ? blen : 1);
    static const size_t steps[] = {1, 2, 3, 7, 64};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        fuzz_require(fuzz_chunk_steps(body, blen, steps[i]) == whole,
                     "chunk_check depends on how the body is split");

    http_parser_pause(&c->req->parser, 0);
    ssize_t n = req_feed_body(c->req, body, blen);
    if (whole == -1 || n < 0) {
        fuzz_require(whole == -1 && n < 0, "checker and decoder disagree on the framing");
        return; /* refused: the connection closes */
    }
    fuzz_require(c->req->body_done == (whole >= 0), "message end: one done, the other not");
    if (c->req->body_done)
        fuzz_require(n == whole, "message end: checker and decoder disagree on the byte");
}

/* ---- the head ---------------------------------------------------------- */

static void fuzz_head(struct conn *c, size_t paused_at, size_t size)
{
    struct req *r = c->req;
    req_set_views(r, c->buf);
    const char *why_head = NULL, *why_sem = NULL;
    int head = req_check_head(c->buf, paused_at + 1, &why_head);
    /* http-parser (built non-strict) ends a head at CR + any byte. */
    fuzz_require(c->buf[paused_at] == '\n' || head != 0, "head accepted without its final LF");
    int sem = req_check_semantics(r, &why_sem);
    fuzz_require(head == 0 || head == 400, "req_check_head status");
    fuzz_require(sem == 0 || sem == 400 || sem == 501 || sem == 505, "semantics status");
    /* Every refusal is logged with its cause, in nginx's words. */
    fuzz_require(head == 0 || strncmp(why_head, "client sent ", 12) == 0, "head refusal reason");
    fuzz_require(sem == 0 || strncmp(why_sem, "client sent ", 12) == 0, "semantics refusal reason");
    bool ok = head == 0 && sem == 0;
    if (head == 0)
        fuzz_accepted_head(r);
    if (ok) {
        fuzz_routing_agrees(r);
        fuzz_framing_agrees(r);
    }
    /* Run the rest even on refused heads: these functions must survive
     * whatever got past http-parser, not only what our checks pass. */
    if (req_finish_head(r, true) == 0)
        fuzz_path_sane(r->path);
    const struct str *range = req_header(r, "Range");
    if (range != NULL)
        fuzz_range(&r->pool, *range);
    fuzz_cond(r);
    if (ok && r->chunked)
        fuzz_chunked(c, paused_at, size);
}

/* The raw input as a path, host and target too: bytes http-parser would
 * never let through still must not break these functions. */
static void fuzz_uri_raw(const char *p, size_t len)
{
    struct mpool pool;
    struct uri_parts parts;
    struct str out;
    mpool_init(&pool, 1024);
    if (len > 0 && p[0] == '/' && uri_normalize(&pool, str_make(p, len), true, &out) == 0)
        fuzz_path_sane(out);
    if (len > 0 && p[0] == '/' && uri_normalize(&pool, str_make(p, len), false, &out) == 0)
        fuzz_path_no_climb(out);
    uri_host(&pool, str_make(p, len), &out);
    if (uri_split(str_make(p, len), &parts) == 0 && parts.path.len > 0 &&
        uri_normalize(&pool, parts.path, true, &out) == 0)
        fuzz_path_sane(out);
    mpool_destroy(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct conn c;
    if (size == 0 || size > UINT32_MAX / 2)
        return 0;
    memset(&c, 0, sizeof(c));
    c.buf = malloc(size); /* exactly sized: ASan sees any read past it */
    if (c.buf == NULL)
        return 0;
    memcpy(c.buf, data, size);
    c.buf_len = c.buf_cap = (uint32_t)size;
    fuzz_uri_raw(c.buf, size);
    c.req = req_new(&c);
    if (c.req != NULL) {
        http_parser_init(&c.req->parser, HTTP_REQUEST);
        c.req->parser.data = &c;
        c.req->line_max = FUZZ_LINE_MAX;
        uint32_t n = 0;
        if (req_parse_head(c.req, c.buf, (uint32_t)size, &n) == HPE_PAUSED && c.req->head_done) {
            fuzz_require(n < size, "head paused past the input");
            fuzz_head(&c, n, size);
        }
        req_free(c.req);
    }
    free(c.buf);
    return 0;
}

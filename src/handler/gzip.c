/* gzip.c - gzip on the fly (nginx's gzip filter) and the Accept-Encoding
 * test that gzip_static shares.
 *
 * The whole body is compressed into one memory segment, so the head can
 * carry the exact Content-Length (nginx streams and sends no length).
 * Small bodies are deflated on the loop, where a handoff to the pool would
 * cost more than the work; large ones in the worker's thread pool.
 *
 * A HEAD response gets GET's Content-Encoding, Vary and weak ETag but no
 * length, as in nginx (its header filter runs; nothing is compressed).
 *
 * Deliberate differences from nginx 1.22:
 *  - A 304 carries the Vary its 200 would (RFC 9110 15.4.5); nginx's gzip
 *    filter does not see 304s, so caches revalidating lose it.
 *  - Bodies over GZIP_MAX_BODY go out uncompressed (gzip_wanted says no,
 *    like for a body under gzip_min_length): without streaming, the whole
 *    output is held in memory.
 *  - The compressed body is sent with Content-Length, never chunked.
 *  - "*" with q > 0 in Accept-Encoding counts as accepting gzip, and every
 *    Accept-Encoding line is read, not only the first.
 *  - gzip_buffers is checked and accepted but sizes nothing: the output is
 *    one buffer of deflateBound's size. */
#include "handler/gzip.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "core/ofile.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "http/cond.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/req_job.h"
#include "http/resp.h"
#include "http/route.h"

/* Bodies up to this size are deflated on the loop.  On the 2-core test VM,
 * 32 KB of HTML takes about 0.4 ms at level 1 and 1 ms at level 9 (0.1 ms
 * of it deflateInit's fixed cost), so the loop never stalls much longer
 * than nginx does for one pass over its default gzip_buffers (32 x 4k);
 * below that, the pool's thread wakeup and extra loop iteration are not
 * worth paying. */
#define GZIP_INLINE_MAX (32 * 1024)

/* Larger bodies are sent uncompressed: input and output both sit in memory
 * until the response is written. */
#define GZIP_MAX_BODY ((uint64_t)64 * 1024 * 1024)

/* File ranges are read in pieces of this size. */
#define GZIP_READ_CHUNK (64 * 1024)

/* gzip wrapper (16) around a 32 KB window (15), as nginx's default. */
#define GZIP_WBITS (15 + 16)
#define GZIP_MEMLEVEL 8

/* ---- Accept-Encoding -------------------------------------------------- */

/* A cursor over a header value. */
struct gzip_cur {
    const char *p;   /* next byte */
    const char *end; /* end of the value */
};

static void gzip_ows(struct gzip_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool gzip_is_delim(char ch)
{
    return ch == ',' || ch == ';' || ch == '=' || ch == ' ' || ch == '\t';
}

static struct str gzip_word(struct gzip_cur *c)
{
    const char *s = c->p;
    while (c->p < c->end && !gzip_is_delim(*c->p))
        c->p++;
    return str_make(s, (size_t)(c->p - s));
}

/* A qvalue (RFC 9110 12.4.2) in thousandths.  A malformed one counts as 0,
 * as nginx refuses gzip when it cannot read the weight. */
static int gzip_qvalue(struct str v)
{
    if (v.len == 0 || v.len > 5 || (v.p[0] != '0' && v.p[0] != '1'))
        return 0;
    if (v.len > 1 && v.p[1] != '.')
        return 0;
    int q = (v.p[0] - '0') * 1000;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return 0;
        q += (v.p[i] - '0') * scale;
    }
    return q > 1000 ? 0 : q;
}

/* One list element: its coding, and its weight in *q.  Junk after the
 * parameters makes the element worthless (q = 0), like nginx's parser. */
static struct str gzip_element(struct gzip_cur *c, int *q)
{
    struct str coding = gzip_word(c);
    *q = 1000;
    gzip_ows(c);
    while (c->p < c->end && *c->p == ';') {
        c->p++;
        gzip_ows(c);
        struct str name = gzip_word(c);
        struct str value = str_make(c->p, 0);
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            value = gzip_word(c);
        }
        if (str_case_eq(name, "q"))
            *q = gzip_qvalue(value);
        gzip_ows(c);
    }
    if (c->p < c->end && *c->p != ',')
        *q = 0;
    while (c->p < c->end && *c->p != ',')
        c->p++;
    return coding;
}

/* Records the first weight given to gzip and to "*" in one header value. */
static void gzip_scan(struct str value, int *gzip_q, int *star_q)
{
    struct gzip_cur c = {value.p, value.p + value.len};
    while (c.p < c.end) {
        int q;
        while (c.p < c.end && (*c.p == ',' || *c.p == ' ' || *c.p == '\t'))
            c.p++;
        if (c.p == c.end)
            break;
        struct str coding = gzip_element(&c, &q);
        if (*gzip_q < 0 && str_case_eq(coding, "gzip"))
            *gzip_q = q;
        else if (*star_q < 0 && str_eq(coding, "*"))
            *star_q = q;
    }
}

bool gzip_accepts(const struct req *r)
{
    int gzip_q = -1, star_q = -1;
    for (uint32_t i = 0; i < r->nhdrs; i++)
        if (str_case_eq(r->hdrs[i].name, "Accept-Encoding"))
            gzip_scan(r->hdrs[i].value, &gzip_q, &star_q);
    /* A coding named explicitly overrides "*" (RFC 9110 12.5.3). */
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

/* ---- who gets gzip (ngx_http_gzip_ok) ------------------------------------ */

/* nginx's msie6 test (ngx_http_process_user_agent): "MSIE 4." and "MSIE
 * 5.", and "MSIE 6." without "SV1" (XP SP2's fixed version) after it. */
static bool gzip_msie6(struct str ua)
{
    const char *m = ua.len >= 5 ? memmem(ua.p, ua.len, "MSIE ", 5) : NULL;
    if (m == NULL || m + 7 >= ua.p + ua.len || m[6] != '.')
        return false;
    if (m[5] == '4' || m[5] == '5')
        return true;
    return m[5] == '6' && memmem(m + 8, (size_t)(ua.p + ua.len - (m + 8)), "SV1", 3) == NULL;
}

static bool gzip_disabled(const struct req *r, const struct gzip_loc *gz)
{
    const struct str *ua = req_header(r, "User-Agent");
    if (ua == NULL)
        return false;
    if (gz->disable_msie6 && gzip_msie6(*ua))
        return true;
    for (size_t i = 0; i < gz->ndisable; i++)
        if (route_regex_match(gz->disable[i], *ua))
            return true;
    return false;
}

/* A token of a comma-separated response header ("no-cache" in
 * "private, no-cache"), in any Cache-Control line. */
static bool gzip_cc_has(const struct req *r, const char *token)
{
    size_t n = strlen(token);
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next) {
        if (!str_case_eq(h->name, "Cache-Control"))
            continue;
        for (size_t i = 0; i + n <= h->value.len; i++) {
            bool start = i == 0 || strchr(" ,\t", h->value.p[i - 1]) != NULL;
            bool end = i + n == h->value.len || strchr(" ,;=\t", h->value.p[i + n]) != NULL;
            if (start && end && strncasecmp(h->value.p + i, token, n) == 0)
                return true;
        }
    }
    return false;
}

/* gzip_proxied expired: the response's Expires is before its Date. */
static bool gzip_expired(const struct req *r, struct str expires)
{
    time_t t = cond_parse_date(expires);
    time_t now = r->c->sk.rx != NULL ? (time_t)ev_now(r->c->sk.rx->loop) : time(NULL);
    return t != (time_t)-1 && t < now;
}

/* The part of ngx_http_gzip_ok after "Via": what gzip_proxied allows. */
static bool gzip_proxied_ok(const struct req *r, long p)
{
    if (req_header(r, "Via") == NULL)
        return true;
    if (p & (GZP_OFF | GZP_ANY))
        return !(p & GZP_OFF);
    if ((p & GZP_AUTH) && req_header(r, "Authorization") != NULL)
        return true;
    const struct resp_hdr *e = req_out_header(r, "Expires");
    if (e != NULL)
        return (p & GZP_EXPIRED) && gzip_expired(r, e->value);
    if (req_out_header(r, "Cache-Control") != NULL)
        return ((p & GZP_NO_CACHE) && gzip_cc_has(r, "no-cache")) ||
               ((p & GZP_NO_STORE) && gzip_cc_has(r, "no-store")) ||
               ((p & GZP_PRIVATE) && gzip_cc_has(r, "private"));
    /* nginx looks at a Last-Modified header (an upstream's), not at the
     * time a file gives, which its header filter writes later. */
    if ((p & GZP_NO_LM) && req_out_header(r, "Last-Modified") != NULL)
        return false;
    return !((p & GZP_NO_ETAG) && req_out_header(r, "ETag") != NULL);
}

bool gzip_ok(const struct req *r)
{
    const struct gzip_loc *gz = gzip_loc_of(r);
    unsigned version = (unsigned)r->http_major * 10 + r->http_minor;
    if (!gzip_accepts(r) || version < (unsigned)gz->http_version)
        return false;
    return gzip_proxied_ok(r, gz->proxied) && !gzip_disabled(r, gz);
}

/* ---- response headers ------------------------------------------------- */

/* Whether a Vary header already lists Accept-Encoding.  The list is checked
 * rather than r->gzip_vary because an internal redirect empties out_hdrs
 * without clearing the flag. */
static bool gzip_has_vary(const struct req *r)
{
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next) {
        if (!str_case_eq(h->name, "Vary"))
            continue;
        struct gzip_cur c = {h->value.p, h->value.p + h->value.len};
        while (c.p < c.end) {
            while (c.p < c.end && (*c.p == ',' || *c.p == ' ' || *c.p == '\t'))
                c.p++;
            int q;
            if (str_case_eq(gzip_element(&c, &q), "Accept-Encoding"))
                return true;
        }
    }
    return false;
}

void gzip_add_vary(struct req *r)
{
    if (r->loc == NULL || !gzip_loc_of(r)->vary)
        return;
    r->gzip_vary = true;
    if (!gzip_has_vary(r))
        req_add_header(r, STR_LIT("Vary"), STR_LIT("Accept-Encoding"));
}

/* nginx's ngx_http_weak_etag: a strong tag gets "W/", a weak one stays, and
 * anything that is not a quoted tag is dropped.  -1 when out of memory. */
static int gzip_weak_etag(struct req *r)
{
    struct resp_hdr *h = req_out_header(r, "ETag");
    if (h == NULL || (h->value.len > 2 && h->value.p[0] == 'W' && h->value.p[1] == '/'))
        return 0;
    if (h->value.len == 0 || h->value.p[0] != '"') {
        req_del_header(r, "ETag");
        return 0;
    }
    char *weak = mpool_alloc(&r->pool, h->value.len + 2);
    if (weak == NULL)
        return -1;
    memcpy(weak, "W/", 2);
    memcpy(weak + 2, h->value.p, h->value.len);
    h->value = str_make(weak, h->value.len + 2);
    return 0;
}

/* ---- the decision ------------------------------------------------------ */

/* The media type without parameters is "text/html" or in gzip_types. */
static bool gzip_type_ok(const struct gzip_loc *loc, struct str type)
{
    if (loc->types_any)
        return true;
    if (type.len == 0)
        return false; /* also when never set: then type.p is NULL */
    const char *semi = memchr(type.p, ';', type.len);
    if (semi != NULL)
        type.len = (size_t)(semi - type.p);
    while (type.len > 0 && (type.p[type.len - 1] == ' ' || type.p[type.len - 1] == '\t'))
        type.len--;
    if (type.len == 0)
        return false;
    if (str_case_eq(type, "text/html"))
        return true;
    for (size_t i = 0; i < loc->ntypes; i++)
        if (type.len == loc->types[i].len && strncasecmp(type.p, loc->types[i].p, type.len) == 0)
            return true;
    return false;
}

/* The checks of nginx's gzip header filter that decide whether a
 * response of `len` bytes varies by Accept-Encoding at all. */
static bool gzip_response_ok(const struct req *r, int status, uint64_t len)
{
    const struct gzip_loc *loc = gzip_loc_of(r);
    const struct resp_hdr *ce = req_out_header(r, "Content-Encoding");
    uint64_t min = loc->min_length > 0 ? (uint64_t)loc->min_length : 0;
    if (!loc->gzip || r->gzip_done)
        return false;
    if (status != 200 && status != 403 && status != 404)
        return false;
    /* Too large to hold in memory compressed counts like too short: such a
     * response does not vary, and static.c may serve its ranges. */
    if ((ce != NULL && ce->value.len > 0) || len < min || len > GZIP_MAX_BODY)
        return false;
    return gzip_type_ok(loc, r->content_type);
}

void gzip_vary_304(struct req *r, uint64_t len)
{
    if (r->loc != NULL && gzip_response_ok(r, 200, len))
        gzip_add_vary(r);
}

bool gzip_wanted(struct req *r)
{
    if (r->loc == NULL || !gzip_response_ok(r, r->status, r->out.len))
        return false;
    gzip_add_vary(r);
    return gzip_ok(r);
}

/* ---- deflating ---------------------------------------------------------- */

/* One segment of the body, copied so that the pool thread needs neither the
 * request nor its ofile structs. */
struct gzip_src {
    const char *p; /* bytes in memory, or NULL for a file range */
    int fd;        /* the file's descriptor */
    off_t off;     /* where the range starts */
    size_t len;    /* bytes */
};

/* What a deflate run produced. */
struct gzip_res {
    unsigned char *out; /* the gzip member (malloc), NULL on failure */
    size_t len;         /* its length */
    enum log_level lvl; /* on failure: how bad */
    int err;            /* on failure: errno, or 0 */
    char msg[96];       /* on failure: what went wrong */
};

/* Everything one deflate run needs. */
struct gzip_run {
    z_stream zs;          /* the stream, its output buffer sized by deflateBound */
    unsigned char *chunk; /* file read buffer, or NULL */
    size_t chunk_len;     /* its size */
    struct gzip_res *res; /* where the result goes */
};

static int gzip_fail(struct gzip_res *res, enum log_level lvl, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int gzip_fail(struct gzip_res *res, enum log_level lvl, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
    res->lvl = lvl;
    res->err = err;
    return -1;
}

/* The output buffer is deflateBound() of the whole input, so deflate with
 * Z_NO_FLUSH always takes all the input it is given. */
static int gzip_feed(struct gzip_run *g, const void *p, size_t len)
{
    if (len == 0)
        return 0; /* deflate would report Z_BUF_ERROR: no progress possible */
    g->zs.next_in = (Bytef *)(uintptr_t)p;
    g->zs.avail_in = (uInt)len;
    int rc = deflate(&g->zs, Z_NO_FLUSH);
    if (rc != Z_OK || g->zs.avail_in != 0)
        return gzip_fail(g->res, LL_ALERT, 0, "deflate() failed: %d", rc);
    return 0;
}

static int gzip_feed_file(struct gzip_run *g, const struct gzip_src *s)
{
    size_t done = 0;
    while (done < s->len) {
        size_t want = s->len - done < g->chunk_len ? s->len - done : g->chunk_len;
        ssize_t n = pread(s->fd, g->chunk, want, s->off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return gzip_fail(g->res, LL_CRIT, errno, "pread() failed");
        if (n == 0)
            return gzip_fail(g->res, LL_ALERT, 0, "read only %zu of %zu bytes", done, s->len);
        if (gzip_feed(g, g->chunk, (size_t)n) < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Sets up the stream, its output and (when files are read) a read buffer. */
static int gzip_start(struct gzip_run *g, const struct gzip_src *src, size_t n, uint64_t total,
                      int level)
{
    size_t file_max = 0;
    int rc = deflateInit2(&g->zs, level, Z_DEFLATED, GZIP_WBITS, GZIP_MEMLEVEL, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return gzip_fail(g->res, LL_ALERT, 0, "deflateInit2() failed: %d", rc);
    size_t cap = deflateBound(&g->zs, (uLong)total);
    g->res->out = malloc(cap);
    if (g->res->out == NULL)
        return gzip_fail(g->res, LL_ALERT, errno, "malloc(%zu) failed", cap);
    g->zs.next_out = g->res->out;
    g->zs.avail_out = (uInt)cap;
    for (size_t i = 0; i < n; i++)
        if (src[i].p == NULL && src[i].len > file_max)
            file_max = src[i].len;
    g->chunk_len = file_max < GZIP_READ_CHUNK ? file_max : GZIP_READ_CHUNK;
    g->chunk = g->chunk_len > 0 ? malloc(g->chunk_len) : NULL;
    if (g->chunk_len > 0 && g->chunk == NULL)
        return gzip_fail(g->res, LL_ALERT, errno, "malloc(%zu) failed", g->chunk_len);
    return 0;
}

/* Feeds every source, then finishes the stream. */
static int gzip_feed_all(struct gzip_run *g, const struct gzip_src *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = src[i].p != NULL ? gzip_feed(g, src[i].p, src[i].len) : gzip_feed_file(g, &src[i]);
        if (rc < 0)
            return -1;
    }
    int rc = deflate(&g->zs, Z_FINISH);
    if (rc != Z_STREAM_END)
        return gzip_fail(g->res, LL_ALERT, 0, "deflate(Z_FINISH) failed: %d", rc);
    return 0;
}

/* Compresses the sources into res->out.  Runs on the loop or a pool thread:
 * it touches nothing but its arguments. */
static void gzip_deflate(const struct gzip_src *src, size_t n, uint64_t total, int level,
                         struct gzip_res *res)
{
    struct gzip_run g = {.res = res};
    memset(res, 0, sizeof(*res));
    int rc = gzip_start(&g, src, n, total, level);
    if (rc == 0)
        rc = gzip_feed_all(&g, src, n);
    res->len = g.zs.total_out;
    if (g.zs.state != NULL)
        deflateEnd(&g.zs);
    free(g.chunk);
    if (rc < 0) {
        free(res->out);
        res->out = NULL;
    }
}

/* ---- handing the result to the request ------------------------------- */

/* Segments in the chain, and their bytes in *total (which sizes the output,
 * so it is summed here rather than trusted from o->len). */
static size_t gzip_count(const struct out *o, uint64_t *total)
{
    size_t n = 0;
    *total = 0;
    for (const struct out_seg *s = o->head; s != NULL; s = s->next, n++)
        *total += s->len;
    return n;
}

/* gzip_comp_level is 1..9 once merged; zlib refuses anything else. */
static int gzip_level(const struct req *r)
{
    long level = gzip_loc_of(r)->comp_level;
    return level < 1 ? 1 : level > 9 ? 9 : (int)level;
}

static void gzip_copy_chain(const struct out *o, struct gzip_src *dst)
{
    for (const struct out_seg *s = o->head; s != NULL; s = s->next, dst++) {
        dst->p = s->kind == OUT_MEM ? s->p : NULL;
        dst->fd = s->kind == OUT_FILE ? s->file->fd : -1;
        dst->off = s->kind == OUT_FILE ? s->off : 0;
        dst->len = s->len;
    }
}

/* The sizes $gzip_ratio compares (req_ctx). */
struct gzip_ctx {
    uint64_t in;  /* bytes before compressing */
    uint64_t out; /* bytes after */
};

static void gzip_note_ratio(struct req *r, uint64_t in, uint64_t out)
{
    struct gzip_ctx *ctx = mpool_calloc(&r->pool, sizeof(*ctx));
    if (ctx == NULL || req_set_ctx(r, &mod_gzip, ctx) < 0)
        return;
    ctx->in = in;
    ctx->out = out;
}

struct str gzip_ratio(struct req *r)
{
    const struct gzip_ctx *ctx = req_ctx(r, &mod_gzip);
    if (ctx == NULL || ctx->out == 0)
        return STR_LIT("");
    /* nginx's rounding: 2.125 gives 2.13 */
    uint64_t whole = ctx->in / ctx->out, frac = ctx->in * 100 / ctx->out % 100;
    if (ctx->in * 1000 / ctx->out % 10 > 4 && ++frac > 99) {
        whole++;
        frac = 0;
    }
    char *text =
        mpool_printf(&r->pool, "%llu.%02llu", (unsigned long long)whole, (unsigned long long)frac);
    return text != NULL ? str_make(text, strlen(text)) : STR_LIT("");
}

/* Makes the compressed bytes the body and fixes the headers to match. */
static int gzip_apply(struct req *r, const struct gzip_res *res)
{
    struct out body;
    gzip_note_ratio(r, r->out.len, res->len);
    char *p = mpool_alloc(&r->pool, res->len);
    if (p == NULL)
        return -1;
    memcpy(p, res->out, res->len);
    out_init(&body);
    if (out_mem(&r->pool, &body, p, res->len) < 0 || gzip_weak_etag(r) < 0 ||
        req_add_header(r, STR_LIT("Content-Encoding"), STR_LIT("gzip")) < 0)
        return -1;
    /* resp.c writes the length of the new body itself; ranges of the
     * original bytes mean nothing for the compressed ones. */
    req_del_header(r, "Content-Length");
    req_del_header(r, "Accept-Ranges");
    r->out = body;
    r->gzip_done = true;
    return 0;
}

/* On the loop: the response goes on compressed, or becomes a 500. */
static void gzip_finish(struct req *r, const struct gzip_res *res, void (*next)(struct req *r))
{
    if (res->out == NULL) {
        conn_logf(r->c, res->lvl, res->err, "gzip: %s", res->msg);
        resp_error(r, 500);
        return;
    }
    if (gzip_apply(r, res) < 0) {
        conn_logf(r->c, LL_ALERT, 0, "gzip: out of memory for %zu bytes", res->len);
        resp_error(r, 500);
        return;
    }
    next(r);
}

/* ---- the two paths ------------------------------------------------------ */

/* A body compressed in the thread pool. */
struct gzip_job {
    struct req_job rj;           /* the request's part; first */
    void (*next)(struct req *r); /* where the response goes on */
    bool reported;               /* done ran (and logged any failure) */
    int level;                   /* gzip_comp_level */
    uint64_t total;              /* input bytes */
    struct gzip_res res;         /* written by work, read on the loop */
    size_t nsrc;                 /* segments */
    struct gzip_src src[];       /* the body chain, copied */
};

/* Pool thread.  The memory segments and file descriptors stay valid: the
 * job holds a reference on the connection, and the request (its arena and
 * the files its cleanup releases) is freed only with the last reference. */
static void gzip_job_work(struct tpool_job *tj)
{
    struct gzip_job *j = (struct gzip_job *)tj;
    gzip_deflate(j->src, j->nsrc, j->total, j->level, &j->res);
}

static void gzip_job_done(struct req_job *rj)
{
    struct gzip_job *j = (struct gzip_job *)rj;
    j->reported = true;
    gzip_finish(rj->r, &j->res, j->next);
}

/* Always runs, last: frees what the job allocated, whether or not the
 * connection is still there. */
static void gzip_job_release(struct tpool_job *tj)
{
    struct gzip_job *j = (struct gzip_job *)tj;
    if (!j->reported && j->res.out == NULL && j->res.msg[0] != '\0')
        log_msg(j->res.lvl, j->rj.conn_id, j->res.err, "gzip: %s", j->res.msg);
    free(j->res.out);
    free(j);
}

static int gzip_submit(struct req *r, void (*next)(struct req *r))
{
    uint64_t total;
    size_t n = gzip_count(&r->out, &total);
    /* A connection outside a worker (the unit tests) has no pool. */
    bool pool = r->c->sk.rx != NULL && r->c->sk.rx->pool != NULL;
    struct gzip_job *j = pool ? calloc(1, sizeof(*j) + n * sizeof(j->src[0])) : NULL;
    if (j == NULL)
        return -1;
    j->next = next;
    j->level = gzip_level(r);
    j->total = total;
    j->nsrc = n;
    gzip_copy_chain(&r->out, j->src);
    /* A full queue sends the body as it is rather than stalling the loop. */
    if (req_job_submit(r, &j->rj, TPOOL_CPU, gzip_job_work, gzip_job_done, gzip_job_release) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

static int gzip_inline(struct req *r, void (*next)(struct req *r))
{
    struct gzip_src src[16];
    struct gzip_res res;
    uint64_t total;
    size_t n = gzip_count(&r->out, &total);
    struct gzip_src *s = n <= 16 ? src : mpool_alloc(&r->pool, n * sizeof(*s));
    if (s == NULL)
        return -1;
    gzip_copy_chain(&r->out, s);
    gzip_deflate(s, n, total, gzip_level(r), &res);
    gzip_finish(r, &res, next);
    free(res.out);
    return 0;
}

/* HEAD: the head GET would get, compressed, without compressing anything
 * (nginx's gzip header filter runs, its body filter has nothing to do):
 * Content-Encoding and a weak ETag, and no length, which is unknown. */
static int gzip_head(struct req *r)
{
    if (gzip_weak_etag(r) < 0 ||
        req_add_header(r, STR_LIT("Content-Encoding"), STR_LIT("gzip")) < 0)
        return -1;
    req_del_header(r, "Content-Length");
    req_del_header(r, "Accept-Ranges");
    out_init(&r->out);
    r->resp_length = -1;
    if (resp_start(r, NULL) == 0)
        resp_write(r, NULL, true);
    return 0;
}

int gzip_response(struct req *r, void (*next)(struct req *r))
{
    /* Whatever happens now, this response is not offered to gzip again
     * (resp_error's page and next both come back through resp_send). */
    r->gzip_done = true;
    if (r->method == HTTP_HEAD)
        return gzip_head(r);
    if (r->out.len > GZIP_MAX_BODY)
        return -1;
    if (r->out.len > GZIP_INLINE_MAX)
        return gzip_submit(r, next);
    return gzip_inline(r, next);
}

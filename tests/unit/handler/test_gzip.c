/* test_gzip.c - unit tests for gzip on the fly and the Accept-Encoding test.
 *
 * A request is built by hand around a calloc'd connection whose owner frees
 * it (request and arena included) the way conn_free does, so a job that
 * outlives its connection shows up under ASan as a leak or a use after free.
 * resp_error is replaced at link time (-Wl,--wrap=resp_error): the real one
 * would write to a socket this fixture does not have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "conf/conf.h"
#include "conf/module.h"
#include "core/log.h"
#include "core/ofile.h"
#include "core/owner.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "handler/gzip.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"

enum {
    SAFETY_SECONDS = 30,         /* longest a loop run may take */
    INLINE_MAX = 32 * 1024,      /* gzip.c's GZIP_INLINE_MAX */
    BIG = 1024 * 1024 + 12345,   /* a body for the pool path */
    MAX_BODY = 64 * 1024 * 1024, /* gzip.c's GZIP_MAX_BODY */
};

struct fixture {
    struct ev_loop *loop; /* the test's loop */
    struct tpool *pool;   /* the worker's pool */
    struct reactor rx;    /* just loop and pool */
    struct loc_conf loc;  /* the location */
    void *parts[64];      /* its modules' parts */
    struct gzip_loc gz;   /* the gzip module's part: the settings under test */
    struct str types[2];  /* gzip_types when a case asks for them */
    struct conn *c;       /* calloc'd; its owner frees it */
    struct req *r;        /* the request under test */
    bool closed;          /* the connection's owner was closed */
    char path[64];        /* temporary file */
    int fd;               /* open on it, or -1 */
    struct ofile *file;   /* a hand-made ofile around fd */
    char log_path[64];    /* temporary error log */
    ev_timer safety;      /* fails a loop run that takes too long */
    bool timed_out;       /* the safety timer fired */
};

/* What the callbacks saw; reset by setup. */
static unsigned next_calls;  /* next(r) calls */
static unsigned error_calls; /* resp_error calls */
static int error_status;     /* last resp_error status */
static bool conn_released;   /* the connection's memory went */

/* ---- link-time stand-in -------------------------------------------------- */

void __wrap_resp_error(struct req *r, int status);

void __wrap_resp_error(struct req *r, int status)
{
    (void)r;
    error_calls++;
    error_status = status;
}

static void next_cb(struct req *r)
{
    (void)r;
    next_calls++;
}

/* ---- fixture --------------------------------------------------------------- */

static void conn_release_cb(struct owner *o)
{
    struct conn *c = (struct conn *)((char *)o - offsetof(struct conn, sk.own));
    if (c->req != NULL)
        req_free(c->req);
    free(c);
    conn_released = true;
}

static void safety_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct fixture *fx = t->data;
    (void)revents;
    fx->timed_out = true;
    ev_break(loop, EVBREAK_ALL);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    fx->pool = tpool_create(fx->loop, 2, 16);
    assert_non_null(fx->pool);
    fx->rx.loop = fx->loop;
    fx->rx.pool = fx->pool;
    modules_init();
    fx->loc.parts = fx->parts;
    fx->parts[mod_gzip.index] = &fx->gz;
    fx->gz.gzip = 1;
    fx->gz.vary = 1;
    fx->gz.comp_level = 1;
    fx->gz.min_length = 20;
    fx->gz.http_version = 11;
    fx->gz.proxied = GZP_OFF;
    fx->types[0] = STR_LIT("text/css");
    fx->types[1] = STR_LIT("application/javascript");
    fx->c = calloc(1, sizeof(*fx->c));
    owner_init(&fx->c->sk.own, conn_release_cb);
    fx->c->sk.rx = &fx->rx;
    fx->c->sk.id = 42;
    fx->r = req_new(fx->c);
    assert_non_null(fx->r);
    fx->c->req = fx->r;
    fx->r->loc = &fx->loc;
    fx->r->status = 200;
    fx->r->method = HTTP_GET;
    fx->r->http_major = 1;
    fx->r->http_minor = 1;
    fx->r->content_type = STR_LIT("text/html");
    fx->fd = -1;
    next_calls = error_calls = 0;
    error_status = 0;
    conn_released = false;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (!fx->closed)
        owner_close(&fx->c->sk.own);
    tpool_destroy(fx->pool);
    ev_loop_destroy(fx->loop);
    if (fx->fd >= 0) {
        close(fx->fd);
        unlink(fx->path);
    }
    free(fx->file);
    if (fx->log_path[0] != '\0') {
        log_close_all();
        unlink(fx->log_path);
    }
    free(fx);
    return 0;
}

/* Runs the loop until the pool has reported everything. */
static void run_loop(struct fixture *fx)
{
    ev_timer_init(&fx->safety, safety_cb, SAFETY_SECONDS, 0);
    fx->safety.data = fx;
    ev_timer_start(fx->loop, &fx->safety);
    ev_unref(fx->loop); /* only pending jobs keep the loop running */
    ev_run(fx->loop, 0);
    ev_ref(fx->loop);
    ev_timer_stop(fx->loop, &fx->safety);
    assert_false(fx->timed_out);
}

/* Sends the error log to a temporary file, so a test can read it. */
static void capture_log(struct fixture *fx)
{
    char err[256];
    strcpy(fx->log_path, "/tmp/test_gzip_log.XXXXXX");
    int fd = mkstemp(fx->log_path);
    assert_true(fd >= 0);
    close(fd);
    struct log_sink sink = {.path = fx->log_path, .level = LL_DEBUG};
    assert_int_equal(log_open(&sink, 1, (uid_t)-1, (gid_t)-1, err, sizeof(err)), 0);
}

static bool log_has(const struct fixture *fx, const char *needle)
{
    char buf[4096];
    FILE *f = fopen(fx->log_path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void add_req_header(struct req *r, const char *name, const char *value)
{
    if (r->nhdrs == r->cap_hdrs) {
        struct req_hdr *h = mpool_calloc(&r->pool, sizeof(*h) * (r->cap_hdrs + 8));
        assert_non_null(h);
        if (r->nhdrs > 0)
            memcpy(h, r->hdrs, sizeof(*h) * r->nhdrs);
        r->hdrs = h;
        r->cap_hdrs += 8;
    }
    r->hdrs[r->nhdrs].name = str_make(name, strlen(name));
    r->hdrs[r->nhdrs].value = str_make(value, strlen(value));
    r->nhdrs++;
}

static void add_resp_header(struct req *r, const char *name, const char *value)
{
    assert_int_equal(
        req_add_header(r, str_make(name, strlen(name)), str_make(value, strlen(value))), 0);
}

static const struct resp_hdr *find_resp(const struct req *r, const char *name)
{
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        if (str_case_eq(h->name, name))
            return h;
    return NULL;
}

static unsigned count_resp(const struct req *r, const char *name)
{
    unsigned n = 0;
    for (const struct resp_hdr *h = r->out_hdrs; h != NULL; h = h->next)
        n += str_case_eq(h->name, name);
    return n;
}

/* Compressible but not trivial: words picked by a fixed LCG. */
static char *make_text(size_t len, uint32_t seed)
{
    static const char *words[] = {"lorem ",       "ipsum ",      "dolor ",  "sit ", "amet, ",
                                  "consectetur ", "adipiscing ", "elit.\n", "<p>",  "</p>"};
    char *p = malloc(len + 1);
    assert_non_null(p);
    size_t i = 0;
    while (i < len) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % 10];
        for (size_t k = 0; w[k] != '\0' && i < len; k++)
            p[i++] = w[k];
    }
    p[len] = '\0';
    return p;
}

/* Writes bytes to a temporary file and wraps it in an ofile. */
static struct ofile *make_file(struct fixture *fx, const char *data, size_t len)
{
    strcpy(fx->path, "/tmp/test_gzip.XXXXXX");
    fx->fd = mkstemp(fx->path);
    assert_true(fx->fd >= 0);
    assert_int_equal(write(fx->fd, data, len), (ssize_t)len);
    fx->file = calloc(1, sizeof(*fx->file));
    assert_non_null(fx->file);
    fx->file->fd = fx->fd;
    fx->file->refs = 1;
    assert_int_equal(fstat(fx->fd, &fx->file->st), 0);
    return fx->file;
}

/* Copies bytes into the request's arena and appends them to the body. */
static void body_mem(struct req *r, const char *data, size_t len)
{
    char *p = mpool_alloc(&r->pool, len);
    assert_non_null(p);
    memcpy(p, data, len);
    assert_int_equal(out_mem(&r->pool, &r->out, p, len), 0);
}

/* The response body is one gzip member that inflates to exactly `want`. */
static void assert_gunzips_to(const struct req *r, const char *want, size_t want_len)
{
    const struct out_seg *s = r->out.head;
    assert_non_null(s);
    assert_null(s->next);
    assert_int_equal(s->kind, OUT_MEM);
    assert_int_equal(s->len, r->out.len);
    assert_true(s->len >= 18);
    assert_int_equal((unsigned char)s->p[0], 0x1f);
    assert_int_equal((unsigned char)s->p[1], 0x8b);
    char *plain = malloc(want_len + 1);
    assert_non_null(plain);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)s->p;
    zs.avail_in = (uInt)s->len;
    zs.next_out = (Bytef *)plain;
    zs.avail_out = (uInt)want_len + 1;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    assert_int_equal(zs.total_out, want_len);
    assert_memory_equal(plain, want, want_len);
    inflateEnd(&zs);
    free(plain);
}

/* After a successful compression. */
static void assert_encoded(const struct req *r)
{
    const struct resp_hdr *ce = find_resp(r, "Content-Encoding");
    assert_non_null(ce);
    assert_true(str_eq(ce->value, "gzip"));
    assert_int_equal(count_resp(r, "Content-Encoding"), 1);
    assert_true(r->gzip_done);
    assert_int_equal(next_calls, 1);
    assert_int_equal(error_calls, 0);
}

/* ---- Accept-Encoding ------------------------------------------------------ */

struct accept_case {
    const char *value; /* Accept-Encoding, or NULL for none */
    bool accepts;      /* expected gzip_accepts */
};

static const struct accept_case accept_cases[] = {
    {"gzip", true},
    {"GZIP", true},
    {"Gzip", true},
    {"x-gzip", false}, /* nginx does not take the old alias either */
    {"gzip;q=0", false},
    {"gzip; q=0", false},
    {"gzip;q=0.0", false},
    {"gzip;q=0.000", false},
    {"gzip;Q=0", false},
    {"gzip;q=0.5", true},
    {"gzip;q=0.001", true},
    {"gzip;q=1", true},
    {"gzip;q=1.000", true},
    {"gzip;q=1.5", false}, /* malformed weight: refused, as nginx */
    {"gzip;q=abc", false},
    {"gzip;q=", false},
    {"deflate, gzip", true},
    {"deflate,gzip", true},
    {"gzip, deflate, br", true},
    {"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
    {"  gzip  ,", true},
    {"*", true},
    {"*;q=0", false},
    {"*;q=0.1", true},
    {"deflate, *", true},
    {"gzip;q=0, *", false}, /* the explicit refusal wins over "*" */
    {"*;q=0, gzip", true},  /* ... and so does an explicit acceptance */
    {"gzipx", false},
    {"xgzip", false},
    {"gzip-x", false},
    {"deflate, gzipped", false},
    {"gzip foo", false},
    {"identity", false},
    {"deflate", false},
    {"", false},
    {NULL, false},
};

static void test_accepts_table(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]); i++) {
        fx->r->nhdrs = 0;
        add_req_header(fx->r, "Host", "example.com");
        if (accept_cases[i].value != NULL)
            add_req_header(fx->r, "accept-encoding", accept_cases[i].value);
        if (gzip_accepts(fx->r) != accept_cases[i].accepts)
            fail_msg("Accept-Encoding \"%s\": expected %d", accept_cases[i].value,
                     accept_cases[i].accepts);
    }
}

/* Every Accept-Encoding line counts, as one comma-separated list. */
static void test_accepts_several_lines(void **state)
{
    struct fixture *fx = *state;
    add_req_header(fx->r, "Accept-Encoding", "identity");
    assert_false(gzip_accepts(fx->r));
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    assert_true(gzip_accepts(fx->r));
}

/* ---- gzip_wanted ------------------------------------------------------------ */

struct wanted_case {
    const char *name; /* what the row checks */
    int status;       /* response status */
    const char *type; /* Content-Type, or NULL for never set */
    int minor;        /* HTTP/1.x */
    size_t len;       /* body bytes */
    long min_length;  /* gzip_min_length */
    int types;        /* 0 default, 1 text/css + application/javascript, 2 "*" */
    const char *ce;   /* Content-Encoding already set, or NULL */
    const char *ae;   /* Accept-Encoding, or NULL */
    bool off;         /* gzip off */
    bool head;        /* HEAD request */
    bool want;        /* expected gzip_wanted */
    bool vary;        /* expected "Vary: Accept-Encoding" */
};

static const struct wanted_case wanted_cases[] = {
    {"html 200", 200, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, true, true},
    {"gzip off", 200, "text/html", 1, 100, 20, 0, NULL, "gzip", true, false, false, false},
    {"403", 403, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, true, true},
    {"404", 404, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, true, true},
    {"206", 206, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, false, false},
    {"301", 301, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, false, false},
    {"304", 304, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, false, false},
    {"500", 500, "text/html", 1, 100, 20, 0, NULL, "gzip", false, false, false, false},
    {"HTTP/1.0", 200, "text/html", 0, 100, 20, 0, NULL, "gzip", false, false, false, true},
    {"no Accept-Encoding", 200, "text/html", 1, 100, 20, 0, NULL, NULL, false, false, false, true},
    {"gzip;q=0", 200, "text/html", 1, 100, 20, 0, NULL, "gzip;q=0", false, false, false, true},
    {"encoded", 200, "text/html", 1, 100, 20, 0, "br", "gzip", false, false, false, false},
    {"empty encoding", 200, "text/html", 1, 100, 20, 0, "", "gzip", false, false, true, true},
    {"too short", 200, "text/html", 1, 19, 20, 0, NULL, "gzip", false, false, false, false},
    {"just long enough", 200, "text/html", 1, 20, 20, 0, NULL, "gzip", false, false, true, true},
    {"empty, min 0", 200, "text/html", 1, 0, 0, 0, NULL, "gzip", false, false, true, true},
    {"html charset", 200, "text/html; charset=utf-8", 1, 100, 20, 0, NULL, "gzip", false, false,
     true, true},
    {"HTML upper", 200, "TEXT/HTML", 1, 100, 20, 0, NULL, "gzip", false, false, true, true},
    {"css untyped", 200, "text/css", 1, 100, 20, 0, NULL, "gzip", false, false, false, false},
    {"css typed", 200, "text/css", 1, 100, 20, 1, NULL, "gzip", false, false, true, true},
    {"css charset", 200, "Text/CSS ; charset=utf-8", 1, 100, 20, 1, NULL, "gzip", false, false,
     true, true},
    {"html typed", 200, "text/html", 1, 100, 20, 1, NULL, "gzip", false, false, true, true},
    {"prefix only", 200, "text/htmlx", 1, 100, 20, 1, NULL, "gzip", false, false, false, false},
    {"plain typed", 200, "text/plain", 1, 100, 20, 1, NULL, "gzip", false, false, false, false},
    {"no type", 200, "", 1, 100, 20, 1, NULL, "gzip", false, false, false, false},
    {"any type", 200, "image/png", 1, 100, 20, 2, NULL, "gzip", false, false, true, true},
    {"any, no type", 200, "", 1, 100, 20, 2, NULL, "gzip", false, false, true, true},
    {"unset type", 200, NULL, 1, 100, 20, 1, NULL, "gzip", false, false, false, false},
    {"any, unset type", 200, NULL, 1, 100, 20, 2, NULL, "gzip", false, false, true, true},
    {"HEAD", 200, "text/html", 1, 100, 20, 0, NULL, "gzip", false, true, true, true},
};

static void wanted_prepare(struct fixture *fx, const struct wanted_case *wc)
{
    static char zeros[128];
    struct req *r = fx->r;
    r->nhdrs = 0;
    r->out_hdrs = NULL;
    r->out_tail = &r->out_hdrs;
    r->gzip_vary = false;
    r->gzip_done = false;
    out_init(&r->out);
    if (wc->len > 0)
        assert_int_equal(out_mem(&r->pool, &r->out, zeros, wc->len), 0);
    r->status = wc->status;
    /* NULL: never set, as req_new leaves it ({NULL, 0}). */
    r->content_type = wc->type ? str_make(wc->type, strlen(wc->type)) : str_make(NULL, 0);
    r->http_minor = (uint8_t)wc->minor;
    r->method = wc->head ? HTTP_HEAD : HTTP_GET;
    if (wc->ce != NULL)
        add_resp_header(r, "Content-Encoding", wc->ce);
    if (wc->ae != NULL)
        add_req_header(r, "Accept-Encoding", wc->ae);
    fx->gz.gzip = !wc->off;
    fx->gz.min_length = wc->min_length;
    fx->gz.types = wc->types == 1 ? fx->types : NULL;
    fx->gz.ntypes = wc->types == 1 ? 2 : 0;
    fx->gz.types_any = wc->types == 2;
}

/* ---- gzip_ok: who gets gzip -------------------------------------------------- */

struct ok_case {
    const char *name; /* what the row checks */
    long proxied;     /* gzip_proxied bits */
    const char *via;  /* Via, or NULL */
    const char *auth; /* Authorization, or NULL */
    const char *hdr;  /* a response header "Name: value", or NULL */
    bool lm;          /* the response has Last-Modified */
    const char *ua;   /* User-Agent, or NULL */
    int minor;        /* HTTP/1.x */
    bool ok;          /* expected gzip_ok */
};

#define PAST "Expires: Thu, 01 Jan 1970 00:00:01 GMT"
#define FUTURE "Expires: Thu, 31 Dec 2037 23:55:55 GMT"

static const struct ok_case ok_cases[] = {
    {"direct", GZP_OFF, NULL, NULL, NULL, false, NULL, 1, true},
    {"via, proxied off (default)", GZP_OFF, "1.1 cache", NULL, NULL, false, NULL, 1, false},
    {"via, any", GZP_ANY, "1.1 cache", NULL, NULL, false, NULL, 1, true},
    {"via, off beats any", GZP_OFF | GZP_ANY, "1.1 cache", NULL, NULL, false, NULL, 1, false},
    {"via, auth with Authorization", GZP_AUTH, "x", "Basic eA==", NULL, false, NULL, 1, true},
    {"via, auth without", GZP_AUTH, "x", NULL, NULL, false, NULL, 1, true},
    {"via, auth without, has Last-Modified", GZP_AUTH | GZP_NO_LM, "x", NULL,
     "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT", false, NULL, 1, false},
    {"via, a file's own time is no header", GZP_NO_LM, "x", NULL, NULL, true, NULL, 1, true},
    {"via, expired past", GZP_EXPIRED, "x", NULL, PAST, false, NULL, 1, true},
    {"via, expired future", GZP_EXPIRED, "x", NULL, FUTURE, false, NULL, 1, false},
    {"via, Expires without expired", GZP_ANY & 0, "x", NULL, PAST, false, NULL, 1, false},
    {"via, expired bad date", GZP_EXPIRED, "x", NULL, "Expires: soon", false, NULL, 1, false},
    {"via, no-cache", GZP_NO_CACHE, "x", NULL, "Cache-Control: private, no-cache", false, NULL, 1,
     true},
    {"via, no-cache not there", GZP_NO_CACHE, "x", NULL, "Cache-Control: no-cache-x", false, NULL,
     1, false},
    {"via, no-store", GZP_NO_STORE, "x", NULL, "Cache-Control: no-store", false, NULL, 1, true},
    {"via, private", GZP_PRIVATE, "x", NULL, "Cache-Control: Private", false, NULL, 1, true},
    {"via, Cache-Control of another kind", GZP_PRIVATE | GZP_NO_LM, "x", NULL,
     "Cache-Control: max-age=1", false, NULL, 1, false},
    {"via, no_last_modified", GZP_NO_LM, "x", NULL, NULL, false, NULL, 1, true},
    {"via, no_last_modified with one", GZP_NO_LM, "x", NULL,
     "Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT", false, NULL, 1, false},
    {"via, no_etag", GZP_NO_ETAG, "x", NULL, NULL, false, NULL, 1, true},
    {"via, no_etag with one", GZP_NO_ETAG, "x", NULL, "ETag: \"1\"", false, NULL, 1, false},
    {"msie6", GZP_OFF, NULL, NULL, NULL, false, "Mozilla/4.0 (compatible; MSIE 6.0; Windows)", 1,
     false},
    {"msie6 SV1", GZP_OFF, NULL, NULL, NULL, false, "Mozilla/4.0 (compatible; MSIE 6.0; SV1)", 1,
     true},
    {"msie5", GZP_OFF, NULL, NULL, NULL, false, "Mozilla/4.0 (compatible; MSIE 5.5; Win98)", 1,
     false},
    {"msie7", GZP_OFF, NULL, NULL, NULL, false, "Mozilla/4.0 (compatible; MSIE 7.0; Win)", 1, true},
    {"regex", GZP_OFF, NULL, NULL, NULL, false, "curl/8.1 BadBot", 1, false},
    {"regex, caseless", GZP_OFF, NULL, NULL, NULL, false, "a badbot", 1, false},
    {"HTTP/1.0 under 1.1", GZP_OFF, NULL, NULL, NULL, false, NULL, 0, false},
};

static void test_gzip_ok_table(void **state)
{
    struct fixture *fx = *state;
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "badbot", PCRE2_ZERO_TERMINATED, PCRE2_CASELESS,
                                   &errcode, &erroff, NULL);
    struct pcre2_real_code_8 *list[1] = {re};
    fx->gz.disable = list;
    fx->gz.ndisable = 1;
    fx->gz.disable_msie6 = true;
    for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
        const struct ok_case *oc = &ok_cases[i];
        struct req *r = fx->r;
        r->nhdrs = 0;
        r->out_hdrs = NULL;
        r->out_tail = &r->out_hdrs;
        r->http_minor = (uint8_t)oc->minor;
        r->last_modified = oc->lm ? 1000 : -1;
        fx->gz.proxied = oc->proxied;
        add_req_header(r, "Accept-Encoding", "gzip");
        if (oc->via != NULL)
            add_req_header(r, "Via", oc->via);
        if (oc->auth != NULL)
            add_req_header(r, "Authorization", oc->auth);
        if (oc->ua != NULL)
            add_req_header(r, "User-Agent", oc->ua);
        if (oc->hdr != NULL) {
            const char *colon = strchr(oc->hdr, ':');
            char *name = mpool_strndup(&r->pool, oc->hdr, (size_t)(colon - oc->hdr));
            add_resp_header(r, name, colon + 2);
        }
        if (gzip_ok(r) != oc->ok)
            fail_msg("%s: gzip_ok %d, expected %d", oc->name, !oc->ok, oc->ok);
    }
    /* gzip_http_version 1.0 lets HTTP/1.0 have it */
    fx->gz.http_version = 10;
    fx->r->nhdrs = 0;
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    assert_true(gzip_ok(fx->r));
    fx->gz.disable = NULL;
    fx->gz.ndisable = 0;
    pcre2_code_free(re);
}

static void test_wanted_table(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < sizeof(wanted_cases) / sizeof(wanted_cases[0]); i++) {
        const struct wanted_case *wc = &wanted_cases[i];
        wanted_prepare(fx, wc);
        bool want = gzip_wanted(fx->r);
        bool vary = find_resp(fx->r, "Vary") != NULL;
        if (want != wc->want || vary != wc->vary || fx->r->gzip_vary != wc->vary)
            fail_msg("%s: wanted %d (expected %d), Vary %d/%d (expected %d)", wc->name, want,
                     wc->want, vary, fx->r->gzip_vary, wc->vary);
    }
}

/* A body already encoded (gzip_static) is never offered again. */
static void test_wanted_not_twice(void **state)
{
    struct fixture *fx = *state;
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_true(gzip_wanted(fx->r));
    fx->r->gzip_done = true;
    assert_false(gzip_wanted(fx->r));
}

/* Over 64 MB nothing is compressed, so nothing varies either. */
static void test_wanted_too_large(void **state)
{
    struct fixture *fx = *state;
    struct ofile *f = make_file(fx, "x", 1);
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    /* Never read: the size alone decides. */
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 0, (size_t)MAX_BODY), 0);
    assert_true(gzip_wanted(fx->r));
    fx->r->out_hdrs = NULL;
    fx->r->out_tail = &fx->r->out_hdrs;
    fx->r->gzip_vary = false;
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 0, 1), 0);
    assert_false(gzip_wanted(fx->r));
    assert_null(find_resp(fx->r, "Vary"));
}

/* ---- Vary ------------------------------------------------------------------- */

static void test_vary_once(void **state)
{
    struct fixture *fx = *state;
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_true(gzip_wanted(fx->r));
    assert_true(gzip_wanted(fx->r)); /* static.c asks, then resp_send asks again */
    gzip_add_vary(fx->r);
    assert_int_equal(count_resp(fx->r, "Vary"), 1);
    assert_true(str_eq(find_resp(fx->r, "Vary")->value, "Accept-Encoding"));
    assert_true(fx->r->gzip_vary);
    /* An internal redirect empties the headers but leaves the flag. */
    fx->r->out_hdrs = NULL;
    fx->r->out_tail = &fx->r->out_hdrs;
    gzip_add_vary(fx->r);
    assert_int_equal(count_resp(fx->r, "Vary"), 1);
}

static void test_vary_existing(void **state)
{
    struct fixture *fx = *state;
    add_resp_header(fx->r, "Vary", "Cookie, accept-encoding");
    gzip_add_vary(fx->r);
    assert_int_equal(count_resp(fx->r, "Vary"), 1);
    add_resp_header(fx->r, "X-After", "1");
    assert_true(str_eq(find_resp(fx->r, "Vary")->value, "Cookie, accept-encoding"));
}

static void test_vary_off(void **state)
{
    struct fixture *fx = *state;
    fx->gz.vary = 0;
    add_req_header(fx->r, "Accept-Encoding", "gzip");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_true(gzip_wanted(fx->r));
    gzip_add_vary(fx->r);
    assert_null(find_resp(fx->r, "Vary"));
    assert_false(fx->r->gzip_vary);
}

/* ---- inline compression ------------------------------------------------------ */

static void test_inline_memory(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(6000, 1);
    body_mem(fx->r, text, 2500);
    body_mem(fx->r, text + 2500, 3500);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_encoded(fx->r); /* synchronously: next already ran */
    assert_true(fx->r->out.len < 6000);
    assert_gunzips_to(fx->r, text, 6000);
    free(text);
}

static void test_inline_file_range(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(20000, 2);
    struct ofile *f = make_file(fx, text, 20000);
    char *want = malloc(300 + 9000 + 200);
    memcpy(want, text + 19000, 300);
    memcpy(want + 300, text + 1234, 9000);
    memcpy(want + 9300, text + 5, 200);
    body_mem(fx->r, text + 19000, 300);
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 1234, 9000), 0);
    body_mem(fx->r, text + 5, 200);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_encoded(fx->r);
    assert_gunzips_to(fx->r, want, 9500);
    free(want);
    free(text);
}

static void test_inline_level9_and_limit(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(INLINE_MAX, 3);
    fx->gz.comp_level = 9;
    body_mem(fx->r, text, INLINE_MAX); /* the largest body done on the loop */
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_encoded(fx->r);
    assert_gunzips_to(fx->r, text, INLINE_MAX);
    free(text);
}

static void test_empty_body(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_encoded(fx->r);
    assert_gunzips_to(fx->r, "", 0);
}

/* ---- headers ---------------------------------------------------------------- */

static void test_headers_strong_etag(void **state)
{
    struct fixture *fx = *state;
    add_resp_header(fx->r, "ETag", "\"5f3e-1a2b\"");
    add_resp_header(fx->r, "Accept-Ranges", "bytes");
    add_resp_header(fx->r, "X-Keep", "1");
    add_resp_header(fx->r, "content-length", "999");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_encoded(fx->r);
    assert_true(str_eq(find_resp(fx->r, "ETag")->value, "W/\"5f3e-1a2b\""));
    assert_null(find_resp(fx->r, "Accept-Ranges"));
    assert_null(find_resp(fx->r, "Content-Length"));
    assert_non_null(find_resp(fx->r, "X-Keep"));
    /* The tail still points at the last link after the removals. */
    add_resp_header(fx->r, "X-Last", "1");
    const struct resp_hdr *h = fx->r->out_hdrs;
    unsigned n = 0;
    while (h->next != NULL) {
        h = h->next;
        n++;
    }
    assert_true(str_eq(h->name, "X-Last"));
    assert_int_equal(n, 3); /* ETag, X-Keep, Content-Encoding, X-Last */
}

static void test_headers_weak_and_bad_etag(void **state)
{
    struct fixture *fx = *state;
    add_resp_header(fx->r, "ETag", "W/\"abc\"");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_true(str_eq(find_resp(fx->r, "ETag")->value, "W/\"abc\""));

    /* Not a quoted tag: nginx drops it rather than guess. */
    fx->r->out_hdrs = NULL;
    fx->r->out_tail = &fx->r->out_hdrs;
    fx->r->gzip_done = false;
    add_resp_header(fx->r, "Accept-Ranges", "bytes");
    add_resp_header(fx->r, "ETag", "abc");
    body_mem(fx->r, "0123456789012345678901234567890123456789", 40);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_null(find_resp(fx->r, "ETag"));
    assert_null(find_resp(fx->r, "Accept-Ranges"));
    assert_int_equal(count_resp(fx->r, "Content-Encoding"), 1);
    assert_int_equal(next_calls, 2);
}

/* ---- the thread pool ----------------------------------------------------------- */

static char *big_body(struct fixture *fx, size_t len)
{
    char *text = make_text(len, 4);
    size_t half = len / 2;
    struct ofile *f = make_file(fx, text, len);
    body_mem(fx->r, text, 1000);
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 1000, half - 1000), 0);
    body_mem(fx->r, text + half, len - half);
    return text;
}

static void test_pool_round_trip(void **state)
{
    struct fixture *fx = *state;
    char *text = big_body(fx, BIG);
    add_resp_header(fx->r, "ETag", "\"big\"");
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_int_equal(next_calls, 0); /* handed to the pool */
    assert_int_equal(tpool_pending(fx->pool), 1);
    run_loop(fx);
    assert_encoded(fx->r);
    assert_true(str_eq(find_resp(fx->r, "ETag")->value, "W/\"big\""));
    assert_gunzips_to(fx->r, text, BIG);
    free(text);
}

static void test_pool_just_above_inline(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(INLINE_MAX + 1, 5);
    body_mem(fx->r, text, INLINE_MAX + 1);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_int_equal(next_calls, 0);
    run_loop(fx);
    assert_encoded(fx->r);
    assert_gunzips_to(fx->r, text, INLINE_MAX + 1);
    free(text);
}

/* The connection closes while the job runs: done never runs, release frees
 * the job and its output, and the last reference frees the connection. */
static void test_pool_closed_meanwhile(void **state)
{
    struct fixture *fx = *state;
    char *text = big_body(fx, 2 * BIG);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    fx->closed = true;
    owner_close(&fx->c->sk.own);
    assert_false(conn_released); /* the job still holds it */
    run_loop(fx);
    assert_true(conn_released);
    assert_int_equal(next_calls, 0);
    assert_int_equal(error_calls, 0);
    free(text);
}

/* The pool is shut down with the job queued or unreported: released. */
static void test_pool_destroyed_meanwhile(void **state)
{
    struct fixture *fx = *state;
    char *text = big_body(fx, BIG);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    fx->closed = true;
    owner_close(&fx->c->sk.own);
    tpool_destroy(fx->pool);
    assert_true(conn_released);
    fx->pool = tpool_create(fx->loop, 1, 4); /* for teardown */
    assert_int_equal(next_calls, 0);
    free(text);
}

/* ---- what is not compressed, and failures ------------------------------- */

static void test_too_large(void **state)
{
    struct fixture *fx = *state;
    struct ofile *f = make_file(fx, "x", 1);
    /* Never read: the size alone decides. */
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 0, (size_t)MAX_BODY + 1), 0);
    add_resp_header(fx->r, "ETag", "\"e\"");
    assert_int_equal(gzip_response(fx->r, next_cb), -1);
    assert_int_equal(next_calls, 0);
    assert_int_equal(tpool_pending(fx->pool), 0);
    assert_null(find_resp(fx->r, "Content-Encoding"));
    assert_true(str_eq(find_resp(fx->r, "ETag")->value, "\"e\""));
    assert_int_equal(fx->r->out.head->kind, OUT_FILE);
}

static void test_no_pool(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(INLINE_MAX + 1, 6);
    body_mem(fx->r, text, INLINE_MAX + 1);
    fx->rx.pool = NULL;
    assert_int_equal(gzip_response(fx->r, next_cb), -1);
    assert_int_equal(next_calls, 0);
    assert_null(find_resp(fx->r, "Content-Encoding"));
    free(text);
}

static void test_inline_short_file(void **state)
{
    struct fixture *fx = *state;
    struct ofile *f = make_file(fx, "short", 5);
    capture_log(fx);
    body_mem(fx->r, "0123456789", 10);
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, f, 0, 1000), 0); /* file shrank */
    assert_int_equal(gzip_response(fx->r, next_cb), 0);                   /* answered: 500 */
    assert_int_equal(error_calls, 1);
    assert_int_equal(error_status, 500);
    assert_int_equal(next_calls, 0);
    assert_null(find_resp(fx->r, "Content-Encoding"));
    assert_true(log_has(fx, "[alert]"));
    assert_true(log_has(fx, "read only 5 of 1000 bytes"));
}

static void test_pool_read_error(void **state)
{
    struct fixture *fx = *state;
    char *text = make_text(INLINE_MAX * 2, 7);
    struct ofile *bad = calloc(1, sizeof(*bad));
    bad->fd = -1; /* pread fails with EBADF */
    capture_log(fx);
    body_mem(fx->r, text, INLINE_MAX * 2);
    assert_int_equal(out_file(&fx->r->pool, &fx->r->out, bad, 0, 100), 0);
    assert_int_equal(gzip_response(fx->r, next_cb), 0);
    assert_int_equal(error_calls, 0);
    run_loop(fx);
    assert_int_equal(error_calls, 1);
    assert_int_equal(error_status, 500);
    assert_int_equal(next_calls, 0);
    assert_true(log_has(fx, "[crit]"));
    assert_true(log_has(fx, "pread() failed"));
    free(bad);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accepts_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accepts_several_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wanted_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_ok_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wanted_not_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wanted_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vary_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vary_existing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vary_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_file_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_level9_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_strong_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers_weak_and_bad_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_just_above_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_closed_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_destroyed_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_short_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_read_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* range.c - byte ranges (RFC 9110 section 14) with nginx's rules.
 *
 * range_parse follows ngx_http_range_parse (nginx 1.22) step by step,
 * including its quirks: spaces are allowed around every token, a range
 * that starts beyond the end (or ends before it starts) is skipped rather
 * than rejected, and a zero-length representation usually gets the whole
 * (empty) body. */
#include "http/range.h"

#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

enum {
    RANGE_UNIT_LEN = 6, /* strlen("bytes=") */
};

/* Boundaries are this many decimal digits, zero-padded.  nginx prints an
 * ngx_atomic_uint_t with %0muA, which is 20 digits on 64-bit builds.  The
 * width means nothing to clients; to match nginx byte for byte, change
 * these two lines (and boundary_of in tests/unit/test_range.c). */
#define RANGE_BOUNDARY_MOD 10000000000ULL
#define RANGE_BOUNDARY_FMT "%010" PRIu64

/* Where parsing is. */
struct range_scan {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
};

/* The next byte, or NUL at the end: nginx reads its header's terminating
 * NUL at the same places. */
static int range_peek(const struct range_scan *s)
{
    return s->p < s->end ? (unsigned char)*s->p : '\0';
}

/* nginx skips only SP inside the value, not HTAB. */
static void range_skip_sp(struct range_scan *s)
{
    while (s->p < s->end && *s->p == ' ')
        s->p++;
}

/* One or more digits; false if there are none or the value overflows. */
static bool range_number(struct range_scan *s, int64_t *out)
{
    int64_t v = 0;
    int c = range_peek(s);
    if (c < '0' || c > '9')
        return false;
    for (; c >= '0' && c <= '9'; c = range_peek(s)) {
        if (v > (INT64_MAX - (c - '0')) / 10)
            return false;
        v = v * 10 + (c - '0');
        s->p++;
    }
    *out = v;
    return true;
}

static bool range_at_sep(const struct range_scan *s)
{
    int c = range_peek(s);
    return c == ',' || c == '\0';
}

/* "a-", "a-b" or "-n" (first after optional SP); yields the half-open
 * [start, end) clipped to size.  False when malformed. */
static bool range_spec(struct range_scan *s, int64_t size, int64_t *start, int64_t *end)
{
    int64_t a = 0, b = 0;
    bool suffix = range_peek(s) == '-';

    if (suffix) {
        s->p++;
    } else {
        if (!range_number(s, &a))
            return false;
        range_skip_sp(s);
        if (range_peek(s) != '-')
            return false;
        s->p++;
        range_skip_sp(s);
        if (range_at_sep(s)) {
            *start = a;
            *end = size;
            return true;
        }
    }
    if (!range_number(s, &b))
        return false;
    range_skip_sp(s);
    if (!range_at_sep(s))
        return false;
    if (suffix) {
        a = b < size ? size - b : 0;
        b = size - 1;
    }
    *start = a;
    *end = b >= size ? size : b + 1;
    return true;
}

/* How many ranges may be filled before the request counts as abuse. */
static size_t range_limit(long max_ranges, size_t cap)
{
    if (max_ranges < 0 || (unsigned long)max_ranges > cap)
        return cap;
    return (size_t)max_ranges;
}

static enum range_result range_parse_set(struct range_scan *s, int64_t size, size_t limit,
                                         struct range *out, size_t *n)
{
    int64_t total = 0;
    for (;;) {
        int64_t start, end;
        range_skip_sp(s);
        if (!range_spec(s, size, &start, &end))
            return RANGE_NOT_SATISFIABLE;
        if (start < end) {
            if (total > INT64_MAX - (end - start))
                return RANGE_NOT_SATISFIABLE;
            total += end - start;
            if (*n == limit)
                return RANGE_IGNORE; /* too many ranges: serve the whole file */
            out[(*n)++] = (struct range){start, end - 1};
        } else if (start == 0) {
            return RANGE_IGNORE; /* only happens for size 0: nginx sends 200 */
        }
        if (range_peek(s) != ',')
            break;
        s->p++;
    }
    if (*n == 0)
        return RANGE_NOT_SATISFIABLE;
    /* Overlapping ranges that add up to more than the file are an
     * amplification attack, not a real client. */
    return total > size ? RANGE_IGNORE : RANGE_OK;
}

enum range_result range_parse(struct str header, int64_t size, long max_ranges, struct range *out,
                              size_t cap, size_t *n)
{
    enum range_result res;
    struct range_scan s;

    *n = 0;
    header = str_trim(header);
    /* nginx wants at least one byte after "bytes=" and ignores the rest. */
    if (max_ranges == 0 || size < 0 || header.len <= RANGE_UNIT_LEN ||
        strncasecmp(header.p, "bytes=", RANGE_UNIT_LEN) != 0)
        return RANGE_IGNORE;
    s = (struct range_scan){header.p + RANGE_UNIT_LEN, header.p + header.len};
    res = range_parse_set(&s, size, range_limit(max_ranges, cap), out, n);
    if (res != RANGE_OK)
        *n = 0;
    return res;
}

/* A per-process counter: distinct boundaries need no randomness, only no
 * repeats within a response.  Seeded lazily so each worker seeds itself
 * after fork; only the loop thread builds responses, so no locking. */
static uint64_t range_next_boundary(void)
{
    static uint64_t counter;
    static bool seeded;
    if (!seeded) {
        counter = (uint64_t)time(NULL) ^ (uint64_t)getpid();
        seeded = true;
    }
    return counter++ % RANGE_BOUNDARY_MOD;
}

/* CRLF "--" boundary CRLF ["Content-Type: " type CRLF]
 * "Content-Range: bytes S-E/SIZE" CRLF CRLF */
static const char *range_part_head(struct mpool *p, const char *boundary, struct str type,
                                   const struct range *r, int64_t size)
{
    if (type.len == 0)
        return mpool_printf(
            p, "\r\n--%s\r\nContent-Range: bytes %" PRId64 "-%" PRId64 "/%" PRId64 "\r\n\r\n",
            boundary, r->start, r->end, size);
    return mpool_printf(p,
                        "\r\n--%s\r\nContent-Type: %.*s\r\nContent-Range: bytes %" PRId64
                        "-%" PRId64 "/%" PRId64 "\r\n\r\n",
                        boundary, (int)type.len, type.p, r->start, r->end, size);
}

int range_multipart(struct mpool *p, const struct range *r, size_t n, int64_t size,
                    struct str content_type, struct ofile *f, struct out *body, struct str *ctype)
{
    char *boundary = mpool_printf(p, RANGE_BOUNDARY_FMT, range_next_boundary());
    char *type, *tail;

    if (boundary == NULL || content_type.len > INT_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        assert(r[i].start >= 0 && r[i].start <= r[i].end && r[i].end < size);
        const char *head = range_part_head(p, boundary, content_type, &r[i], size);
        if (head == NULL || out_mem(p, body, head, strlen(head)) != 0 ||
            out_file(p, body, f, (off_t)r[i].start, (size_t)(r[i].end - r[i].start + 1)) != 0)
            return -1;
    }
    tail = mpool_printf(p, "\r\n--%s--\r\n", boundary);
    type = mpool_printf(p, "multipart/byteranges; boundary=%s", boundary);
    if (tail == NULL || type == NULL || out_mem(p, body, tail, strlen(tail)) != 0)
        return -1;
    *ctype = str_make(type, strlen(type));
    return 0;
}

struct str range_content_range(struct mpool *p, const struct range *r, int64_t size)
{
    char *s;
    if (r == NULL)
        s = mpool_printf(p, "bytes */%" PRId64, size);
    else
        s = mpool_printf(p, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, r->start, r->end, size);
    return s == NULL ? str_make(NULL, 0) : str_make(s, strlen(s));
}

/* test_range.c - Range parsing, multipart/byteranges bodies and the body
 * chain they are built on.  The range_parse rows marked "nginx" were
 * checked against nginx 1.22.1 with curl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"

enum {
    DEFAULT_CAP = 16, /* ranges a row may fill unless it says otherwise */
    MAX_WANT = 3,     /* ranges a row can list */
};

/* A 1000-byte file unless a row says otherwise. */
#define SZ 1000
#define NOLIMIT (-1)
#define OK RANGE_OK
#define IGN RANGE_IGNORE
#define BAD RANGE_NOT_SATISFIABLE

static struct str S(const char *s) {
    return str_make(s, strlen(s));
}

/* ---- range_parse ---- */

struct parse_row {
    const char *header;       /* the Range value */
    int64_t size;             /* representation length */
    long max_ranges;          /* max_ranges directive */
    size_t cap;               /* 0 for DEFAULT_CAP */
    enum range_result want;   /* expected result */
    size_t n;                 /* expected ranges when RANGE_OK */
    struct range r[MAX_WANT]; /* the expected ranges */
};

static const struct parse_row parse_rows[] = {
    /* single ranges */
    {"bytes=0-9", SZ, NOLIMIT, 0, OK, 1, {{0, 9}}},
    {"bytes=0-0", SZ, NOLIMIT, 0, OK, 1, {{0, 0}}},
    {"bytes=000-001", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"bytes=998-999", SZ, NOLIMIT, 0, OK, 1, {{998, 999}}},
    /* open-ended */
    {"bytes=0-", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=500-", SZ, NOLIMIT, 0, OK, 1, {{500, 999}}},
    {"bytes=999-", SZ, NOLIMIT, 0, OK, 1, {{999, 999}}},
    /* suffix */
    {"bytes=-5", SZ, NOLIMIT, 0, OK, 1, {{995, 999}}},
    {"bytes=-1000", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=-2000", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=-0", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=-0,0-1", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    /* end clamped */
    {"bytes=0-5000", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=0-1000", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=990-5000", SZ, NOLIMIT, 0, OK, 1, {{990, 999}}},
    {"bytes=0-9223372036854775807", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    /* multiple */
    {"bytes=0-1,5-7", SZ, NOLIMIT, 0, OK, 2, {{0, 1}, {5, 7}}},
    {"bytes=0-1,5-7,-3", SZ, NOLIMIT, 0, OK, 3, {{0, 1}, {5, 7}, {997, 999}}},
    {"bytes=900-,0-9", SZ, NOLIMIT, 0, OK, 2, {{900, 999}, {0, 9}}},
    /* whitespace (nginx: SP anywhere between tokens, HTAB nowhere inside) */
    {"bytes= 0 - 1 , 3 - 4 ", SZ, NOLIMIT, 0, OK, 2, {{0, 1}, {3, 4}}},
    {"bytes=990- ,-3", SZ, NOLIMIT, 0, OK, 2, {{990, 999}, {997, 999}}},
    {" \tbytes=0-1\t ", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"bytes=0-1,\t2-3", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=\t0-1", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    /* the unit */
    {"Bytes=0-1", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"BYTES=0-1", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"items=0-1", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes =0-1", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes:0-1", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=  ", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    /* malformed */
    {"bytes=abc", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1x", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0x-1", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1,", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=,0-1", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1,,2-3", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1-2-3", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=--5", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=-", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0--1", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=+1-2", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1;2-3", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1,abc", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    /* beyond the end, or reversed: skipped (nginx), 416 if nothing is left */
    {"bytes=1000-", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1000-2000", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1000-2000,0-1", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"bytes=5-3", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1-0", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=5-3,0-1", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"bytes=0-1,5-3", SZ, NOLIMIT, 0, OK, 1, {{0, 1}}},
    {"bytes=1-1000", 1, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-0", 1, NOLIMIT, 0, OK, 1, {{0, 0}}},
    /* overlapping ranges adding up to more than the file */
    {"bytes=0-999,0-999", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=0-500,500-999", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=0-499,500-999", SZ, NOLIMIT, 0, OK, 2, {{0, 499}, {500, 999}}},
    {"bytes=0-499,400-600", SZ, NOLIMIT, 0, OK, 2, {{0, 499}, {400, 600}}},
    {"bytes=-600,0-400", SZ, NOLIMIT, 0, IGN, 0, {{0}}},
    /* max_ranges */
    {"bytes=0-1", SZ, 0, 0, IGN, 0, {{0}}},
    {"bytes=junk", SZ, 0, 0, IGN, 0, {{0}}},
    {"bytes=0-1", SZ, 1, 0, OK, 1, {{0, 1}}},
    {"bytes=0-1,2-3", SZ, 1, 0, IGN, 0, {{0}}},
    {"bytes=0-1,2000-3000", SZ, 1, 0, OK, 1, {{0, 1}}},
    {"bytes=0-1,abc", SZ, 1, 0, BAD, 0, {{0}}},
    {"bytes=0-1,2-3,abc", SZ, 1, 0, IGN, 0, {{0}}},
    {"bytes=0-1,2-3", SZ, 2, 0, OK, 2, {{0, 1}, {2, 3}}},
    {"bytes=0-1,2-3,4-5", SZ, 2, 0, IGN, 0, {{0}}},
    {"bytes=0-1,2-3,4-5", SZ, 3, 0, OK, 3, {{0, 1}, {2, 3}, {4, 5}}},
    /* cap: the caller's array limits like max_ranges does */
    {"bytes=0-1,2-3", SZ, NOLIMIT, 2, OK, 2, {{0, 1}, {2, 3}}},
    {"bytes=0-1,2-3,4-5", SZ, NOLIMIT, 2, IGN, 0, {{0}}},
    {"bytes=0-1,2-3,4-5", SZ, 100, 2, IGN, 0, {{0}}},
    /* size 0: nginx sends 200 unless the spec is malformed or starts past 0 */
    {"bytes=0-1", 0, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=0-", 0, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=-5", 0, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=-0", 0, NOLIMIT, 0, IGN, 0, {{0}}},
    {"bytes=5-10", 0, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=abc", 0, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-1", -1, NOLIMIT, 0, IGN, 0, {{0}}}, /* unknown length */
    /* huge numbers */
    {"bytes=99999999999999999999-", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=0-99999999999999999999", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=-99999999999999999999", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=9223372036854775808-", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=9223372036854775807-", SZ, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=-9223372036854775807", SZ, NOLIMIT, 0, OK, 1, {{0, 999}}},
    {"bytes=0-", INT64_MAX, NOLIMIT, 0, OK, 1, {{0, INT64_MAX - 1}}},
    {"bytes=-1", INT64_MAX, NOLIMIT, 0, OK, 1, {{INT64_MAX - 1, INT64_MAX - 1}}},
    {"bytes=0-,0-", INT64_MAX, NOLIMIT, 0, BAD, 0, {{0}}}, /* the sum overflows */
    {"bytes=0-,1-1", INT64_MAX, NOLIMIT, 0, BAD, 0, {{0}}},
    {"bytes=1-,0-0", INT64_MAX, NOLIMIT, 0, OK, 2, {{1, INT64_MAX - 1}, {0, 0}}},
    {"bytes=1-,0-1", INT64_MAX - 1, NOLIMIT, 0, IGN, 0, {{0}}},
};

static const char *result_name(enum range_result r)
{
    return r == RANGE_OK ? "OK" : r == RANGE_IGNORE ? "IGNORE" : "NOT_SATISFIABLE";
}

static void check_parse_row(size_t i, const struct parse_row *row)
{
    struct range out[DEFAULT_CAP + 1];
    size_t cap = row->cap != 0 ? row->cap : DEFAULT_CAP, n = 99;
    /* A sentinel past cap catches writes beyond it. */
    out[cap] = (struct range){-7, -7};
    enum range_result got = range_parse(S(row->header), row->size, row->max_ranges, out, cap, &n);
    if (got != row->want)
        fail_msg("row %zu \"%s\": got %s, want %s", i, row->header, result_name(got),
                 result_name(row->want));
    if (out[cap].start != -7 || out[cap].end != -7)
        fail_msg("row %zu \"%s\": wrote past cap", i, row->header);
    if (got != RANGE_OK) {
        if (n != 0)
            fail_msg("row %zu \"%s\": n = %zu without RANGE_OK", i, row->header, n);
        return;
    }
    if (n != row->n)
        fail_msg("row %zu \"%s\": n = %zu, want %zu", i, row->header, n, row->n);
    for (size_t k = 0; k < n; k++)
        if (out[k].start != row->r[k].start || out[k].end != row->r[k].end)
            fail_msg("row %zu \"%s\": range %zu is %lld-%lld, want %lld-%lld", i, row->header, k,
                     (long long)out[k].start, (long long)out[k].end, (long long)row->r[k].start,
                     (long long)row->r[k].end);
}

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++)
        check_parse_row(i, &parse_rows[i]);
}

static void test_parse_not_nul_terminated(void **state)
{
    struct range out[4];
    size_t n;
    (void)state;
    /* Only len bytes count: the "5" after them must not extend "0-1". */
    assert_int_equal(range_parse(str_make("bytes=0-15", 9), SZ, NOLIMIT, out, 4, &n), RANGE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].end, 1);
    assert_int_equal(range_parse(str_make("bytes=0-1", 8), SZ, NOLIMIT, out, 4, &n), RANGE_OK);
    assert_int_equal(out[0].end, 999);
    assert_int_equal(range_parse(str_make(NULL, 0), SZ, NOLIMIT, out, 4, &n), RANGE_IGNORE);
}

/* ---- the body chain ---- */

static void test_out_chain(void **state)
{
    struct mpool p;
    struct out o;
    int token;
    struct ofile *f = (struct ofile *)&token; /* only the pointer is stored */
    (void)state;
    mpool_init(&p, 256);
    out_init(&o);
    assert_null(o.head);
    assert_ptr_equal(o.tail, &o.head);
    assert_int_equal(o.len, 0);
    assert_int_equal(out_mem(&p, &o, "abc", 3), 0);
    assert_int_equal(out_file(&p, &o, f, 4096, 100), 0);
    assert_int_equal(out_mem(&p, &o, "", 0), 0); /* empty: not linked */
    assert_int_equal(out_file(&p, &o, f, 0, 0), 0);
    assert_int_equal(out_mem(&p, &o, "de", 2), 0);
    assert_int_equal(o.len, 105);
    struct out_seg *s = o.head;
    assert_int_equal(s->kind, OUT_MEM);
    assert_memory_equal(s->p, "abc", 3);
    assert_int_equal(s->len, 3);
    s = s->next;
    assert_int_equal(s->kind, OUT_FILE);
    assert_ptr_equal(s->file, f);
    assert_int_equal(s->off, 4096);
    assert_int_equal(s->len, 100);
    s = s->next;
    assert_int_equal(s->kind, OUT_MEM);
    assert_int_equal(s->len, 2);
    assert_null(s->next);
    assert_ptr_equal(o.tail, &s->next);
    mpool_destroy(&p);
}

/* ---- multipart/byteranges ---- */

/* The file the multipart tests cut from (its first bytes, as nginx saw them). */
static const char file_data[] = "KEx+vEds0123456789";

/* Renders a chain into malloc'd memory, reading OUT_FILE from file_data. */
static char *render(const struct out *o, struct ofile *f)
{
    char *buf = calloc(1, (size_t)o->len + 1), *w = buf;
    assert_non_null(buf);
    for (const struct out_seg *s = o->head; s != NULL; s = s->next) {
        if (s->kind == OUT_FILE) {
            assert_ptr_equal(s->file, f);
            assert_true(s->off >= 0 && (size_t)s->off + s->len <= sizeof(file_data) - 1);
            memcpy(w, file_data + s->off, s->len);
        } else {
            memcpy(w, s->p, s->len);
        }
        w += s->len;
    }
    assert_int_equal(w - buf, o->len);
    return buf;
}

/* The boundary from the Content-Type value, checking its form. */
static const char *boundary_of(struct str ctype)
{
    static const char prefix[] = "multipart/byteranges; boundary=";
    assert_int_equal(ctype.len, sizeof(prefix) - 1 + 10);
    assert_memory_equal(ctype.p, prefix, sizeof(prefix) - 1);
    const char *b = ctype.p + sizeof(prefix) - 1;
    for (int i = 0; i < 10; i++)
        assert_true(b[i] >= '0' && b[i] <= '9');
    return b;
}

static void expect_seg(const struct out_seg *s, const char *mem, struct ofile *f, off_t off,
                       size_t len)
{
    assert_non_null(s);
    if (mem != NULL) {
        assert_int_equal(s->kind, OUT_MEM);
        assert_int_equal(s->len, strlen(mem));
        assert_memory_equal(s->p, mem, s->len);
    } else {
        assert_int_equal(s->kind, OUT_FILE);
        assert_ptr_equal(s->file, f);
        assert_int_equal(s->off, off);
        assert_int_equal(s->len, len);
    }
}

static void test_multipart_two_ranges(void **state)
{
    static const struct range r[2] = {{0, 1}, {5, 7}};
    struct mpool p;
    struct out o;
    struct str ctype = {0};
    int token;
    struct ofile *f = (struct ofile *)&token;
    char h1[128], h2[128], tail[32], want[512];
    (void)state;
    mpool_init(&p, 4096);
    out_init(&o);
    assert_int_equal(range_multipart(&p, r, 2, 1000, S("text/plain"), f, &o, &ctype), 0);
    const char *b = boundary_of(ctype);
    snprintf(h1, sizeof(h1),
             "\r\n--%.10s\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/1000\r\n\r\n", b);
    snprintf(h2, sizeof(h2),
             "\r\n--%.10s\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-7/1000\r\n\r\n", b);
    snprintf(tail, sizeof(tail), "\r\n--%.10s--\r\n", b);
    const struct out_seg *s = o.head;
    expect_seg(s, h1, f, 0, 0);
    expect_seg(s = s->next, NULL, f, 0, 2);
    expect_seg(s = s->next, h2, f, 0, 0);
    expect_seg(s = s->next, NULL, f, 5, 3);
    expect_seg(s = s->next, tail, f, 0, 0);
    assert_null(s->next);
    /* The whole body, byte for byte as nginx 1.22 sent it (boundary aside). */
    snprintf(want, sizeof(want), "%sKE%sEds%s", h1, h2, tail);
    char *got = render(&o, f);
    assert_string_equal(got, want);
    assert_int_equal(o.len, strlen(want));
    free(got);
    mpool_destroy(&p);
}

static void test_multipart_no_type_and_new_boundary(void **state)
{
    static const struct range r[2] = {{2, 2}, {17, 17}};
    struct mpool p;
    struct out o1, o2;
    struct str c1, c2;
    int token;
    struct ofile *f = (struct ofile *)&token;
    char want[512];
    (void)state;
    mpool_init(&p, 64); /* small blocks: parts span several */
    out_init(&o1);
    out_init(&o2);
    assert_int_equal(range_multipart(&p, r, 2, 18, S(""), f, &o1, &c1), 0);
    assert_int_equal(range_multipart(&p, r, 1, 18, S(""), f, &o2, &c2), 0);
    const char *b1 = boundary_of(c1), *b2 = boundary_of(c2);
    assert_memory_not_equal(b1, b2, 10);
    snprintf(want, sizeof(want),
             "\r\n--%.10s\r\nContent-Range: bytes 2-2/18\r\n\r\nx"
             "\r\n--%.10s\r\nContent-Range: bytes 17-17/18\r\n\r\n9"
             "\r\n--%.10s--\r\n",
             b1, b1, b1);
    char *got = render(&o1, f);
    assert_string_equal(got, want);
    free(got);
    mpool_destroy(&p);
}

/* ---- Content-Range ---- */

static void test_content_range(void **state)
{
    struct mpool p;
    struct range r = {0, 99};
    struct str s;
    (void)state;
    mpool_init(&p, 256);
    s = range_content_range(&p, &r, 1000);
    assert_int_equal(s.len, strlen("bytes 0-99/1000"));
    assert_memory_equal(s.p, "bytes 0-99/1000", s.len);
    s = range_content_range(&p, NULL, 1000);
    assert_int_equal(s.len, strlen("bytes */1000"));
    assert_memory_equal(s.p, "bytes */1000", s.len);
    s = range_content_range(&p, NULL, 0);
    assert_int_equal(s.len, strlen("bytes */0"));
    assert_memory_equal(s.p, "bytes */0", s.len);
    r = (struct range){INT64_MAX - 2, INT64_MAX - 1};
    s = range_content_range(&p, &r, INT64_MAX);
    static const char big[] = "bytes 9223372036854775805-9223372036854775806/9223372036854775807";
    assert_int_equal(s.len, sizeof(big) - 1);
    assert_memory_equal(s.p, big, s.len);
    mpool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_not_nul_terminated),
        cmocka_unit_test(test_out_chain),
        cmocka_unit_test(test_multipart_two_ranges),
        cmocka_unit_test(test_multipart_no_type_and_new_boundary),
        cmocka_unit_test(test_content_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

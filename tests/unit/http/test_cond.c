/* test_cond.c - ETags, HTTP dates and conditional requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/cond.h"

/* The file every conditional test is about: Sun, 06 Nov 1994 08:49:37 GMT,
 * 1000 bytes. */
#define MTIME ((time_t)784111777)
#define ETAG "\"2ebc98a1-3e8\""
#define D_EQ "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_OLD "Sun, 06 Nov 1994 08:49:36 GMT"
#define D_NEW "Sun, 06 Nov 1994 08:49:38 GMT"

static struct str S(const char *s) {
    return s == NULL ? str_make(NULL, 0) : str_make(s, strlen(s));
}

/* ---- ETag ---- */

static void
test_etag_format(void **state)
{
    char buf[48];
    (void)state;
    assert_int_equal(cond_etag(MTIME, 1000, buf, sizeof(buf)), strlen(ETAG));
    assert_string_equal(buf, ETAG);
    assert_int_equal(cond_etag(0x6b084c54, 0x3e8, buf, sizeof(buf)), 14);
    assert_string_equal(buf, "\"6b084c54-3e8\""); /* what nginx 1.22 sent for this file */
    cond_etag(0, 0, buf, sizeof(buf));
    assert_string_equal(buf, "\"0-0\"");
    cond_etag((time_t)0xABCDEF012, (off_t)0x7fffffffffffffff, buf, sizeof(buf));
    assert_string_equal(buf, "\"abcdef012-7fffffffffffffff\""); /* lowercase, no padding */
}

static void test_etag_small_buffer(void **state)
{
    char buf[8] = "xxxxxxx";
    (void)state;
    /* A truncated validator would be wrong, so nothing is written. */
    assert_int_equal(cond_etag(MTIME, 1000, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cond_etag(MTIME, 1000, buf, 0), 0);
}

/* ---- formatting dates ---- */

static void test_http_date_known(void **state)
{
    static const struct {
        time_t t;         /* input */
        const char *want; /* IMF-fixdate */
    } rows[] = {
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {1709208000, "Thu, 29 Feb 2024 12:00:00 GMT"},
        {2147483648LL, "Tue, 19 Jan 2038 03:14:08 GMT"},
        {253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {253402300800LL, "Fri, 31 Dec 9999 23:59:59 GMT"}, /* clamped */
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
    };
    char buf[30];
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(cond_http_date(rows[i].t, buf, sizeof(buf)), 29);
        assert_string_equal(buf, rows[i].want);
    }
    assert_int_equal(cond_http_date(0, buf, 29), 0); /* no room for the NUL */
}

/* Compares with the C library over many days (no setlocale call, so the
 * "C" locale's English names apply). */
static void test_http_date_matches_libc(void **state)
{
    char want[64], got[30];
    (void)state;
    for (int64_t t = 0; t < 4102444800LL; t += 86400 * 7 + 3601 * 5 + 17) {
        time_t tt = (time_t)t;
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cond_http_date(tt, got, sizeof(got));
        assert_string_equal(got, want);
        assert_int_equal(cond_parse_date(S(got)), tt);
    }
}

/* ---- parsing dates ---- */

static void test_parse_three_formats(void **state)
{
    (void)state;
    assert_int_equal(cond_parse_date(S("Sun, 06 Nov 1994 08:49:37 GMT")), 784111777);
    assert_int_equal(cond_parse_date(S("Sunday, 06-Nov-94 08:49:37 GMT")), 784111777);
    assert_int_equal(cond_parse_date(S("Sun Nov  6 08:49:37 1994")), 784111777);
    assert_int_equal(cond_parse_date(S("Sun Nov 06 08:49:37 1994")), 784111777);
    assert_int_equal(cond_parse_date(S("Thu Nov 26 15:12:20 2026")), 1795705940);
    /* Surrounding OWS is not part of the field value. */
    assert_int_equal(cond_parse_date(S(" \tSun, 06 Nov 1994 08:49:37 GMT \t")), 784111777);
    /* The weekday is not checked against the date (neither does nginx). */
    assert_int_equal(cond_parse_date(S("Mon, 06 Nov 1994 08:49:37 GMT")), 784111777);
    /* Not NUL-terminated: only len bytes count. */
    assert_int_equal(cond_parse_date(str_make("Sun, 06 Nov 1994 08:49:37 GMTxyz", 29)), 784111777);
}

static void test_parse_edges(void **state)
{
    (void)state;
    assert_int_equal(cond_parse_date(S("Thu, 01 Jan 1970 00:00:00 GMT")), 0);
    assert_int_equal(cond_parse_date(S("Thursday, 01-Jan-70 00:00:00 GMT")), 0);
    assert_int_equal(cond_parse_date(S("Thu Jan  1 00:00:00 1970")), 0);
    assert_int_equal(cond_parse_date(S("Wed, 31 Dec 1969 23:59:59 GMT")), -1);
    /* RFC 850 two-digit years: nginx's pivot, 00-69 are 20xx. */
    assert_int_equal(cond_parse_date(S("Friday, 31-Dec-99 23:59:59 GMT")), 946684799);
    assert_int_equal(cond_parse_date(S("Monday, 31-Dec-69 23:59:59 GMT")), 3155759999LL);
    /* Leap years: divisible by 4, except centuries not divisible by 400. */
    assert_int_equal(cond_parse_date(S("Tue, 29 Feb 2000 00:00:00 GMT")), 951782400);
    assert_int_equal(cond_parse_date(S("Thu, 29 Feb 2024 12:00:00 GMT")), 1709208000);
    assert_int_equal(cond_parse_date(S("Tue, 29 Feb 2400 00:00:00 GMT")), 13574563200LL);
    assert_int_equal(cond_parse_date(S("Tuesday, 29-Feb-00 00:00:00 GMT")), 951782400);
    assert_int_equal(cond_parse_date(S("Mon, 29 Feb 2100 00:00:00 GMT")), -1);
    assert_int_equal(cond_parse_date(S("Wed, 29 Feb 2023 00:00:00 GMT")), -1);
    assert_int_equal(cond_parse_date(S("Tue Feb 29 00:00:00 2100")), -1);
    /* Far future. */
    assert_int_equal(cond_parse_date(S("Fri, 31 Dec 9999 23:59:59 GMT")), 253402300799LL);
    assert_int_equal(cond_parse_date(S("Tue, 19 Jan 2038 03:14:08 GMT")), 2147483648LL);
}

static void test_parse_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37 GMT junk", /* trailing junk (nginx accepts it) */
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nvv 1994 08:49:37 GMT", /* month names */
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 November 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", /* day names */
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT", /* out of range fields */
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 32 Jan 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:60 GMT", /* leap second: nginx refuses it too */
        "Sun, 6 Nov 1994 08:49:37 GMT",  /* wrong widths */
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 19944 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37  GMT",
        "Sun, 06 Nov +994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",
        "Sunday, 31-Feb-94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", /* asctime needs two columns for the day */
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  0 08:49:37 1994",
        "Sun, 06 Nov 1969 08:49:37 GMT", /* before the epoch */
        "Sun, 06 Nov 0000 08:49:37 GMT",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cond_parse_date(S(bad[i])) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_int_equal(cond_parse_date(str_make(NULL, 0)), -1);
    assert_int_equal(cond_parse_date(str_make("Sun, 06 Nov 1994 08:49:37 GMT", 28)), -1);
}

/* ---- cond_evaluate ---- */

/* One request against the file (MTIME, ETAG). */
struct eval_row {
    const char *name;   /* what the row checks */
    const char *im;     /* If-Match, or NULL */
    const char *inm;    /* If-None-Match, or NULL */
    const char *ims;    /* If-Modified-Since, or NULL */
    const char *ius;    /* If-Unmodified-Since, or NULL */
    bool post;          /* a POST rather than a GET */
    enum cond_ims mode; /* if_modified_since */
    const char *etag;   /* the file's ETag: NULL for ETAG, "" for etag off */
    int want;           /* 0, 304 or 412 */
};

#define EX COND_IMS_EXACT
#define BE COND_IMS_BEFORE

static const struct eval_row eval_rows[] = {
    {"no conditions", NULL, NULL, NULL, NULL, false, EX, NULL, 0},
    {"no conditions POST", NULL, NULL, NULL, NULL, true, EX, NULL, 0},
    /* If-Match: strong comparison */
    {"IM hit", ETAG, NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM hit POST", ETAG, NULL, NULL, NULL, true, EX, NULL, 0},
    {"IM miss", "\"other\"", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM miss prefix", "\"2ebc98a1-3e\"", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM star", "*", NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM star padded", "  *\t", NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM star etag off", "*", NULL, NULL, NULL, false, EX, "", 0},
    {"IM tag etag off", ETAG, NULL, NULL, NULL, false, EX, "", 412},
    {"IM weak tag", "W/" ETAG, NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM own etag weak", ETAG, NULL, NULL, NULL, false, EX, "W/" ETAG, 412},
    {"IM both weak", "W/" ETAG, NULL, NULL, NULL, false, EX, "W/" ETAG, 412},
    {"IM list hit", "\"a\", " ETAG, NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM list hit tight", "\"a\"," ETAG ",\"b\"", NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM list miss", "\"a\", \"b\"", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM list empty elems", " , ," ETAG " ,", NULL, NULL, NULL, false, EX, NULL, 0},
    {"IM list no comma", "\"a\" " ETAG, NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM unquoted", "2ebc98a1-3e8", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM unterminated", "\"2ebc98a1-3e8", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM bad etagc", "\"x y\", " ETAG, NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM star in list", "\"a\", *", NULL, NULL, NULL, false, EX, NULL, 412},
    {"IM hit skips IUS", ETAG, NULL, NULL, D_OLD, false, EX, NULL, 0},
    {"IM star skips IUS", "*", NULL, NULL, D_OLD, false, EX, NULL, 0},
    {"IM miss before INM", "\"x\"", ETAG, NULL, NULL, false, EX, NULL, 412},
    /* If-Unmodified-Since */
    {"IUS older", NULL, NULL, NULL, D_OLD, false, EX, NULL, 412},
    {"IUS older POST", NULL, NULL, NULL, D_OLD, true, EX, NULL, 412},
    {"IUS equal", NULL, NULL, NULL, D_EQ, false, EX, NULL, 0},
    {"IUS newer", NULL, NULL, NULL, D_NEW, false, EX, NULL, 0},
    {"IUS invalid ignored", NULL, NULL, NULL, "garbage", false, EX, NULL, 0},
    {"IUS rfc850 older", NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:36 GMT", false, EX, NULL, 412},
    {"IUS older before INM", NULL, ETAG, NULL, D_OLD, false, EX, NULL, 412},
    {"IUS older before IMS", NULL, NULL, D_EQ, D_OLD, false, EX, NULL, 412},
    {"IUS newer then IMS", NULL, NULL, D_EQ, D_NEW, false, EX, NULL, 304},
    /* If-None-Match: weak comparison */
    {"INM hit GET", NULL, ETAG, NULL, NULL, false, EX, NULL, 304},
    {"INM hit POST", NULL, ETAG, NULL, NULL, true, EX, NULL, 412},
    {"INM miss GET", NULL, "\"other\"", NULL, NULL, false, EX, NULL, 0},
    {"INM miss POST", NULL, "\"other\"", NULL, NULL, true, EX, NULL, 0},
    {"INM star GET", NULL, "*", NULL, NULL, false, EX, NULL, 304},
    {"INM star POST", NULL, "*", NULL, NULL, true, EX, NULL, 412},
    {"INM star etag off", NULL, "*", NULL, NULL, false, EX, "", 304},
    {"INM tag etag off", NULL, ETAG, NULL, NULL, false, EX, "", 0},
    {"INM weak tag", NULL, "W/" ETAG, NULL, NULL, false, EX, NULL, 304},
    {"INM own etag weak", NULL, ETAG, NULL, NULL, false, EX, "W/" ETAG, 304},
    {"INM weak miss", NULL, "W/\"other\"", NULL, NULL, false, EX, NULL, 0},
    {"INM list hit", NULL, "\"a\", W/" ETAG, NULL, NULL, false, EX, NULL, 304},
    {"INM list miss", NULL, "\"a\",W/\"b\"", NULL, NULL, false, EX, NULL, 0},
    {"INM comma in tag", NULL, "\"a,b\"", NULL, NULL, false, EX, "\"a,b\"", 304},
    {"INM split tag", NULL, "\"a\", \"b\"", NULL, NULL, false, EX, "\"a,b\"", 0},
    {"INM malformed", NULL, "W/ " ETAG, NULL, NULL, false, EX, NULL, 0},
    {"INM miss hides IMS", NULL, "\"other\"", D_EQ, NULL, false, EX, NULL, 0},
    {"INM hit hides IMS", NULL, ETAG, D_OLD, NULL, false, EX, NULL, 304},
    {"INM hit IUS invalid", NULL, ETAG, NULL, "garbage", false, EX, NULL, 304},
    /* If-Modified-Since */
    {"IMS exact equal", NULL, NULL, D_EQ, NULL, false, EX, NULL, 304},
    {"IMS exact equal POST", NULL, NULL, D_EQ, NULL, true, EX, NULL, 0},
    {"IMS exact newer", NULL, NULL, D_NEW, NULL, false, EX, NULL, 0},
    {"IMS exact older", NULL, NULL, D_OLD, NULL, false, EX, NULL, 0},
    {"IMS before equal", NULL, NULL, D_EQ, NULL, false, BE, NULL, 304},
    {"IMS before newer", NULL, NULL, D_NEW, NULL, false, BE, NULL, 304},
    {"IMS before older", NULL, NULL, D_OLD, NULL, false, BE, NULL, 0},
    {"IMS before newer POST", NULL, NULL, D_NEW, NULL, true, BE, NULL, 0},
    {"IMS off", NULL, NULL, D_EQ, NULL, false, COND_IMS_OFF, NULL, 0},
    {"IMS invalid exact", NULL, NULL, "garbage", NULL, false, EX, NULL, 0},
    {"IMS invalid before", NULL, NULL, "garbage", NULL, false, BE, NULL, 0},
    {"IMS trailing junk", NULL, NULL, D_EQ " x", NULL, false, EX, NULL, 0},
    {"IMS asctime", NULL, NULL, "Sun Nov  6 08:49:37 1994", NULL, false, EX, NULL, 304},
    {"IMS rfc850", NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", NULL, false, EX, NULL, 304},
    {"IMS etag off", NULL, NULL, D_EQ, NULL, false, EX, "", 304},
};

static void test_evaluate_matrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(eval_rows) / sizeof(eval_rows[0]); i++) {
        const struct eval_row *r = &eval_rows[i];
        struct cond_req c = {.if_match = S(r->im),
                             .if_none_match = S(r->inm),
                             .if_modified_since = S(r->ims),
                             .if_unmodified_since = S(r->ius),
                             .get_or_head = !r->post};
        int got = cond_evaluate(&c, MTIME, S(r->etag != NULL ? r->etag : ETAG), r->mode);
        if (got != r->want)
            fail_msg("row %zu \"%s\": got %d, want %d", i, r->name, got, r->want);
    }
    /* Absent fields and etag off may come as {NULL, 0}. */
    struct cond_req none = {.get_or_head = true}, star = {.if_none_match = S("*")};
    assert_int_equal(cond_evaluate(&none, MTIME, S(NULL), COND_IMS_EXACT), 0);
    assert_int_equal(cond_evaluate(&star, MTIME, S(NULL), COND_IMS_EXACT), 412);
}

/* ---- If-Range ---- */

static bool if_range(const char *value, const char *etag)
{
    struct cond_req c = {.if_range = S(value), .get_or_head = true};
    return cond_if_range(&c, MTIME, S(etag));
}

static void test_if_range_etag(void **state)
{
    (void)state;
    assert_true(if_range(NULL, ETAG));
    assert_true(if_range(NULL, ""));
    assert_true(if_range(ETAG, ETAG));
    assert_true(if_range(" " ETAG " ", ETAG));
    assert_false(if_range("\"other\"", ETAG));
    assert_false(if_range(ETAG, "")); /* etag off */
    assert_false(if_range(ETAG, NULL));
    assert_false(if_range("W/" ETAG, ETAG));        /* weak never matches */
    assert_false(if_range("W/" ETAG, "W/" ETAG));   /* not even itself */
    assert_false(if_range(ETAG, "W/" ETAG));        /* our weak tag cannot match */
    assert_false(if_range(ETAG ", \"x\"", ETAG));   /* one tag, not a list */
    assert_false(if_range("\"2ebc98a1-3e8", ETAG)); /* unterminated */
}

static void test_if_range_date(void **state)
{
    (void)state;
    assert_true(if_range(D_EQ, ETAG));
    assert_true(if_range(D_EQ, ""));
    assert_true(if_range("Sunday, 06-Nov-94 08:49:37 GMT", ETAG));
    assert_true(if_range("Sun Nov  6 08:49:37 1994", ETAG));
    assert_false(if_range(D_OLD, ETAG));
    assert_false(if_range(D_NEW, ETAG)); /* exact, like nginx: not "not newer" */
    assert_false(if_range("garbage", ETAG));
    assert_false(if_range(D_EQ "x", ETAG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_format),         cmocka_unit_test(test_etag_small_buffer),
        cmocka_unit_test(test_http_date_known),     cmocka_unit_test(test_http_date_matches_libc),
        cmocka_unit_test(test_parse_three_formats), cmocka_unit_test(test_parse_edges),
        cmocka_unit_test(test_parse_invalid),       cmocka_unit_test(test_evaluate_matrix),
        cmocka_unit_test(test_if_range_etag),       cmocka_unit_test(test_if_range_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

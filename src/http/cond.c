/* cond.c - validators and conditional requests (RFC 9110 section 13).
 *
 * Dates are converted with our own calendar arithmetic rather than
 * strftime/strptime/timegm: those depend on the locale and the TZ
 * environment, and timegm is not in C11.  The ETag format and the
 * if_modified_since modes are nginx's; the precondition order and the
 * handling of invalid fields follow RFC 9110 (see cond_evaluate). */
#include "http/cond.h"

#include "core/fmt.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum {
    COND_DATE_LEN = 29,        /* strlen("Sun, 06 Nov 1994 08:49:37 GMT") */
    COND_EPOCH_YEAR = 1970,    /* earliest year cond_parse_date accepts */
    COND_RFC850_PIVOT = 70,    /* nginx: two-digit years below it are 20xx */
    COND_SECS_PER_DAY = 86400, /* seconds in a day (no leap seconds in time_t) */
};

/* Bounds of what an HTTP-date can spell: 0001-01-01 .. 9999-12-31 23:59:59. */
static const int64_t cond_date_min = -62135596800;
static const int64_t cond_date_max = 253402300799;

static const char *const cond_wkday[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const cond_weekday[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
static const char *const cond_month[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A broken-down UTC time, as the date formats spell it. */
struct cond_tm {
    int64_t year; /* e.g. 1994 */
    int mon;      /* 1..12 */
    int mday;     /* 1..31 */
    int hour;     /* 0..23 */
    int min;      /* 0..59 */
    int sec;      /* 0..59 */
    int wday;     /* 0 = Sunday; only filled when formatting */
};

/* A cursor over a header value. */
struct cond_scan {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
};

/* One entity-tag (RFC 9110 8.8.3). */
struct cond_tag {
    bool weak;         /* had the W/ prefix */
    struct str quoted; /* the opaque-tag including its quotes */
};

size_t cond_etag(time_t mtime, off_t size, char *buf, size_t cap)
{
    /* nginx prints both with %xT/%xO, i.e. as unsigned hex: a negative
     * mtime comes out in two's complement, so we do the same. */
    char tmp[40], *p = tmp;
    *p++ = '"';
    p = fmt_hex(p, (uint64_t)mtime);
    *p++ = '-';
    p = fmt_hex(p, (uint64_t)size);
    *p++ = '"';
    size_t n = (size_t)(p - tmp);
    if (n >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return 0; /* a truncated ETag would be a wrong validator */
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

/* ---- calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms) ---- */

static int64_t cond_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a civil date. */
static int64_t cond_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = cond_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + doe - 719468;
}

/* The civil date of a day number (days since 1970-01-01). */
static void cond_civil_from_days(int64_t z, struct cond_tm *tm)
{
    z += 719468;
    int64_t era = cond_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->mon <= 2);
}

static bool cond_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int cond_month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && cond_leap(y) ? 29 : days[m - 1];
}

/* ---- formatting ---- */

size_t cond_http_date(time_t t, char *buf, size_t cap)
{
    struct cond_tm tm;
    int64_t s = (int64_t)t;
    if (cap < COND_DATE_LEN + 1) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    /* Out-of-range times are clamped: the format has a 4-digit year. */
    s = s < cond_date_min ? cond_date_min : s > cond_date_max ? cond_date_max : s;
    int64_t days = cond_floor_div(s, COND_SECS_PER_DAY);
    int64_t secs = s - days * COND_SECS_PER_DAY;
    cond_civil_from_days(days, &tm);
    tm.wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    char *p = fmt_mem(buf, cond_wkday[tm.wday], 3);
    p = fmt_lit(p, ", ");
    p = fmt_digits(p, (unsigned)tm.mday, 2);
    *p++ = ' ';
    p = fmt_mem(p, cond_month[tm.mon - 1], 3);
    *p++ = ' ';
    p = fmt_digits(p, (unsigned)tm.year, 4);
    *p++ = ' ';
    p = fmt_digits(p, (unsigned)(secs / 3600), 2);
    *p++ = ':';
    p = fmt_digits(p, (unsigned)(secs / 60 % 60), 2);
    *p++ = ':';
    p = fmt_digits(p, (unsigned)(secs % 60), 2);
    p = fmt_lit(p, " GMT");
    *p = '\0';
    return COND_DATE_LEN;
}

/* ---- parsing ---- */

static bool cond_lit(struct cond_scan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* Exactly `digits` decimal digits. */
static bool cond_digits(struct cond_scan *s, int digits, int *out)
{
    int v = 0;
    if (s->end - s->p < digits)
        return false;
    for (int i = 0; i < digits; i++) {
        if (s->p[i] < '0' || s->p[i] > '9')
            return false;
        v = v * 10 + (s->p[i] - '0');
    }
    s->p += digits;
    *out = v;
    return true;
}

/* One of `names` (case-sensitive, as RFC 9110 5.6.7 spells them); returns
 * its index or -1. */
static int cond_name(struct cond_scan *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (cond_lit(s, names[i]))
            return i;
    return -1;
}

/* time-of-day = hour ":" minute ":" second */
static bool cond_time_of_day(struct cond_scan *s, struct cond_tm *tm)
{
    return cond_digits(s, 2, &tm->hour) && cond_lit(s, ":") && cond_digits(s, 2, &tm->min) &&
           cond_lit(s, ":") && cond_digits(s, 2, &tm->sec);
}

static bool cond_month_name(struct cond_scan *s, struct cond_tm *tm)
{
    tm->mon = cond_name(s, cond_month, 12) + 1;
    return tm->mon > 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool cond_imf_fixdate(struct cond_scan *s, struct cond_tm *tm)
{
    int year;
    if (cond_name(s, cond_wkday, 7) < 0 || !cond_lit(s, ", ") || !cond_digits(s, 2, &tm->mday) ||
        !cond_lit(s, " ") || !cond_month_name(s, tm) || !cond_lit(s, " ") ||
        !cond_digits(s, 4, &year) || !cond_lit(s, " ") || !cond_time_of_day(s, tm))
        return false;
    tm->year = year;
    return cond_lit(s, " GMT");
}

/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
static bool cond_rfc850_date(struct cond_scan *s, struct cond_tm *tm)
{
    int yy;
    if (cond_name(s, cond_weekday, 7) < 0 || !cond_lit(s, ", ") || !cond_digits(s, 2, &tm->mday) ||
        !cond_lit(s, "-") || !cond_month_name(s, tm) || !cond_lit(s, "-") ||
        !cond_digits(s, 2, &yy) || !cond_lit(s, " ") || !cond_time_of_day(s, tm))
        return false;
    /* nginx's fixed pivot rather than RFC 9110's "50 years from now" rule,
     * so the result does not depend on the clock. */
    tm->year = yy + (yy < COND_RFC850_PIVOT ? 2000 : 1900);
    return cond_lit(s, " GMT");
}

/* asctime-date: "Sun Nov  6 08:49:37 1994"; the day is 2DIGIT or SP DIGIT. */
static bool cond_asctime_date(struct cond_scan *s, struct cond_tm *tm)
{
    int year;
    if (cond_name(s, cond_wkday, 7) < 0 || !cond_lit(s, " ") || !cond_month_name(s, tm) ||
        !cond_lit(s, " "))
        return false;
    if (!cond_digits(s, 2, &tm->mday) && !(cond_lit(s, " ") && cond_digits(s, 1, &tm->mday)))
        return false;
    if (!cond_lit(s, " ") || !cond_time_of_day(s, tm) || !cond_lit(s, " ") ||
        !cond_digits(s, 4, &year))
        return false;
    tm->year = year;
    return true;
}

/* Seconds since the epoch, or -1 when a field is out of range.  Years
 * before 1970 are refused: -1 is the error value and no file is older. */
static time_t cond_tm_to_time(const struct cond_tm *tm)
{
    /* nginx also refuses second 60, although RFC 9110 allows it. */
    if (tm->year < COND_EPOCH_YEAR || tm->mday < 1 ||
        tm->mday > cond_month_days(tm->year, tm->mon) || tm->hour > 23 || tm->min > 59 ||
        tm->sec > 59)
        return -1;
    int64_t t = cond_days_from_civil(tm->year, tm->mon, tm->mday) * COND_SECS_PER_DAY +
                tm->hour * 3600 + tm->min * 60 + tm->sec;
    if ((int64_t)(time_t)t != t)
        return -1; /* a 32-bit time_t cannot hold it */
    return (time_t)t;
}

typedef bool (*cond_date_cb)(struct cond_scan *s, struct cond_tm *tm);

time_t cond_parse_date(struct str v)
{
    static const cond_date_cb formats[] = {cond_imf_fixdate, cond_rfc850_date, cond_asctime_date};
    v = str_trim(v);
    if (v.len == 0)
        return -1; /* also keeps NULL + 0 (undefined) out of the cursor */
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct cond_scan s = {v.p, v.p + v.len};
        struct cond_tm tm = {0};
        /* Unlike nginx, trailing bytes make the date invalid. */
        if (formats[i](&s, &tm) && s.p == s.end)
            return cond_tm_to_time(&tm);
    }
    return -1;
}

/* ---- entity-tags ---- */

/* etagc = %x21 / %x23-7E / obs-text */
static bool cond_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE */
static bool cond_scan_tag(struct cond_scan *s, struct cond_tag *t)
{
    const char *q;
    t->weak = cond_lit(s, "W/");
    if (s->p == s->end || *s->p != '"')
        return false;
    for (q = s->p + 1; q < s->end && *q != '"'; q++)
        if (!cond_etagc((unsigned char)*q))
            return false;
    if (q == s->end)
        return false;
    t->quoted = str_make(s->p, (size_t)(q + 1 - s->p));
    s->p = q + 1;
    return true;
}

/* The representation's own ETag; false when it is off or unusable. */
static bool cond_own_tag(struct str etag, struct cond_tag *t)
{
    struct cond_scan s;
    if (etag.len == 0)
        return false;
    s = (struct cond_scan){etag.p, etag.p + etag.len};
    return cond_scan_tag(&s, t) && s.p == s.end;
}

/* RFC 9110 8.8.3.2: strong comparison needs both tags strong. */
static bool cond_tag_eq(const struct cond_tag *a, const struct cond_tag *b, bool weak_ok)
{
    if (!weak_ok && (a->weak || b->weak))
        return false;
    return a->quoted.len == b->quoted.len && memcmp(a->quoted.p, b->quoted.p, a->quoted.len) == 0;
}

static void cond_skip_list_ws(struct cond_scan *s, bool commas)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || (commas && *s->p == ',')))
        s->p++;
}

/* Whether the #entity-tag list names `own`.  Empty list elements are
 * allowed (RFC 9110 5.6.1); a malformed element ends the search, since
 * guessing what it meant could turn a miss into a match. */
static bool cond_list_has(struct str list, const struct cond_tag *own, bool weak_ok)
{
    struct cond_scan s = {list.p, list.p + list.len};
    for (;;) {
        struct cond_tag t;
        cond_skip_list_ws(&s, true);
        if (s.p == s.end || !cond_scan_tag(&s, &t))
            return false;
        if (own != NULL && cond_tag_eq(&t, own, weak_ok))
            return true;
        cond_skip_list_ws(&s, false);
        if (s.p != s.end && *s.p != ',')
            return false;
    }
}

/* If-Match and If-None-Match: "*" or a list; own is NULL when ETags are off. */
static bool cond_tags_match(struct str field, const struct cond_tag *own, bool weak_ok)
{
    if (str_eq(field, "*"))
        return true; /* the file exists, so "*" always matches */
    return cond_list_has(field, own, weak_ok);
}

/* ---- preconditions ---- */

/* If-Unmodified-Since fails when the file changed after the date.  An
 * invalid date is ignored (RFC 9110 13.1.4); nginx answers 412 instead. */
static bool cond_unmodified_fails(struct str field, time_t mtime)
{
    time_t date = cond_parse_date(field);
    return date != -1 && mtime > date;
}

/* If-Modified-Since says "not modified" under nginx's modes. */
static bool cond_not_modified(struct str field, time_t mtime, enum cond_ims ims)
{
    if (ims == COND_IMS_OFF || field.len == 0)
        return false;
    time_t date = cond_parse_date(field);
    if (date == -1)
        return false; /* invalid dates are ignored (RFC 9110 13.1.3) */
    return ims == COND_IMS_EXACT ? mtime == date : mtime <= date;
}

int cond_evaluate(const struct cond_req *c, time_t mtime, struct str etag, enum cond_ims ims)
{
    struct cond_tag own;
    const struct cond_tag *tag = cond_own_tag(etag, &own) ? &own : NULL;
    struct str im = str_trim(c->if_match), inm = str_trim(c->if_none_match);

    /* RFC 9110 13.2.2 steps 1-2: If-Unmodified-Since only without If-Match. */
    if (im.len > 0) {
        if (!cond_tags_match(im, tag, false))
            return 412;
    } else if (cond_unmodified_fails(c->if_unmodified_since, mtime)) {
        return 412;
    }
    /* Steps 3-4: If-None-Match, when present, replaces If-Modified-Since. */
    if (inm.len > 0) {
        if (!cond_tags_match(inm, tag, true))
            return 0;
        return c->get_or_head ? 304 : 412;
    }
    if (c->get_or_head && cond_not_modified(c->if_modified_since, mtime, ims))
        return 304;
    return 0;
}

bool cond_if_range(const struct cond_req *c, time_t mtime, struct str etag)
{
    struct str v = str_trim(c->if_range);
    struct cond_tag own, t;

    if (v.len == 0)
        return true;
    /* RFC 9110 13.1.5: a DQUOTE (or W/) start means an entity-tag, and
     * If-Range needs a strong match, so a weak one never matches. */
    if (v.p[0] == '"' || (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/')) {
        struct cond_scan s = {v.p, v.p + v.len};
        return cond_own_tag(etag, &own) && cond_scan_tag(&s, &t) && s.p == s.end &&
               cond_tag_eq(&t, &own, false);
    }
    time_t date = cond_parse_date(v);
    return date != -1 && date == mtime;
}

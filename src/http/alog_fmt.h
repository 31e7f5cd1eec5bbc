/* alog_fmt.h - compiled log_format strings and how their variables are
 * escaped: nginx's ngx_http_log_module formats, rendered one line at a time.
 *
 * The code lives in alog.c's "formats" section; this header exposes it to
 * the unit tests without widening alog.h, the access log's interface. */
#ifndef TP_ALOG_FMT_H
#define TP_ALOG_FMT_H

#include <stddef.h>

#include "conf/conf_parse.h"
#include "core/mpool.h"
#include "core/str.h"
#include "http/vars.h"

struct req;

/* log_format's escape= */
enum alog_escape {
    ALOG_ESC_DEFAULT, /* `"`, `\`, bytes < 32 or > 126 as \xXX; no value is "-" */
    ALOG_ESC_JSON,    /* JSON string escapes; no value is "" */
    ALOG_ESC_NONE,    /* raw; no value is "" */
};

/* A compiled log_format. */
struct alog_fmt {
    const char *name;        /* format name */
    enum alog_escape escape; /* how variable values are escaped */
    struct cval_part *parts; /* literal runs and variables of all strings, in order */
    size_t nparts;           /* how many */
    struct alog_fmt *next;   /* next definition (http_conf's list) */
};

/* The text of nginx's predefined format. */
#define ALOG_COMBINED                                                                              \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "             \
    "\"$http_referer\" \"$http_user_agent\""

/* "default", "json" or "none"; -1 for anything else. */
int alog_fmt_escape_parse(const char *s, enum alog_escape *out);

/* Compiles the strings args[0..n) (concatenated) into f's parts.  On an
 * unknown or malformed variable writes the reason to err and returns -1. */
int alog_fmt_compile(struct mpool *p, struct alog_fmt *f, const struct conf_arg *args, size_t n,
                     char *err, size_t errlen);

/* Length of v once escaped by e ("-" or "" for an empty value). */
size_t alog_fmt_escaped_len(enum alog_escape e, struct str v);
/* Writes v escaped by e at dst; returns the byte after it. */
char *alog_fmt_escape(enum alog_escape e, struct str v, char *dst);

/* Evaluates every variable of f once for r into vals (nparts entries from
 * r's arena) and returns the line's length, newline included; (size_t)-1 when
 * the arena is exhausted. */
size_t alog_fmt_eval(const struct alog_fmt *f, struct req *r, struct str **vals);
/* Writes the line measured by alog_fmt_eval at dst. */
void alog_fmt_write(const struct alog_fmt *f, const struct str *vals, char *dst);

#endif

/* stream_vars.h - the stream context's variables ($remote_addr,
 * $bytes_sent, $upstream_addr, $ssl_*, $proxy_protocol_*, ...) and
 * strings compiled from them (log_format, the hash key).
 *
 * A session has no request, so its variables are not http's: each one
 * reads the session (stream_sess.h) and writes its value into a small
 * buffer the caller gives, or points at the session's own bytes. */
#ifndef TP_STREAM_STREAM_VARS_H
#define TP_STREAM_STREAM_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/mpool.h"
#include "core/str.h"

struct stream_sess;

#define SVAR_BUF 1024 /* the largest value a variable writes itself */

/* One variable: its value for a session into out, using buf (SVAR_BUF
 * bytes) when it has to write it; arg is a prefix variable's suffix. */
struct svar {
    const char *name; /* name, or prefix when prefix is true */
    bool prefix;      /* $proxy_protocol_tlv_NAME */
    void (*get)(const struct stream_sess *s, struct str arg, char *buf, struct str *out);
};

/* A literal run or one variable. */
struct svar_part {
    struct str lit;         /* literal bytes, when var is NULL */
    const struct svar *var; /* the variable, or NULL */
    struct str arg;         /* a prefix variable's suffix */
};

/* A compiled string. */
struct svar_fmt {
    struct svar_part *parts; /* in order */
    size_t nparts;           /* how many */
};

/* Compiles text (nginx's $name and ${name}); on an unknown variable
 * writes nginx's `unknown "x" variable` to err and returns -1. */
int svar_compile(struct mpool *p, const char *text, struct svar_fmt *out, char *err, size_t errlen);

/* Appends the parts of b to a (log_format's strings, one after another). */
int svar_append(struct mpool *p, struct svar_fmt *a, const struct svar_fmt *b);

/* The value of one part for s (buf: SVAR_BUF bytes of scratch). */
struct str svar_part_value(const struct svar_part *part, const struct stream_sess *s, char *buf);

/* The whole string for s into dst (at most cap bytes; the rest is cut). */
size_t svar_eval(const struct svar_fmt *f, const struct stream_sess *s, char *dst, size_t cap);

#endif

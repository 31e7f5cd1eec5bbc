/* uri.h - request-target parsing and path normalization. */
#ifndef TP_URI_H
#define TP_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/mpool.h"
#include "core/str.h"

/* What a request-target holds. */
struct uri_parts {
    struct str host; /* from absolute-form, else empty */
    struct str path; /* raw path, starting with "/" */
    struct str args; /* raw query string, without "?" */
};

/* Splits origin-form ("/p?q") or absolute-form ("http://h:1/p?q").
 * Returns -1 for anything else (the caller answers 400). */
int uri_split(struct str target, struct uri_parts *out);

/* Percent-decodes the path, merges "//" (unless merge is false:
 * merge_slashes off), resolves "." and "..".  Returns -1 for an encoded
 * NUL, a bad escape, or a path climbing above "/". */
int uri_normalize(struct mpool *p, struct str raw, bool merge, struct str *out);

/* Lower-cases a host, strips a port and a trailing dot.  Returns -1 for a
 * host with characters no host name or address has. */
int uri_host(struct mpool *p, struct str raw, struct str *out);

/* Percent-encodes a decoded path for a Location header as nginx does
 * (NGX_ESCAPE_URI: space, '%', '?', '#', controls, non-ASCII, '"<>\\^`{|}').
 * Writes to out (NULL: only measures) and returns the length. */
size_t uri_escape(struct str in, char *out);

#endif

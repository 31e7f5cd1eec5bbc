/* cond.h - validators and conditional requests (RFC 9110 section 13), with
 * nginx's ETag format and its if_modified_since modes. */
#ifndef TP_COND_H
#define TP_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/types.h>

#include "core/str.h"

/* if_modified_since */
enum cond_ims {
    COND_IMS_OFF,    /* ignore If-Modified-Since */
    COND_IMS_EXACT,  /* 304 only if the dates are equal (nginx's default) */
    COND_IMS_BEFORE, /* 304 if the file is not newer */
};

/* The request headers that matter; an empty str means absent. */
struct cond_req {
    struct str if_match;
    struct str if_none_match;
    struct str if_modified_since;
    struct str if_unmodified_since;
    struct str if_range;
    bool get_or_head; /* GET or HEAD (If-None-Match gives 304 only then) */
};

/* nginx's strong ETag: "<mtime hex>-<size hex>" with the quotes; returns
 * the length written (cap >= 48 is always enough). */
size_t cond_etag(time_t mtime, off_t size, char *buf, size_t cap);

/* "Sun, 06 Nov 1994 08:49:37 GMT" into buf (cap >= 30); returns length. */
size_t cond_http_date(time_t t, char *buf, size_t cap);
/* Parses the three HTTP date formats; -1 if invalid. */
time_t cond_parse_date(struct str s);

/* RFC 9110 13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since.  Returns 0 to serve normally, 304 or 412.  etag is the
 * representation's ETag with quotes (empty if etag is off). */
int cond_evaluate(const struct cond_req *c, time_t mtime, struct str etag, enum cond_ims ims);

/* If-Range: true when a Range may be honoured (absent, or it matches the
 * ETag strongly or equals the Last-Modified date). */
bool cond_if_range(const struct cond_req *c, time_t mtime, struct str etag);

#endif

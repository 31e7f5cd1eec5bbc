/* range.h - byte ranges (RFC 9110 section 14) with nginx's rules. */
#ifndef TP_RANGE_H
#define TP_RANGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/mpool.h"
#include "core/out.h"
#include "core/str.h"

/* One satisfiable range, inclusive. */
struct range {
    int64_t start; /* first byte */
    int64_t end;   /* last byte */
};

enum range_result {
    RANGE_IGNORE,          /* no usable Range: send the whole thing (200) */
    RANGE_OK,              /* *n ranges to send (206) */
    RANGE_NOT_SATISFIABLE, /* 416 with Content-Range: bytes ... /size */
};

/* Parses a Range header value against a representation of `size` bytes.
 * nginx's rules: a unit other than "bytes" is ignored; malformed specs and
 * ranges all beyond the end give 416; more than max_ranges ranges (max_ranges
 * < 0 means no limit, 0 disables ranges) or ranges adding up to more than
 * the size (overlaps) are ignored.  Fills at most cap ranges. */
enum range_result range_parse(struct str header, int64_t size, long max_ranges, struct range *out,
                              size_t cap, size_t *n);

/* Builds a multipart/byteranges body for ranges of a file: every part's
 * head is a memory segment, its data an OUT_FILE segment of f.  Writes the
 * Content-Type value ("multipart/byteranges; boundary=...") to *ctype.
 * Returns -1 when out of memory. */
int range_multipart(struct mpool *p, const struct range *r, size_t n, int64_t size,
                    struct str content_type, struct ofile *f, struct out *body, struct str *ctype);

/* "bytes 0-99/1000" (or "bytes * /1000" for 416, without the space) into
 * the arena. */
struct str range_content_range(struct mpool *p, const struct range *r, int64_t size);

#endif

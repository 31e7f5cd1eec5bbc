/* gzip.h - the gzip module: gzip and gzip_static, nginx's meaning. */
#ifndef TP_HANDLER_GZIP_H
#define TP_HANDLER_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/module.h"
#include "core/str.h"

extern struct module mod_gzip;

/* The module's part of a level. */
struct gzip_loc {
    int gzip;          /* flag */
    int gzip_static;   /* flag */
    int vary;          /* gzip_vary: flag */
    long comp_level;   /* 1..9 */
    long min_length;   /* bytes */
    struct str *types; /* gzip_types (text/html is implied) */
    size_t ntypes;     /* how many; 0 = inherit */
    bool types_any;    /* gzip_types * */
};

struct req;

/* r's location's part. */
const struct gzip_loc *gzip_loc_of(const struct req *r);

/* The client accepts gzip (Accept-Encoding lists gzip with q > 0). */
bool gzip_accepts(const struct req *r);

/* nginx's ngx_http_gzip_ok plus the gzip filter's checks: gzip on, HTTP/1.1
 * or later, status 200/403/404, type in gzip_types (text/html always), no
 * Content-Encoding yet, body at least gzip_min_length, client accepts gzip.
 * Also records that "Vary: Accept-Encoding" is due (gzip_vary) when the
 * response could be compressed for some client. */
bool gzip_wanted(struct req *r);

/* Compresses r->out (memory and file segments) into a new in-memory body:
 * on the loop when small, in the thread pool when large.  Sets
 * Content-Encoding, Vary and a weak ETag, then calls next(r).  A HEAD
 * response gets those headers and no length, and is sent here.  Returns -1
 * if it could not start (then next is not called). */
int gzip_response(struct req *r, void (*next)(struct req *r));

/* A 304 for a representation of `len` bytes that gzip would compress for
 * some client: the Vary its 200 would carry (gzip_vary). */
void gzip_vary_304(struct req *r, uint64_t len);

/* Adds "Vary: Accept-Encoding" if gzip_vary is on (gzip_static uses it). */
void gzip_add_vary(struct req *r);

#endif

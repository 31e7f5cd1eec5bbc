/* gzip.h - the gzip module: gzip and gzip_static, nginx's meaning. */
#ifndef TP_HANDLER_GZIP_H
#define TP_HANDLER_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/module.h"
#include "core/str.h"

extern struct module mod_gzip;

/* gzip_proxied's words, as bits. */
enum gzip_proxied {
    GZP_OFF = 1 << 0,      /* never for a request with Via */
    GZP_EXPIRED = 1 << 1,  /* when Expires is in the past */
    GZP_NO_CACHE = 1 << 2, /* when Cache-Control has no-cache */
    GZP_NO_STORE = 1 << 3, /* ... no-store */
    GZP_PRIVATE = 1 << 4,  /* ... private */
    GZP_NO_LM = 1 << 5,    /* when there is no Last-Modified */
    GZP_NO_ETAG = 1 << 6,  /* when there is no ETag */
    GZP_AUTH = 1 << 7,     /* when the request has Authorization */
    GZP_ANY = 1 << 8,      /* always */
};

/* The module's part of a level. */
struct gzip_loc {
    int gzip;                           /* flag */
    int gzip_static;                    /* flag */
    int vary;                           /* gzip_vary: flag */
    long comp_level;                    /* 1..9 */
    long min_length;                    /* bytes */
    struct str *types;                  /* gzip_types (text/html is implied) */
    size_t ntypes;                      /* how many; 0 = inherit */
    bool types_any;                     /* gzip_types * */
    long http_version;                  /* gzip_http_version: 10 or 11 */
    long proxied;                       /* gzip_proxied: enum gzip_proxied bits; -1 until set */
    struct pcre2_real_code_8 **disable; /* gzip_disable regexes (caseless) */
    size_t ndisable;                    /* how many; 0 = inherit */
    bool disable_msie6;                 /* gzip_disable msie6 */
    bool disable_set;                   /* gzip_disable given at this level */
    long buffers;                       /* gzip_buffers number: checked, unused */
    long buffer_size;                   /* ... size: checked, unused */
};

struct pcre2_real_code_8;
struct req;

/* r's location's part. */
const struct gzip_loc *gzip_loc_of(const struct req *r);

/* The client accepts gzip (Accept-Encoding lists gzip with q > 0). */
bool gzip_accepts(const struct req *r);

/* nginx's ngx_http_gzip_ok, shared by gzip and gzip_static: the client
 * accepts gzip, is not MSIE 4-6 under "gzip_disable msie6" nor matched by
 * a gzip_disable regex, speaks at least gzip_http_version, and if the
 * request came through a proxy (Via), gzip_proxied allows it. */
bool gzip_ok(const struct req *r);

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

/* $gzip_ratio: the compression ratio of r's response ("3.12"), or empty
 * when it was not compressed. */
struct str gzip_ratio(struct req *r);

/* Adds "Vary: Accept-Encoding" if gzip_vary is on (gzip_static uses it). */
void gzip_add_vary(struct req *r);

#endif

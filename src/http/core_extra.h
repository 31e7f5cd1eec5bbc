/* core_extra.h - the http core directives nginx drop-in configurations
 * carry beyond the first set (conf_http.c): logging of missing files,
 * redirects, error pages, the open file cache, sending and timeouts.
 * nginx has them in its core module; here they are a module of their own
 * with its part of every level, read through http_extra(). */
#ifndef TP_HTTP_CORE_EXTRA_H
#define TP_HTTP_CORE_EXTRA_H

#include "conf/module.h"
#include "http/core_conf.h"

extern struct module mod_http_extra;

/* The module's part of a level. */
struct http_extra {
    int log_not_found;             /* log_not_found: flag */
    int server_name_in_redirect;   /* server_name_in_redirect: flag */
    int merge_slashes;             /* merge_slashes: flag (http, server) */
    int recursive_error_pages;     /* recursive_error_pages: flag */
    int open_file_cache_errors;    /* open_file_cache_errors: flag */
    long open_file_cache_min_uses; /* open_file_cache_min_uses: uses before caching */
    long sendfile_max_chunk;       /* sendfile_max_chunk: bytes per call; 0 = no limit */
    int reset_timedout_connection; /* reset_timedout_connection: flag */
};

static inline const struct http_extra *http_extra(const struct loc_conf *loc)
{
    return loc_part(loc, &mod_http_extra);
}

#endif

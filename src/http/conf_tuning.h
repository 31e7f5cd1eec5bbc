/* conf_tuning.h - the directives that size nginx's own tables and pools
 * (types_hash_*, server_names_hash_*, variables_hash_*, map_hash_*,
 * connection_pool_size, request_pool_size).
 *
 * turnpike sizes its tables itself, so these values change nothing; they
 * are accepted so that stock configurations pass, and checked the way
 * nginx checks them, including the hash builds that nginx refuses (a key
 * too long for its bucket, a zero max_size). */
#ifndef TP_HTTP_CONF_TUNING_H
#define TP_HTTP_CONF_TUNING_H

#include <stddef.h>

#include "conf/module.h"

struct loc_conf;

extern struct module mod_http_tuning;

/* The module's part of a level, as nginx would have it. */
struct tuning_loc {
    long types_hash_max_size;           /* types_hash_max_size */
    long types_hash_bucket_size;        /* types_hash_bucket_size */
    long server_names_hash_max_size;    /* server_names_hash_max_size (http only) */
    long server_names_hash_bucket_size; /* server_names_hash_bucket_size (http only) */
    long variables_hash_max_size;       /* variables_hash_max_size (http only) */
    long variables_hash_bucket_size;    /* variables_hash_bucket_size (http only) */
    long map_hash_max_size;             /* map_hash_max_size (http only) */
    long map_hash_bucket_size;          /* map_hash_bucket_size (http only) */
    long connection_pool_size;          /* connection_pool_size (http, server) */
    long request_pool_size;             /* request_pool_size (http, server) */
};

/* Whether nginx could build hash `name` ("map_hash") of nkeys keys, the
 * longest longest bytes, with these settings; if not, nginx's [emerg]
 * message goes to err and -1 is returned. */
int tuning_hash_check(const char *name, long max_size, long bucket_size, size_t nkeys,
                      size_t longest, char *err, size_t errlen);

/* The http level's settings (map and variables read them). */
const struct tuning_loc *tuning_of(const struct loc_conf *loc);

#endif

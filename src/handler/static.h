/* static.h - the static module: serving files (root/alias mapping,
 * try_files, conditional and range requests) and the index module. */
#ifndef TP_HANDLER_STATIC_H
#define TP_HANDLER_STATIC_H

#include <stddef.h>

#include "conf/module.h"
#include "core/str.h"

struct cval;
struct loc_conf;
struct req;

extern struct module mod_static;
extern struct module mod_index;

/* The index module's part of a level. */
struct index_loc {
    struct cval *names; /* index file names, variables allowed; the last may be absolute */
    size_t n;           /* how many; 0 = inherit */
};

/* Serves r->path from the location's root or alias. */
void static_handle(struct req *r);

/* The type of a file named `name` by its extension (types), else
 * default_type; `return` uses it for its body too, as nginx does. */
struct str static_mime_type(const struct loc_conf *loc, struct str name);

/* try_files: the first candidate that exists is served under its own URI;
 * otherwise the last parameter's URI or =code. */
void static_try_files(struct req *r);

/* The file a URI maps to under r's location: root (or alias) then the
 * URI; nginx's ngx_http_map_uri_to_path ($request_filename).  -1 when out
 * of memory. */
int static_map_path(struct req *r, struct str uri, struct str *out);

/* The status for a failed open: 404 for a missing path, 403 for a refused
 * one (permissions, a symlink under disable_symlinks), else 500. */
int static_errno_status(int err);

#endif

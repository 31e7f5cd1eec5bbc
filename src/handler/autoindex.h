/* autoindex.h - the autoindex module: directory listings, html or json. */
#ifndef TP_HANDLER_AUTOINDEX_H
#define TP_HANDLER_AUTOINDEX_H

#include <stdbool.h>

#include "conf/module.h"
#include "core/str.h"

struct req;

extern struct module mod_autoindex;

/* The module's part of a level. */
struct autoindex_loc {
    int on;         /* autoindex: flag */
    long format;    /* autoindex_format: AUTOINDEX_HTML or AUTOINDEX_JSON */
    int exact_size; /* autoindex_exact_size: flag */
    int localtime;  /* autoindex_localtime: flag */
};

enum { AUTOINDEX_HTML, AUTOINDEX_JSON };

/* `autoindex on` applies to r's location. */
bool autoindex_enabled(const struct req *r);

/* Lists the directory `dir` (a path ending in "/") in the thread pool and
 * answers with nginx's HTML or JSON listing. */
void autoindex_handle(struct req *r, struct str dir);

#endif

/* autoindex.h - directory listings (autoindex on), html or json. */
#ifndef TP_AUTOINDEX_H
#define TP_AUTOINDEX_H

#include "core/str.h"

struct req;

/* Lists the directory `dir` (a path ending in "/") in the thread pool and
 * answers with nginx's HTML or JSON listing. */
void autoindex_handle(struct req *r, struct str dir);

#endif

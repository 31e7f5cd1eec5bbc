/* file_open.h - opening files for a request without blocking the loop:
 * from the open file cache, inline when the kernel can answer from its
 * caches, else in the thread pool. */
#ifndef TP_HTTP_FILE_OPEN_H
#define TP_HTTP_FILE_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ofile.h"
#include "core/str.h"

struct req;

typedef void (*file_open_cb)(struct req *r, const struct ofile_result *res);

/* Opens `path` for r.  The callback runs on the loop thread, exactly once,
 * and only while r is current; it owns one reference to res->file.
 * Returns -1 if the job could not even be queued. */
int file_open(struct req *r, struct str path, bool nofollow, file_open_cb cb);

/* found: index of the first path that exists, or -1; err: nonzero when
 * that path could not be checked (EACCES, ...), which ends the search. */
typedef void (*file_stat_cb)(struct req *r, int found, bool is_dir, int err);

/* Finds, in the pool, the first of several paths that exists (a trailing
 * "/" wants a directory), for index and try_files. */
int file_stat(struct req *r, struct str *paths, size_t n, bool nofollow, file_stat_cb cb);

/* The open file cache, as r's location uses it. */
void file_policy(const struct req *r, struct ofile_policy *pol);

#endif

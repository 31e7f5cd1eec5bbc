/* ofile.h - open files: opened and stat'ed in the thread pool, shared by
 * reference, and kept by a per-worker cache (open_file_cache) so hot files
 * skip the pool entirely. */
#ifndef TP_OFILE_H
#define TP_OFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/str.h"

struct worker;
struct req;

/* An open file; closed when the last reference goes. */
struct ofile {
    int fd;         /* descriptor (O_RDONLY|O_NONBLOCK) */
    struct stat st; /* fstat at open */
    unsigned refs;  /* requests using it, plus 1 while cached */
    /* cache bookkeeping (owned by ofile.c) */
    char *path;          /* the path it was opened as (cached entries) */
    uint32_t hash;       /* hash of path */
    struct ofile *hnext; /* hash chain */
    struct ofile *lprev; /* LRU list, most recent first */
    struct ofile *lnext;
    double last_use;    /* ev_now of the last lookup */
    double valid_until; /* re-stat after this */
    double inactive;    /* seconds unused before eviction */
    bool cached;        /* in the cache */
};

/* Result of an open. */
struct ofile_result {
    struct ofile *file; /* the file, or NULL */
    int err;            /* errno when file is NULL (ENOENT, EACCES, ELOOP, ...) */
    bool is_dir;        /* the path is a directory (file is NULL) */
};

typedef void (*ofile_cb)(struct req *r, const struct ofile_result *res);

/* Opens `path` for request r: from the worker's cache when fresh, else in
 * the thread pool.  nofollow refuses symlinks in every component
 * (disable_symlinks on).  The callback runs on the loop thread, exactly
 * once, and only if r's connection is still open; it owns one reference to
 * res->file.  Returns -1 if the job could not even be queued. */
int ofile_open(struct req *r, struct str path, bool nofollow, ofile_cb cb);

/* found: index of the first path that exists, or -1; err: nonzero when
 * that path could not be checked (EACCES, ...), which ends the search. */
typedef void (*ofile_stat_cb)(struct req *r, int found, bool is_dir, int err);

/* Finds, in the pool, the first of several paths that exists (a trailing
 * "/" wants a directory), for index and try_files. */
int ofile_stat(struct req *r, struct str *paths, size_t n, bool nofollow, ofile_stat_cb cb);

void ofile_put(struct ofile *f);

/* The worker's cache: sized by the largest open_file_cache max= of the
 * configuration; 0 disables it. */
void ofile_cache_init(struct worker *w, long max);
void ofile_cache_destroy(void);

#endif

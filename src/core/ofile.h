/* ofile.h - open files: shared by reference, and kept by a per-worker cache
 * (open_file_cache) so hot files skip the pool entirely.  Who opens them
 * where (the loop or the pool) is the caller's business: http/file_open. */
#ifndef TP_OFILE_H
#define TP_OFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/str.h"

/* An open file; closed when the last reference goes.  A cache entry may
 * also hold no file: a failed open remembered (open_file_cache_errors),
 * or a path counting its uses until open_file_cache_min_uses. */
struct ofile {
    int fd;         /* descriptor (O_RDONLY|O_NONBLOCK), or -1 for an entry without a file */
    int err;        /* without a file: the open's errno, or 0 while counting uses */
    unsigned uses;  /* opens of the path while cached (counts up to min_uses) */
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

/* What an open on a thread that may block produced, before it becomes an
 * ofile on the loop thread. */
struct ofile_raw {
    int fd;         /* descriptor, or -1 */
    int err;        /* errno when fd is -1 */
    struct stat st; /* fstat when fd is open */
};

/* How a location uses the cache (open_file_cache). */
struct ofile_policy {
    bool cache;        /* keep files opened for this location */
    bool errors;       /* remember failed opens too (open_file_cache_errors) */
    unsigned min_uses; /* opens within `inactive` before a file is kept */
    double valid;      /* seconds before an entry is checked again */
    double inactive;   /* seconds unused before it is dropped */
};

/* Opens and fstats path (O_RDONLY|O_NONBLOCK); may block, so pool threads
 * call it.  nofollow refuses a symlink in any component (disable_symlinks
 * on).  -1 with out->err on failure. */
int ofile_open_sync(const char *path, bool nofollow, struct ofile_raw *out);

/* Loop thread: makes the ofile (one reference) or the directory or error
 * result.  -1 only when out of memory (res->err is ENOMEM). */
int ofile_from_raw(struct ofile_raw *raw, struct ofile_result *res);

/* Loop thread: opens path only if the kernel can answer from its caches
 * (openat2 RESOLVE_CACHED), so the loop never waits on a disk.  0 when it
 * answered (res filled, success or error); -1 when the pool must open. */
int ofile_open_cached(const char *path, bool nofollow, struct ofile_result *res);

/* 1 if path exists as wanted (a trailing "/" wants a directory), 0 if not,
 * -1 with errno for an error that must not be skipped over (EACCES).  May
 * block. */
int ofile_exists(const char *path, bool nofollow, bool *is_dir);

/* Stats path without opening it for reading (the rewrite module's -f,
 * -d, -e, -x).  With cached_only it answers only from the kernel's caches
 * and fails with EAGAIN when the disk would be needed, so the loop can
 * call it; without, it may block.  -1 with errno on failure. */
int ofile_stat(const char *path, bool nofollow, bool cached_only, struct stat *st);

void ofile_put(struct ofile *f);

/* The worker's cache, loop thread only: sized by the largest
 * open_file_cache max= of the configuration; 0 disables it. */
void ofile_cache_init(long max);
void ofile_cache_destroy(void);
/* Answers from the cache when it can: 1 with res filled (a file with a new
 * reference, or a remembered error), 0 when the path must be opened. */
int ofile_cache_lookup(struct str path, const struct ofile_policy *pol, double now,
                       struct ofile_result *res);
/* Tells the cache what opening path gave: a file is kept (with a new
 * reference) once the path has been opened min_uses times, an error too
 * when the policy remembers errors; a directory never is. */
void ofile_cache_note(struct str path, const struct ofile_result *res,
                      const struct ofile_policy *pol, double now);

/* path with every symlink and "." or ".." resolved (realpath(3)), into
 * out: the loop's version answers only from the kernel's caches (-1 with
 * EAGAIN when the disk would be read), the pool's may block.  -1 with
 * errno on failure. */
int ofile_realpath_cached(const char *path, char *out, size_t cap);
int ofile_realpath_sync(const char *path, char *out, size_t cap);

#endif

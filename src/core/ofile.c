/* ofile.c - opening files (on whichever thread may block), and the
 * per-worker open file cache (loop thread only). */
#include "core/ofile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The cache of one worker (loop thread only). */
static struct {
    struct ofile **buckets; /* hash table */
    uint32_t mask;          /* buckets - 1 */
    struct ofile *lru_head; /* most recently used */
    struct ofile *lru_tail; /* least recently used */
    long count;             /* entries */
    long max;               /* capacity; 0 = off */
} ofc;

void ofile_put(struct ofile *f)
{
    if (--f->refs > 0)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

/* ---- opening (pool thread) ------------------------------------------- */

/* disable_symlinks on: walk the path one component at a time so that no
 * component, the first included, can be a symlink (nginx's O_PATH walk). */
static int ofile_walk(const char *path, int last_flags)
{
    int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    const char *p = path;
    while (dir >= 0) {
        while (*p == '/')
            p++;
        const char *slash = strchr(p, '/');
        if (slash == NULL || slash[strspn(slash, "/")] == '\0') {
            char last[256];
            size_t len = slash ? (size_t)(slash - p) : strlen(p);
            if (len == 0 || len >= sizeof(last))
                return close(dir), errno = len ? ENAMETOOLONG : ENOENT, -1;
            memcpy(last, p, len);
            last[len] = '\0';
            int fd = openat(dir, last, last_flags | O_NOFOLLOW);
            int saved = errno;
            close(dir);
            errno = saved;
            return fd;
        }
        char comp[256];
        size_t len = (size_t)(slash - p);
        if (len >= sizeof(comp))
            return close(dir), errno = ENAMETOOLONG, -1;
        memcpy(comp, p, len);
        comp[len] = '\0';
        int next = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        int err = next < 0               ? errno
                  : fstat(next, &st) < 0 ? errno
                  : S_ISLNK(st.st_mode)  ? ELOOP
                  : !S_ISDIR(st.st_mode) ? ENOTDIR
                                         : 0;
        close(dir);
        if (err != 0) {
            if (next >= 0)
                close(next);
            errno = err;
            return -1;
        }
        dir = next;
        p = slash;
    }
    return -1;
}

/* openat2 resolves "no symlink anywhere" in the kernel, and with
 * RESOLVE_CACHED fails with EAGAIN instead of touching the disk: the loop
 * can open hot files itself and leave only cold ones to the pool. */
static int ofile_openat2(const char *path, bool nofollow, bool cached_only)
{
    struct open_how how = {
        .flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
        .resolve = (nofollow ? RESOLVE_NO_SYMLINKS : 0) | (cached_only ? RESOLVE_CACHED : 0),
    };
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
}

static int ofile_openat2_path(const char *path)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC};
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    return fd >= 0 || errno != ENOSYS ? fd : open(path, O_PATH | O_CLOEXEC);
}

static int ofile_do_open(const char *path, bool nofollow)
{
    int fd = ofile_openat2(path, nofollow, false);
    if (fd >= 0 || errno != ENOSYS)
        return fd;
    int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
    return nofollow ? ofile_walk(path, flags) : open(path, flags);
}

/* Opens and stats path: the whole open, on a thread that may block. */
int ofile_open_sync(const char *path, bool nofollow, struct ofile_raw *out)
{
    out->fd = ofile_do_open(path, nofollow);
    if (out->fd < 0) {
        out->err = errno;
        return -1;
    }
    if (fstat(out->fd, &out->st) < 0) {
        out->err = errno;
        close(out->fd);
        out->fd = -1;
        return -1;
    }
    return 0;
}

int ofile_from_raw(struct ofile_raw *raw, struct ofile_result *res)
{
    memset(res, 0, sizeof(*res));
    res->err = raw->err;
    if (raw->fd < 0)
        return 0;
    if (S_ISDIR(raw->st.st_mode)) {
        res->is_dir = true;
        close(raw->fd);
        raw->fd = -1;
        return 0;
    }
    if ((res->file = calloc(1, sizeof(*res->file))) == NULL) {
        res->err = ENOMEM;
        return -1;
    }
    res->file->fd = raw->fd;
    res->file->st = raw->st;
    res->file->refs = 1;
    raw->fd = -1; /* the ofile owns it now */
    return 0;
}

/* ---- the cache (loop thread) --------------------------------------- */

static uint32_t ofile_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void ofile_lru_unlink(struct ofile *f)
{
    if (f->lprev)
        f->lprev->lnext = f->lnext;
    else
        ofc.lru_head = f->lnext;
    if (f->lnext)
        f->lnext->lprev = f->lprev;
    else
        ofc.lru_tail = f->lprev;
    f->lprev = f->lnext = NULL;
}

static void ofile_lru_front(struct ofile *f)
{
    f->lnext = ofc.lru_head;
    f->lprev = NULL;
    if (ofc.lru_head)
        ofc.lru_head->lprev = f;
    ofc.lru_head = f;
    if (ofc.lru_tail == NULL)
        ofc.lru_tail = f;
}

static void ofile_evict(struct ofile *f)
{
    struct ofile **pp = &ofc.buckets[f->hash & ofc.mask];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    ofile_lru_unlink(f);
    f->cached = false;
    ofc.count--;
    ofile_put(f);
}

static struct ofile *ofile_cache_find(const char *path, size_t len, uint32_t hash)
{
    for (struct ofile *f = ofc.buckets[hash & ofc.mask]; f != NULL; f = f->hnext)
        if (f->hash == hash && strlen(f->path) == len && memcmp(f->path, path, len) == 0)
            return f;
    return NULL;
}

/* Drops entries unused for longer than their inactive time (oldest first). */
static void ofile_cache_expire(double now)
{
    while (ofc.lru_tail != NULL && now - ofc.lru_tail->last_use > ofc.lru_tail->inactive)
        ofile_evict(ofc.lru_tail);
}

static void ofile_cache_link(struct ofile *f)
{
    f->hash = ofile_hash(f->path, strlen(f->path));
    struct ofile *old = ofile_cache_find(f->path, strlen(f->path), f->hash);
    if (old != NULL)
        ofile_evict(old);
    f->hnext = ofc.buckets[f->hash & ofc.mask];
    ofc.buckets[f->hash & ofc.mask] = f;
}

/* Makes f the cache's entry for its path (f->path set), replacing any. */
static void ofile_cache_add(struct ofile *f, const struct ofile_policy *pol, double now)
{
    f->cached = true;
    f->last_use = now;
    f->valid_until = now + pol->valid;
    f->inactive = pol->inactive;
    f->refs++; /* the cache's own reference */
    ofile_cache_link(f);
    ofile_lru_front(f);
    ofc.count++;
    ofile_cache_expire(now);
    while (ofc.count > ofc.max && ofc.lru_tail != f)
        ofile_evict(ofc.lru_tail);
}

/* An entry without a file: an error (err), or uses counted so far (0). */
static void ofile_cache_add_empty(struct str path, int err, unsigned uses,
                                  const struct ofile_policy *pol, double now)
{
    struct ofile *f = calloc(1, sizeof(*f));
    if (f == NULL || (f->path = strndup(path.p, path.len)) == NULL) {
        free(f);
        return;
    }
    f->fd = -1;
    f->err = err;
    f->uses = uses;
    ofile_cache_add(f, pol, now); /* its one reference is the cache's */
}

void ofile_cache_note(struct str path, const struct ofile_result *res,
                      const struct ofile_policy *pol, double now)
{
    if (ofc.max == 0 || !pol->cache || res->is_dir || (res->file == NULL && !pol->errors))
        return;
    struct ofile *old = ofile_cache_find(path.p, path.len, ofile_hash(path.p, path.len));
    unsigned uses = (old != NULL ? old->uses : 0) + 1;
    if (uses < pol->min_uses) {
        ofile_cache_add_empty(path, 0, uses, pol, now); /* replaces old */
        return;
    }
    if (res->file == NULL) {
        ofile_cache_add_empty(path, res->err, uses, pol, now);
        return;
    }
    if (res->file->cached || (res->file->path = strndup(path.p, path.len)) == NULL)
        return;
    res->file->uses = uses;
    ofile_cache_add(res->file, pol, now);
}

void ofile_cache_init(long max)
{
    uint32_t n = 16;
    ofc.max = max;
    if (max <= 0)
        return;
    while (n < (uint32_t)max * 2 && n < (1u << 24))
        n <<= 1;
    ofc.buckets = calloc(n, sizeof(*ofc.buckets));
    if (ofc.buckets == NULL) {
        ofc.max = 0;
        return;
    }
    ofc.mask = n - 1;
}

void ofile_cache_destroy(void)
{
    while (ofc.lru_tail != NULL)
        ofile_evict(ofc.lru_tail);
    free(ofc.buckets);
    memset(&ofc, 0, sizeof(ofc));
}

/* ---- entry points ---------------------------------------------------- */

int ofile_cache_lookup(struct str path, const struct ofile_policy *pol, double now,
                       struct ofile_result *res)
{
    memset(res, 0, sizeof(*res));
    if (ofc.max == 0 || !pol->cache)
        return 0;
    ofile_cache_expire(now);
    struct ofile *f = ofile_cache_find(path.p, path.len, ofile_hash(path.p, path.len));
    if (f == NULL)
        return 0;
    if (now >= f->valid_until && (f->fd >= 0 || f->err != 0)) {
        ofile_evict(f); /* stale: open again to see changes */
        return 0;
    }
    f->last_use = now;
    ofile_lru_unlink(f);
    ofile_lru_front(f);
    if (f->fd >= 0) {
        f->refs++;
        res->file = f;
        return 1;
    }
    res->err = f->err;
    return f->err != 0 && pol->errors; /* counting uses: the caller opens */
}

int ofile_open_cached(const char *path, bool nofollow, struct ofile_result *res)
{
    struct ofile_raw raw = {.fd = -1};
    raw.fd = ofile_openat2(path, nofollow, true);
    if (raw.fd < 0 && (errno == EAGAIN || errno == ENOSYS || errno == EINVAL))
        return -1;
    if (raw.fd < 0)
        raw.err = errno;
    else if (fstat(raw.fd, &raw.st) < 0) {
        raw.err = errno;
        close(raw.fd);
        raw.fd = -1;
    }
    if (ofile_from_raw(&raw, res) < 0)
        close(raw.fd);
    return 0;
}

/* ---- existence checks (try_files, index, if -f) ------------------------ */

static int ofile_path_fd(const char *path, bool nofollow, bool cached_only)
{
    struct open_how how = {
        .flags = O_PATH | O_CLOEXEC,
        .resolve = (nofollow ? RESOLVE_NO_SYMLINKS : 0) | (cached_only ? RESOLVE_CACHED : 0),
    };
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && !(cached_only && errno == EINVAL)))
        return fd;
    if (cached_only) /* no openat2 (or no RESOLVE_CACHED): the pool must */
        return errno = EAGAIN, -1;
    return nofollow ? ofile_walk(path, O_PATH | O_CLOEXEC) : open(path, O_PATH | O_CLOEXEC);
}

int ofile_stat(const char *path, bool nofollow, bool cached_only, struct stat *st)
{
    int fd = ofile_path_fd(path, nofollow, cached_only);
    if (fd < 0)
        return -1;
    int rc = fstat(fd, st), saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* 1 if path exists as wanted (a trailing "/" wants a directory), 0 if
 * not, -1 with errno for an error that must not be skipped over (EACCES:
 * nginx answers 403 rather than trying the next name). */
int ofile_exists(const char *path, bool nofollow, bool *is_dir)
{
    size_t len = strlen(path);
    bool want_dir = len > 1 && path[len - 1] == '/';
    struct stat st;
    int fd = nofollow ? ofile_walk(path, O_PATH | O_CLOEXEC) : ofile_openat2_path(path);
    *is_dir = want_dir;
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == ENAMETOOLONG ? 0 : -1;
    int rc = fstat(fd, &st) == 0 && (want_dir ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode));
    close(fd);
    return rc;
}

/* ---- canonical paths ($realpath_root) --------------------------------------- */

/* The kernel's own name for an open path: /proc/self/fd holds it, with
 * every symlink and ".." resolved, as realpath() would give. */
static int ofile_fd_path(int fd, char *out, size_t cap)
{
    char link[32];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    int saved = errno;
    close(fd);
    if (n < 0 || (size_t)n >= cap - 1)
        return errno = n < 0 ? saved : ENAMETOOLONG, -1;
    out[n] = '\0';
    return 0;
}

int ofile_realpath_cached(const char *path, char *out, size_t cap)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_CACHED};
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
    if (fd < 0)
        return errno == ENOSYS || errno == EINVAL ? (errno = EAGAIN, -1) : -1;
    return ofile_fd_path(fd, out, cap);
}

int ofile_realpath_sync(const char *path, char *out, size_t cap)
{
    int fd = ofile_openat2_path(path);
    return fd < 0 ? -1 : ofile_fd_path(fd, out, cap);
}

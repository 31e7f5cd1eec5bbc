/* ofile.c - opening files in the pool, and the per-worker open file cache. */
#include "core/ofile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "http/conn.h"
#include "http/req.h"
#include "core/tpool.h"
#include "proc/worker.h"

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

/* A pool job that opens and stats one path. */
struct ofile_job {
    struct tpool_job job; /* the pool's part */
    struct conn *c;       /* connection (kept alive by the job's reference) */
    struct req *r;        /* request, touched only once known to be current */
    uint32_t nreq;        /* which request of the connection */
    char *path;           /* copy of the path */
    bool nofollow;        /* disable_symlinks */
    ofile_cb cb;          /* continuation */
    int fd;               /* result: descriptor or -1 */
    int err;              /* result: errno */
    struct stat st;       /* result: fstat */
};

static void ofile_open_work(struct tpool_job *job)
{
    struct ofile_job *j = (struct ofile_job *)job;
    j->fd = ofile_do_open(j->path, j->nofollow);
    if (j->fd < 0) {
        j->err = errno;
        return;
    }
    if (fstat(j->fd, &j->st) < 0) {
        j->err = errno;
        close(j->fd);
        j->fd = -1;
    }
}

static bool ofile_cache_insert(struct ofile *f, char *path, const struct loc_conf *loc, double now);

static void ofile_open_done(struct tpool_job *job)
{
    struct ofile_job *j = (struct ofile_job *)job;
    struct ofile_result res = {.err = j->err};
    struct conn *c = j->c;
    if (c->req != j->r || c->nrequests != j->nreq)
        return; /* the request this was for is over */
    if (j->fd >= 0 && S_ISDIR(j->st.st_mode)) {
        res.is_dir = true;
    } else if (j->fd >= 0 && (res.file = calloc(1, sizeof(*res.file))) == NULL) {
        res.err = ENOMEM;
    } else if (j->fd >= 0) {
        res.file->fd = j->fd;
        res.file->st = j->st;
        res.file->refs = 1;
        j->fd = -1; /* the ofile owns it now */
        if (ofile_cache_insert(res.file, j->path, j->r->loc, ev_now(c->w->loop)))
            j->path = NULL; /* the cache owns it now */
    }
    j->cb(j->r, &res);
}

static void ofile_open_release(struct tpool_job *job)
{
    struct ofile_job *j = (struct ofile_job *)job;
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
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

/* Keeps a freshly opened file (taking over path) when the location uses
 * the cache; returns whether it did. */
static bool ofile_cache_insert(struct ofile *f, char *path, const struct loc_conf *loc, double now)
{
    if (ofc.max == 0 || loc->open_file_cache_max <= 0)
        return false;
    f->path = path;
    f->cached = true;
    f->last_use = now;
    f->valid_until = now + loc->open_file_cache_valid / 1000.0;
    f->inactive = loc->open_file_cache_inactive / 1000.0;
    f->refs++; /* the cache's own reference */
    ofile_cache_link(f);
    ofile_lru_front(f);
    ofc.count++;
    ofile_cache_expire(now);
    while (ofc.count > ofc.max && ofc.lru_tail != f)
        ofile_evict(ofc.lru_tail);
    return true;
}

void ofile_cache_init(struct worker *w, long max)
{
    (void)w;
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

static struct ofile *ofile_cache_hit(struct req *r, struct str path)
{
    double now = ev_now(r->c->w->loop);
    if (ofc.max == 0 || r->loc->open_file_cache_max <= 0)
        return NULL;
    ofile_cache_expire(now);
    uint32_t hash = ofile_hash(path.p, path.len);
    struct ofile *f = ofile_cache_find(path.p, path.len, hash);
    if (f == NULL)
        return NULL;
    if (now >= f->valid_until) {
        ofile_evict(f); /* stale: open again to see changes */
        return NULL;
    }
    f->last_use = now;
    ofile_lru_unlink(f);
    ofile_lru_front(f);
    f->refs++;
    return f;
}

/* Tries the open on the loop, allowed only when the kernel can answer from
 * its caches.  Returns 1 if it answered (cb was called), 0 if the pool must. */
static int ofile_open_inline(struct req *r, const char *path, bool nofollow, ofile_cb cb)
{
    struct ofile_result res = {0};
    int fd = ofile_openat2(path, nofollow, true);
    if (fd < 0 && (errno == EAGAIN || errno == ENOSYS || errno == EINVAL))
        return 0;
    if (fd < 0) {
        res.err = errno;
    } else if ((res.file = calloc(1, sizeof(*res.file))) == NULL || fstat(fd, &res.file->st) < 0) {
        res.err = res.file ? errno : ENOMEM;
        free(res.file);
        res.file = NULL;
        close(fd);
    } else if (S_ISDIR(res.file->st.st_mode)) {
        free(res.file);
        res.file = NULL;
        res.is_dir = true;
        close(fd);
    } else {
        res.file->fd = fd;
        res.file->refs = 1;
        char *copy = strdup(path);
        if (copy != NULL && !ofile_cache_insert(res.file, copy, r->loc, ev_now(r->c->w->loop)))
            free(copy);
    }
    cb(r, &res);
    return 1;
}

int ofile_open(struct req *r, struct str path, bool nofollow, ofile_cb cb)
{
    struct ofile *hit = ofile_cache_hit(r, path);
    if (hit != NULL) {
        struct ofile_result res = {.file = hit};
        cb(r, &res);
        return 0;
    }
    char small[512];
    if (path.len < sizeof(small)) {
        memcpy(small, path.p, path.len);
        small[path.len] = '\0';
        if (ofile_open_inline(r, small, nofollow, cb))
            return 0;
    }
    struct ofile_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strndup(path.p, path.len)) == NULL) {
        free(j);
        return -1;
    }
    j->job.work = ofile_open_work;
    j->job.done = ofile_open_done;
    j->job.release = ofile_open_release;
    j->job.owner = &r->c->own;
    j->c = r->c;
    j->r = r;
    j->nreq = r->c->nrequests;
    j->nofollow = nofollow;
    j->cb = cb;
    j->fd = -1;
    if (tpool_submit(r->c->w->pool, &j->job) < 0) {
        ofile_open_release(&j->job);
        return -1;
    }
    return 0;
}

/* ---- existence checks (try_files, index) ------------------------------ */

/* A pool job that finds the first of several paths that exists. */
struct ofile_stat_job {
    struct tpool_job job; /* the pool's part */
    struct conn *c;       /* connection (kept alive by the job's reference) */
    struct req *r;        /* request, touched only once known to be current */
    uint32_t nreq;        /* which request of the connection */
    char **paths;         /* candidates; a trailing "/" wants a directory */
    size_t n;             /* how many */
    bool nofollow;        /* disable_symlinks */
    ofile_stat_cb cb;     /* continuation */
    int found;            /* result: index, or -1 */
    bool is_dir;          /* result: the found path is a directory */
    int err;              /* result: an error that ends the search, or 0 */
};

/* 1 if path exists as wanted (a trailing "/" wants a directory), 0 if
 * not, -1 with errno for an error that must not be skipped over (EACCES:
 * nginx answers 403 rather than trying the next name). */
static int ofile_exists(const char *path, bool nofollow, bool *is_dir)
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

static void ofile_stat_work(struct tpool_job *job)
{
    struct ofile_stat_job *j = (struct ofile_stat_job *)job;
    j->found = -1;
    for (size_t i = 0; i < j->n; i++) {
        int rc = ofile_exists(j->paths[i], j->nofollow, &j->is_dir);
        if (rc != 0) {
            j->found = (int)i;
            j->err = rc < 0 ? errno : 0;
            return;
        }
    }
}

static void ofile_stat_done(struct tpool_job *job)
{
    struct ofile_stat_job *j = (struct ofile_stat_job *)job;
    if (j->c->req != j->r || j->c->nrequests != j->nreq)
        return;
    j->cb(j->r, j->found, j->is_dir, j->err);
}

static void ofile_stat_release(struct tpool_job *job)
{
    struct ofile_stat_job *j = (struct ofile_stat_job *)job;
    for (size_t i = 0; i < j->n; i++)
        free(j->paths[i]);
    free(j->paths);
    free(j);
}

int ofile_stat(struct req *r, struct str *paths, size_t n, bool nofollow, ofile_stat_cb cb)
{
    struct ofile_stat_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->paths = calloc(n ? n : 1, sizeof(char *))) == NULL) {
        free(j);
        return -1;
    }
    j->job = (struct tpool_job){.work = ofile_stat_work,
                                .done = ofile_stat_done,
                                .release = ofile_stat_release,
                                .owner = &r->c->own};
    j->c = r->c;
    j->r = r;
    j->nreq = r->c->nrequests;
    j->nofollow = nofollow;
    j->cb = cb;
    for (j->n = 0; j->n < n; j->n++)
        if ((j->paths[j->n] = strndup(paths[j->n].p, paths[j->n].len)) == NULL)
            break;
    if (j->n < n || tpool_submit(r->c->w->pool, &j->job) < 0) {
        ofile_stat_release(&j->job);
        return -1;
    }
    return 0;
}

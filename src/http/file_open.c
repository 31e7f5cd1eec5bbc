/* file_open.c - file opens and existence checks for a request. */
#include "http/file_open.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/reactor.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/req.h"
#include "http/req_job.h"

void file_policy(const struct req *r, struct ofile_policy *pol)
{
    const struct loc_conf *loc = r->loc;
    const struct http_extra *ex = http_extra(loc);
    pol->cache = loc->open_file_cache_max > 0;
    pol->errors = ex->open_file_cache_errors == 1;
    pol->min_uses = ex->open_file_cache_min_uses > 0 ? (unsigned)ex->open_file_cache_min_uses : 1;
    pol->valid = loc->open_file_cache_valid / 1000.0;
    pol->inactive = loc->open_file_cache_inactive / 1000.0;
}

static double file_now(const struct req *r)
{
    return ev_now(r->c->sk.rx->loop);
}

/* What an open gave goes to the cache, which decides what it keeps. */
static void file_keep(struct req *r, struct str path, const struct ofile_result *res)
{
    struct ofile_policy pol;
    file_policy(r, &pol);
    ofile_cache_note(path, res, &pol, file_now(r));
}

/* A pool job that opens and stats one path. */
struct file_open_job {
    struct req_job rj;    /* the request's part; first */
    char *path;           /* copy of the path */
    bool nofollow;        /* disable_symlinks */
    file_open_cb cb;      /* continuation */
    struct ofile_raw raw; /* result */
};

static void file_open_work(struct tpool_job *job)
{
    struct file_open_job *j = (struct file_open_job *)job;
    ofile_open_sync(j->path, j->nofollow, &j->raw);
}

static void file_open_done(struct req_job *rj)
{
    struct file_open_job *j = (struct file_open_job *)rj;
    struct ofile_result res;
    if (ofile_from_raw(&j->raw, &res) == 0)
        file_keep(rj->r, str_make(j->path, strlen(j->path)), &res);
    j->cb(rj->r, &res);
}

static void file_open_release(struct tpool_job *job)
{
    struct file_open_job *j = (struct file_open_job *)job;
    if (j->raw.fd >= 0)
        close(j->raw.fd);
    free(j->path);
    free(j);
}

/* Tries the open on the loop, allowed only when the kernel can answer from
 * its caches.  Returns 1 if it answered (cb was called), 0 if the pool must. */
static int file_open_inline(struct req *r, struct str path, bool nofollow, file_open_cb cb)
{
    char small[512];
    struct ofile_result res;
    if (path.len >= sizeof(small))
        return 0;
    memcpy(small, path.p, path.len);
    small[path.len] = '\0';
    if (ofile_open_cached(small, nofollow, &res) < 0)
        return 0;
    file_keep(r, path, &res);
    cb(r, &res);
    return 1;
}

int file_open(struct req *r, struct str path, bool nofollow, file_open_cb cb)
{
    struct ofile_policy pol;
    file_policy(r, &pol);
    struct ofile_result res;
    if (ofile_cache_lookup(path, &pol, file_now(r), &res)) {
        cb(r, &res);
        return 0;
    }
    if (file_open_inline(r, path, nofollow, cb))
        return 0;
    struct file_open_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strndup(path.p, path.len)) == NULL) {
        free(j);
        return -1;
    }
    j->nofollow = nofollow;
    j->cb = cb;
    j->raw.fd = -1;
    if (req_job_submit(r, &j->rj, TPOOL_FILE, file_open_work, file_open_done, file_open_release) <
        0) {
        file_open_release(&j->rj.job);
        return -1;
    }
    return 0;
}

/* ---- existence checks (try_files, index) ------------------------------ */

/* A pool job that finds the first of several paths that exists. */
struct file_stat_job {
    struct req_job rj; /* the request's part; first */
    char **paths;      /* candidates; a trailing "/" wants a directory */
    size_t n;          /* how many */
    bool nofollow;     /* disable_symlinks */
    file_stat_cb cb;   /* continuation */
    int found;         /* result: index, or -1 */
    bool is_dir;       /* result: the found path is a directory */
    int err;           /* result: an error that ends the search, or 0 */
};

static void file_stat_work(struct tpool_job *job)
{
    struct file_stat_job *j = (struct file_stat_job *)job;
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

static void file_stat_done(struct req_job *rj)
{
    struct file_stat_job *j = (struct file_stat_job *)rj;
    j->cb(rj->r, j->found, j->is_dir, j->err);
}

static void file_stat_release(struct tpool_job *job)
{
    struct file_stat_job *j = (struct file_stat_job *)job;
    for (size_t i = 0; i < j->n; i++)
        free(j->paths[i]);
    free(j->paths);
    free(j);
}

int file_stat(struct req *r, struct str *paths, size_t n, bool nofollow, file_stat_cb cb)
{
    struct file_stat_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->paths = calloc(n ? n : 1, sizeof(char *))) == NULL) {
        free(j);
        return -1;
    }
    j->nofollow = nofollow;
    j->cb = cb;
    for (j->n = 0; j->n < n; j->n++)
        if ((j->paths[j->n] = strndup(paths[j->n].p, paths[j->n].len)) == NULL)
            break;
    if (j->n < n || req_job_submit(r, &j->rj, TPOOL_FILE, file_stat_work, file_stat_done,
                                   file_stat_release) < 0) {
        file_stat_release(&j->rj.job);
        return -1;
    }
    return 0;
}

/* static_vars.c - $request_filename and $realpath_root, the variables of
 * the file a request maps to.
 *
 * $realpath_root is realpath() of $document_root: nginx calls it on every
 * use, and it reads the disk for a path that is not in the kernel's dentry
 * cache.  Here the loop never does: the value comes from the dentry cache
 * (openat2 RESOLVE_CACHED, then the kernel's name for the descriptor),
 * and where that cannot answer, from the thread pool, before the location's
 * directives run; only when some value of the configuration refers to the
 * variable (var_used), so configurations without it pay nothing.  Only a
 * use before the location is known (the server's own rewrite phase) with a
 * root the cache cannot resolve gives an empty value. */
#include "handler/static_vars.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/ofile.h"
#include "handler/static.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/req_job.h"
#include "http/resp.h"

/* The module's state for one request (req_ctx). */
struct realpath_ctx {
    struct str root;     /* the $document_root it is for */
    struct str resolved; /* realpath of it; empty when it failed */
    int err;             /* the failure's errno, or 0 */
};

static struct realpath_ctx *realpath_ctx_for(struct req *r, struct str root)
{
    struct realpath_ctx *ctx = req_ctx(r, &mod_static_vars);
    if (ctx != NULL && ctx->root.len == root.len && memcmp(ctx->root.p, root.p, root.len) == 0)
        return ctx;
    return NULL;
}

/* Keeps what resolving gave for this request (-1 when out of memory). */
static int realpath_keep(struct req *r, struct str root, const char *resolved, int err)
{
    struct realpath_ctx *ctx = mpool_calloc(&r->pool, sizeof(*ctx));
    char *rootcopy = mpool_strndup(&r->pool, root.p, root.len);
    char *copy = resolved != NULL ? mpool_strdup(&r->pool, resolved) : NULL;
    if (ctx == NULL || rootcopy == NULL || (resolved != NULL && copy == NULL))
        return -1;
    ctx->root = str_make(rootcopy, root.len);
    ctx->resolved = copy != NULL ? str_make(copy, strlen(copy)) : STR_LIT("");
    ctx->err = err;
    if (err != 0)
        conn_logf(r->c, LL_CRIT, err, "realpath() \"%s\" failed", rootcopy);
    return req_set_ctx(r, &mod_static_vars, ctx);
}

static int realpath_root_of(struct req *r, struct str *root)
{
    if (r->loc == NULL || r->loc->root == NULL || cval_eval(r->loc->root, r, root) < 0)
        return -1;
    return 0;
}

/* From the dentry cache: 1 answered (kept), 0 the pool must, -1 memory. */
static int realpath_inline(struct req *r, struct str root)
{
    char out[PATH_MAX];
    char *path = mpool_strndup(&r->pool, root.p, root.len);
    if (path == NULL)
        return -1;
    int rc = ofile_realpath_cached(path, out, sizeof(out));
    int err = rc < 0 ? errno : 0;
    if (err == EAGAIN)
        return 0;
    return realpath_keep(r, root, rc == 0 ? out : NULL, err) < 0 ? -1 : 1;
}

static void var_realpath_root(struct req *r, const struct cval_part *p, struct str *out)
{
    struct str root;
    (void)p;
    *out = STR_LIT("");
    if (realpath_root_of(r, &root) < 0)
        return;
    struct realpath_ctx *ctx = realpath_ctx_for(r, root);
    if (ctx == NULL && realpath_inline(r, root) == 1)
        ctx = realpath_ctx_for(r, root);
    if (ctx != NULL)
        *out = ctx->resolved;
}

/* nginx's: the location's root or alias and the URI. */
static void var_request_filename(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    if (r->loc == NULL || r->loc->root == NULL || static_map_path(r, r->path, out) < 0)
        *out = STR_LIT("");
}

static const struct var_def static_vars_table[] = {
    {"realpath_root", false, var_realpath_root},
    {"request_filename", false, var_request_filename},
};

/* ---- resolving in the pool, before the location's phases --------------------------- */

/* A pool job resolving one root. */
struct realpath_job {
    struct req_job rj;  /* the request's part; first */
    char *path;         /* the root, a copy */
    char out[PATH_MAX]; /* result: the resolved path */
    int err;            /* result: errno, or 0 */
};

static void realpath_work(struct tpool_job *job)
{
    struct realpath_job *j = (struct realpath_job *)job;
    j->err = ofile_realpath_sync(j->path, j->out, sizeof(j->out)) < 0 ? errno : 0;
}

static void realpath_done(struct req_job *rj)
{
    struct realpath_job *j = (struct realpath_job *)rj;
    struct req *r = rj->r;
    if (realpath_keep(r, str_make(j->path, strlen(j->path)), j->err ? NULL : j->out, j->err) < 0) {
        resp_error(r, 500);
        return;
    }
    handle_resume(r, PHASE_DECLINED); /* on with the next rewrite hook */
}

static void realpath_release(struct tpool_job *job)
{
    struct realpath_job *j = (struct realpath_job *)job;
    free(j->path);
    free(j);
}

static enum phase_rc realpath_submit(struct req *r, struct str root)
{
    struct realpath_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strndup(root.p, root.len)) == NULL) {
        free(j);
        return PHASE_DECLINED; /* the variable will be empty */
    }
    if (req_job_submit(r, &j->rj, TPOOL_FILE, realpath_work, realpath_done, realpath_release) < 0) {
        realpath_release(&j->rj.job);
        return PHASE_DECLINED;
    }
    return PHASE_TAKEN;
}

/* First in the location's rewrite phase: the root is known, nothing has
 * used the variable yet.  Not in the server's own rewrite phase, which
 * runs before the location is chosen. */
static enum phase_rc static_vars_rewrite(struct req *r)
{
    struct str root;
    if (!var_used(&static_vars_table[0]) || handle_phase_is_server(r) ||
        realpath_root_of(r, &root) < 0)
        return PHASE_DECLINED;
    if (realpath_ctx_for(r, root) != NULL)
        return PHASE_DECLINED;
    if (realpath_inline(r, root) != 0)
        return PHASE_DECLINED; /* answered from the cache (or out of memory: empty) */
    return realpath_submit(r, root);
}

static const struct http_hooks static_vars_hooks = {.rewrite = static_vars_rewrite};

struct module mod_static_vars = {
    .name = "http_static_vars",
    .http = &static_vars_hooks,
    .vars = static_vars_table,
    .nvars = sizeof(static_vars_table) / sizeof(static_vars_table[0]),
};

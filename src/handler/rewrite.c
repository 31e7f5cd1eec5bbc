/* rewrite.c - running a level's rewrite script in the rewrite phase (see
 * rewrite.h).  The file tests of `if` ask the kernel's caches on the loop
 * and, when the disk would be needed, the pool; the script then waits and
 * goes on where it stopped when the answer comes. */
#include "handler/rewrite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/ofile.h"
#include "handler/ret.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/handle.h"
#include "http/req.h"
#include "http/req_job.h"
#include "http/resp.h"
#include "http/vars_dyn.h"

/* The script running for a request. */
struct rw_run {
    const struct rw_script *script; /* the level's script */
    size_t ip;                      /* the op to run next */
    const struct rw_op *pending;    /* the if waiting for the pool's answer, or NULL */
    bool server;                    /* in the server rewrite phase */
    bool uri_changed;               /* a rewrite changed $uri: choose the location again */
};

/* How an op, and the script, ended. */
enum rw_rc {
    RW_GO,       /* on to the next op */
    RW_END,      /* the script is over */
    RW_ANSWERED, /* the request is answered (return, redirect, error) */
    RW_WAIT,     /* a file test waits for the pool */
};

static const struct rw_loc *rw_conf(const struct req *r)
{
    return loc_part(resp_loc(r), &mod_rewrite);
}

static enum rw_rc rw_fail(struct req *r)
{
    resp_error(r, 500);
    return RW_ANSWERED;
}

bool rw_var_unset(struct req *r, const struct var_dyn *d, struct str *out)
{
    if (rw_conf(r)->uninit_warn)
        conn_logf(r->c, LL_WARN, 0, "using uninitialized \"%s\" variable", d->def.name);
    *out = STR_LIT("");
    return false; /* a later set gives it a value */
}

/* ---- regexes --------------------------------------------------------------------- */

/* One match-data block for the worker: the loop thread only, and each
 * match's captures are copied out at once. */
static pcre2_match_data *rw_md;

/* 1 if s matches (its captures become $1..$9), 0 if not (and there are
 * no captures any more), -1 on error. */
static int rw_match(struct req *r, pcre2_code *re, struct str s)
{
    if (rw_md == NULL && (rw_md = pcre2_match_data_create(ROUTE_MAX_CAPTURES, NULL)) == NULL)
        return -1;
    int rc = pcre2_match(re, (PCRE2_SPTR)s.p, s.len, 0, 0, rw_md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        r->captures.n = 0; /* nginx: a rewrite or if regex that fails clears $1..$9 */
        return 0;
    }
    if (rc < 0) {
        conn_logf(r->c, LL_ALERT, 0, "pcre2_match() failed: %d on \"%.*s\"", rc, (int)s.len, s.p);
        return -1;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(rw_md);
    r->captures.n = rc == 0 ? ROUTE_MAX_CAPTURES : rc;
    r->captures.subject = s.p;
    for (int i = 0; i < 2 * r->captures.n; i++)
        r->captures.ovector[i] = ov[i];
    return 1;
}

static void rw_log_match(struct req *r, const char *pattern, struct str s, int matched)
{
    if (rw_conf(r)->log)
        conn_logf(r->c, LL_NOTICE, 0, "\"%s\" %s \"%.*s\"", pattern,
                  matched > 0 ? "matches" : "does not match", (int)s.len, s.p);
}

/* ---- rewrite -------------------------------------------------------------------- */

/* a + sep + b in the request's arena. */
static struct str rw_join(struct req *r, struct str a, char sep, struct str b)
{
    char *p = mpool_alloc(&r->pool, a.len + 1 + b.len + 1);
    if (p == NULL)
        return a;
    memcpy(p, a.p, a.len);
    p[a.len] = sep;
    memcpy(p + a.len + 1, b.p, b.len);
    p[a.len + 1 + b.len] = '\0';
    return str_make(p, a.len + 1 + b.len);
}

/* Whether the request's path came with %XX escapes (nginx's quoted_uri):
 * its captures then hold decoded text. */
static bool rw_quoted(const struct req *r)
{
    const char *q = memchr(r->target.p, '?', r->target.len);
    size_t n = q != NULL ? (size_t)(q - r->target.p) : r->target.len;
    return memchr(r->target.p, '%', n) != NULL;
}

/* nginx's NGX_ESCAPE_ARGS: what cannot stand in a query string as is. */
static bool rw_escape_char(unsigned char ch)
{
    return ch <= 0x20 || ch >= 0x7f || strchr("#%&+;?", ch) != NULL;
}

static size_t rw_escape(struct str v, char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (!rw_escape_char(ch)) {
            if (dst != NULL)
                dst[n] = (char)ch;
            n++;
            continue;
        }
        if (dst != NULL) {
            dst[n] = '%';
            dst[n + 1] = hex[ch >> 4];
            dst[n + 2] = hex[ch & 0xf];
        }
        n += 3;
    }
    return n;
}

/* nginx copies captures into arguments and redirects escaped when the
 * request's URI was. */
static int rw_eval(struct req *r, const struct cval *cv, bool escape, struct str *out)
{
    return cval_eval_captures(cv, r, escape ? rw_escape : NULL, out);
}

/* The replacement's arguments replace the request's, which follow them
 * unless the replacement ended in "?". */
static void rw_set_uri(struct req *r, const struct rw_rewrite *rw, struct str path, struct str args)
{
    r->path = path;
    if (rw->has_args)
        r->args = rw->keep_args && r->args.len > 0 ? rw_join(r, args, '&', r->args) : args;
    else if (!rw->keep_args)
        r->args = STR_LIT("");
    if (rw_conf(r)->log)
        conn_logf(r->c, LL_NOTICE, 0, "rewritten data: \"%.*s\", args: \"%.*s\"", (int)r->path.len,
                  r->path.p, (int)r->args.len, r->args.p);
}

static void rw_redirect(struct req *r, const struct rw_rewrite *rw, struct str to, struct str args)
{
    if (rw->has_args)
        to = rw_join(r, to, '?', args);
    if (rw->keep_args && r->args.len > 0)
        to = rw_join(r, to, rw->has_args ? '&' : '?', r->args);
    if (rw_conf(r)->log)
        conn_logf(r->c, LL_NOTICE, 0, "rewritten redirect: \"%.*s\"", (int)to.len, to.p);
    req_add_header(r, STR_LIT("Location"), resp_absolute(r, to));
    resp_error(r, rw->status);
}

static enum rw_rc rw_rewrite(struct req *r, struct rw_run *run, const struct rw_rewrite *rw)
{
    struct str path, args = STR_LIT("");
    int m = rw_match(r, rw->re, r->path);
    rw_log_match(r, rw->pattern, r->path, m);
    if (m <= 0)
        return m == 0 ? RW_GO : rw_fail(r);
    bool quoted = rw_quoted(r);
    if (rw_eval(r, &rw->repl, quoted && rw->redirect, &path) < 0 ||
        (rw->has_args && rw_eval(r, &rw->args, quoted, &args) < 0))
        return rw_fail(r);
    if (rw->redirect) {
        rw_redirect(r, rw, path, args);
        return RW_ANSWERED;
    }
    rw_set_uri(r, rw, path, args);
    run->uri_changed = rw->flag != RWF_BREAK;
    return rw->flag == RWF_NONE ? RW_GO : RW_END;
}

/* ---- if ------------------------------------------------------------------------- */

static bool rw_true(struct str v)
{
    return v.len > 0 && !(v.len == 1 && v.p[0] == '0');
}

/* 1 or 0; -1 when the request was answered (an error). */
static int rw_cond_eval(struct req *r, const struct rw_cond *c)
{
    struct str v, w;
    if (cval_eval(&c->value, r, &v) < 0)
        return -1;
    switch (c->kind) {
    case RC_VAR:
        return rw_true(v);
    case RC_EQ:
    case RC_NE:
        if (cval_eval(&c->other, r, &w) < 0)
            return -1;
        return (v.len == w.len && memcmp(v.p, w.p, v.len) == 0) == (c->kind == RC_EQ);
    default: {
        int m = rw_match(r, c->re, v);
        rw_log_match(r, c->pattern, v, m);
        return m < 0 ? -1 : (m > 0) != c->negate;
    }
    }
}

/* A file test's answer from stat's result, nginx's way: a path that is
 * not there (or cannot be checked) fails the test and passes its
 * negation. */
static bool rw_file_answer(struct req *r, const struct rw_cond *c, const char *path, int err,
                           const struct stat *st)
{
    if (err != 0) {
        if (err != ENOENT && err != ENOTDIR && err != ENAMETOOLONG)
            conn_logf(r->c, LL_CRIT, err, "stat() \"%s\" failed", path);
        return c->negate;
    }
    bool yes = c->test == 'f'   ? S_ISREG(st->st_mode)
               : c->test == 'd' ? S_ISDIR(st->st_mode)
               : c->test == 'e' ? true
                                : (st->st_mode & S_IXUSR) != 0;
    return yes != c->negate;
}

/* Takes the if's branch: into the block (a location's block's settings
 * serve the request from now on), or past it. */
static void rw_branch(struct req *r, struct rw_run *run, const struct rw_op *op, bool truth)
{
    const struct rw_cond *c = op->arg;
    if (!truth)
        run->ip = op->end;
    else if (c->loc != NULL)
        r->loc = c->loc;
}

static enum rw_rc rw_exec(struct req *r, struct rw_run *run);
static enum phase_rc rw_after(struct req *r, struct rw_run *run, enum rw_rc rc);

/* A pool job that stats one path for a file test. */
struct rw_stat_job {
    struct req_job rj;  /* the request's part; first */
    struct rw_run *run; /* the script waiting, in the request's arena */
    char *path;         /* a copy of the path */
    bool nofollow;      /* disable_symlinks */
    int err;            /* errno, or 0 */
    struct stat st;     /* the result */
};

static void rw_stat_work(struct tpool_job *job)
{
    struct rw_stat_job *j = (struct rw_stat_job *)job;
    j->err = ofile_stat(j->path, j->nofollow, false, &j->st) < 0 ? errno : 0;
}

/* The answer came: the script goes on, and the phases after it. */
static void rw_stat_done(struct req_job *rj)
{
    struct rw_stat_job *j = (struct rw_stat_job *)rj;
    struct req *r = rj->r;
    struct rw_run *run = j->run;
    const struct rw_op *op = run->pending;
    run->pending = NULL;
    rw_branch(r, run, op, rw_file_answer(r, op->arg, j->path, j->err, &j->st));
    if (rw_after(r, run, rw_exec(r, run)) == PHASE_DECLINED)
        handle_resume(r, PHASE_DECLINED);
}

static void rw_stat_release(struct tpool_job *job)
{
    struct rw_stat_job *j = (struct rw_stat_job *)job;
    free(j->path);
    free(j);
}

static enum rw_rc rw_stat_submit(struct req *r, struct rw_run *run, const struct rw_op *op,
                                 struct str path)
{
    struct rw_stat_job *j = calloc(1, sizeof(*j));
    if (j == NULL || (j->path = strndup(path.p, path.len)) == NULL) {
        free(j);
        return rw_fail(r);
    }
    j->run = run;
    j->nofollow = r->loc->disable_symlinks;
    run->pending = op;
    if (req_job_submit(r, &j->rj, TPOOL_FILE, rw_stat_work, rw_stat_done, rw_stat_release) < 0) {
        rw_stat_release(&j->rj.job);
        resp_error(r, 503);
        return RW_ANSWERED;
    }
    return RW_WAIT;
}

/* -f and friends: answered on the loop if the kernel's caches can, else
 * by the pool while the script waits.  Values are NUL-terminated; one with
 * a NUL inside names no file. */
static enum rw_rc rw_file_test(struct req *r, struct rw_run *run, const struct rw_op *op)
{
    const struct rw_cond *c = op->arg;
    struct str path;
    struct stat st;
    if (cval_eval(&c->value, r, &path) < 0)
        return rw_fail(r);
    int err = memchr(path.p, '\0', path.len) != NULL ? ENOENT : 0;
    if (err == 0 && ofile_stat(path.p, r->loc->disable_symlinks, true, &st) < 0)
        err = errno;
    if (err == EAGAIN)
        return rw_stat_submit(r, run, op, path);
    rw_branch(r, run, op, rw_file_answer(r, c, path.p, err, &st));
    return RW_GO;
}

static enum rw_rc rw_if(struct req *r, struct rw_run *run, const struct rw_op *op)
{
    const struct rw_cond *c = op->arg;
    if (c->kind == RC_FILE)
        return rw_file_test(r, run, op);
    int truth = rw_cond_eval(r, c);
    if (truth < 0)
        return rw_fail(r);
    rw_branch(r, run, op, truth);
    return RW_GO;
}

/* ---- the script ------------------------------------------------------------------ */

static enum rw_rc rw_set(struct req *r, const struct rw_op *op)
{
    const struct rw_set *set = op->arg;
    struct str v;
    if (cval_eval(&set->value, r, &v) < 0)
        return rw_fail(r);
    if (op->kind == RW_SET_ARGS)
        r->args = v;
    else if (op->kind == RW_SET_VAR)
        set->setter(r, v);
    else if (var_dyn_store(r, set->var, v) < 0)
        return rw_fail(r);
    return RW_GO;
}

static enum rw_rc rw_op(struct req *r, struct rw_run *run, const struct rw_op *op)
{
    switch (op->kind) {
    case RW_RETURN:
        ret_answer(r, op->arg);
        return RW_ANSWERED;
    case RW_REWRITE:
        return rw_rewrite(r, run, op->arg);
    case RW_SET:
    case RW_SET_ARGS:
    case RW_SET_VAR:
        return rw_set(r, op);
    case RW_BREAK:
        run->uri_changed = false;
        return RW_END;
    case RW_IF:
        return rw_if(r, run, op);
    }
    return RW_END;
}

static enum rw_rc rw_exec(struct req *r, struct rw_run *run)
{
    while (run->ip < run->script->n) {
        const struct rw_op *op = &run->script->ops[run->ip++];
        enum rw_rc rc = rw_op(r, run, op);
        if (rc != RW_GO)
            return rc;
    }
    return RW_END;
}

/* A location's script that changed $uri sends the request to the location
 * chosen for the new one; the server's needs nothing: the location is
 * chosen after it anyway. */
static enum phase_rc rw_after(struct req *r, struct rw_run *run, enum rw_rc rc)
{
    if (rc == RW_ANSWERED || rc == RW_WAIT)
        return PHASE_TAKEN;
    if (run->uri_changed && !run->server) {
        handle_relocate(r);
        return PHASE_TAKEN;
    }
    return PHASE_DECLINED;
}

enum phase_rc rw_phase(struct req *r)
{
    bool server = handle_phase_is_server(r);
    /* No location matched: the server's script has run already (nginx). */
    if (!server && r->loc == r->srv->loc)
        return PHASE_DECLINED;
    const struct rw_loc *rl = loc_part(r->loc, &mod_rewrite);
    if (rl->script == NULL)
        return PHASE_DECLINED;
    struct rw_run *run = mpool_calloc(&r->pool, sizeof(*run));
    if (run == NULL) {
        resp_error(r, 500);
        return PHASE_TAKEN;
    }
    run->script = rl->script;
    run->server = server;
    return rw_after(r, run, rw_exec(r, run));
}

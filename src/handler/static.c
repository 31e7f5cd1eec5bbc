/* static.c - the static file handler. */
#include "handler/static.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/ofile.h"
#include "handler/autoindex.h"
#include "handler/gzip.h"
#include "http/cond.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/file_open.h"
#include "http/handle.h"
#include "http/range.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/uri.h"

#define STATIC_MAX_RANGES 64

struct static_try;

/* The module's state for one request (req_ctx). */
struct static_ctx {
    struct ofile *files[2];   /* the file and its .gz variant, held until the request ends */
    struct str path;          /* the file being opened */
    struct str *paths;        /* index candidates, then the directory itself */
    struct str *names;        /* the index names evaluated, one per candidate */
    size_t nindex;            /* candidates before the directory */
    struct str fallback;      /* an absolute last index (a URI), or empty */
    struct static_try *tried; /* try_files candidates */
};

static void static_cleanup(void *data)
{
    struct static_ctx *sc = data;
    for (int i = 0; i < 2; i++)
        if (sc->files[i] != NULL)
            ofile_put(sc->files[i]);
}

/* The request's state, made (with its cleanup) at the first need. */
static struct static_ctx *static_ctx(struct req *r)
{
    struct static_ctx *sc = req_ctx(r, &mod_static);
    if (sc != NULL)
        return sc;
    if ((sc = mpool_calloc(&r->pool, sizeof(*sc))) == NULL ||
        req_cleanup_add(r, static_cleanup, sc) < 0 || req_set_ctx(r, &mod_static, sc) < 0)
        return NULL;
    return sc;
}

/* Hands the reference to the request; released when it ends. */
static int static_hold(struct req *r, struct ofile *f)
{
    struct static_ctx *sc = static_ctx(r);
    if (sc == NULL || sc->files[1] != NULL) {
        ofile_put(f);
        return -1;
    }
    sc->files[sc->files[0] != NULL] = f;
    return 0;
}

static int static_mime_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct mime_type *)elem)->ext);
}

struct str static_mime_type(const struct loc_conf *loc, struct str name)
{
    char ext[32];
    const char *slash = memrchr(name.p, '/', name.len);
    const char *base = slash ? slash + 1 : name.p;
    const char *dot = memrchr(base, '.', name.len - (size_t)(base - name.p));
    size_t len = dot ? name.len - (size_t)(dot + 1 - name.p) : 0;
    if (dot != NULL && len > 0 && len < sizeof(ext) && loc->ntypes > 0) {
        for (size_t i = 0; i < len; i++)
            ext[i] =
                (char)((dot[1 + i] >= 'A' && dot[1 + i] <= 'Z') ? dot[1 + i] + 32 : dot[1 + i]);
        ext[len] = '\0';
        const struct mime_type *m =
            bsearch(ext, loc->types, loc->ntypes, sizeof(*loc->types), static_mime_cmp);
        if (m != NULL)
            return str_make(m->type, strlen(m->type));
    }
    return str_make(loc->default_type, strlen(loc->default_type));
}

static int static_map(struct req *r, struct str uri, struct str *out)
{
    const struct loc_conf *loc = r->loc;
    struct str root;
    if (cval_eval(loc->root, r, &root) < 0)
        return -1;
    struct str rest = uri;
    if (loc->alias == 1) {
        /* A regex location's alias is the whole path; a prefix location's
         * alias replaces the location's prefix. */
        if (loc->match == LM_REGEX)
            rest = str_make("", 0);
        else if (uri.len >= loc->name_len)
            rest = str_make(uri.p + loc->name_len, uri.len - loc->name_len);
    }
    char *path = mpool_alloc(&r->pool, root.len + rest.len + 1);
    if (path == NULL)
        return -1;
    memcpy(path, root.p, root.len);
    memcpy(path + root.len, rest.p, rest.len);
    path[root.len + rest.len] = '\0';
    *out = str_make(path, root.len + rest.len);
    return 0;
}

int static_map_path(struct req *r, struct str uri, struct str *out)
{
    return static_map(r, uri, out);
}

static void static_log_open_error(struct req *r, struct str path, int err, enum log_level lvl)
{
    conn_logf(r->c, lvl, err, "open() \"%.*s\" failed", (int)path.len, path.p);
}

int static_errno_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return 404;
    case EACCES:
    case ELOOP:
    case EPERM:
        return 403;
    default:
        return 500;
    }
}

/* A directory asked for without its slash: 301 to the slash.  The path
 * is decoded by now, so it is escaped again (a raw space or '?' would
 * make another URI); the arguments go back as they came. */
static void static_dir_redirect(struct req *r)
{
    size_t plen = uri_escape(r->path, NULL);
    char *loc = mpool_alloc(&r->pool, plen + 2 + r->args.len + 1);
    if (loc == NULL) {
        resp_error(r, 500);
        return;
    }
    size_t n = uri_escape(r->path, loc);
    loc[n++] = '/';
    if (r->args.len > 0) {
        loc[n++] = '?';
        memcpy(loc + n, r->args.p, r->args.len);
        n += r->args.len;
    }
    req_add_header(r, STR_LIT("Location"), resp_absolute(r, str_make(loc, n)));
    resp_error(r, 301);
}

/* ---- headers, conditions, ranges -------------------------------------- */

static void static_cond_req(const struct req *r, struct cond_req *cr)
{
    static const struct str none = {"", 0};
    const struct str *h;
    memset(cr, 0, sizeof(*cr));
    cr->if_match = (h = req_header(r, "If-Match")) ? *h : none;
    cr->if_none_match = (h = req_header(r, "If-None-Match")) ? *h : none;
    cr->if_modified_since = (h = req_header(r, "If-Modified-Since")) ? *h : none;
    cr->if_unmodified_since = (h = req_header(r, "If-Unmodified-Since")) ? *h : none;
    cr->if_range = (h = req_header(r, "If-Range")) ? *h : none;
    cr->get_or_head = r->method == HTTP_GET || r->method == HTTP_HEAD;
}

static struct str static_etag(struct req *r, const struct ofile *f)
{
    char buf[64];
    if (!r->loc->etag)
        return str_make("", 0);
    size_t n = cond_etag(f->st.st_mtime, f->st.st_size, buf, sizeof(buf));
    char *e = mpool_strndup(&r->pool, buf, n);
    return e ? str_make(e, n) : str_make("", 0);
}

/* Sends the file whole, or the ranges asked for. */
static void static_body(struct req *r, struct ofile *f, struct str etag, const struct cond_req *cr)
{
    struct range ranges[STATIC_MAX_RANGES];
    size_t n = 0;
    int64_t size = f->st.st_size;
    const struct str *h = req_header(r, "Range");
    enum range_result rr = RANGE_IGNORE;
    out_init(&r->out);
    if (size > 0)
        out_file(&r->pool, &r->out, f, 0, (size_t)size);
    /* A body compressed on the fly has no byte ranges (nginx). */
    if (!r->gzip_done && gzip_wanted(r)) {
        resp_send(r);
        return;
    }
    if (h != NULL && r->status == 200 && cond_if_range(cr, f->st.st_mtime, etag))
        rr = range_parse(*h, size, r->loc->max_ranges, ranges, STATIC_MAX_RANGES, &n);
    if (rr == RANGE_NOT_SATISFIABLE) {
        req_add_header(r, STR_LIT("Content-Range"), range_content_range(&r->pool, NULL, size));
        resp_error(r, 416);
        return;
    }
    if (rr == RANGE_OK)
        out_init(&r->out);
    if (rr == RANGE_OK && n == 1) {
        r->status = 206;
        req_add_header(r, STR_LIT("Content-Range"),
                       range_content_range(&r->pool, &ranges[0], size));
        out_file(&r->pool, &r->out, f, ranges[0].start,
                 (size_t)(ranges[0].end - ranges[0].start + 1));
    } else if (rr == RANGE_OK) {
        r->status = 206;
        if (range_multipart(&r->pool, ranges, n, size, r->content_type, f, &r->out,
                            &r->content_type) < 0) {
            resp_error(r, 500);
            return;
        }
    }
    resp_send(r);
}

/* Everything once the file is open: headers, conditions, gzip, ranges. */
static void static_serve(struct req *r, struct ofile *f)
{
    struct cond_req cr;
    struct str etag = static_etag(r, f);
    r->status = 200;
    r->content_type = static_mime_type(r->loc, r->path);
    r->last_modified = f->st.st_mtime;
    if (etag.len)
        req_add_header(r, STR_LIT("ETag"), etag);
    static_cond_req(r, &cr);
    if (r->err_status == 0) {
        int status =
            cond_evaluate(&cr, f->st.st_mtime, etag, (enum cond_ims)r->loc->if_modified_since);
        if (status == 412) {
            resp_error(r, 412);
            return;
        }
        if (status == 304) {
            /* nginx's not_modified filter drops the encoding with the body */
            gzip_vary_304(r, (uint64_t)f->st.st_size);
            req_del_header(r, "Content-Encoding");
            r->status = 304;
            r->content_type = str_make("", 0);
            out_init(&r->out);
            resp_send(r);
            return;
        }
    }
    if (r->loc->max_ranges != 0 && r->err_status == 0)
        req_add_header(r, STR_LIT("Accept-Ranges"), STR_LIT("bytes"));
    static_body(r, f, etag, &cr);
}

static void static_opened(struct req *r, const struct ofile_result *res)
{
    struct str path = static_ctx(r)->path;
    if (res->file != NULL && res->file->st.st_size < 0) {
        ofile_put(res->file);
        resp_error(r, 500);
        return;
    }
    if (res->is_dir) {
        static_dir_redirect(r);
        return;
    }
    if (res->file == NULL) {
        int status = static_errno_status(res->err);
        if (status != 404 || http_extra(r->loc)->log_not_found)
            static_log_open_error(r, path, res->err, status == 500 ? LL_CRIT : LL_ERR);
        resp_error(r, status);
        return;
    }
    if (static_hold(r, res->file) < 0) {
        resp_error(r, 500);
        return;
    }
    if (!S_ISREG(res->file->st.st_mode)) {
        conn_logf(r->c, LL_ERR, 0, "\"%.*s\" is not a regular file", (int)path.len, path.p);
        resp_error(r, 404);
        return;
    }
    if (r->method == HTTP_POST) {
        resp_error(r, 405);
        return;
    }
    static_serve(r, res->file);
}

/* ---- gzip_static ------------------------------------------------------ */

/* nginx looks for file.gz also for clients that do not get gzip when
 * gzip_vary is on: if it exists, the response varies by Accept-Encoding
 * either way. */
static bool static_want_gz(const struct req *r)
{
    const struct gzip_loc *gz = loc_part(r->loc, &mod_gzip);
    return gz->gzip_static && (r->method == HTTP_GET || r->method == HTTP_HEAD) &&
           (gz->vary || gzip_ok(r));
}

/* file.gz next to file: served as is, with Content-Encoding; otherwise
 * the file itself. */
static void static_gz_opened(struct req *r, const struct ofile_result *res)
{
    struct str path = static_ctx(r)->path;
    bool exists = res->file != NULL && S_ISREG(res->file->st.st_mode);
    if (exists)
        gzip_add_vary(r);
    if (exists && gzip_ok(r)) {
        if (static_hold(r, res->file) < 0) {
            resp_error(r, 500);
            return;
        }
        r->gzip_done = true;
        req_add_header(r, STR_LIT("Content-Encoding"), STR_LIT("gzip"));
        static_serve(r, res->file);
        return;
    }
    if (res->file != NULL)
        ofile_put(res->file);
    if (file_open(r, path, r->loc->disable_symlinks, static_opened) < 0)
        resp_error(r, 503);
}

/* ---- index and listings ----------------------------------------------- */

/* nginx's ngx_http_index_error: what a failed check of an index name means. */
static void static_check_error(struct req *r, struct str path, int err)
{
    if (err == EACCES) {
        conn_logf(r->c, LL_ERR, err, "\"%.*s\" is forbidden", (int)path.len, path.p);
        resp_error(r, 403);
        return;
    }
    conn_logf(r->c, LL_CRIT, err, "stat() \"%.*s\" failed", (int)path.len, path.p);
    resp_error(r, 500);
}

static void static_index_found(struct req *r, int found, bool is_dir, int err)
{
    struct static_ctx *sc = static_ctx(r);
    (void)is_dir;
    if (err != 0) {
        static_check_error(r, sc->paths[found], err);
        return;
    }
    if (found >= 0 && (size_t)found < sc->nindex) {
        struct str name = sc->names[found];
        char *uri =
            mpool_printf(&r->pool, "%.*s%.*s", (int)r->path.len, r->path.p, (int)name.len, name.p);
        if (uri == NULL)
            resp_error(r, 500);
        else
            handle_redirect_path(r, str_make(uri, strlen(uri)), r->args);
        return;
    }
    struct str dir = sc->paths[sc->nindex];
    if (found < 0) {
        /* nginx's ngx_http_index_error names the first index file */
        struct str first = sc->paths[0];
        if (http_extra(r->loc)->log_not_found)
            conn_logf(r->c, LL_ERR, ENOENT, "\"%.*s\" is not found", (int)first.len, first.p);
        resp_error(r, 404);
    } else if (sc->fallback.len > 0) {
        handle_redirect_path(r, sc->fallback, r->args);
    } else if (autoindex_enabled(r)) {
        autoindex_handle(r, dir);
    } else {
        conn_logf(r->c, LL_ERR, 0, "directory index of \"%.*s\" is forbidden", (int)dir.len, dir.p);
        resp_error(r, 403);
    }
}

/* The index names for this request (variables evaluated), up to an
 * absolute one, which becomes the fallback; 0 or -1. */
static int static_index_names(struct req *r, struct static_ctx *sc, struct str dir)
{
    const struct index_loc *il = loc_part(r->loc, &mod_index);
    sc->names = mpool_alloc(&r->pool, sizeof(*sc->names) * il->n);
    sc->paths = mpool_alloc(&r->pool, sizeof(*sc->paths) * (il->n + 1));
    sc->nindex = 0;
    sc->fallback = str_make("", 0);
    if (sc->names == NULL || sc->paths == NULL)
        return -1;
    for (size_t i = 0; i < il->n; i++) {
        struct str name;
        if (cval_eval(&il->names[i], r, &name) < 0)
            return -1;
        if (name.len > 0 && name.p[0] == '/') {
            sc->fallback = name;
            break;
        }
        char *p = mpool_printf(&r->pool, "%.*s%.*s", (int)dir.len, dir.p, (int)name.len, name.p);
        if (p == NULL)
            return -1;
        sc->names[sc->nindex] = name;
        sc->paths[sc->nindex++] = str_make(p, strlen(p));
    }
    sc->paths[sc->nindex] = dir; /* ends in "/": tests the directory */
    return 0;
}

/* Tries each index file, then the directory itself (for autoindex/403). */
static void static_index(struct req *r, struct str dir)
{
    struct static_ctx *sc = static_ctx(r);
    if (static_index_names(r, sc, dir) < 0) {
        resp_error(r, 500);
        return;
    }
    if (sc->nindex == 0 && sc->fallback.len > 0) {
        handle_redirect_path(r, sc->fallback, r->args); /* nginx tries it untested */
        return;
    }
    if (file_stat(r, sc->paths, sc->nindex + 1, r->loc->disable_symlinks, static_index_found) < 0)
        resp_error(r, 503);
}

void static_handle(struct req *r)
{
    struct str path;
    if (r->method != HTTP_GET && r->method != HTTP_HEAD && r->method != HTTP_POST) {
        resp_error(r, 405);
        return;
    }
    if (static_map(r, r->path, &path) < 0) {
        resp_error(r, 500);
        return;
    }
    struct static_ctx *sc = static_ctx(r);
    if (sc == NULL) {
        resp_error(r, 500);
        return;
    }
    sc->path = path;
    if (r->path.p[r->path.len - 1] == '/') {
        static_index(r, path);
        return;
    }
    if (static_want_gz(r)) {
        char *gz = mpool_printf(&r->pool, "%.*s.gz", (int)path.len, path.p);
        if (gz != NULL && file_open(r, str_make(gz, path.len + 3), r->loc->disable_symlinks,
                                    static_gz_opened) == 0)
            return;
    }
    if (file_open(r, path, r->loc->disable_symlinks, static_opened) < 0)
        resp_error(r, 503);
}

/* ---- try_files ----------------------------------------------------------- */

/* The URIs of the candidates, kept for the callback. */
struct static_try {
    struct str *uris; /* evaluated candidates */
    size_t n;         /* how many */
};

static void static_try_found(struct req *r, int found, bool is_dir, int err)
{
    struct static_try *t = static_ctx(r)->tried;
    const struct try_files *tf = r->loc->try_files;
    (void)is_dir;
    if (err != 0) {
        conn_logf(r->c, LL_CRIT, err, "stat() for try_files candidate \"%.*s\" failed",
                  (int)t->uris[found].len, t->uris[found].p);
        resp_error(r, 500);
        return;
    }
    if (found >= 0) {
        r->path = t->uris[found];
        static_handle(r);
        return;
    }
    if (tf->code != 0) {
        resp_error(r, tf->code);
        return;
    }
    struct str uri;
    if (cval_eval(&tf->last, r, &uri) < 0)
        resp_error(r, 500);
    else
        handle_redirect(r, uri);
}

void static_try_files(struct req *r)
{
    const struct try_files *tf = r->loc->try_files;
    struct static_try *t = mpool_calloc(&r->pool, sizeof(*t));
    struct str *paths = mpool_alloc(&r->pool, sizeof(*paths) * (tf->nfiles + 1));
    struct static_ctx *sc = static_ctx(r);
    if (t == NULL || paths == NULL || sc == NULL ||
        (t->uris = mpool_alloc(&r->pool, sizeof(*t->uris) * (tf->nfiles + 1))) == NULL) {
        resp_error(r, 500);
        return;
    }
    for (size_t i = 0; i < tf->nfiles; i++) {
        if (cval_eval(&tf->files[i], r, &t->uris[i]) < 0 ||
            static_map(r, t->uris[i], &paths[i]) < 0) {
            resp_error(r, 500);
            return;
        }
    }
    t->n = tf->nfiles;
    sc->tried = t;
    if (file_stat(r, paths, tf->nfiles, r->loc->disable_symlinks, static_try_found) < 0)
        resp_error(r, 503);
}

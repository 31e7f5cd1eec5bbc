/* autoindex.c - directory listings (autoindex on), as nginx 1.22 writes them.
 *
 * Reading a directory can block on a cold disk, so the whole listing is
 * read, sorted and formatted in the worker's thread pool; the loop only
 * copies the finished body into the request's arena and sends it.  The
 * first half of this file is the server-independent part (autoindex_fmt.h),
 * the second the request handler. */
#include "handler/autoindex.h"
#include "handler/static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "handler/autoindex_fmt.h"
#include "handler/charset.h"
#include "http/cond.h"
#include "conf/conf.h"
#include "http/conn.h"
#include "core/log.h"
#include "http/req.h"
#include "http/resp.h"
#include "conf/conf_table.h"
#include "core/tpool.h"
#include "event/reactor.h"
#include "http/core_conf.h"
#include "http/req_job.h"

/* ---- reading a directory (any thread) --------------------------------- */

/* State of one autoindex_read. */
struct autoindex_reader {
    const char *dir;      /* directory path as given */
    size_t dir_len;       /* its length without the trailing "/" */
    int fd;               /* descriptor of the open directory */
    autoindex_log_cb log; /* where failures go */
    void *arg;            /* its argument */
};

int autoindex_open_status(int err)
{
    return static_errno_status(err);
}

/* Logs a failed call on the directory (name NULL) or one of its entries,
 * naming the path the way nginx does: "dir" or "dir/name". */
static void autoindex_log_fail(const struct autoindex_reader *rd, enum log_level level, int err,
                               const char *call, const char *name)
{
    if (rd->log == NULL)
        return;
    size_t name_len = name ? strlen(name) : 0;
    char *path = malloc(rd->dir_len + name_len + 2);
    if (path == NULL)
        return;
    if (name != NULL)
        snprintf(path, rd->dir_len + name_len + 2, "%.*s/%s", (int)rd->dir_len, rd->dir, name);
    else
        snprintf(path, rd->dir_len + 1, "%.*s", (int)rd->dir_len, rd->dir);
    rd->log(rd->arg, level, err, call, path);
    free(path);
}

static enum autoindex_type autoindex_type_of(mode_t mode)
{
    return S_ISDIR(mode) ? AUTOINDEX_DIR : S_ISREG(mode) ? AUTOINDEX_FILE : AUTOINDEX_OTHER;
}

static int autoindex_push(struct autoindex_list *l, const char *name, const struct stat *st)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct autoindex_entry *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, name, len + 1);
    l->v[l->n++] = (struct autoindex_entry){.name = copy,
                                            .len = len,
                                            .type = autoindex_type_of(st->st_mode),
                                            .mtime = st->st_mtime,
                                            .size = st->st_size};
    return 0;
}

/* nginx's order: stat the target; if it is missing or loops, describe the
 * link itself.  Returns 0, 1 to leave the entry out, or -1 to give up. */
static int autoindex_stat(const struct autoindex_reader *rd, const char *name, struct stat *st)
{
    if (fstatat(rd->fd, name, st, 0) == 0)
        return 0;
    int err = errno;
    if (err != ENOENT && err != ELOOP) {
        autoindex_log_fail(rd, LL_CRIT, err, "stat", name);
        return err == EACCES ? 1 : -1;
    }
    if (fstatat(rd->fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    autoindex_log_fail(rd, LL_CRIT, errno, "lstat", name);
    return -1;
}

static enum autoindex_read_rc autoindex_read_entries(const struct autoindex_reader *rd, DIR *d,
                                                     struct autoindex_list *l)
{
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL && errno == 0)
            return AUTOINDEX_READ_OK;
        if (de == NULL) {
            autoindex_log_fail(rd, LL_CRIT, errno, "readdir", NULL);
            return AUTOINDEX_READ_FAILED;
        }
        if (de->d_name[0] == '.')
            continue; /* ".", ".." and hidden files, as nginx */
        struct stat st;
        int rc = autoindex_stat(rd, de->d_name, &st);
        if (rc > 0)
            continue;
        if (rc < 0 || autoindex_push(l, de->d_name, &st) < 0)
            return AUTOINDEX_READ_FAILED;
    }
}

enum autoindex_read_rc autoindex_read(const char *dir, struct autoindex_list *l,
                                      autoindex_log_cb log, void *arg, int *err)
{
    struct autoindex_reader rd = {.dir = dir, .dir_len = strlen(dir), .log = log, .arg = arg};
    if (rd.dir_len > 1 && dir[rd.dir_len - 1] == '/')
        rd.dir_len--;
    DIR *d = opendir(dir);
    if (d == NULL) {
        *err = errno;
        autoindex_log_fail(&rd, autoindex_open_status(*err) == 500 ? LL_CRIT : LL_ERR, *err,
                           "opendir", NULL);
        return AUTOINDEX_OPEN_FAILED;
    }
    rd.fd = dirfd(d);
    enum autoindex_read_rc rc = autoindex_read_entries(&rd, d, l);
    if (closedir(d) < 0)
        autoindex_log_fail(&rd, LL_ALERT, errno, "closedir", NULL);
    return rc;
}

void autoindex_list_free(struct autoindex_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    *l = (struct autoindex_list){0};
}

static int autoindex_cmp(const void *one, const void *two)
{
    const struct autoindex_entry *a = one;
    const struct autoindex_entry *b = two;
    bool a_dir = a->type == AUTOINDEX_DIR;
    bool b_dir = b->type == AUTOINDEX_DIR;
    if (a_dir != b_dir)
        return a_dir ? -1 : 1;
    return strcmp(a->name, b->name);
}

void autoindex_sort(struct autoindex_entry *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), autoindex_cmp);
}

/* ---- escapes ----------------------------------------------------------- */

/* RFC 3986 unreserved: the only bytes nginx 1.22 leaves alone in an href
 * (its NGX_ESCAPE_URI_COMPONENT table). */
static bool autoindex_unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

size_t autoindex_escape_uri(char *dst, const char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (autoindex_unreserved(c)) {
            *p++ = (char)c;
            continue;
        }
        *p++ = '%';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 0xf];
    }
    return (size_t)(p - dst);
}

size_t autoindex_escape_html(char *dst, const char *src, size_t n)
{
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        const char *entity = src[i] == '<'   ? "&lt;"
                             : src[i] == '>' ? "&gt;"
                             : src[i] == '&' ? "&amp;"
                             : src[i] == '"' ? "&quot;"
                                             : NULL;
        if (entity == NULL) {
            *p++ = src[i];
            continue;
        }
        size_t len = strlen(entity);
        memcpy(p, entity, len);
        p += len;
    }
    return (size_t)(p - dst);
}

/* The short form of a control byte, or 0 for \u00XX. */
static char autoindex_json_short(unsigned char c)
{
    switch (c) {
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

size_t autoindex_escape_json(char *dst, const char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *p = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c > 0x1f) {
            if (c == '"' || c == '\\')
                *p++ = '\\';
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        char s = autoindex_json_short(c);
        if (s != 0) {
            *p++ = s;
            continue;
        }
        memcpy(p, "u00", 3);
        p[3] = hex[c >> 4];
        p[4] = hex[c & 0xf];
        p += 5;
    }
    return (size_t)(p - dst);
}

/* ---- output buffer ----------------------------------------------------- */

/* Room for n more bytes at the end, or NULL (and failed) without memory. */
static char *autoindex_reserve(struct autoindex_buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        if (n > SIZE_MAX / 4 - b->len) {
            b->failed = true; /* doubling below could never reach it */
            return NULL;
        }
        while (cap - b->len < n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

static void autoindex_put(struct autoindex_buf *b, const char *s, size_t n)
{
    char *p = autoindex_reserve(b, n);
    if (p != NULL) {
        memcpy(p, s, n);
        b->len += n;
    }
}

static void autoindex_puts(struct autoindex_buf *b, const char *s)
{
    autoindex_put(b, s, strlen(s));
}

static void autoindex_pad(struct autoindex_buf *b, size_t n)
{
    char *p = autoindex_reserve(b, n);
    if (p != NULL) {
        memset(p, ' ', n);
        b->len += n;
    }
}

typedef size_t (*autoindex_escape_cb)(char *dst, const char *src, size_t n);

/* Appends src through an escape whose output is at most `worst` bytes per
 * input byte. */
static void autoindex_put_esc(struct autoindex_buf *b, autoindex_escape_cb esc, size_t worst,
                              const char *src, size_t n)
{
    char *p = autoindex_reserve(b, n * worst);
    if (p != NULL)
        b->len += esc(p, src, n);
}

void autoindex_buf_free(struct autoindex_buf *b)
{
    free(b->p);
    *b = (struct autoindex_buf){0};
}

/* ---- HTML and JSON ----------------------------------------------------- */

size_t autoindex_html_date(time_t t, char *buf, size_t cap)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        time_t zero = 0; /* beyond struct tm's years: show the epoch */
        gmtime_r(&zero, &tm);
    }
    int n = snprintf(buf, cap, "%02d-%s-%d %02d:%02d", tm.tm_mday, months[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* nginx's ngx_utf8_length: characters, or the bytes when the name is not
 * valid UTF-8. */
static size_t autoindex_utf8_len(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (k == 0 || i + k > n)
            return n;
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xc0) != 0x80)
                return n;
        i += k;
    }
    return chars;
}

/* The bytes of the first `chars` characters of a valid UTF-8 name. */
static size_t autoindex_utf8_prefix(const char *s, size_t chars)
{
    size_t i = 0;
    for (; chars > 0; chars--) {
        unsigned char c = (unsigned char)s[i];
        i += c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    }
    return i;
}

/* The name as link text: cut to 47 characters plus "..>" when longer than
 * 50, else padded to 50 columns (a directory's "/" counts).  nginx counts
 * bytes unless the page's charset is utf-8. */
static void autoindex_html_name(struct autoindex_buf *b, const struct autoindex_entry *e, bool utf8)
{
    bool dir = e->type == AUTOINDEX_DIR;
    size_t width = utf8 ? autoindex_utf8_len(e->name, e->len) : e->len;
    if (width > AUTOINDEX_NAME_LEN) {
        size_t cut = width == e->len ? AUTOINDEX_NAME_LEN - 3
                                     : autoindex_utf8_prefix(e->name, AUTOINDEX_NAME_LEN - 3);
        autoindex_put_esc(b, autoindex_escape_html, 6, e->name, cut);
        autoindex_puts(b, "..&gt;</a>");
        return;
    }
    autoindex_put_esc(b, autoindex_escape_html, 6, e->name, e->len);
    if (dir && width < AUTOINDEX_NAME_LEN) {
        autoindex_puts(b, "/");
        width++;
    }
    autoindex_puts(b, "</a>");
    autoindex_pad(b, AUTOINDEX_NAME_LEN - width);
}

size_t autoindex_html_size(int64_t size, char *buf, size_t cap)
{
    static const int64_t units[] = {1024LL * 1024 * 1024, 1024 * 1024, 1024};
    static const int64_t above[] = {1024LL * 1024 * 1024 - 1, 1024 * 1024 - 1, 9999};
    static const char scales[] = "GMK";
    for (int i = 0; i < 3; i++) {
        if (size <= above[i])
            continue;
        int64_t n = size / units[i] + (size % units[i] > units[i] / 2 - 1);
        int len = snprintf(buf, cap, "%6lld%c", (long long)n, scales[i]);
        return len < 0 ? 0 : (size_t)len;
    }
    int len = snprintf(buf, cap, " %6lld", (long long)size);
    return len < 0 ? 0 : (size_t)len;
}

static void autoindex_html_entry(struct autoindex_buf *b, const struct autoindex_entry *e,
                                 const struct autoindex_opts *o)
{
    bool dir = e->type == AUTOINDEX_DIR;
    char date[32], size[32];
    char tail[96];
    autoindex_puts(b, "<a href=\"");
    autoindex_put_esc(b, autoindex_escape_uri, 3, e->name, e->len);
    autoindex_puts(b, dir ? "/\">" : "\">");
    autoindex_html_name(b, e, o->utf8);
    autoindex_html_date(e->mtime + o->gmtoff, date, sizeof(date));
    if (!o->rounded)
        snprintf(size, sizeof(size), "%19lld", (long long)e->size);
    else
        autoindex_html_size(e->size, size, sizeof(size));
    snprintf(tail, sizeof(tail), " %s %s\r\n", date,
             dir ? (o->rounded ? "      -" : "                  -") : size);
    autoindex_puts(b, tail);
}

void autoindex_html(struct autoindex_buf *b, struct str uri, const struct autoindex_entry *v,
                    size_t n, const struct autoindex_opts *opts)
{
    static const struct autoindex_opts defaults = {0};
    const struct autoindex_opts *o = opts != NULL ? opts : &defaults;
    autoindex_puts(b, "<html>\r\n<head><title>Index of ");
    autoindex_put_esc(b, autoindex_escape_html, 6, uri.p, uri.len);
    autoindex_puts(b, "</title></head>\r\n<body>\r\n<h1>Index of ");
    autoindex_put_esc(b, autoindex_escape_html, 6, uri.p, uri.len);
    autoindex_puts(b, "</h1><hr><pre><a href=\"../\">../</a>\r\n");
    for (size_t i = 0; i < n; i++)
        autoindex_html_entry(b, &v[i], o);
    autoindex_puts(b, "</pre><hr></body>\r\n</html>\r\n");
}

static void autoindex_json_entry(struct autoindex_buf *b, const struct autoindex_entry *e)
{
    static const char *const types[] = {
        [AUTOINDEX_FILE] = "file", [AUTOINDEX_DIR] = "directory", [AUTOINDEX_OTHER] = "other"};
    char date[40];
    char tail[128];
    cond_http_date(e->mtime, date, sizeof(date));
    autoindex_puts(b, "\r\n{ \"name\":\"");
    autoindex_put_esc(b, autoindex_escape_json, 6, e->name, e->len);
    if (e->type == AUTOINDEX_FILE)
        snprintf(tail, sizeof(tail), "\", \"type\":\"%s\", \"mtime\":\"%s\", \"size\":%lld },",
                 types[e->type], date, (long long)e->size);
    else
        snprintf(tail, sizeof(tail), "\", \"type\":\"%s\", \"mtime\":\"%s\" },", types[e->type],
                 date);
    autoindex_puts(b, tail);
}

void autoindex_json(struct autoindex_buf *b, const struct autoindex_entry *v, size_t n)
{
    autoindex_puts(b, "[");
    for (size_t i = 0; i < n; i++)
        autoindex_json_entry(b, &v[i]);
    if (n > 0 && !b->failed)
        b->len--; /* the last entry's comma */
    autoindex_puts(b, "\r\n]");
}

/* ---- the handler (loop thread, except autoindex_work) ------------------- */

/* A pool job that reads and formats one listing. */
struct autoindex_job {
    struct req_job rj;          /* the request's part; first */
    char ctx[512];              /* ", client: ..." for log lines from the pool */
    char *dir;                  /* directory path, NUL-terminated */
    char *uri;                  /* r->path, for the HTML title */
    size_t uri_len;             /* its length */
    bool json;                  /* autoindex_format json */
    struct autoindex_opts opts; /* how the HTML page shows entries */
    enum autoindex_read_rc rc;  /* result: how reading ended */
    int err;                    /* result: opendir's errno */
    struct autoindex_buf body;  /* result: the listing */
};

/* autoindex_log_cb for the pool: nginx's line, errno before the context. */
static void autoindex_job_log(void *arg, enum log_level level, int err, const char *call,
                              const char *path)
{
    const struct autoindex_job *j = arg;
    log_msg(level, j->rj.conn_id, 0, "%s() \"%s\" failed (%d: %s)%s", call, path, err,
            strerror(err), j->ctx);
}

static void autoindex_work(struct tpool_job *job)
{
    struct autoindex_job *j = (struct autoindex_job *)job;
    struct autoindex_list l = {0};
    j->rc = autoindex_read(j->dir, &l, autoindex_job_log, j, &j->err);
    if (j->rc == AUTOINDEX_READ_OK) {
        autoindex_sort(l.v, l.n);
        if (j->json)
            autoindex_json(&j->body, l.v, l.n);
        else
            autoindex_html(&j->body, str_make(j->uri, j->uri_len), l.v, l.n, &j->opts);
    }
    autoindex_list_free(&l);
}

/* Moves the finished listing into the request's arena and sends it. */
static void autoindex_send(struct req *r, const struct autoindex_job *j)
{
    char *body = mpool_alloc(&r->pool, j->body.len);
    if (body == NULL || req_set_body(r, str_make(body, j->body.len)) < 0) {
        resp_error(r, 500);
        return;
    }
    memcpy(body, j->body.p, j->body.len);
    r->status = 200;
    r->content_type = j->json ? STR_LIT("application/json") : STR_LIT("text/html");
    resp_send(r);
}

static void autoindex_done(struct req_job *rj)
{
    struct autoindex_job *j = (struct autoindex_job *)rj;
    if (j->rc == AUTOINDEX_OPEN_FAILED)
        resp_error(rj->r, autoindex_open_status(j->err));
    else if (j->rc != AUTOINDEX_READ_OK || j->body.failed)
        resp_error(rj->r, 500);
    else
        autoindex_send(rj->r, j);
}

static void autoindex_release(struct tpool_job *job)
{
    struct autoindex_job *j = (struct autoindex_job *)job;
    free(j->dir);
    free(j->uri);
    autoindex_buf_free(&j->body);
    free(j);
}

bool autoindex_enabled(const struct req *r)
{
    const struct autoindex_loc *al = loc_part(r->loc, &mod_autoindex);
    return al->on == 1;
}

/* The zone's offset now, applied to every date as nginx does (its cached
 * gmtoff), not each date's own. */
static long autoindex_gmtoff(const struct req *r)
{
    struct tm tm;
    time_t now = (time_t)ev_now(r->c->sk.rx->loop);
    return localtime_r(&now, &tm) != NULL ? tm.tm_gmtoff : 0;
}

/* nginx formats the page after the head, so a "charset utf-8" of the
 * location counts names in characters. */
static void autoindex_job_opts(struct req *r, const struct autoindex_loc *al,
                               struct autoindex_opts *o)
{
    struct str cs = charset_of(r);
    o->rounded = al->exact_size == 0;
    o->gmtoff = al->localtime == 1 ? autoindex_gmtoff(r) : 0;
    o->utf8 = cs.len == 5 && strncasecmp(cs.p, "utf-8", 5) == 0;
}

/* Copies everything the pool thread needs: it must never look at r. */
static struct autoindex_job *autoindex_job_new(struct req *r, struct str dir)
{
    const struct autoindex_loc *al = loc_part(r->loc, &mod_autoindex);
    struct autoindex_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->json = al->format == AUTOINDEX_JSON;
    autoindex_job_opts(r, al, &j->opts);
    j->dir = strndup(dir.p, dir.len);
    j->uri = strndup(r->path.p, r->path.len);
    j->uri_len = r->path.len;
    if (j->dir == NULL || j->uri == NULL) {
        autoindex_release(&j->rj.job);
        return NULL;
    }
    conn_log_context(r->c, j->ctx, sizeof(j->ctx));
    return j;
}

void autoindex_handle(struct req *r, struct str dir)
{
    if (r->method == HTTP_POST) {
        /* nginx's autoindex declines POST and the content phase refuses */
        conn_logf(r->c, LL_ERR, 0, "directory index of \"%.*s\" is forbidden", (int)dir.len, dir.p);
        resp_error(r, 403);
        return;
    }
    if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
        resp_error(r, 405);
        return;
    }
    struct autoindex_job *j = autoindex_job_new(r, dir);
    if (j == NULL) {
        resp_error(r, 500);
        return;
    }
    if (req_job_submit(r, &j->rj, TPOOL_CPU, autoindex_work, autoindex_done, autoindex_release) <
        0) {
        autoindex_release(&j->rj.job);
        resp_error(r, 503);
    }
}

/* ---- configuration ------------------------------------------------------- */

static const struct conf_enum autoindex_formats[] = {
    {"html", AUTOINDEX_HTML},
    {"json", AUTOINDEX_JSON},
    {NULL, 0},
};

/* The generic enum, but with a message for nginx's formats we lack. */
static int conf_set_autoindex_format(struct conf_loader *cl, const struct conf_node *n,
                                     const struct conf_cmd *cmd)
{
    struct autoindex_loc *al = cl->part(cl, &mod_autoindex);
    const char *v = n->args[1].s;
    if (al->format != -1)
        return conf_err_dup(cl, n, cmd);
    for (const struct conf_enum *e = autoindex_formats; e->name != NULL; e++) {
        if (strcmp(e->name, v) == 0) {
            al->format = e->value;
            return 0;
        }
    }
    if (strcmp(v, "xml") == 0 || strcmp(v, "jsonp") == 0)
        return conf_err(cl, n, "autoindex_format \"%s\" is not supported, use html or json", v);
    return conf_err_value(cl, n, cmd, 1);
}

#define AI_F(f) CS_PART, offsetof(struct autoindex_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd autoindex_cmds[] = {
    {"autoindex", HSL, ARGS(1), CT_FLAG, AI_F(on), "off", NULL, NULL},
    {"autoindex_exact_size", HSL, ARGS(1), CT_FLAG, AI_F(exact_size), "on", NULL, NULL},
    {"autoindex_localtime", HSL, ARGS(1), CT_FLAG, AI_F(localtime), "off", NULL, NULL},
    {"autoindex_format", HSL, ARGS(1), CT_ENUM, AI_F(format), "html", conf_set_autoindex_format,
     autoindex_formats},
};

struct module mod_autoindex = {
    .name = "http_autoindex",
    .cmds = autoindex_cmds,
    .ncmds = sizeof(autoindex_cmds) / sizeof(autoindex_cmds[0]),
    .part_size = sizeof(struct autoindex_loc),
};

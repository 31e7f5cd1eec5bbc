/* alog.c - the access log: access_log and log_format with nginx's meaning.
 *
 * Configuration: every distinct path becomes one alog_file, shared by all
 * the access_log directives that name it; the master opens it (as root,
 * chowned to the worker user) so a worker never needs to create files.
 *
 * Worker: each file gets one buffer per worker, as large as the largest
 * buffer= that writes to it.  Only whole lines go into a buffer and a buffer
 * goes out in one write(), so workers appending to the same O_APPEND file
 * never interleave parts of lines.  The buffers live in this file's static
 * worker state, not in the configuration, which stays immutable. */
#include "http/alog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "conf/conf_table.h"
#include "core/log.h"
#include "core/syslog.h"
#include "event/reactor.h"
#include "http/alog_fmt.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"

/* configure sets the default: relative (under the prefix), as nginx's
 * logs/access.log, unless it was told where state lives. */
#ifndef TP_HTTP_LOG_PATH
#define TP_HTTP_LOG_PATH "logs/access.log"
#endif
#define ALOG_ALERT_EVERY 60 /* seconds between alerts about one file, as nginx */

/* One file, shared by every access_log naming its path. */
struct alog_file {
    char *path;                 /* full path (or the syslog: text): the file's identity */
    struct syslog_dest *syslog; /* a syslog: destination, or NULL for a file */
    int fd;                     /* descriptor opened by the master, or -1 */
    size_t bufsize;             /* largest buffer= of the directives writing here */
    long flush_ms;              /* smallest flush= of those; 0 = only when full */
    unsigned index;             /* slot in the worker's buffer table */
    struct alog_file *next;     /* next in the module's list */
};

/* The module's main-level data. */
struct alog_main {
    struct alog_fmt *formats; /* log_format definitions */
    struct alog_file *files;  /* every access log file */
};

/* The module's part of a level. */
struct alog_loc {
    struct alog_set *logs; /* access_log directives, or NULL: inherit */
};

static struct alog_main *alog_main_of(const struct conf *c)
{
    return conf_mod(c, &mod_http_log);
}

static struct alog_file *alog_files(const struct conf *c)
{
    const struct alog_main *m = alog_main_of(c);
    return m != NULL ? m->files : NULL;
}

/* The module's data, made at the first directive that needs it. */
static struct alog_main *alog_main_get(struct conf_loader *cl)
{
    struct alog_main *m = alog_main_of(cl->conf);
    if (m == NULL && (m = mpool_calloc(cl->pool, sizeof(*m))) != NULL)
        conf_set_mod(cl->conf, &mod_http_log, m);
    return m;
}

const struct alog_set *alog_set_of(const struct loc_conf *loc)
{
    const struct alog_loc *al = loc_part(loc, &mod_http_log);
    return al->logs;
}

/* A worker's buffer for one file. */
struct alog_wbuf {
    char *data;      /* bufsize bytes, allocated at the first line */
    size_t len;      /* bytes held: whole lines only */
    ev_tstamp since; /* when the oldest held line came in */
    time_t alerted;  /* when a failed write was last reported, or 0 */
};

/* This process's worker state. */
static struct {
    struct ev_loop *loop;    /* the worker's loop; NULL: lines go out at once */
    const struct conf *conf; /* the generation whose files bufs serve */
    struct alog_wbuf *bufs;  /* one per file, by alog_file.index */
    unsigned n;              /* how many */
    ev_timer flush;          /* fires at the earliest flush= deadline */
    ev_tstamp deadline;      /* when flush fires, while it is active */
} alog_w;

/* ---- formats: compiling, escaping, rendering -------------------------- */

/* Only variable values are escaped; the format's literal text is written as
 * given.  A line is measured first and then written in place, so it can go
 * straight into a file's buffer without an intermediate copy. */

static const char alog_hex[] = "0123456789ABCDEF";

int alog_fmt_escape_parse(const char *s, enum alog_escape *out)
{
    if (strcmp(s, "default") == 0)
        *out = ALOG_ESC_DEFAULT;
    else if (strcmp(s, "json") == 0)
        *out = ALOG_ESC_JSON;
    else if (strcmp(s, "none") == 0)
        *out = ALOG_ESC_NONE;
    else
        return -1;
    return 0;
}

/* Each string is compiled on its own, as nginx does, so a "$" at the end of
 * one string never joins a name at the start of the next. */
int alog_fmt_compile(struct mpool *p, struct alog_fmt *f, const struct conf_arg *args, size_t n,
                     char *err, size_t errlen)
{
    struct cval cv[n ? n : 1];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (cval_compile(p, args[i].s, args[i].len, &cv[i], err, errlen) < 0)
            return -1;
        total += cv[i].nparts;
    }
    f->parts = mpool_alloc(p, sizeof(*f->parts) * (total ? total : 1));
    if (f->parts == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f->nparts = 0;
    for (size_t i = 0; i < n; i++) {
        if (cv[i].nparts == 0) /* an empty string: parts is NULL */
            continue;
        memcpy(f->parts + f->nparts, cv[i].parts, sizeof(*f->parts) * cv[i].nparts);
        f->nparts += cv[i].nparts;
    }
    return 0;
}

/* nginx's ngx_http_log_escape() set: controls, `"`, `\`, DEL and up. */
static bool alog_esc_default(unsigned char ch)
{
    return ch < 0x20 || ch == '"' || ch == '\\' || ch > 0x7e;
}

/* Bytes ch takes once JSON-escaped (nginx's ngx_escape_json()). */
static size_t alog_json_len(unsigned char ch)
{
    if (ch == '"' || ch == '\\')
        return 2;
    if (ch >= 0x20)
        return 1;
    return strchr("\n\r\t\b\f", ch) != NULL ? 2 : 6;
}

size_t alog_fmt_escaped_len(enum alog_escape e, struct str v)
{
    size_t len = 0;
    if (v.len == 0)
        return e == ALOG_ESC_DEFAULT ? 1 : 0;
    if (e == ALOG_ESC_NONE)
        return v.len;
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (e == ALOG_ESC_JSON)
            len += alog_json_len(ch);
        else
            len += alog_esc_default(ch) ? 4 : 1;
    }
    return len;
}

static char *alog_json_char(unsigned char ch, char *dst)
{
    static const char from[] = "\n\r\t\b\f", to[] = "nrtbf";
    if (ch >= 0x20) {
        if (ch == '"' || ch == '\\')
            *dst++ = '\\';
        *dst++ = (char)ch;
        return dst;
    }
    *dst++ = '\\';
    const char *at = ch != 0 ? strchr(from, ch) : NULL;
    if (at != NULL) {
        *dst++ = to[at - from];
        return dst;
    }
    memcpy(dst, "u00", 3);
    dst[3] = (char)('0' + (ch >> 4));
    dst[4] = "0123456789abcdef"[ch & 0xf];
    return dst + 5;
}

char *alog_fmt_escape(enum alog_escape e, struct str v, char *dst)
{
    if (v.len == 0) {
        if (e == ALOG_ESC_DEFAULT)
            *dst++ = '-';
        return dst;
    }
    if (e == ALOG_ESC_NONE) {
        memcpy(dst, v.p, v.len);
        return dst + v.len;
    }
    for (size_t i = 0; i < v.len; i++) {
        unsigned char ch = (unsigned char)v.p[i];
        if (e == ALOG_ESC_JSON) {
            dst = alog_json_char(ch, dst);
        } else if (alog_esc_default(ch)) {
            dst[0] = '\\';
            dst[1] = 'x';
            dst[2] = alog_hex[ch >> 4];
            dst[3] = alog_hex[ch & 0xf];
            dst += 4;
        } else {
            *dst++ = (char)ch;
        }
    }
    return dst;
}

size_t alog_fmt_eval(const struct alog_fmt *f, struct req *r, struct str **vals)
{
    struct str *v = mpool_alloc(&r->pool, sizeof(*v) * (f->nparts ? f->nparts : 1));
    size_t len = 1; /* the newline */
    if (v == NULL)
        return (size_t)-1;
    for (size_t i = 0; i < f->nparts; i++) {
        const struct cval_part *part = &f->parts[i];
        if (part->var == NULL) {
            v[i] = str_make(part->lit, part->len);
            len += part->len;
            continue;
        }
        part->var->get(r, part, &v[i]);
        len += alog_fmt_escaped_len(f->escape, v[i]);
    }
    *vals = v;
    return len;
}

void alog_fmt_write(const struct alog_fmt *f, const struct str *vals, char *dst)
{
    for (size_t i = 0; i < f->nparts; i++) {
        if (f->parts[i].var == NULL) {
            memcpy(dst, vals[i].p, vals[i].len);
            dst += vals[i].len;
        } else {
            dst = alog_fmt_escape(f->escape, vals[i], dst);
        }
    }
    *dst = '\n';
}

/* ---- log_format -------------------------------------------------------- */

static const struct alog_fmt *alog_fmt_lookup(const struct alog_main *m, const char *name,
                                              bool nocase)
{
    for (const struct alog_fmt *f = m->formats; f != NULL; f = f->next)
        if (nocase ? strcasecmp(f->name, name) == 0 : strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

const struct alog_fmt *alog_fmt_find(const struct conf *c, const char *name)
{
    const struct alog_main *m = alog_main_of(c);
    return m != NULL ? alog_fmt_lookup(m, name, true) : NULL;
}

static struct alog_fmt *alog_fmt_add(struct conf_loader *cl, const char *name)
{
    struct alog_main *m = alog_main_get(cl);
    struct alog_fmt *f = mpool_calloc(cl->pool, sizeof(*f));
    if (m == NULL || f == NULL || (f->name = mpool_strdup(cl->pool, name)) == NULL)
        return NULL;
    f->next = m->formats;
    m->formats = f;
    return f;
}

/* nginx predefines `combined` before any log_format, so it can be neither
 * redefined nor missing. */
static int alog_fmt_predefine(struct conf_loader *cl)
{
    char text[] = ALOG_COMBINED;
    struct conf_arg arg = {.s = text, .len = sizeof(text) - 1};
    struct alog_main *m = alog_main_get(cl);
    if (m == NULL)
        return -1;
    if (alog_fmt_lookup(m, "combined", false) != NULL)
        return 0;
    struct alog_fmt *f = alog_fmt_add(cl, "combined");
    if (f == NULL)
        return -1;
    return alog_fmt_compile(cl->pool, f, &arg, 1, cl->err, cl->errlen);
}

static int conf_set_log_format(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    const char *name = n->args[1].s;
    size_t first = 2;
    enum alog_escape esc = ALOG_ESC_DEFAULT;
    char msg[256];
    if (n->nargs < 3)
        return conf_err(cl, n, "invalid number of arguments in \"%s\" directive", cmd->name);
    if (alog_fmt_predefine(cl) < 0)
        return conf_err(cl, n, "out of memory");
    if (alog_fmt_lookup(alog_main_of(cl->conf), name, false) != NULL)
        return conf_err(cl, n, "duplicate \"log_format\" name \"%s\"", name);
    if (strncmp(n->args[2].s, "escape=", 7) == 0) {
        if (alog_fmt_escape_parse(n->args[2].s + 7, &esc) < 0)
            return conf_err(cl, n, "unknown log format escaping \"%s\"", n->args[2].s + 7);
        first = 3;
    }
    struct alog_fmt *f = alog_fmt_add(cl, name);
    if (f == NULL)
        return conf_err(cl, n, "out of memory");
    f->escape = esc;
    if (alog_fmt_compile(cl->pool, f, n->args + first, n->nargs - first, msg, sizeof(msg)) < 0)
        return conf_err(cl, n, "%s", msg);
    return 0;
}

/* ---- access_log ---------------------------------------------------------- */

/* The file for path, shared with earlier directives naming it; it takes the
 * largest buffer and the shortest flush time of its directives. */
static struct alog_file *alog_file_get(struct conf_loader *cl, const char *path,
                                       const struct alog *log)
{
    struct alog_main *m = alog_main_get(cl);
    bool syslog = strncmp(path, "syslog:", 7) == 0;
    char *full = syslog ? mpool_strdup(cl->pool, path)
                        : conf_full_path(cl->pool, cl->conf->paths.prefix, path);
    if (full == NULL || m == NULL)
        return NULL;
    struct alog_file *f = m->files, **tail = &m->files;
    unsigned index = 0;
    for (; f != NULL && strcmp(f->path, full) != 0; f = f->next, index++)
        tail = &f->next;
    if (f == NULL) {
        if ((f = mpool_calloc(cl->pool, sizeof(*f))) == NULL)
            return NULL;
        f->path = full;
        f->fd = -1;
        f->index = index;
        *tail = f;
    }
    if (log->buffer > f->bufsize)
        f->bufsize = log->buffer;
    if (log->flush_ms > 0 && (f->flush_ms == 0 || log->flush_ms < f->flush_ms))
        f->flush_ms = log->flush_ms;
    return f;
}

static struct alog_set *alog_set_here(struct conf_loader *cl)
{
    struct alog_loc *al = cl->part(cl, &mod_http_log);
    if (al->logs == NULL)
        al->logs = mpool_calloc(cl->pool, sizeof(*al->logs));
    return al->logs;
}

static int alog_set_push(struct mpool *p, struct alog_set *set, const struct alog *log)
{
    struct alog *slot = conf_push(p, &set->logs, &set->n, sizeof(*slot));
    if (slot == NULL)
        return -1;
    *slot = *log;
    return 0;
}

static int alog_param_if(struct conf_loader *cl, const struct conf_node *n, const char *text,
                         struct alog *log)
{
    char msg[256];
    if (cval_compile(cl->pool, text, strlen(text), &log->cond, msg, sizeof(msg)) < 0)
        return conf_err(cl, n, "%s", msg);
    log->has_cond = true;
    return 0;
}

int alog_param_buffer(struct conf_loader *cl, const struct conf_node *n, const char *a,
                      size_t *buffer, long *flush_ms)
{
    long v;
    if (strncmp(a, "buffer=", 7) == 0) {
        if (conf_parse_size(a + 7, &v) < 0 || v == 0)
            return conf_err(cl, n, "invalid buffer size \"%s\"", a + 7);
        *buffer = (size_t)v;
        return 1;
    }
    if (strncmp(a, "flush=", 6) == 0) {
        if (conf_parse_msec(a + 6, flush_ms) < 0 || *flush_ms == 0)
            return conf_err(cl, n, "invalid flush time \"%s\"", a + 6);
        return 1;
    }
    if (strncmp(a, "gzip", 4) == 0 && (a[4] == '\0' || a[4] == '='))
        return conf_err(cl, n, "\"gzip\" in \"access_log\" is not supported");
    return 0;
}

/* One of buffer=, flush=, gzip[=], if= after the format name. */
static int alog_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                      struct alog *log)
{
    int rc = alog_param_buffer(cl, n, a, &log->buffer, &log->flush_ms);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (strncmp(a, "if=", 3) == 0)
        return alog_param_if(cl, n, a + 3, log);
    return conf_err(cl, n, "invalid parameter \"%s\"", a);
}

/* What nginx can do with a path and we do not. */
static int alog_path_check(struct conf_loader *cl, const struct conf_node *n, const char *path)
{
    if (strncmp(path, "syslog:", 7) != 0 && strchr(path, '$') != NULL)
        return conf_err(cl, n, "variables in \"access_log\" path are not supported");
    return 0;
}

/* A syslog: destination: parsed once per distinct text; nginx sends each
 * line at once, so it cannot be buffered. */
static int alog_syslog(struct conf_loader *cl, const struct conf_node *n, struct alog *log)
{
    char msg[256];
    if (log->buffer > 0)
        return conf_err(cl, n, "logs to syslog cannot be buffered");
    if (log->file->syslog != NULL)
        return 0;
    if ((log->file->syslog = mpool_calloc(cl->pool, sizeof(*log->file->syslog))) == NULL)
        return conf_err_nomem(cl, n);
    if (syslog_parse(log->file->path + 7, log->file->syslog, msg, sizeof(msg)) < 0)
        return conf_err(cl, n, "%s", msg);
    return 0;
}

static const struct alog_fmt *alog_fmt_named(struct conf_loader *cl, const char *name)
{
    if (alog_fmt_predefine(cl) < 0)
        return NULL;
    return alog_fmt_lookup(alog_main_of(cl->conf), name, true);
}

static int conf_set_access_log(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    const char *path = n->args[1].s;
    const char *name = n->nargs > 2 ? n->args[2].s : "combined";
    struct alog_set *set = alog_set_here(cl);
    struct alog log = {0};
    (void)cmd;
    if (set == NULL)
        return conf_err(cl, n, "out of memory");
    if (strcmp(path, "off") == 0) {
        if (n->nargs > 2)
            return conf_err(cl, n, "invalid parameter \"%s\"", n->args[2].s);
        set->off = true;
        return 0;
    }
    if (alog_path_check(cl, n, path) < 0)
        return -1;
    if ((log.fmt = alog_fmt_named(cl, name)) == NULL)
        return conf_err(cl, n, "unknown log format \"%s\"", name);
    for (size_t i = 3; i < n->nargs; i++)
        if (alog_param(cl, n, n->args[i].s, &log) < 0)
            return -1;
    if (log.flush_ms > 0 && log.buffer == 0)
        return conf_err(cl, n, "no buffer is defined for access_log \"%s\"", path);
    if ((log.file = alog_file_get(cl, path, &log)) == NULL)
        return conf_err(cl, n, "out of memory");
    if (strncmp(path, "syslog:", 7) == 0 && alog_syslog(cl, n, &log) < 0)
        return -1;
    if (alog_set_push(cl->pool, set, &log) < 0)
        return conf_err(cl, n, "out of memory");
    return 0;
}

/* nginx gives a level without access_log its parent's, and the default
 * only to a server that finds none up to http: with no server needing it,
 * the default file is not even opened. */
static bool alog_default_needed(const struct http_conf *h)
{
    for (size_t i = 0; i < h->nservers; i++)
        if (alog_set_of(h->servers[i]->loc) == NULL)
            return true;
    return false;
}

/* Runs on the http level before it is merged down, when it is still known
 * which servers have their own access_log. */
static int alog_part_defaults(struct conf_loader *cl, void *part)
{
    struct alog_loc *al = part;
    const struct http_conf *h = http_main(cl->conf);
    struct alog log = {0};
    if (al->logs != NULL || !alog_default_needed(h))
        return 0;
    struct alog_set *set = mpool_calloc(cl->pool, sizeof(*set));
    if (set == NULL || (log.fmt = alog_fmt_named(cl, "combined")) == NULL ||
        (log.file = alog_file_get(cl, TP_HTTP_LOG_PATH, &log)) == NULL ||
        alog_set_push(cl->pool, set, &log) < 0) {
        snprintf(cl->err, cl->errlen, "out of memory");
        return -1;
    }
    al->logs = set;
    return 0;
}

static void alog_part_merge(const void *from, void *to)
{
    const struct alog_loc *parent = from;
    struct alog_loc *child = to;
    if (child->logs == NULL)
        child->logs = parent->logs;
}

/* ---- files (master) ------------------------------------------------------ */

/* Creates or opens path for appending; a new regular file is given to the
 * worker user (never a file it does not own, like /dev/null) so a worker can
 * reopen it after dropping privileges. */
static int alog_open_path(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (fd >= 0 && uid != (uid_t)-1 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_uid != uid)
        (void)!fchown(fd, uid, gid);
    return fd;
}

int alog_open(struct conf *c, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    for (struct alog_file *f = alog_files(c); f != NULL; f = f->next) {
        if (f->syslog != NULL && syslog_open(f->syslog, err, errlen) < 0) {
            alog_close(c);
            return -1;
        }
        if (f->fd >= 0 || f->syslog != NULL)
            continue;
        f->fd = alog_open_path(f->path, uid, gid);
        if (f->fd < 0) {
            int e = errno;
            snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", f->path, e, strerror(e));
            alog_close(c);
            return -1;
        }
    }
    return 0;
}

void alog_close(struct conf *c)
{
    for (struct alog_file *f = alog_files(c); f != NULL; f = f->next) {
        if (f->syslog != NULL)
            syslog_close(f->syslog);
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
    }
}

/* dup2 keeps the descriptor number, which every copy of the configuration
 * (and, in the master, every worker forked later) refers to. */
static void alog_reopen_file(const struct alog_file *f, uid_t uid, gid_t gid)
{
    if (f->fd < 0)
        return;
    int fd = alog_open_path(f->path, uid, gid);
    if (fd < 0) {
        log_msg(LL_ALERT, 0, errno, "open() \"%s\" failed", f->path);
        return;
    }
    if (dup2(fd, f->fd) < 0)
        log_msg(LL_ALERT, 0, errno, "dup2() for \"%s\" failed", f->path);
    close(fd);
}

void alog_reopen_master(struct conf *c, uid_t uid, gid_t gid)
{
    for (const struct alog_file *f = alog_files(c); f != NULL; f = f->next)
        alog_reopen_file(f, uid, gid);
}

/* ---- writing (worker) ---------------------------------------------------- */

/* One write() per call: a short write is not retried, since finishing it
 * later could put part of a line after another worker's line. */
static void alog_write(const struct alog_file *f, struct alog_wbuf *b, const char *p, size_t len)
{
    ssize_t n;
    do
        n = write(f->fd, p, len);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return;
    int err = n < 0 ? errno : 0;
    time_t now = time(NULL);
    if (b != NULL && b->alerted != 0 && now - b->alerted < ALOG_ALERT_EVERY)
        return;
    if (b != NULL)
        b->alerted = now;
    if (n < 0)
        log_msg(LL_ALERT, 0, err, "write() to \"%s\" failed", f->path);
    else
        log_msg(LL_ALERT, 0, 0, "write() to \"%s\" was incomplete: %zd of %zu", f->path, n, len);
}

/* Writes out what b holds; on failure the lines are dropped, not retried. */
static void alog_flush(const struct alog_file *f, struct alog_wbuf *b)
{
    if (b->len == 0)
        return;
    alog_write(f, b, b->data, b->len);
    b->len = 0;
}

static struct alog_wbuf *alog_buf(const struct alog_file *f)
{
    if (alog_w.bufs == NULL || f->bufsize == 0 || f->index >= alog_w.n)
        return NULL;
    return &alog_w.bufs[f->index];
}

/* One timer for all files: it runs at the earliest deadline, and a later
 * deadline never touches it. */
static void alog_timer_want(ev_tstamp due)
{
    if (ev_is_active(&alog_w.flush) && alog_w.deadline <= due)
        return;
    ev_tstamp in = due - ev_now(alog_w.loop);
    ev_timer_stop(alog_w.loop, &alog_w.flush);
    ev_timer_set(&alog_w.flush, in > 0 ? in : 0., 0.);
    ev_timer_start(alog_w.loop, &alog_w.flush);
    alog_w.deadline = due;
}

static void alog_flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    ev_tstamp now = ev_now(loop), next = 0;
    (void)t;
    (void)revents;
    for (const struct alog_file *f = alog_files(alog_w.conf); f != NULL; f = f->next) {
        struct alog_wbuf *b = alog_buf(f);
        if (b == NULL || b->len == 0 || f->flush_ms == 0)
            continue;
        ev_tstamp due = b->since + (ev_tstamp)f->flush_ms / 1000.;
        if (due <= now + 0.001) /* the timer's clock and ev_now may differ by a hair */
            alog_flush(f, b);
        else if (next == 0 || due < next)
            next = due;
    }
    if (next > 0)
        alog_timer_want(next);
}

/* Room for a len-byte line in b, writing out what b holds if the line does
 * not fit after it; NULL when the line must go out on its own. */
static char *alog_room(const struct alog_file *f, struct alog_wbuf *b, size_t len)
{
    if (b == NULL)
        return NULL;
    if (b->len + len > f->bufsize)
        alog_flush(f, b);
    if (len > f->bufsize)
        return NULL;
    if (b->data == NULL && (b->data = malloc(f->bufsize)) == NULL)
        return NULL;
    return b->data + b->len;
}

/* A line of len bytes was written into b's free space by a directive
 * with buffer= bytes (0: none). */
static void alog_held(const struct alog_file *f, size_t buffer, struct alog_wbuf *b, size_t len)
{
    if (b->len == 0) {
        b->since = ev_now(alog_w.loop);
        if (f->flush_ms > 0)
            alog_timer_want(b->since + (ev_tstamp)f->flush_ms / 1000.);
    }
    b->len += len;
    /* A directive without buffer= sharing a buffered file: its line goes
     * out now, after the lines before it, so the file stays in order. */
    if (buffer == 0)
        alog_flush(f, b);
}

static bool alog_cond(struct req *r, const struct cval *cond)
{
    struct str v;
    if (cval_eval(cond, r, &v) < 0)
        return false;
    return v.len > 0 && !(v.len == 1 && v.p[0] == '0');
}

/* nginx sends the line without its newline, at the destination's
 * severity. */
static void alog_send_syslog(struct req *r, const struct alog *log, const struct str *vals,
                             size_t len)
{
    char *dst = mpool_alloc(&r->pool, len);
    if (dst == NULL)
        return;
    alog_fmt_write(log->fmt, vals, dst);
    syslog_send(log->file->syslog, log->file->syslog->severity, dst, len - 1);
}

static void alog_one(struct req *r, const struct alog *log)
{
    struct str *vals;
    if (log->has_cond && !alog_cond(r, &log->cond))
        return;
    size_t len = alog_fmt_eval(log->fmt, r, &vals);
    if (len == (size_t)-1)
        return;
    if (log->file->syslog != NULL) {
        alog_send_syslog(r, log, vals, len);
        return;
    }
    struct alog_wbuf *b = alog_buf(log->file);
    char *dst = alog_room(log->file, b, len);
    if (dst != NULL) {
        alog_fmt_write(log->fmt, vals, dst);
        alog_held(log->file, log->buffer, b, len);
        return;
    }
    if ((dst = mpool_alloc(&r->pool, len)) == NULL)
        return;
    alog_fmt_write(log->fmt, vals, dst);
    alog_write(log->file, b, dst, len);
}

/* ---- another protocol's lines (stream) ------------------------------------- */

struct alog_file *alog_file_add(struct conf_loader *cl, const struct conf_node *n, const char *path,
                                size_t buffer, long flush_ms)
{
    struct alog log = {.buffer = buffer, .flush_ms = flush_ms};
    if ((log.file = alog_file_get(cl, path, &log)) == NULL) {
        conf_err_nomem(cl, n);
        return NULL;
    }
    if (strncmp(path, "syslog:", 7) == 0 && alog_syslog(cl, n, &log) < 0)
        return NULL;
    return log.file;
}

void alog_file_line(const struct alog_file *f, size_t buffer, const char *line, size_t len)
{
    if (f->syslog != NULL) {
        syslog_send(f->syslog, f->syslog->severity, line, len - 1);
        return;
    }
    struct alog_wbuf *b = alog_buf(f);
    char *dst = alog_room(f, b, len);
    if (dst == NULL) {
        alog_write(f, b, line, len);
        return;
    }
    memcpy(dst, line, len);
    alog_held(f, buffer, b, len);
}

void alog_request(struct req *r)
{
    const struct alog_set *set = alog_set_of(resp_loc(r));
    if (set == NULL || set->off)
        return;
    for (size_t i = 0; i < set->n; i++)
        alog_one(r, &set->logs[i]);
}

static void alog_flush_all(const struct conf *c)
{
    for (const struct alog_file *f = alog_files(c); f != NULL; f = f->next) {
        struct alog_wbuf *b = alog_buf(f);
        if (b != NULL)
            alog_flush(f, b);
    }
}

/* The worker may no longer create files in a root-owned directory, but the
 * master has just created each one owned by the worker user. */
static void alog_reopen_worker(struct reactor *rx)
{
    const struct conf *c = rx->conf;
    alog_flush_all(c);
    for (const struct alog_file *f = alog_files(c); f != NULL; f = f->next)
        alog_reopen_file(f, (uid_t)-1, (gid_t)-1);
}

static int alog_worker_start(struct reactor *rx)
{
    const struct conf *c = rx->conf;
    unsigned n = 0;
    for (const struct alog_file *f = alog_files(c); f != NULL; f = f->next)
        n++;
    memset(&alog_w, 0, sizeof(alog_w));
    alog_w.bufs = calloc(n ? n : 1, sizeof(*alog_w.bufs));
    if (alog_w.bufs == NULL) {
        log_msg(LL_ALERT, 0, errno, "access log buffers: writing every line at once");
        return 0;
    }
    alog_w.loop = rx->loop;
    alog_w.conf = c;
    alog_w.n = n;
    ev_init(&alog_w.flush, alog_flush_cb);
    return 0;
}

static void alog_worker_drain(struct reactor *rx)
{
    alog_flush_all(rx->conf);
}

static void alog_worker_stop(struct reactor *rx)
{
    if (alog_w.bufs == NULL)
        return;
    alog_flush_all(rx->conf);
    ev_timer_stop(rx->loop, &alog_w.flush);
    for (unsigned i = 0; i < alog_w.n; i++)
        free(alog_w.bufs[i].data);
    free(alog_w.bufs);
    memset(&alog_w, 0, sizeof(alog_w));
}

/* ---- the module ---------------------------------------------------------- */

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

static const struct conf_cmd alog_cmds[] = {
    {"log_format", CTX_HTTP, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL,
     conf_set_log_format, NULL},
    {"access_log", HSL, ARGS_1MORE, CT_CUSTOM, CS_MAIN, 0, NULL, conf_set_access_log, NULL},
};

struct module mod_http_log = {
    .name = "http_log",
    .cmds = alog_cmds,
    .ncmds = sizeof(alog_cmds) / sizeof(alog_cmds[0]),
    .part_size = sizeof(struct alog_loc),
    .part_merge = alog_part_merge,
    .part_defaults = alog_part_defaults,
    .worker_start = alog_worker_start,
    .worker_drain = alog_worker_drain,
    .worker_reopen = alog_reopen_worker,
    .worker_stop = alog_worker_stop,
};

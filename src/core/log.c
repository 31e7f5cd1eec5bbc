/* log.c - the error log. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/syslog.h"

/* An open destination. */
struct log_out {
    char *path;                /* file path (malloc'd); NULL for stderr and syslog */
    int fd;                    /* where lines go: a file, stderr, or a syslog socket */
    bool owns_fd;              /* fd is this out's own to close (a path named twice shares one) */
    enum log_level level;      /* highest level written */
    bool http;                 /* an http level's: written only for its requests' lines */
    bool is_syslog;            /* lines go to syslog */
    struct syslog_dest syslog; /* the destination, with its socket, when is_syslog */
};

static struct log_out *log_outs; /* open destinations, as the configuration lists its sinks */
static unsigned log_nouts;       /* 0: startup mode, stderr */
static bool log_startup;         /* echo warnings to stderr */

static const char *const log_names[] = {
    "stderr", "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
};

int log_level_parse(const char *name, enum log_level *out)
{
    for (unsigned i = LL_EMERG; i <= LL_DEBUG; i++) {
        if (strcmp(name, log_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

void log_set_startup(bool on)
{
    log_startup = on;
}

static int log_open_path(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (uid != (uid_t)-1) {
        struct stat st;
        /* Only chown what we own and is not already the worker's: never
         * take over a file someone pointed us at, like /dev/null. */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid != uid)
            (void)fchown(fd, uid, gid);
    }
    return fd;
}

static void log_outs_free(struct log_out *outs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (outs[i].is_syslog)
            syslog_close(&outs[i].syslog);
        else if (outs[i].owns_fd)
            close(outs[i].fd);
        free(outs[i].path);
    }
    free(outs);
}

/* A file several sinks name is opened once: the lines stay in order. */
static int log_out_file(struct log_out *outs, unsigned i, const char *path, uid_t uid, gid_t gid)
{
    for (unsigned j = 0; j < i; j++) {
        if (outs[j].path != NULL && strcmp(outs[j].path, path) == 0) {
            outs[i].fd = outs[j].fd;
            return (outs[i].path = strdup(path)) != NULL ? 0 : -1;
        }
    }
    if ((outs[i].path = strdup(path)) == NULL || (outs[i].fd = log_open_path(path, uid, gid)) < 0)
        return -1;
    outs[i].owns_fd = true;
    return 0;
}

static int log_out_open(struct log_out *outs, unsigned i, const struct log_sink *sink, uid_t uid,
                        gid_t gid, char *err, size_t errlen)
{
    struct log_out *o = &outs[i];
    o->level = sink->level;
    o->http = sink->http;
    o->fd = STDERR_FILENO;
    if (sink->syslog != NULL) {
        o->is_syslog = true;
        o->fd = -1;
        o->syslog = *sink->syslog;
        o->syslog.fd = -1;
        return syslog_open(&o->syslog, err, errlen);
    }
    if (sink->path == NULL)
        return 0;
    if (log_out_file(outs, i, sink->path, uid, gid) == 0)
        return 0;
    snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", sink->path, errno, strerror(errno));
    return -1;
}

int log_open(const struct log_sink *sinks, unsigned n, uid_t uid, gid_t gid, char *err,
             size_t errlen)
{
    struct log_out *outs = calloc(n ? n : 1, sizeof(*outs));
    if (outs == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (log_out_open(outs, i, &sinks[i], uid, gid, err, errlen) < 0) {
            log_outs_free(outs, i + 1);
            return -1;
        }
    }
    log_close_all();
    log_outs = outs;
    log_nouts = n;
    return 0;
}

void log_reopen(uid_t uid, gid_t gid)
{
    for (unsigned i = 0; i < log_nouts; i++) {
        if (!log_outs[i].owns_fd)
            continue;
        int fd = log_open_path(log_outs[i].path, uid, gid);
        if (fd < 0) {
            log_msg(LL_ALERT, 0, errno, "open() \"%s\" failed", log_outs[i].path);
            continue;
        }
        /* dup2 keeps the descriptor number, so a pool thread writing at
         * this moment never sees a closed fd, and every sink sharing the
         * file follows. */
        dup2(fd, log_outs[i].fd);
        close(fd);
    }
}

void log_redirect_stderr(void)
{
    for (unsigned i = 0; i < log_nouts; i++) {
        if (log_outs[i].path != NULL && !log_outs[i].http) {
            dup2(log_outs[i].fd, STDERR_FILENO);
            return;
        }
    }
}

void log_close_all(void)
{
    struct log_out *outs = log_outs;
    unsigned n = log_nouts;
    log_outs = NULL;
    log_nouts = 0;
    if (outs != NULL)
        log_outs_free(outs, n);
}

/* Whether out i takes the lines of set (NULL: the main level's). */
static bool log_selects(const struct log_set *set, unsigned i)
{
    if (set == NULL)
        return !log_outs[i].http;
    return i >= set->first && i - set->first < set->n;
}

bool log_set_enabled(const struct log_set *set, enum log_level level)
{
    if (log_nouts == 0)
        return level <= LL_NOTICE;
    for (unsigned i = 0; i < log_nouts; i++)
        if (log_selects(set, i) && level <= log_outs[i].level)
            return true;
    return false;
}

bool log_enabled(enum log_level level)
{
    return log_set_enabled(NULL, level);
}

static size_t log_format(char *buf, size_t cap, enum log_level level, uint64_t conn_id, int err,
                         const char *fmt, va_list ap)
{
    size_t len = 0;
    if (log_nouts == 0) {
        len = (size_t)snprintf(buf, cap, "turnpike: [%s] ", log_names[level]);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        len = strftime(buf, cap, "%Y/%m/%d %H:%M:%S", &tm);
        /* "#0" where nginx prints a thread id: pool threads are not
         * numbered, and one write per line keeps them from interleaving. */
        len +=
            (size_t)snprintf(buf + len, cap - len, " [%s] %d#0: ", log_names[level], (int)getpid());
        if (conn_id != 0)
            len += (size_t)snprintf(buf + len, cap - len, "*%llu ", (unsigned long long)conn_id);
    }
    if (len < cap)
        len += (size_t)vsnprintf(buf + len, cap - len, fmt, ap);
    if (err != 0 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " (%d: %s)", err, strerror(err));
    if (len > cap - 2)
        len = cap - 2;
    buf[len++] = '\n';
    return len;
}

/* Length of "date time [level] pid#tid: " at the start of a file line. */
static size_t log_format_prefix_len(const char *buf, size_t len)
{
    const char *p = memchr(buf, ']', len);
    p = p ? memchr(p, ':', len - (size_t)(p - buf)) : NULL;
    return p && (size_t)(p - buf) + 2 <= len ? (size_t)(p - buf) + 2 : 0;
}

/* The line again as `turnpike: [level] message`, for the terminal while
 * starting: nginx shows startup problems there even when it logs to files. */
static void log_echo(enum log_level level, const char *buf, size_t len)
{
    char line[2048];
    int n = snprintf(line, sizeof(line), "turnpike: [%s] ", log_names[level]);
    size_t skip = log_format_prefix_len(buf, len);
    if (n > 0 && (size_t)n + len - skip <= sizeof(line)) {
        memcpy(line + n, buf + skip, len - skip);
        (void)!write(STDERR_FILENO, line, (size_t)n + len - skip);
    }
}

/* Syslog takes the line without its newline, at the line's severity. */
static void log_out_write(const struct log_out *o, enum log_level level, const char *buf,
                          size_t len)
{
    if (o->is_syslog)
        syslog_send(&o->syslog, level > LL_STDERR ? (int)level - 1 : LL_NOTICE - 1, buf, len - 1);
    else
        (void)!write(o->fd, buf, len);
}

static void log_vmsg(const struct log_set *set, enum log_level level, uint64_t conn_id, int err,
                     const char *fmt, va_list ap)
{
    char buf[2048];
    if (!log_set_enabled(set, level))
        return;
    size_t len = log_format(buf, sizeof(buf), level, conn_id, err, fmt, ap);
    if (log_nouts == 0) {
        (void)!write(STDERR_FILENO, buf, len);
        return;
    }
    bool on_stderr = false;
    for (unsigned i = 0; i < log_nouts; i++) {
        if (!log_selects(set, i) || level > log_outs[i].level)
            continue;
        log_out_write(&log_outs[i], level, buf, len);
        on_stderr |= log_outs[i].fd == STDERR_FILENO;
    }
    if (log_startup && set == NULL && !on_stderr && level <= LL_WARN)
        log_echo(level, buf, len);
}

void log_msg(enum log_level level, uint64_t conn_id, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(NULL, level, conn_id, err, fmt, ap);
    va_end(ap);
}

void log_msg_set(const struct log_set *set, enum log_level level, uint64_t conn_id, int err,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(set, level, conn_id, err, fmt, ap);
    va_end(ap);
}

/* log.c - the error log. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An open destination. */
struct log_out {
    char path[4096];      /* file path; empty for stderr */
    int fd;               /* descriptor written to */
    enum log_level level; /* highest level written */
};

static struct log_out log_outs[LOG_MAX_SINKS]; /* open destinations */
static unsigned log_nouts;                     /* 0: startup mode, stderr */
static bool log_startup;                       /* echo warnings to stderr */

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

int log_open(const struct log_sink *sinks, unsigned n, uid_t uid, gid_t gid, char *err,
             size_t errlen)
{
    struct log_out outs[LOG_MAX_SINKS];
    unsigned i;

    if (n > LOG_MAX_SINKS)
        n = LOG_MAX_SINKS;
    for (i = 0; i < n; i++) {
        outs[i].level = sinks[i].level;
        outs[i].path[0] = '\0';
        outs[i].fd = STDERR_FILENO;
        if (sinks[i].path == NULL)
            continue;
        snprintf(outs[i].path, sizeof(outs[i].path), "%s", sinks[i].path);
        outs[i].fd = log_open_path(sinks[i].path, uid, gid);
        if (outs[i].fd < 0) {
            snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", sinks[i].path, errno,
                     strerror(errno));
            goto fail;
        }
    }
    log_close_all();
    memcpy(log_outs, outs, sizeof(outs[0]) * n);
    log_nouts = n;
    return 0;
fail:
    while (i-- > 0)
        if (outs[i].fd != STDERR_FILENO)
            close(outs[i].fd);
    return -1;
}

void log_reopen(uid_t uid, gid_t gid)
{
    for (unsigned i = 0; i < log_nouts; i++) {
        if (log_outs[i].path[0] == '\0')
            continue;
        int fd = log_open_path(log_outs[i].path, uid, gid);
        if (fd < 0) {
            log_msg(LL_ALERT, 0, errno, "open() \"%s\" failed", log_outs[i].path);
            continue;
        }
        /* dup2 keeps the descriptor number, so a pool thread writing at
         * this moment never sees a closed fd. */
        dup2(fd, log_outs[i].fd);
        close(fd);
    }
}

void log_redirect_stderr(void)
{
    for (unsigned i = 0; i < log_nouts; i++) {
        if (log_outs[i].path[0] != '\0') {
            dup2(log_outs[i].fd, STDERR_FILENO);
            return;
        }
    }
}

void log_close_all(void)
{
    for (unsigned i = 0; i < log_nouts; i++)
        if (log_outs[i].fd != STDERR_FILENO)
            close(log_outs[i].fd);
    log_nouts = 0;
}

bool log_enabled(enum log_level level)
{
    if (log_nouts == 0)
        return level <= LL_NOTICE;
    for (unsigned i = 0; i < log_nouts; i++)
        if (level <= log_outs[i].level)
            return true;
    return false;
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

static void log_vmsg(enum log_level level, uint64_t conn_id, int err, const char *fmt, va_list ap)
{
    char buf[2048];
    if (!log_enabled(level))
        return;
    size_t len = log_format(buf, sizeof(buf), level, conn_id, err, fmt, ap);
    if (log_nouts == 0) {
        (void)!write(STDERR_FILENO, buf, len);
        return;
    }
    bool on_stderr = false;
    for (unsigned i = 0; i < log_nouts; i++) {
        if (level <= log_outs[i].level)
            (void)!write(log_outs[i].fd, buf, len);
        on_stderr |= log_outs[i].fd == STDERR_FILENO;
    }
    if (log_startup && !on_stderr && level <= LL_WARN) {
        char line[2048];
        int n = snprintf(line, sizeof(line), "turnpike: [%s] ", log_names[level]);
        size_t skip = log_format_prefix_len(buf, len);
        if (n > 0 && (size_t)n + len - skip <= sizeof(line)) {
            memcpy(line + n, buf + skip, len - skip);
            (void)!write(STDERR_FILENO, line, (size_t)n + len - skip);
        }
    }
}

void log_msg(enum log_level level, uint64_t conn_id, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, conn_id, err, fmt, ap);
    va_end(ap);
}

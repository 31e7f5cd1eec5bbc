/* log.h - the error log: nginx's levels and line format, in every process.
 *
 * A line reads `2026/11/26 14:00:00 [error] 1234#0: *42 message`.  Writes
 * are one write(2) per line, so pool threads and several processes can share
 * a file.  Until the configuration's logs are open, lines go to stderr as
 * `turnpike: [emerg] message`, the way nginx reports startup errors. */
#ifndef TP_LOG_H
#define TP_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct syslog_dest;

enum log_level {
    LL_STDERR = 0, /* always written: used for the startup banner style only */
    LL_EMERG,
    LL_ALERT,
    LL_CRIT,
    LL_ERR,
    LL_WARN,
    LL_NOTICE,
    LL_INFO,
    LL_DEBUG,
};

/* One configured destination of the error log. */
struct log_sink {
    char *path;                       /* full path, or NULL for stderr or syslog */
    enum log_level level;             /* lines above this level are dropped */
    const struct syslog_dest *syslog; /* a syslog: destination, or NULL */
    bool http;                        /* an http level's error_log: written only for the
                                         lines of the requests it serves (log_msg_set) */
};

/* Every error_log of a configuration, main and http levels together. */
#define LOG_MAX_SINKS 64

/* The error_log directives of one http level: sinks first .. first + n - 1
 * of the configuration.  A NULL set means the main level's logs. */
struct log_set {
    unsigned first; /* index of its first sink */
    unsigned n;     /* how many */
};

/* Parses "debug".."emerg"; returns -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);

/* Opens every sink of a configuration (files, stderr and syslog sockets);
 * files are created owned by uid/gid
 * (pass (uid_t)-1 to leave ownership alone) so a worker that dropped
 * privileges can reopen them.  On failure writes the reason to err and
 * leaves the current sinks in place. */
int log_open(const struct log_sink *sinks, unsigned n, uid_t uid, gid_t gid, char *err,
             size_t errlen);

/* Reopens the open files by path (USR1).  Failures are logged and the old
 * descriptor stays. */
void log_reopen(uid_t uid, gid_t gid);

/* Points stderr at the first file sink (for a daemon, so stray writes and
 * sanitizer reports land in the log). */
void log_redirect_stderr(void);

/* While starting up, warnings and worse also go to stderr (as nginx does),
 * so an operator sees why a start failed even when the log is a file. */
void log_set_startup(bool on);

/* Writes a line at `level`; conn_id 0 means "no connection".  err != 0
 * appends " (errno: strerror)" the way nginx does for failed syscalls. */
void log_msg(enum log_level level, uint64_t conn_id, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True if a line at `level` would be written anywhere (to skip costly
 * formatting). */
bool log_enabled(enum log_level level);

/* log_msg and log_enabled for the lines of an http level's requests: its
 * own error_log sinks, or the main ones when set is NULL. */
void log_msg_set(const struct log_set *set, enum log_level level, uint64_t conn_id, int err,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
bool log_set_enabled(const struct log_set *set, enum log_level level);

/* Closes every sink and goes back to stderr-only startup mode. */
void log_close_all(void);

#endif

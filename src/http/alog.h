/* alog.h - the access log: access_log and log_format, nginx's meaning.
 *
 * Files are opened by the master (as root, owned by the worker user) in the
 * configuration transaction; each worker buffers its lines per file and
 * writes them whole, so nothing is lost on graceful stop, reload or USR1. */
#ifndef TP_ALOG_H
#define TP_ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "http/vars.h"

struct conf;
struct conf_loader;
struct conf_node;
struct conf_cmd;
struct req;
struct ev_loop;

struct alog_fmt;  /* a compiled log_format */
struct alog_file; /* one file, shared by every access_log naming its path */

/* One access_log directive. */
struct alog {
    struct alog_file *file;     /* destination */
    const struct alog_fmt *fmt; /* format */
    size_t buffer;              /* buffer= bytes, 0 = write each line */
    long flush_ms;              /* flush= ms, 0 = none */
    struct cval cond;           /* if=: skip when "" or "0" */
    bool has_cond;              /* if= was given */
};

/* The access_log directives of one level. */
struct alog_set {
    struct alog *logs; /* in order */
    size_t n;          /* how many; 0 with off set means `access_log off` */
    bool off;          /* access_log off */
};

/* Directive setters (log_format in http; access_log in http/server/location). */
int conf_set_log_format(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd);
int conf_set_access_log(struct conf_loader *cl, const struct conf_node *n,
                        const struct conf_cmd *cmd);

/* At the end of loading: the http-level default (`logs/access.log
 * combined`, relative to the prefix) when no access_log was given there. */
int alog_conf_finish(struct conf_loader *cl);

/* Master: opens every file of c, created owned by uid/gid.  On failure
 * writes nginx's `open() "..." failed (...)` to err; nothing stays open. */
int alog_open(struct conf *c, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Master: closes the files of a configuration it no longer serves. */
void alog_close(struct conf *c);
/* Master: reopens by path (USR1), chowning new files to uid/gid. */
void alog_reopen_master(struct conf *c, uid_t uid, gid_t gid);

/* Worker: starts the flush timers on loop. */
void alog_worker_start(const struct conf *c, struct ev_loop *loop);
/* Worker: writes the request's line to every access_log of its location. */
void alog_request(struct req *r);
/* Worker: writes out every buffer (before exit, reopen, drain). */
void alog_flush_all(const struct conf *c);
/* Worker: flushes, then reopens every file by path (USR1). */
void alog_reopen_worker(const struct conf *c);
/* Worker: stops timers and frees buffers. */
void alog_worker_stop(const struct conf *c, struct ev_loop *loop);

#endif

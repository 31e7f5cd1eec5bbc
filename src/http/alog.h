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

#include "conf/module.h"
#include "http/vars.h"

struct conf;
struct conf_loader;
struct conf_node;
struct loc_conf;
struct req;

extern struct module mod_http_log;

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

/* The log_format of that name (case-insensitive), or NULL. */
const struct alog_fmt *alog_fmt_find(const struct conf *c, const char *name);

/* The access_log directives that apply at a level. */
const struct alog_set *alog_set_of(const struct loc_conf *loc);

/* Master: opens every file of c, created owned by uid/gid.  On failure
 * writes nginx's `open() "..." failed (...)` to err; nothing stays open. */
int alog_open(struct conf *c, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Master: closes the files of a configuration it no longer serves. */
void alog_close(struct conf *c);
/* Master: reopens by path (USR1), chowning new files to uid/gid. */
void alog_reopen_master(struct conf *c, uid_t uid, gid_t gid);

/* For another protocol's access_log (stream), which renders its own
 * lines: the file for path (shared with every directive naming it, opened
 * by the master with the http ones), made at configuration time; NULL
 * after an error at n. */
struct alog_file *alog_file_add(struct conf_loader *cl, const struct conf_node *n, const char *path,
                                size_t buffer, long flush_ms);
/* access_log's buffer=, flush= (and the refused gzip): 1 if `a` was one
 * of them (set), 0 if it is another parameter, -1 after an error at n. */
int alog_param_buffer(struct conf_loader *cl, const struct conf_node *n, const char *a,
                      size_t *buffer, long *flush_ms);
/* Worker: one whole line (newline included) to f, through its buffer by
 * a directive with buffer= bytes (0: written now, after what is held). */
void alog_file_line(const struct alog_file *f, size_t buffer, const char *line, size_t len);

/* Worker: writes the request's line to every access_log of its location.
 * (The module's worker hooks buffer, flush on drain and reopen on USR1.) */
void alog_request(struct req *r);

#endif

/* stream_log.h - the stream context's access log: log_format and
 * access_log with the stream variables (nginx's ngx_stream_log_module).
 *
 * Formats are compiled against the stream variables (stream_vars.h) and
 * escaped as the http log escapes them (http/alog_fmt.h); the files are
 * the http access log's (http/alog.h: opened by the master, buffered per
 * worker, flushed on drain, reopened on USR1). */
#ifndef TP_STREAM_STREAM_LOG_H
#define TP_STREAM_STREAM_LOG_H

#include "conf/module.h"

struct stream_sess;

extern struct module mod_stream_log;

/* Writes the session's line to every access_log of its server. */
void stream_log_session(const struct stream_sess *s);

#endif

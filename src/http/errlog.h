/* errlog.h - `error_log` in http, server and location, as nginx allows:
 * the lines of a request go to the error logs of the level that serves it
 * (its location, else its server, else http), at that level's levels; a
 * level without error_log takes its parent's, and the top takes the main
 * context's. */
#ifndef TP_HTTP_ERRLOG_H
#define TP_HTTP_ERRLOG_H

#include "conf/module.h"
#include "core/log.h"

struct loc_conf;

extern struct module mod_http_errlog;

/* The error logs of a level, or NULL for the main context's. */
const struct log_set *errlog_of(const struct loc_conf *loc);

#endif

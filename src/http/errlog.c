/* errlog.c - error_log at the http levels (see errlog.h).
 *
 * Every level's sinks join the configuration's list of error logs, which
 * the master opens with the main ones (files, stderr, syslog sockets), so
 * the http levels need nothing of their own to open, reopen or close.  A
 * level only records which slice of that list is its own. */
#include "http/errlog.h"

#include <stdio.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"

/* The module's part of a level. */
struct errlog_loc {
    struct log_sink *sinks;         /* this level's own error_log directives */
    size_t n;                       /* how many */
    const struct errlog_loc *owner; /* the level whose logs apply: itself, an ancestor, or
                                       NULL for the main context's */
    struct log_set set;             /* its sinks in the configuration, when n > 0 */
    struct errlog_loc *next;        /* next level with sinks of its own */
};

/* The module's main-level data. */
struct errlog_main {
    struct errlog_loc *levels; /* every level with error_log, newest first */
};

/* A level built by hand (the unit tests) may lack the module's part. */
const struct log_set *errlog_of(const struct loc_conf *loc)
{
    const struct errlog_loc *e = loc->parts != NULL ? loc_part(loc, &mod_http_errlog) : NULL;
    return e != NULL && e->owner != NULL ? &e->owner->set : NULL;
}

static int errlog_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct errlog_loc *e = cl->part(cl, &mod_http_errlog);
    struct errlog_main *m = conf_mod(cl->conf, &mod_http_errlog);
    (void)cmd;
    if (m == NULL && (m = mpool_calloc(cl->pool, sizeof(*m))) == NULL)
        return conf_err_nomem(cl, n);
    conf_set_mod(cl->conf, &mod_http_errlog, m);
    struct log_sink *s = conf_push(cl->pool, &e->sinks, &e->n, sizeof(*s));
    if (s == NULL)
        return conf_err_nomem(cl, n);
    s->http = true;
    if (e->n == 1) {
        e->next = m->levels;
        m->levels = e;
    }
    return conf_log_sink(cl, n, s);
}

static void errlog_merge(const void *from, void *to)
{
    const struct errlog_loc *parent = from;
    struct errlog_loc *child = to;
    child->owner = child->n > 0 ? child : parent->owner;
}

static int errlog_defaults(struct conf_loader *cl, void *part)
{
    struct errlog_loc *e = part;
    (void)cl;
    e->owner = e->n > 0 ? e : NULL;
    return 0;
}

/* After the main level's defaults: the http levels' sinks follow them. */
static int errlog_finish(struct conf_loader *cl)
{
    struct conf *c = cl->conf;
    const struct errlog_main *m = conf_mod(c, &mod_http_errlog);
    for (struct errlog_loc *e = m != NULL ? m->levels : NULL; e != NULL; e = e->next) {
        if (c->nerror_logs + e->n > LOG_MAX_SINKS) {
            snprintf(cl->err, cl->errlen, "too many \"error_log\" directives, the limit is %d",
                     LOG_MAX_SINKS);
            return -1;
        }
        e->set.first = c->nerror_logs;
        e->set.n = (unsigned)e->n;
        for (size_t i = 0; i < e->n; i++)
            c->error_logs[c->nerror_logs++] = e->sinks[i];
    }
    return 0;
}

static const struct conf_cmd errlog_cmds[] = {
    {"error_log", CTX_HTTP | CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL,
     errlog_set, NULL},
};

struct module mod_http_errlog = {
    .name = "http_errlog",
    .cmds = errlog_cmds,
    .ncmds = sizeof(errlog_cmds) / sizeof(errlog_cmds[0]),
    .part_size = sizeof(struct errlog_loc),
    .part_merge = errlog_merge,
    .part_defaults = errlog_defaults,
    .finish = errlog_finish,
};

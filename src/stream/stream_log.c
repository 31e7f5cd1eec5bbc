/* stream_log.c - log_format and access_log in the stream context. */
#include "stream/stream_log.h"

#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/alog.h"
#include "http/alog_fmt.h"
#include "stream/stream.h"
#include "stream/stream_sess.h"
#include "stream/stream_vars.h"

/* A stream log_format. */
struct slog_fmt {
    const char *name;        /* its name */
    enum alog_escape escape; /* how values are escaped */
    struct svar_fmt fmt;     /* its strings, one after another */
    struct slog_fmt *next;   /* the one defined before */
};

/* One access_log of a stream level. */
struct slog {
    struct alog_file *file;     /* the http access log's file */
    const struct slog_fmt *fmt; /* its format */
    size_t buffer;              /* buffer= */
    struct svar_fmt cond;       /* if= */
    bool has_cond;              /* if= was given */
};

/* The access_log directives of a level. */
struct slog_set {
    struct slog *logs; /* in order */
    size_t n;          /* how many; 0 = off */
};

static struct slog_fmt **slog_formats(struct conf_loader *cl)
{
    struct slog_fmt **head = conf_mod(cl->conf, &mod_stream_log);
    if (head == NULL && (head = mpool_calloc(cl->pool, sizeof(*head))) != NULL)
        conf_set_mod(cl->conf, &mod_stream_log, head);
    return head;
}

static const struct slog_fmt *slog_fmt_find(struct conf_loader *cl, const char *name)
{
    struct slog_fmt **head = slog_formats(cl);
    for (const struct slog_fmt *f = head != NULL ? *head : NULL; f != NULL; f = f->next)
        if (strcasecmp(f->name, name) == 0)
            return f;
    return NULL;
}

static int slog_set_format(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct slog_fmt **head = slog_formats(cl);
    struct slog_fmt *f = mpool_calloc(cl->pool, sizeof(*f));
    size_t i = 2;
    char err[256];
    (void)cmd;
    if (head == NULL || f == NULL)
        return conf_err_nomem(cl, n);
    if (slog_fmt_find(cl, n->args[1].s) != NULL)
        return conf_err(cl, n, "duplicate \"log_format\" name \"%s\"", n->args[1].s);
    f->name = mpool_strdup(cl->pool, n->args[1].s);
    if (i < n->nargs && strncmp(n->args[i].s, "escape=", 7) == 0) {
        if (alog_fmt_escape_parse(n->args[i].s + 7, &f->escape) < 0)
            return conf_err(cl, n, "unknown log format escaping \"%s\"", n->args[i].s + 7);
        i++;
    }
    if (i == n->nargs)
        return conf_err(cl, n, "invalid number of arguments in \"log_format\" directive");
    for (; i < n->nargs; i++) {
        struct svar_fmt one = {0};
        if (svar_compile(cl->pool, n->args[i].s, &one, err, sizeof(err)) < 0)
            return conf_err(cl, n, "%s", err);
        if (svar_append(cl->pool, &f->fmt, &one) < 0)
            return conf_err_nomem(cl, n);
    }
    f->next = *head;
    *head = f;
    return 0;
}

static int slog_param(struct conf_loader *cl, const struct conf_node *n, const char *a,
                      struct slog *log, long *flush)
{
    char err[256];
    int rc = alog_param_buffer(cl, n, a, &log->buffer, flush);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (strncmp(a, "if=", 3) == 0) {
        if (svar_compile(cl->pool, a + 3, &log->cond, err, sizeof(err)) < 0)
            return conf_err(cl, n, "%s", err);
        log->has_cond = true;
        return 0;
    }
    return conf_err(cl, n, "invalid parameter \"%s\"", a);
}

static int slog_set_access_log(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    struct stream_srv *lv = stream_level(cl);
    const char *path = n->args[1].s;
    struct slog log = {0};
    long flush = 0;
    (void)cmd;
    if (lv->logs == NULL && (lv->logs = mpool_calloc(cl->pool, sizeof(*lv->logs))) == NULL)
        return conf_err_nomem(cl, n);
    if (strcmp(path, "off") == 0)
        return n->nargs > 2 ? conf_err(cl, n, "invalid parameter \"%s\"", n->args[2].s) : 0;
    if (n->nargs < 3)
        return conf_err(cl, n, "log format is not specified");
    if (strncmp(path, "syslog:", 7) != 0 && strchr(path, '$') != NULL)
        return conf_err(cl, n, "variables in \"access_log\" path are not supported");
    if ((log.fmt = slog_fmt_find(cl, n->args[2].s)) == NULL)
        return conf_err(cl, n, "unknown log format \"%s\"", n->args[2].s);
    for (size_t i = 3; i < n->nargs; i++)
        if (slog_param(cl, n, n->args[i].s, &log, &flush) < 0)
            return -1;
    if (flush > 0 && log.buffer == 0)
        return conf_err(cl, n, "no buffer is defined for access_log \"%s\"", path);
    if ((log.file = alog_file_add(cl, n, path, log.buffer, flush)) == NULL)
        return -1;
    struct slog *slot = conf_push(cl->pool, &lv->logs->logs, &lv->logs->n, sizeof(*slot));
    if (slot == NULL)
        return conf_err_nomem(cl, n);
    *slot = log;
    return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static bool slog_cond(const struct slog *log, const struct stream_sess *s)
{
    char v[64];
    size_t n = svar_eval(&log->cond, s, v, sizeof(v));
    return n > 0 && !(n == 1 && v[0] == '0');
}

static void slog_one(const struct slog *log, const struct stream_sess *s)
{
    const struct svar_fmt *f = &log->fmt->fmt;
    char buf[SVAR_BUF];
    size_t len = 1, cap = 4096;
    char *line = malloc(cap);
    if (line == NULL || (log->has_cond && !slog_cond(log, s)))
        goto done;
    len = 0;
    for (size_t i = 0; i < f->nparts; i++) {
        const struct svar_part *p = &f->parts[i];
        struct str v = svar_part_value(p, s, buf);
        size_t need = p->var != NULL ? alog_fmt_escaped_len(log->fmt->escape, v) : v.len;
        if (len + need + 1 > cap) {
            char *grown = realloc(line, cap = (len + need + 1) * 2);
            if (grown == NULL)
                goto done;
            line = grown;
        }
        if (p->var != NULL)
            alog_fmt_escape(log->fmt->escape, v, line + len);
        else
            memcpy(line + len, v.p, v.len);
        len += need;
    }
    line[len++] = '\n';
    alog_file_line(log->file, log->buffer, line, len);
done:
    free(line);
}

void stream_log_session(const struct stream_sess *s)
{
    const struct slog_set *set = s->srv->logs;
    for (size_t i = 0; set != NULL && i < set->n; i++)
        slog_one(&set->logs[i], s);
}

#define SS (CTX_STREAM | CTX_STREAM_SRV)

static const struct conf_cmd slog_cmds[] = {
    {"log_format", CTX_STREAM, ARGS_1MORE | ARGS_MANY, CT_CUSTOM, CS_MAIN, 0, NULL, slog_set_format,
     NULL},
    {"access_log", SS, ARGS_1MORE, CT_CUSTOM, CS_MAIN, 0, NULL, slog_set_access_log, NULL},
};

struct module mod_stream_log = {
    .name = "stream_log",
    .cmds = slog_cmds,
    .ncmds = sizeof(slog_cmds) / sizeof(slog_cmds[0]),
};

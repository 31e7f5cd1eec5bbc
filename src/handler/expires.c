/* expires.c - the expires directive (nginx's ngx_http_headers_module):
 * Expires and Cache-Control for the responses a cache may keep.
 *
 *   expires 1h;           Expires now + 1h, Cache-Control: max-age=3600
 *   expires modified 1d;  from Last-Modified (from now when there is none)
 *   expires @15h30m;      the next 15:30 local time
 *   expires -1;           a past date, Cache-Control: no-cache
 *   expires epoch | max | off;
 *   expires $var;         any of those, read per request
 *
 * The headers replace any Expires and Cache-Control already there (an
 * upstream's); add_header's come after them, as in nginx. */
#include "handler/expires.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf/conf_table.h"
#include "event/reactor.h"
#include "http/cond.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/phases.h"
#include "http/req.h"
#include "http/resp.h"

#define EXPIRES_DAY (24 * 60 * 60)

/* The longest value text parsed per request ("1y 11M 3w 6d 23h 59m 59s"). */
#define EXPIRES_TEXT_MAX 64

/* What nginx sends for epoch and max. */
#define EXPIRES_EPOCH_DATE "Thu, 01 Jan 1970 00:00:01 GMT"
#define EXPIRES_MAX_DATE "Thu, 31 Dec 2037 23:55:55 GMT"
#define EXPIRES_MAX_AGE "max-age=315360000"

enum expires_mode {
    EXP_OFF,      /* no headers */
    EXP_EPOCH,    /* the epoch, no-cache */
    EXP_MAX,      /* the end of 2037, ten years */
    EXP_ACCESS,   /* secs after the request */
    EXP_MODIFIED, /* secs after Last-Modified */
    EXP_DAILY,    /* the next time of day that is secs after midnight */
};

/* The module's part of a level. */
struct expires_loc {
    long mode;          /* enum expires_mode; -1 until set */
    long secs;          /* the offset (negative: in the past), or the time of day */
    struct cval *value; /* a value with variables, parsed per request, or NULL */
};

/* The headers this module put on the response, so that the response can
 * become an error page without them (req_ctx). */
struct expires_ctx {
    bool added; /* Expires and Cache-Control are ours */
};

/* nginx's ngx_http_parse_expires.  *mode comes in as EXP_ACCESS or
 * EXP_MODIFIED ("modified" given).  Returns NULL, or nginx's reason. */
static const char *expires_parse(struct str v, long *mode, long *secs)
{
    char buf[EXPIRES_TEXT_MAX];
    bool minus = false;
    if (*mode != EXP_MODIFIED) {
        long word = str_eq(v, "epoch") ? EXP_EPOCH
                    : str_eq(v, "max") ? EXP_MAX
                    : str_eq(v, "off") ? EXP_OFF
                                       : -1;
        if (word >= 0) {
            *mode = word;
            return NULL;
        }
    }
    if (v.len > 0 && v.p[0] == '@') {
        if (*mode == EXP_MODIFIED)
            return "daily time cannot be used with \"modified\" parameter";
        *mode = EXP_DAILY;
    }
    minus = v.len > 0 && v.p[0] == '-';
    size_t skip = v.len > 0 && strchr("@+-", v.p[0]) != NULL;
    if (v.len - skip >= sizeof(buf))
        return "invalid value";
    memcpy(buf, v.p + skip, v.len - skip);
    buf[v.len - skip] = '\0';
    if (conf_parse_sec(buf, secs) < 0)
        return "invalid value";
    if (*mode == EXP_DAILY && *secs > EXPIRES_DAY)
        return "daily time value must be less than 24 hours";
    *secs = minus ? -*secs : *secs;
    return NULL;
}

/* ngx_next_time: the next moment, local time, that is `secs` after
 * midnight; mktime normalizes the day after the last of a month. */
static time_t expires_next_time(time_t now, long secs)
{
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = (int)(secs / 3600);
    tm.tm_min = (int)(secs % 3600 / 60);
    tm.tm_sec = (int)(secs % 60);
    tm.tm_isdst = -1;
    time_t next = mktime(&tm);
    if (next != (time_t)-1 && next > now)
        return next;
    tm.tm_mday++;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

static struct str expires_dup(struct req *r, const char *s)
{
    char *d = mpool_strdup(&r->pool, s);
    return d != NULL ? str_make(d, strlen(d)) : STR_LIT("");
}

/* The two values for a moment `at` that is `max_age` from now (nginx's
 * ngx_http_set_expires): a negative setting or a past moment is no-cache. */
static void expires_at(struct req *r, time_t at, long max_age, bool negative, struct str *exp,
                       struct str *cc)
{
    char date[40], age[32];
    cond_http_date(at, date, sizeof(date));
    *exp = expires_dup(r, date);
    if (negative || max_age < 0) {
        *cc = STR_LIT("no-cache");
        return;
    }
    snprintf(age, sizeof(age), "max-age=%ld", max_age);
    *cc = expires_dup(r, age);
}

/* Expires and Cache-Control for this response, from the mode. */
static void expires_values(struct req *r, long mode, long secs, struct str *exp, struct str *cc)
{
    time_t now = (time_t)ev_now(r->c->sk.rx->loop);
    if (mode == EXP_EPOCH || mode == EXP_MAX) {
        *exp = mode == EXP_EPOCH ? STR_LIT(EXPIRES_EPOCH_DATE) : STR_LIT(EXPIRES_MAX_DATE);
        *cc = mode == EXP_EPOCH ? STR_LIT("no-cache") : STR_LIT(EXPIRES_MAX_AGE);
        return;
    }
    if (secs == 0 && mode != EXP_DAILY) {
        *exp = expires_dup(r, reactor_date(r->c->sk.rx)); /* the Date header's second */
        *cc = STR_LIT("max-age=0");
        return;
    }
    if (mode == EXP_DAILY) {
        time_t next = expires_next_time(now, secs);
        expires_at(r, next, (long)(next - now), false, exp, cc);
    } else if (mode == EXP_ACCESS || r->last_modified < 0) {
        expires_at(r, now + secs, secs, secs < 0, exp, cc);
    } else {
        time_t at = r->last_modified + secs;
        expires_at(r, at, (long)(at - now), secs < 0, exp, cc);
    }
}

/* The mode for this request: the configured one, or the variable's value
 * (an invalid one sends nothing, as in nginx). */
static bool expires_mode_of(struct req *r, const struct expires_loc *el, long *mode, long *secs)
{
    struct str v;
    *mode = el->mode;
    *secs = el->secs;
    if (el->value == NULL)
        return *mode != EXP_OFF;
    if (cval_eval(el->value, r, &v) < 0 || expires_parse(v, mode, secs) != NULL)
        return false;
    return *mode != EXP_OFF;
}

/* A response that became an error page loses the headers given to what
 * it was before. */
static void expires_forget(struct req *r)
{
    struct expires_ctx *ctx = req_ctx(r, &mod_expires);
    if (ctx == NULL || !ctx->added)
        return;
    req_del_header(r, "Expires");
    req_del_header(r, "Cache-Control");
    ctx->added = false;
}

static void expires_set(struct req *r, struct str exp, struct str cc)
{
    struct expires_ctx *ctx = req_ctx(r, &mod_expires);
    if (ctx == NULL && ((ctx = mpool_calloc(&r->pool, sizeof(*ctx))) == NULL ||
                        req_set_ctx(r, &mod_expires, ctx) < 0))
        return;
    req_del_header(r, "Expires");
    req_del_header(r, "Cache-Control");
    if (req_add_header(r, STR_LIT("Expires"), exp) == 0 &&
        req_add_header(r, STR_LIT("Cache-Control"), cc) == 0)
        ctx->added = true;
}

static void expires_filter(struct req *r)
{
    const struct expires_loc *el = loc_part(r->loc, &mod_expires);
    long mode, secs;
    struct str exp, cc;
    if (!resp_headers_apply(r->status) || !expires_mode_of(r, el, &mode, &secs)) {
        expires_forget(r);
        return;
    }
    expires_values(r, mode, secs, &exp, &cc);
    expires_set(r, exp, cc);
}

/* ---- configuration ---------------------------------------------------------- */

static int conf_set_expires(struct conf_loader *cl, const struct conf_node *n,
                            const struct conf_cmd *cmd)
{
    struct expires_loc *el = cl->part(cl, &mod_expires);
    size_t i = n->nargs == 3 ? 2 : 1;
    if (el->mode != -1)
        return conf_err_dup(cl, n, cmd);
    if (n->nargs == 3 && strcmp(n->args[1].s, "modified") != 0)
        return conf_err(cl, n, "invalid value \"%s\"", n->args[1].s);
    el->mode = n->nargs == 3 ? EXP_MODIFIED : EXP_ACCESS;
    if (strchr(n->args[i].s, '$') != NULL) {
        if ((el->value = mpool_calloc(cl->pool, sizeof(*el->value))) == NULL)
            return conf_err_nomem(cl, n);
        return conf_cval(cl, n, &n->args[i], el->value);
    }
    const char *why = expires_parse(str_make(n->args[i].s, n->args[i].len), &el->mode, &el->secs);
    return why == NULL ? 0 : conf_err(cl, n, "%s \"%s\"", why, n->args[i].s);
}

static void expires_init(void *part)
{
    struct expires_loc *el = part;
    el->mode = -1;
}

static void expires_merge(const void *from, void *to)
{
    const struct expires_loc *parent = from;
    struct expires_loc *child = to;
    if (child->mode == -1)
        *child = *parent;
}

static int expires_defaults(struct conf_loader *cl, void *part)
{
    struct expires_loc *el = part;
    (void)cl;
    if (el->mode == -1)
        el->mode = EXP_OFF;
    return 0;
}

static const struct conf_cmd expires_cmds[] = {
    {"expires", CTX_HTTP | CTX_SRV | CTX_LOC, ARGS(1) | ARGS(2), CT_CUSTOM, CS_MAIN, 0, NULL,
     conf_set_expires, NULL},
};

static const struct http_hooks expires_hooks = {.head_filter = expires_filter};

struct module mod_expires = {
    .name = "http_expires",
    .cmds = expires_cmds,
    .ncmds = sizeof(expires_cmds) / sizeof(expires_cmds[0]),
    .part_size = sizeof(struct expires_loc),
    .part_init = expires_init,
    .part_merge = expires_merge,
    .part_defaults = expires_defaults,
    .http = &expires_hooks,
};

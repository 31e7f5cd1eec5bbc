/* conf_value.c - nginx's value syntax (flags, numbers, sizes, times) and
 * the error messages every directive setter shares. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_table.h"
#include "core/log.h"

int conf_err(struct conf_loader *cl, const struct conf_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(cl->err, cl->errlen, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= cl->errlen)
        return -1;
    if (n->file != NULL)
        snprintf(cl->err + len, cl->errlen - (size_t)len, " in %s:%d", n->file, n->line);
    else
        snprintf(cl->err + len, cl->errlen - (size_t)len, " in command line");
    return -1;
}

int conf_err_dup(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    return conf_err(cl, n, "\"%s\" directive is duplicate", cmd->name);
}

int conf_err_value(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd,
                   size_t arg)
{
    return conf_err(cl, n, "invalid value \"%s\" in \"%s\" directive", n->args[arg].s, cmd->name);
}

int conf_err_param(struct conf_loader *cl, const struct conf_node *n, const char *param)
{
    return conf_err(cl, n, "invalid parameter \"%s\"", param);
}

int conf_err_nomem(struct conf_loader *cl, const struct conf_node *n)
{
    return conf_err(cl, n, "out of memory");
}

void conf_warn(const struct conf_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n->file != NULL)
        log_msg(LL_WARN, 0, 0, "%s in %s:%d", msg, n->file, n->line);
    else
        log_msg(LL_WARN, 0, 0, "%s in command line", msg);
}

/* ---- value parsers ---------------------------------------------------- */

int conf_parse_flag(const char *s, int *out)
{
    if (strcasecmp(s, "on") == 0)
        *out = 1;
    else if (strcasecmp(s, "off") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int conf_parse_num(const char *s, long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > INT_MAX)
        return -1;
    *out = v;
    return 0;
}

int conf_parse_size(const char *s, long *out)
{
    size_t n = strlen(s);
    long scale = 1;
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    switch (buf[n - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        break;
    case 'g':
    case 'G':
        scale = 1024L * 1024 * 1024;
        break;
    }
    if (scale != 1)
        buf[n - 1] = '\0';
    char *end;
    if (buf[0] < '0' || buf[0] > '9')
        return -1;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v > LONG_MAX / scale)
        return -1;
    *out = v * scale;
    return 0;
}

/* nginx's time syntax: "1h 30m", "90s", "500ms", bare number = seconds.
 * Units must go from larger to smaller, each at most once. */
static long conf_msec_unit(const char **p)
{
    const char *s = *p;
    *p = s + 1;
    switch (*s) {
    case 'y':
        return 365L * 24 * 3600 * 1000;
    case 'M':
        return 30L * 24 * 3600 * 1000;
    case 'w':
        return 7L * 24 * 3600 * 1000;
    case 'd':
        return 24L * 3600 * 1000;
    case 'h':
        return 3600L * 1000;
    case 'm':
        if (s[1] == 's') {
            *p = s + 2;
            return 1;
        }
        return 60L * 1000;
    case 's':
        return 1000;
    default:
        *p = s;
        return 1000; /* no unit: seconds */
    }
}

/* The time in milliseconds; in_sec refuses "ms" (nginx's is_sec mode). */
static int conf_parse_time(const char *s, bool in_sec, long *out)
{
    long total = 0, last_unit = LONG_MAX;
    if (*s == '\0')
        return -1;
    while (*s != '\0') {
        long v = 0;
        if (*s < '0' || *s > '9')
            return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > (LONG_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*s - '0');
        }
        long unit = conf_msec_unit(&s);
        if (unit >= last_unit || (in_sec && unit == 1) || v > (LONG_MAX - total) / unit)
            return -1;
        last_unit = unit;
        total += v * unit;
        while (*s == ' ')
            s++;
    }
    *out = total;
    return 0;
}

int conf_parse_msec(const char *s, long *out)
{
    long ms;
    if (conf_parse_time(s, false, &ms) < 0 || ms > INT_MAX)
        return -1;
    *out = ms;
    return 0;
}

int conf_parse_sec(const char *s, long *out)
{
    long ms;
    if (conf_parse_time(s, true, &ms) < 0 || ms / 1000 > INT_MAX)
        return -1;
    *out = ms / 1000;
    return 0;
}

int conf_param_num(const char *a, const char *name, long min, long max, long *out)
{
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0 || a[n] != '=')
        return 0;
    long v;
    if (conf_parse_num(a + n + 1, &v) < 0 || v < min || v > max)
        return -1;
    *out = v;
    return 1;
}

int conf_words(struct conf_loader *cl, const struct conf_node *n, struct str **out, size_t *count)
{
    *count = n->nargs - 1;
    *out = mpool_calloc(cl->pool, sizeof(**out) * *count);
    if (*out == NULL)
        return conf_err_nomem(cl, n);
    for (size_t i = 1; i < n->nargs; i++) {
        char *w = mpool_strdup(cl->pool, n->args[i].s);
        if (w == NULL)
            return conf_err_nomem(cl, n);
        (*out)[i - 1] = str_make(w, n->args[i].len);
    }
    return 0;
}

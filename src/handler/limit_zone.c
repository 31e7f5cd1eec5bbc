/* limit_zone.c - the limits' zones and shared settings (limit_zone.h). */
#include "handler/limit_zone.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/shm_alloc.h"
#include "http/core_conf.h"

/* nginx refuses zones under 8 pages. */
#define LIMIT_ZONE_MIN (8 * SHM_PAGE)

const struct conf_enum limit_log_levels[] = {
    {"info", LL_INFO}, {"notice", LL_NOTICE}, {"warn", LL_WARN}, {"error", LL_ERR}, {NULL, 0},
};

const struct conf_range limit_status_range = {400, 599};

long limit_log_lower(long level)
{
    return level == LL_INFO ? LL_INFO : level + 1;
}

static long *limit_field(struct conf_loader *cl, const struct conf_cmd *cmd)
{
    return (long *)((char *)cl->part(cl, cl->mod) + cmd->offset);
}

int limit_set_status(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    long *field = limit_field(cl, cmd), v;
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_num(n->args[1].s, &v) < 0)
        return conf_err(cl, n, "\"%s\" directive invalid number", cmd->name);
    if (v < limit_status_range.min || v > limit_status_range.max)
        return conf_err(cl, n, "value must be between %ld and %ld", limit_status_range.min,
                        limit_status_range.max);
    *field = v;
    return 0;
}

int limit_set_level(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    long *field = limit_field(cl, cmd);
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    for (const struct conf_enum *e = limit_log_levels; e->name != NULL; e++)
        if (strcmp(e->name, n->args[1].s) == 0) {
            *field = e->value;
            return 0;
        }
    return conf_err(cl, n, "invalid value \"%s\"", n->args[1].s);
}

int limit_zone_arg(struct conf_loader *cl, const struct conf_node *n, const char *arg,
                   struct str *name, size_t *size)
{
    const char *colon = strchr(arg + 5, ':');
    long bytes;
    if (colon == NULL || conf_parse_size(colon + 1, &bytes) < 0)
        return conf_err(cl, n, "invalid zone size \"%s\"", arg);
    if (bytes < LIMIT_ZONE_MIN)
        return conf_err(cl, n, "zone \"%s\" is too small", arg);
    *name = str_make(arg + 5, (size_t)(colon - (arg + 5)));
    *size = (size_t)bytes;
    return 0;
}

int limit_zone_declare(struct conf_loader *cl, const struct conf_node *n,
                       const struct conf_cmd *cmd, struct str name, size_t size,
                       const struct conf_shm_kind *kind, struct limit_zone *lz)
{
    struct conf_shm *d = conf_shm_add(cl, n, name, size, kind);
    if (d == NULL)
        return -1;
    if (d->data != NULL) {
        const struct limit_zone *bound = d->data;
        return conf_err(cl, n, "%s \"%s\" is already bound to key \"%s\"", cmd->name, d->name,
                        bound->key.text);
    }
    d->data = lz;
    d->label = lz->key.text;
    lz->shm = d;
    return 0;
}

int limit_zone_reuse(const char *what, const struct conf_shm *d, const char *old, char *err,
                     size_t errlen)
{
    const struct limit_zone *lz = d->data;
    if (strcmp(lz->key.text, old) == 0)
        return 0;
    snprintf(err, errlen, "%s \"%s\" uses the \"%s\" key while previously it used the \"%s\" key",
             what, d->name, lz->key.text, old);
    return -1;
}

int limit_zone_key(const struct limit_zone *lz, struct req *r, struct str *key)
{
    return cval_eval(&lz->key, r, key);
}

uint64_t limit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* conf_shm.c - a configuration's shared memory zones (conf_shm.h). */
#include "conf/conf_shm.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"

static struct conf_shm *conf_shm_find(struct conf *c, struct str name)
{
    for (struct conf_shm *d = conf_mod(c, &mod_conf_shm); d != NULL; d = d->next)
        if (strlen(d->name) == name.len && memcmp(d->name, name.p, name.len) == 0)
            return d;
    return NULL;
}

/* nginx's checks when a name comes again: the same use, and a size that
 * agrees with the one declared (a reference has none). */
static int conf_shm_again(struct conf_loader *cl, const struct conf_node *n, struct conf_shm *d,
                          size_t size, const struct conf_shm_kind *kind)
{
    if (d->kind != kind)
        return conf_err(cl, n,
                        "the shared memory zone \"%s\" is already declared for a different use",
                        d->name);
    if (d->size == 0)
        d->size = size;
    if (size != 0 && size != d->size)
        return conf_err(cl, n,
                        "the size %zu of shared memory zone \"%s\" conflicts with already declared "
                        "size %zu",
                        size, d->name, d->size);
    return 0;
}

struct conf_shm *conf_shm_add(struct conf_loader *cl, const struct conf_node *n, struct str name,
                              size_t size, const struct conf_shm_kind *kind)
{
    struct conf_shm *d = conf_shm_find(cl->conf, name);
    if (d != NULL)
        return conf_shm_again(cl, n, d, size, kind) == 0 ? d : NULL;
    if ((d = mpool_calloc(cl->pool, sizeof(*d))) == NULL ||
        (d->name = mpool_strndup(cl->pool, name.p, name.len)) == NULL) {
        conf_err_nomem(cl, n);
        return NULL;
    }
    d->size = size;
    d->kind = kind;
    d->next = conf_mod(cl->conf, &mod_conf_shm);
    conf_set_mod(cl->conf, &mod_conf_shm, d);
    return d;
}

/* A zone used but never defined: nginx says so once the file is read,
 * without a place. */
static int conf_shm_finish(struct conf_loader *cl)
{
    for (const struct conf_shm *d = conf_mod(cl->conf, &mod_conf_shm); d != NULL; d = d->next)
        if (d->size == 0) {
            snprintf(cl->err, cl->errlen, "zero size shared memory zone \"%s\"", d->name);
            return -1;
        }
    return 0;
}

static int conf_shm_attach(struct conf *c, struct conf_shm *d, char *err, size_t errlen)
{
    bool fresh;
    struct shm_zone *z = shm_attach(d->name, d->size, &d->kind->shm, d->label, &fresh, err, errlen);
    if (z == NULL || conf_cleanup_add(c, shm_detach, z) < 0) {
        if (z != NULL)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->zone = z;
    if (!fresh && d->kind->reuse != NULL)
        return d->kind->reuse(d, shm_label(z), err, errlen);
    return 0;
}

/* The master's transaction: a failure leaves the zones attached so far to
 * conf_free, which the failed reload runs. */
static int conf_shm_master_open(struct conf *c, char *err, size_t errlen)
{
    for (struct conf_shm *d = conf_mod(c, &mod_conf_shm); d != NULL; d = d->next)
        if (!d->kind->elsewhere && conf_shm_attach(c, d, err, errlen) < 0)
            return -1;
    return 0;
}

struct module mod_conf_shm = {
    .name = "shm",
    .finish = conf_shm_finish,
    .master_open = conf_shm_master_open,
};

/* conf_shm.h - the shared memory zones a configuration declares, nginx's
 * ngx_shared_memory_add and the zone part of ngx_init_cycle.
 *
 * A directive that defines a zone (limit_req_zone) declares it with its
 * size; one that uses a zone (limit_req) refers to it by name with size 0,
 * before or after the definition.  Names are one namespace for every
 * kind, as in nginx.  Once the whole file is read, a zone only referred to
 * is an error.  In the master's load transaction (master_open) every zone
 * is attached (core/shm.h): found again when the previous generation had
 * it with the same name, size and kind, so its state survives a reload,
 * else mapped afresh; the configuration holds a reference until it is
 * freed.  A configuration that is only tested (-t) maps nothing. */
#ifndef TP_CONF_CONF_SHM_H
#define TP_CONF_CONF_SHM_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"
#include "core/shm.h"
#include "core/str.h"

struct conf_loader;
struct conf_node;
struct conf_shm;

/* What one module's zones are. */
struct conf_shm_kind {
    struct shm_kind shm; /* its name and the layout of an empty zone */
    /* A zone kept from the previous generation, whose label (shm_label)
     * was old: may this declaration go on with it?  NULL: always.  -1
     * with nginx's reason in err. */
    int (*reuse)(const struct conf_shm *d, const char *old, char *err, size_t errlen);
    /* Its module maps the memory itself (the TLS session cache, in
     * tls/tls_cache.c): the name is only checked here, never attached. */
    bool elsewhere;
};

/* One zone of the configuration. */
struct conf_shm {
    char *name;                       /* its name */
    size_t size;                      /* bytes; 0 while it is only referred to */
    const struct conf_shm_kind *kind; /* the declaring module's */
    void *data;                       /* that module's description of it (key, rate) */
    const char *label;                /* what it holds, compared across reloads (the key) */
    struct shm_zone *zone;            /* attached by the master; NULL when only tested */
    struct conf_shm *next;            /* the configuration's list */
};

/* Declares (size > 0) or refers to (size 0) the zone `name` for kind,
 * with nginx's checks: the same name for another kind, or another size,
 * is an error at n.  NULL then, with the message in cl->err. */
struct conf_shm *conf_shm_add(struct conf_loader *cl, const struct conf_node *n, struct str name,
                              size_t size, const struct conf_shm_kind *kind);

/* Checks the zones once the file is read and attaches them in the
 * master. */
extern struct module mod_conf_shm;

#endif

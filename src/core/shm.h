/* shm.h - named zones of memory shared by the master and every worker.
 *
 * A zone is mapped MAP_SHARED|MAP_ANONYMOUS by the master before it forks,
 * so it sits at the same address in every process and plain pointers into
 * it are valid everywhere (as in nginx).  The master keeps a registry of
 * the zones it mapped: a configuration generation attaches each zone it
 * declares, by name, size and kind, and detaches it when it is freed, so a
 * reload that keeps a zone's name, size and kind finds the same memory and
 * the state in it.  Workers inherit the registry and the mappings.
 *
 * A zone holds a process-shared, robust mutex, an allocator
 * (core/shm_alloc.h) and a root pointer for its owner's structures.  A
 * process that dies holding the lock may have left those structures half
 * changed; the next locker then empties the zone (the kind's init lays it
 * out again) rather than follow a broken pointer, and the zone's epoch
 * changes, so holders of pointers into the old contents know to drop them.
 *
 * Nothing here is specific to one user: the limits (limit_req,
 * limit_conn) use it, and a session cache could. */
#ifndef TP_CORE_SHM_H
#define TP_CORE_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shm_zone;

/* What a zone is for.  The kind's address is its identity: a zone is
 * found again only by the same kind. */
struct shm_kind {
    const char *name; /* "limit_req", for messages */
    /* Lays out an empty zone (the lock is held): allocates and sets the
     * root; -1 when the zone is too small for it. */
    int (*init)(struct shm_zone *z);
};

/* The zone `name` of `size` bytes for kind: found in the registry (same
 * name, size and kind: *fresh is false) or mapped and laid out now (*fresh
 * true), with one more reference.  A new zone keeps a copy of label, the
 * owner's note of what it holds (limit_req's key), for a later generation
 * that finds the zone to compare with its own.  NULL with the reason in
 * err. */
struct shm_zone *shm_attach(const char *name, size_t size, const struct shm_kind *kind,
                            const char *label, bool *fresh, char *err, size_t errlen);

/* Drops a reference (void * for conf_cleanup_add); the last one unmaps. */
void shm_detach(void *zone);

const char *shm_name(const struct shm_zone *z);
size_t shm_size(const struct shm_zone *z);
const char *shm_label(const struct shm_zone *z);

/* Takes and releases the zone's lock.  Taking it after a holder died
 * empties the zone first (and logs why). */
void shm_lock(struct shm_zone *z);
void shm_unlock(struct shm_zone *z);

/* Changes whenever the zone is emptied. */
uint64_t shm_epoch(const struct shm_zone *z);

/* The owner's structures (set by the kind's init), or NULL. */
void *shm_root(const struct shm_zone *z);
void shm_set_root(struct shm_zone *z, void *root);

/* Memory of the zone (lock held): NULL when it is full. */
void *shm_alloc(struct shm_zone *z, size_t n);
void shm_free(struct shm_zone *z, void *p);

/* Pages left, and in all (shm_alloc.h), for checks and tests. */
size_t shm_free_pages(const struct shm_zone *z);
size_t shm_pages(const struct shm_zone *z);

/* Empties the zone as a dead holder would make the next locker do (lock
 * held); for tests. */
void shm_reset(struct shm_zone *z);

#endif

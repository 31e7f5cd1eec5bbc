/* shm.c - named shared memory zones (see shm.h). */
#include "core/shm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/log.h"
#include "core/shm_alloc.h"

#define SHM_NAME_MAX 128

/* The start of a zone's memory. */
struct shm_head {
    pthread_mutex_t lock;  /* process-shared and robust */
    uint64_t epoch;        /* times the zone was emptied */
    void *root;            /* the owner's structures */
    struct shm_slab *slab; /* the allocator over the rest */
};

/* This process's handle on a zone. */
struct shm_zone {
    char name[SHM_NAME_MAX];     /* its name */
    size_t size;                 /* bytes mapped */
    const struct shm_kind *kind; /* what it is for */
    char *label;                 /* the owner's note of what it holds (process memory) */
    struct shm_head *head;       /* the mapping */
    unsigned refs;               /* generations using it */
    struct shm_zone *next;       /* the registry */
};

static struct shm_zone *shm_registry;

static int shm_lock_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return -1;
    int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? 0 : -1;
}

/* The allocator over everything after the head, and the owner's layout. */
static int shm_layout(struct shm_zone *z)
{
    struct shm_head *h = z->head;
    h->root = NULL;
    h->slab = shm_slab_init(h + 1, z->size - sizeof(*h));
    return h->slab != NULL && z->kind->init(z) == 0 ? 0 : -1;
}

static struct shm_zone *shm_make(const char *name, size_t size, const struct shm_kind *kind,
                                 char *err, size_t errlen)
{
    struct shm_zone *z = calloc(1, sizeof(*z));
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (z == NULL || mem == MAP_FAILED) {
        snprintf(err, errlen, "mmap(MAP_ANON|MAP_SHARED, %zu) failed (%d: %s)", size, errno,
                 strerror(errno));
        goto fail;
    }
    snprintf(z->name, sizeof(z->name), "%s", name);
    z->size = size;
    z->kind = kind;
    z->head = mem;
    if (shm_lock_init(&z->head->lock) < 0) {
        snprintf(err, errlen, "cannot make the lock of shared memory zone \"%s\"", name);
        goto fail;
    }
    if (shm_layout(z) < 0) {
        snprintf(err, errlen, "shared memory zone \"%s\" is too small for %s", name, kind->name);
        goto fail;
    }
    return z;
fail:
    if (mem != MAP_FAILED)
        munmap(mem, size);
    free(z);
    return NULL;
}

struct shm_zone *shm_attach(const char *name, size_t size, const struct shm_kind *kind,
                            const char *label, bool *fresh, char *err, size_t errlen)
{
    if (strlen(name) >= SHM_NAME_MAX || size < sizeof(struct shm_head) + 2 * SHM_PAGE) {
        snprintf(err, errlen, "shared memory zone \"%s\" is too %s", name,
                 strlen(name) >= SHM_NAME_MAX ? "long a name" : "small");
        return NULL;
    }
    for (struct shm_zone *z = shm_registry; z != NULL; z = z->next)
        if (z->size == size && z->kind == kind && strcmp(z->name, name) == 0) {
            z->refs++;
            *fresh = false;
            return z;
        }
    struct shm_zone *z = shm_make(name, size, kind, err, errlen);
    if (z == NULL)
        return NULL;
    if ((z->label = strdup(label != NULL ? label : "")) == NULL) {
        snprintf(err, errlen, "out of memory");
        munmap(z->head, z->size);
        free(z);
        return NULL;
    }
    z->refs = 1;
    z->next = shm_registry;
    shm_registry = z;
    *fresh = true;
    return z;
}

void shm_detach(void *zone)
{
    struct shm_zone *z = zone;
    if (--z->refs > 0)
        return;
    for (struct shm_zone **p = &shm_registry; *p != NULL; p = &(*p)->next)
        if (*p == z) {
            *p = z->next;
            break;
        }
    pthread_mutex_destroy(&z->head->lock);
    munmap(z->head, z->size);
    free(z->label);
    free(z);
}

const char *shm_name(const struct shm_zone *z)
{
    return z->name;
}

size_t shm_size(const struct shm_zone *z)
{
    return z->size;
}

const char *shm_label(const struct shm_zone *z)
{
    return z->label;
}

void shm_reset(struct shm_zone *z)
{
    z->head->epoch++;
    if (shm_layout(z) < 0)
        z->head->root = NULL; /* cannot happen: it fitted when fresh */
}

void shm_lock(struct shm_zone *z)
{
    if (pthread_mutex_lock(&z->head->lock) != EOWNERDEAD)
        return;
    log_msg(LL_ALERT, 0, 0,
            "a process died holding the lock of shared memory zone \"%s\": its contents are "
            "dropped",
            z->name);
    shm_reset(z);
    pthread_mutex_consistent(&z->head->lock);
}

void shm_unlock(struct shm_zone *z)
{
    pthread_mutex_unlock(&z->head->lock);
}

uint64_t shm_epoch(const struct shm_zone *z)
{
    return z->head->epoch;
}

void *shm_root(const struct shm_zone *z)
{
    return z->head->root;
}

void shm_set_root(struct shm_zone *z, void *root)
{
    z->head->root = root;
}

void *shm_alloc(struct shm_zone *z, size_t n)
{
    return shm_slab_alloc(z->head->slab, n);
}

void shm_free(struct shm_zone *z, void *p)
{
    shm_slab_free(z->head->slab, p);
}

size_t shm_free_pages(const struct shm_zone *z)
{
    return shm_slab_free_pages(z->head->slab);
}

size_t shm_pages(const struct shm_zone *z)
{
    return shm_slab_pages(z->head->slab);
}

/* tls_cache.c - the shared session-ID cache (see tls_cache.h). */
#include "tls/tls_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mbedtls/platform_util.h>

#include "tls/tls_impl.h"

#define CACHE_WAYS 4
#define CACHE_ID_MAX 32
#define CACHE_MIN_SIZE (64 * 1024)

/* One cached session. */
struct cache_entry {
    uint8_t id[CACHE_ID_MAX];           /* session ID */
    uint8_t id_len;                     /* its length; 0 = a free slot */
    uint16_t len;                       /* bytes of data */
    int64_t expires;                    /* ms (mbedtls_ms_time) after which it is gone */
    uint64_t stamp;                     /* when stored: the oldest of a set goes first */
    unsigned char data[TLS_CACHE_DATA]; /* mbedtls_ssl_session_save's output */
};

/* The start of the shared memory. */
struct cache_head {
    pthread_mutex_t lock; /* process-shared and robust */
    uint32_t nsets;       /* sets of CACHE_WAYS entries that follow */
    uint64_t clock;       /* stores so far: the stamps */
};

/* This process's handle on a zone (the registry is the master's; workers
 * inherit it and the mapping). */
struct tls_cache {
    char name[64];            /* NAME of shared:NAME:SIZE */
    size_t size;              /* SIZE */
    struct cache_head *head;  /* the mapping */
    struct cache_entry *sets; /* right after the head */
    unsigned refs;            /* stores (generations) using it */
    struct tls_cache *next;   /* the registry */
};

static struct tls_cache *registry;

static int cache_lock_init(pthread_mutex_t *m)
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

static struct tls_cache *cache_map(const char *name, size_t size, char *err, size_t errlen)
{
    struct tls_cache *z = calloc(1, sizeof(*z));
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (z == NULL || mem == MAP_FAILED) {
        snprintf(err, errlen, "cannot map %zu bytes for the session cache \"%s\" (%s)", size, name,
                 strerror(errno));
        if (mem != MAP_FAILED)
            munmap(mem, size);
        free(z);
        return NULL;
    }
    snprintf(z->name, sizeof(z->name), "%s", name);
    z->size = size;
    z->head = mem;
    z->sets = (struct cache_entry *)((char *)mem + sizeof(struct cache_head));
    z->head->nsets =
        (uint32_t)((size - sizeof(struct cache_head)) / (CACHE_WAYS * sizeof(struct cache_entry)));
    if (cache_lock_init(&z->head->lock) < 0) {
        snprintf(err, errlen, "cannot set up the lock of the session cache \"%s\"", name);
        munmap(mem, size);
        free(z);
        return NULL;
    }
    return z;
}

struct tls_cache *tls_cache_attach(const char *name, size_t size, char *err, size_t errlen)
{
    if (size < CACHE_MIN_SIZE || strlen(name) >= sizeof(registry->name)) {
        snprintf(err, errlen, "session cache \"%s\" is too %s", name,
                 size < CACHE_MIN_SIZE ? "small (at least 64k)" : "long a name");
        return NULL;
    }
    for (struct tls_cache *z = registry; z != NULL; z = z->next)
        if (z->size == size && strcmp(z->name, name) == 0) {
            z->refs++;
            return z;
        }
    struct tls_cache *z = cache_map(name, size, err, errlen);
    if (z == NULL)
        return NULL;
    z->refs = 1;
    z->next = registry;
    registry = z;
    return z;
}

void tls_cache_detach(void *zone)
{
    struct tls_cache *z = zone;
    if (--z->refs > 0)
        return;
    for (struct tls_cache **p = &registry; *p != NULL; p = &(*p)->next)
        if (*p == z) {
            *p = z->next;
            break;
        }
    munmap(z->head, z->size);
    free(z);
}

const char *tls_cache_name(const struct tls_cache *z)
{
    return z->name;
}

size_t tls_cache_size(const struct tls_cache *z)
{
    return z->size;
}

/* ---- lookups ------------------------------------------------------------- */

/* A worker that died holding the lock left at most the entry it was
 * writing half-done; entries start free and end valid (id last), so
 * marking the lock consistent is enough. */
static void cache_lock(struct tls_cache *z)
{
    if (pthread_mutex_lock(&z->head->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&z->head->lock);
}

static void cache_unlock(struct tls_cache *z)
{
    pthread_mutex_unlock(&z->head->lock);
}

static struct cache_entry *cache_set_of(struct tls_cache *z, const unsigned char *id, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a: IDs are random already */
    for (size_t i = 0; i < len; i++)
        h = (h ^ id[i]) * 16777619u;
    return &z->sets[(size_t)(h % z->head->nsets) * CACHE_WAYS];
}

static struct cache_entry *cache_find(struct cache_entry *set, const unsigned char *id, size_t len)
{
    for (int i = 0; i < CACHE_WAYS; i++)
        if (set[i].id_len == len && memcmp(set[i].id, id, len) == 0)
            return &set[i];
    return NULL;
}

int tls_cache_get(void *data, const unsigned char *id, size_t id_len, mbedtls_ssl_session *session)
{
    struct tls_cache_use *u = data;
    unsigned char buf[TLS_CACHE_DATA];
    size_t len = 0;
    if (id_len == 0 || id_len > CACHE_ID_MAX)
        return -1;
    cache_lock(u->zone);
    struct cache_entry *e = cache_find(cache_set_of(u->zone, id, id_len), id, id_len);
    if (e != NULL && e->expires > mbedtls_ms_time()) {
        len = e->len;
        memcpy(buf, e->data, len);
    }
    cache_unlock(u->zone);
    int rc = len > 0 ? mbedtls_ssl_session_load(session, buf, len) : -1;
    mbedtls_platform_zeroize(buf, sizeof(buf));
    return rc;
}

/* The slot a new session takes: its own, a free or expired one, else the
 * oldest. */
static struct cache_entry *cache_victim(struct cache_entry *set, const unsigned char *id,
                                        size_t len, int64_t now)
{
    struct cache_entry *e = cache_find(set, id, len), *old = &set[0];
    for (int i = 0; e == NULL && i < CACHE_WAYS; i++) {
        if (set[i].id_len == 0 || set[i].expires <= now)
            e = &set[i];
        else if (set[i].stamp < old->stamp)
            old = &set[i];
    }
    return e != NULL ? e : old;
}

int tls_cache_set(void *data, const unsigned char *id, size_t id_len,
                  const mbedtls_ssl_session *session)
{
    struct tls_cache_use *u = data;
    unsigned char buf[TLS_CACHE_DATA];
    size_t len;
    if (id_len == 0 || id_len > CACHE_ID_MAX ||
        mbedtls_ssl_session_save(session, buf, sizeof(buf), &len) != 0)
        return -1; /* too big (a client certificate): simply not cached */
    int64_t now = mbedtls_ms_time();
    cache_lock(u->zone);
    struct cache_entry *e = cache_victim(cache_set_of(u->zone, id, id_len), id, id_len, now);
    e->id_len = 0;
    memcpy(e->data, buf, len);
    e->len = (uint16_t)len;
    e->expires = now + u->timeout;
    e->stamp = ++u->zone->head->clock;
    memcpy(e->id, id, id_len);
    e->id_len = (uint8_t)id_len;
    cache_unlock(u->zone);
    mbedtls_platform_zeroize(buf, sizeof(buf));
    return 0;
}

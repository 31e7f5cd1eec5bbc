/* shm_map.c - keyed nodes by last use in a shared zone (shm_map.h). */
#include "core/shm_map.h"

#include <string.h>
#include <sys/random.h>

#include "core/shm.h"

struct shm_map {
    size_t node_size;       /* the user's struct, shm_node included */
    uint32_t nbuckets;      /* a power of two */
    uint32_t count;         /* nodes in the map */
    uint64_t key[2];        /* SipHash's key */
    struct shm_node lru;    /* sentinel: lru.older is the newest, lru.newer the oldest */
    struct shm_node **slot; /* the buckets */
};

/* ---- SipHash-2-4 ------------------------------------------------------------- */

static uint64_t sip_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = sip_rotl(v[1], 13) ^ v[0];
    v[0] = sip_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = sip_rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = sip_rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = sip_rotl(v[1], 17) ^ v[2];
    v[2] = sip_rotl(v[2], 32);
}

static void sip_absorb(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

static uint64_t sip_hash(const uint64_t k[2], const unsigned char *p, size_t len)
{
    uint64_t v[4] = {k[0] ^ 0x736f6d6570736575ull, k[1] ^ 0x646f72616e646f6dull,
                     k[0] ^ 0x6c7967656e657261ull, k[1] ^ 0x7465646279746573ull};
    uint64_t m, last = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&m, p + i, 8);
        sip_absorb(v, m);
    }
    for (size_t j = 0; i + j < len; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    sip_absorb(v, last);
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- the map ----------------------------------------------------------------- */

static uint32_t shm_map_buckets(const struct shm_zone *z, size_t per_bucket)
{
    size_t want = shm_size(z) / (per_bucket ? per_bucket : 1);
    uint32_t n = 16;
    while (n < want && n < (1u << 24))
        n <<= 1;
    return n;
}

struct shm_map *shm_map_new(struct shm_zone *z, size_t node_size, size_t per_bucket)
{
    struct shm_map *m = shm_alloc(z, sizeof(*m));
    if (m == NULL)
        return NULL;
    *m = (struct shm_map){.node_size = node_size, .nbuckets = shm_map_buckets(z, per_bucket)};
    m->slot = shm_alloc(z, sizeof(*m->slot) * m->nbuckets);
    if (m->slot == NULL) {
        shm_free(z, m);
        return NULL;
    }
    memset(m->slot, 0, sizeof(*m->slot) * m->nbuckets);
    if (getrandom(m->key, sizeof(m->key), GRND_NONBLOCK) != (ssize_t)sizeof(m->key))
        m->key[0] =
            (uint64_t)(uintptr_t)m ^ 0x9e3779b97f4a7c15ull; /* no entropy yet: still works */
    m->lru.newer = m->lru.older = &m->lru;
    return m;
}

static uint32_t shm_map_hash(const struct shm_map *m, const void *key, size_t len)
{
    return (uint32_t)sip_hash(m->key, key, len);
}

const void *shm_map_key(const struct shm_map *m, const void *node)
{
    return (const char *)node + m->node_size;
}

/* Most recent uses sit next to the sentinel's `older` side. */
static void shm_lru_unlink(struct shm_node *n)
{
    n->newer->older = n->older;
    n->older->newer = n->newer;
}

static void shm_lru_front(struct shm_map *m, struct shm_node *n)
{
    n->older = m->lru.older;
    n->newer = &m->lru;
    m->lru.older->newer = n;
    m->lru.older = n;
}

void *shm_map_find(struct shm_map *m, const void *key, size_t len)
{
    uint32_t h = shm_map_hash(m, key, len);
    for (struct shm_node *n = m->slot[h & (m->nbuckets - 1)]; n != NULL; n = n->chain) {
        if (n->hash != h || n->len != len || memcmp(shm_map_key(m, n), key, len) != 0)
            continue;
        shm_lru_unlink(n);
        shm_lru_front(m, n);
        return n;
    }
    return NULL;
}

void *shm_map_add(struct shm_zone *z, struct shm_map *m, const void *key, size_t len)
{
    struct shm_node *n = shm_alloc(z, m->node_size + len);
    if (n == NULL)
        return NULL;
    memset(n, 0, m->node_size);
    n->hash = shm_map_hash(m, key, len);
    n->len = (uint32_t)len;
    memcpy((char *)n + m->node_size, key, len);
    struct shm_node **b = &m->slot[n->hash & (m->nbuckets - 1)];
    n->chain = *b;
    *b = n;
    shm_lru_front(m, n);
    m->count++;
    return n;
}

void shm_map_remove(struct shm_zone *z, struct shm_map *m, void *node)
{
    struct shm_node *n = node;
    struct shm_node **p = &m->slot[n->hash & (m->nbuckets - 1)];
    while (*p != n)
        p = &(*p)->chain;
    *p = n->chain;
    shm_lru_unlink(n);
    m->count--;
    shm_free(z, n);
}

void *shm_map_oldest(const struct shm_map *m)
{
    return m->lru.newer == &m->lru ? NULL : m->lru.newer;
}

size_t shm_map_count(const struct shm_map *m)
{
    return m->count;
}

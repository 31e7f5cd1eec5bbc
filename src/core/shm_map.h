/* shm_map.h - nodes found by a key, in a shared memory zone, kept in the
 * order they were last used.
 *
 * The map and its nodes live in a zone (core/shm.h) and every call needs
 * the zone's lock.  A node is the user's struct, which starts with a
 * struct shm_node, followed by the key's bytes.  The bucket is chosen by
 * SipHash with a key drawn when the map is made, so clients cannot make
 * their keys collide on purpose.  The nodes form a list from the most to
 * the least recently used: a full zone gives up its oldest ones (the
 * owner decides which, as nginx's limit_req does). */
#ifndef TP_CORE_SHM_MAP_H
#define TP_CORE_SHM_MAP_H

#include <stddef.h>
#include <stdint.h>

struct shm_map;
struct shm_zone;

/* The start of every node. */
struct shm_node {
    struct shm_node *chain; /* next in its bucket */
    struct shm_node *newer; /* the list by last use */
    struct shm_node *older;
    uint32_t hash; /* the key's (its low bits pick the bucket) */
    uint32_t len;  /* the key's length; the bytes follow the user's struct */
};

/* A map of nodes of node_size bytes (the user's struct, shm_node first)
 * in zone z, with about one bucket per `per_bucket` bytes of the zone;
 * NULL when the zone has no room. */
struct shm_map *shm_map_new(struct shm_zone *z, size_t node_size, size_t per_bucket);

/* The node with this key, now the most recently used; NULL if none. */
void *shm_map_find(struct shm_map *m, const void *key, size_t len);

/* A new node for key (not yet there), zeroed but for its links and key,
 * the most recently used; NULL when the zone is full. */
void *shm_map_add(struct shm_zone *z, struct shm_map *m, const void *key, size_t len);

/* Takes a node out and frees it. */
void shm_map_remove(struct shm_zone *z, struct shm_map *m, void *node);

/* The least recently used node, or NULL when there is none. */
void *shm_map_oldest(const struct shm_map *m);

/* A node's key. */
const void *shm_map_key(const struct shm_map *m, const void *node);

/* Nodes in the map. */
size_t shm_map_count(const struct shm_map *m);

#endif

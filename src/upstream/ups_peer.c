/* ups_peer.c - a group's peers in one worker: built from the
 * configuration, rebuilt when DNS changes a `resolve` server's addresses,
 * and the consistent-hash ring (nginx's ngx_http_upstream_init_chash). */
#include "upstream/ups_peer.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define UPS_CHASH_POINTS 160 /* ring points per unit of weight (ketama's) */

void ups_peer_release(struct ups_peer *peer)
{
    if (!peer->listed && peer->conns == 0)
        free(peer);
}

static struct ups_peer *ups_peer_new(const struct ups_server *srv, const struct ups_addr *addr)
{
    struct ups_peer *peer = calloc(1, sizeof(*peer));
    if (peer == NULL)
        return NULL;
    peer->srv = srv;
    peer->addr = *addr;
    peer->weight = (int)srv->weight;
    peer->effective_weight = peer->weight;
    peer->listed = true;
    return peer;
}

/* ---- tiers ------------------------------------------------------------------ */

/* The peers of the primary (or backup) servers, in config order. */
static int ups_tier_build(const struct ups_rt *rt, bool backup, struct ups_tier *t)
{
    const struct ups_group *g = rt->g;
    size_t n = 0, k = 0;
    t->total_weight = 0;
    for (size_t i = 0; i < g->nservers; i++)
        n += g->servers[i].backup == backup ? rt->nby_srv[i] : 0;
    t->n = n;
    t->peers = n > 0 ? malloc(sizeof(*t->peers) * n) : NULL;
    if (n > 0 && t->peers == NULL)
        return -1;
    for (size_t i = 0; i < g->nservers; i++) {
        if (g->servers[i].backup != backup)
            continue;
        for (size_t j = 0; j < rt->nby_srv[i]; j++) {
            t->peers[k++] = rt->by_srv[i][j];
            t->total_weight += rt->by_srv[i][j]->weight;
        }
    }
    return 0;
}

/* ---- the consistent-hash ring ------------------------------------------------ */

/* nginx's split of a server name for the ring (compatible with
 * Cache::Memcached::Fast): "host:port", or a unix path without a port. */
static uint32_t ups_chash_base(const char *server)
{
    size_t len = strlen(server), host_len = len, j;
    const char *port = "";
    if (strncasecmp(server, "unix:", 5) == 0) {
        server += 5;
        host_len = len - 5;
    } else {
        for (j = 0; j < len && server[len - j - 1] >= '0' && server[len - j - 1] <= '9'; j++)
            ;
        if (j < len && server[len - j - 1] == ':') {
            host_len = len - j - 1;
            port = server + len - j;
        }
    }
    uLong crc = crc32(0L, (const Bytef *)server, (uInt)host_len);
    crc = crc32(crc, (const Bytef *)"", 1);
    return (uint32_t)crc32(crc, (const Bytef *)port, (uInt)strlen(port));
}

static int ups_point_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct ups_point *)a)->hash, y = ((const struct ups_point *)b)->hash;
    return x < y ? -1 : x > y;
}

/* weight * 160 points per peer: crc32(HOST \0 PORT PREV_HASH), where
 * PREV_HASH is the previous point's hash as 4 little-endian bytes; then
 * sorted, and equal hashes kept once (peers of one server share theirs). */
static int ups_ring_build(const struct ups_tier *t, struct ups_point **out, size_t *nout)
{
    size_t n = (size_t)t->total_weight * UPS_CHASH_POINTS, k = 0;
    struct ups_point *pts = n > 0 ? malloc(sizeof(*pts) * n) : NULL;
    *out = NULL;
    *nout = 0;
    if (n > 0 && pts == NULL)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        const struct ups_peer *peer = t->peers[i];
        uint32_t base = ups_chash_base(peer->srv->name), prev = 0;
        for (size_t j = 0; j < (size_t)peer->weight * UPS_CHASH_POINTS; j++) {
            uint8_t b[4] = {(uint8_t)prev, (uint8_t)(prev >> 8), (uint8_t)(prev >> 16),
                            (uint8_t)(prev >> 24)};
            prev = (uint32_t)crc32(base, b, 4);
            pts[k].hash = prev;
            pts[k++].server = peer->srv->name;
        }
    }
    qsort(pts, k, sizeof(*pts), ups_point_cmp);
    size_t m = 0;
    for (size_t j = 1; j < k; j++)
        if (pts[m].hash != pts[j].hash)
            pts[++m] = pts[j];
    *out = pts;
    *nout = k > 0 ? m + 1 : 0;
    return 0;
}

/* New tiers (and ring) from by_srv; the old ones go only once the new
 * ones are made, so a failure leaves the group as it was. */
static int ups_rt_rebuild(struct ups_rt *rt)
{
    struct ups_tier primary = {0}, backup = {0};
    struct ups_point *points = NULL;
    size_t npoints = 0;
    if (ups_tier_build(rt, false, &primary) < 0 || ups_tier_build(rt, true, &backup) < 0 ||
        (rt->g->method == UPS_CHASH && ups_ring_build(&primary, &points, &npoints) < 0)) {
        free(primary.peers);
        free(backup.peers);
        return -1;
    }
    free(rt->primary.peers);
    free(rt->backup.peers);
    free(rt->points);
    rt->primary = primary;
    rt->backup = backup;
    rt->points = points;
    rt->npoints = npoints;
    rt->version++;
    return 0;
}

/* ---- the group -------------------------------------------------------------- */

static int ups_rt_static_peers(struct ups_rt *rt, size_t i)
{
    const struct ups_server *srv = &rt->g->servers[i];
    if (srv->naddrs == 0)
        return 0;
    rt->by_srv[i] = malloc(sizeof(*rt->by_srv[i]) * srv->naddrs);
    if (rt->by_srv[i] == NULL)
        return -1;
    for (size_t j = 0; j < srv->naddrs; j++) {
        if ((rt->by_srv[i][j] = ups_peer_new(srv, &srv->addrs[j])) == NULL)
            return -1;
        rt->nby_srv[i]++;
    }
    return 0;
}

struct ups_rt *ups_rt_create(const struct ups_group *g)
{
    struct ups_rt *rt = calloc(1, sizeof(*rt));
    if (rt == NULL)
        return NULL;
    rt->g = g;
    rt->by_srv = calloc(g->nservers, sizeof(*rt->by_srv));
    rt->nby_srv = calloc(g->nservers, sizeof(*rt->nby_srv));
    ups_pool_init(&rt->pool, g);
    if (rt->by_srv == NULL || rt->nby_srv == NULL)
        goto fail;
    for (size_t i = 0; i < g->nservers; i++)
        if (ups_rt_static_peers(rt, i) < 0)
            goto fail;
    if (ups_rt_rebuild(rt) < 0)
        goto fail;
    return rt;
fail:
    ups_rt_destroy(rt);
    return NULL;
}

/* The worker is done with the group: every pick has ended, since
 * requests end theirs when they close. */
void ups_rt_destroy(struct ups_rt *rt)
{
    ups_pool_close_all(&rt->pool);
    for (size_t i = 0; rt->by_srv != NULL && i < rt->g->nservers; i++) {
        for (size_t j = 0; j < rt->nby_srv[i]; j++)
            free(rt->by_srv[i][j]);
        free(rt->by_srv[i]);
    }
    free(rt->by_srv);
    free(rt->nby_srv);
    free(rt->primary.peers);
    free(rt->backup.peers);
    free(rt->points);
    free(rt);
}

/* ---- DNS changes a server's addresses --------------------------------------- */

static int ups_addr_cmp(const void *a, const void *b)
{
    const struct ups_addr *x = a, *y = b;
    if (x->u.sa.sa_family != y->u.sa.sa_family)
        return x->u.sa.sa_family == AF_INET ? -1 : 1;
    if (x->u.sa.sa_family == AF_INET6)
        return memcmp(&x->u.sin6.sin6_addr, &y->u.sin6.sin6_addr, 16);
    return memcmp(&x->u.sin.sin_addr, &y->u.sin.sin_addr, 4);
}

/* The answer in a fixed order, without repeats: DNS servers rotate their
 * answers, and the order of peers must not change with every lookup. */
static size_t ups_addrs_sorted(const struct ups_server *srv, const union sockaddr_any *in, size_t n,
                               struct ups_addr *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        ups_addr_inet(&out[i], &in[i].sa, srv->port);
    qsort(out, n, sizeof(*out), ups_addr_cmp);
    for (size_t i = 0; i < n; i++)
        if (m == 0 || !ups_addr_equal(&out[m - 1], &out[i]))
            out[m++] = out[i];
    return m;
}

/* The peer of list at addr, or NULL. */
static struct ups_peer *ups_peer_at(struct ups_peer *const *list, size_t n,
                                    const struct ups_addr *addr)
{
    for (size_t i = 0; i < n; i++)
        if (ups_addr_equal(&list[i]->addr, addr))
            return list[i];
    return NULL;
}

/* Peers that left the server's list go once no pick holds them. */
static void ups_peers_drop_gone(struct ups_peer **old, size_t nold, struct ups_peer *const *now,
                                size_t n)
{
    for (size_t i = 0; i < nold; i++) {
        if (ups_peer_at(now, n, &old[i]->addr) != NULL)
            continue;
        old[i]->listed = false;
        ups_peer_release(old[i]);
    }
}

/* The new list: peers at kept addresses are the old ones (their state
 * goes on), the others new. */
static int ups_peers_merge(const struct ups_server *srv, struct ups_peer *const *old, size_t nold,
                           const struct ups_addr *addrs, size_t n, struct ups_peer **now)
{
    for (size_t i = 0; i < n; i++) {
        now[i] = ups_peer_at(old, nold, &addrs[i]);
        if (now[i] == NULL && (now[i] = ups_peer_new(srv, &addrs[i])) == NULL) {
            for (size_t j = 0; j < i; j++)
                if (ups_peer_at(old, nold, &now[j]->addr) == NULL)
                    free(now[j]);
            return -1;
        }
    }
    return 0;
}

int ups_rt_set_addrs(struct ups_rt *rt, size_t srv_index, const union sockaddr_any *addrs,
                     size_t naddrs)
{
    const struct ups_server *srv = &rt->g->servers[srv_index];
    struct ups_peer **old = rt->by_srv[srv_index];
    size_t nold = rt->nby_srv[srv_index];
    struct ups_addr *sorted = malloc(sizeof(*sorted) * (naddrs + 1));
    struct ups_peer **now = malloc(sizeof(*now) * (naddrs + 1));
    if (sorted == NULL || now == NULL)
        goto fail;
    size_t n = ups_addrs_sorted(srv, addrs, naddrs, sorted);
    if (ups_peers_merge(srv, old, nold, sorted, n, now) < 0)
        goto fail;
    rt->by_srv[srv_index] = now;
    rt->nby_srv[srv_index] = n;
    if (ups_rt_rebuild(rt) < 0) {
        rt->by_srv[srv_index] = old;
        rt->nby_srv[srv_index] = nold;
        ups_peers_drop_gone(now, n, old, nold);
        goto fail;
    }
    ups_peers_drop_gone(old, nold, now, n);
    free(old);
    free(sorted);
    return 0;
fail:
    free(now);
    free(sorted);
    return -1;
}

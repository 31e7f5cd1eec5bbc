/* ups_balance.c - the balancers, ported from nginx's round-robin,
 * least_conn, ip_hash and hash modules with their exact arithmetic, so a
 * group distributes as nginx documents it. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/mpool.h"
#include "upstream/ups_peer.h"

#define UPS_HASH_TRIES 20 /* misses before a hash method falls back to round-robin */

/* ---- tried peers ------------------------------------------------------------ */

static bool tried_get(const struct ups_pick *p, size_t i)
{
    return (p->tried[i / 64] >> (i % 64)) & 1u;
}

static void tried_set(struct ups_pick *p, size_t i)
{
    p->tried[i / 64] |= (uint64_t)1 << (i % 64);
}

/* Room for a bit per peer of the larger tier, all clear. */
static int tried_reset(struct ups_pick *p)
{
    const struct ups_rt *rt = p->rt;
    size_t n = rt->primary.n > rt->backup.n ? rt->primary.n : rt->backup.n;
    size_t words = (n + 63) / 64;
    if (words <= 1) {
        p->tried = &p->tried_small;
        p->ntried = 1;
    } else if (words > p->ntried) {
        if ((p->tried = mpool_alloc(p->pool, words * sizeof(*p->tried))) == NULL)
            return -1;
        p->ntried = words;
    }
    memset(p->tried, 0, p->ntried * sizeof(*p->tried));
    return 0;
}

/* nginx's peers->single: one peer and no backup; failures do not count. */
static bool ups_single(const struct ups_pick *p)
{
    return p->tier == &p->rt->primary && p->rt->primary.n == 1 && p->rt->backup.n == 0;
}

static double ups_fail_timeout(const struct ups_peer *peer)
{
    return (double)peer->srv->fail_timeout / 1000.0;
}

/* Down, failed within fail_timeout, or at max_conns: not now. */
static bool ups_usable(const struct ups_peer *peer, ev_tstamp now)
{
    const struct ups_server *srv = peer->srv;
    if (srv->down)
        return false;
    if (srv->max_fails != 0 && peer->fails >= (unsigned long)srv->max_fails &&
        now - peer->checked <= ups_fail_timeout(peer))
        return false;
    return srv->max_conns == 0 || peer->conns < (unsigned long)srv->max_conns;
}

static bool ups_candidate(const struct ups_pick *p, size_t i, ev_tstamp now)
{
    return !tried_get(p, i) && ups_usable(p->tier->peers[i], now);
}

/* The chosen peer: tried, counted, and its fail_timeout window restarted
 * once it has passed (so a success then clears its failures). */
static void ups_take(struct ups_pick *p, size_t i, ev_tstamp now)
{
    struct ups_peer *peer = p->tier->peers[i];
    tried_set(p, i);
    if (now - peer->checked > ups_fail_timeout(peer))
        peer->checked = now;
    peer->conns++;
    p->current = peer;
}

/* ---- round-robin ---------------------------------------------------------------- */

/* Smooth weighted round-robin (ngx_http_upstream_get_peer): every
 * candidate gains its effective weight, the highest wins and gives back
 * the total.  Only peers for which match() holds take part. */
static long ups_smooth(struct ups_pick *p, ev_tstamp now, const char *server)
{
    struct ups_tier *t = p->tier;
    struct ups_peer *best = NULL;
    long at = -1, total = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct ups_peer *peer = t->peers[i];
        if (!ups_candidate(p, i, now) || (server != NULL && strcmp(peer->srv->name, server) != 0))
            continue;
        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;
        if (peer->effective_weight < peer->weight)
            peer->effective_weight++;
        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
            at = (long)i;
        }
    }
    if (best != NULL)
        best->current_weight -= (int)total;
    return at;
}

static int ups_rr_tier(struct ups_pick *p, ev_tstamp now)
{
    if (ups_single(p)) {
        struct ups_peer *peer = p->tier->peers[0];
        if (peer->srv->down ||
            (peer->srv->max_conns != 0 && peer->conns >= (unsigned long)peer->srv->max_conns))
            return -1;
        peer->conns++;
        p->current = peer;
        return 0;
    }
    long at = ups_smooth(p, now, NULL);
    if (at < 0)
        return -1;
    ups_take(p, (size_t)at, now);
    return 0;
}

/* The backup servers, once the primary ones are all unavailable. */
static bool ups_to_backup(struct ups_pick *p)
{
    if (p->tier != &p->rt->primary || p->rt->backup.n == 0)
        return false;
    p->tier = &p->rt->backup;
    memset(p->tried, 0, p->ntried * sizeof(*p->tried));
    return true;
}

static int ups_rr_next(struct ups_pick *p, ev_tstamp now)
{
    if (ups_rr_tier(p, now) == 0)
        return 0;
    return ups_to_backup(p) ? ups_rr_tier(p, now) : -1;
}

/* ---- least_conn -------------------------------------------------------------------- */

/* Fewest active connections relative to weight; ties by round-robin
 * among the tied peers, from the first of them on. */
static int ups_lc_tier(struct ups_pick *p, ev_tstamp now)
{
    struct ups_tier *t = p->tier;
    struct ups_peer *best = NULL;
    size_t at = 0;
    bool many = false;
    long total = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct ups_peer *peer = t->peers[i];
        if (!ups_candidate(p, i, now))
            continue;
        unsigned long mine = (unsigned long)peer->conns * (unsigned long)(best ? best->weight : 0);
        unsigned long theirs = best ? (unsigned long)best->conns * (unsigned long)peer->weight : 0;
        if (best == NULL || mine < theirs) {
            best = peer;
            at = i;
            many = false;
        } else if (mine == theirs) {
            many = true;
        }
    }
    if (best == NULL)
        return -1;
    for (size_t i = at; many && i < t->n; i++) {
        struct ups_peer *peer = t->peers[i];
        if (!ups_candidate(p, i, now) ||
            (unsigned long)peer->conns * (unsigned long)best->weight !=
                (unsigned long)best->conns * (unsigned long)peer->weight)
            continue;
        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;
        if (peer->effective_weight < peer->weight)
            peer->effective_weight++;
        if (peer->current_weight > best->current_weight) {
            best = peer;
            at = i;
        }
    }
    best->current_weight -= (int)total;
    ups_take(p, at, now);
    return 0;
}

static int ups_lc_next(struct ups_pick *p, ev_tstamp now)
{
    if (ups_single(p))
        return ups_rr_next(p, now);
    if (ups_lc_tier(p, now) == 0)
        return 0;
    return ups_to_backup(p) ? ups_lc_tier(p, now) : -1;
}

/* ---- hashes ---------------------------------------------------------------------- */

/* The peer a hash value lands on: weights are slices of total_weight. */
static size_t ups_by_weight(const struct ups_tier *t, uint32_t hash)
{
    long w = (long)(hash % (uint32_t)t->total_weight);
    size_t i = 0;
    while (w >= t->peers[i]->weight)
        w -= t->peers[i++]->weight;
    return i;
}

/* Where the hash methods give up and use round-robin, as nginx does. */
static bool ups_hash_off(const struct ups_pick *p, bool need_key)
{
    return p->hash_tries > UPS_HASH_TRIES || ups_single(p) || p->rt->primary.n == 0 ||
           (need_key && p->key.len == 0);
}

/* ip_hash: the first three bytes of an IPv4 address, or all sixteen of
 * an IPv6 one, through nginx's hash (113, modulo 6271). */
static int ups_ip_hash_next(struct ups_pick *p, ev_tstamp now)
{
    uint32_t hash = p->hash;
    if (ups_hash_off(p, false))
        return ups_rr_next(p, now);
    for (;;) {
        for (size_t i = 0; i < p->addrlen; i++)
            hash = (hash * 113 + p->addr[i]) % 6271;
        size_t at = ups_by_weight(&p->rt->primary, hash);
        if (ups_candidate(p, at, now)) {
            ups_take(p, at, now);
            p->hash = hash;
            return 0;
        }
        if (++p->hash_tries > UPS_HASH_TRIES)
            return ups_rr_next(p, now);
    }
}

/* hash KEY: ((crc32([REHASH] KEY) >> 16) & 0x7fff) added up over the
 * rounds (Cache::Memcached's), modulo the total weight. */
static int ups_hash_next(struct ups_pick *p, ev_tstamp now)
{
    char num[16];
    if (ups_hash_off(p, true))
        return ups_rr_next(p, now);
    for (;;) {
        uLong crc = crc32(0L, Z_NULL, 0);
        if (p->rehash > 0) {
            int len = snprintf(num, sizeof(num), "%u", p->rehash);
            crc = crc32(crc, (const Bytef *)num, (uInt)len);
        }
        crc = crc32(crc, (const Bytef *)p->key.p, (uInt)p->key.len);
        p->hash += (uint32_t)(crc >> 16) & 0x7fff;
        p->rehash++;
        size_t at = ups_by_weight(&p->rt->primary, p->hash);
        if (ups_candidate(p, at, now)) {
            ups_take(p, at, now);
            return 0;
        }
        if (++p->hash_tries > UPS_HASH_TRIES)
            return ups_rr_next(p, now);
    }
}

/* hash KEY consistent: the server of the ring's point, then the next
 * point's, ...; among that server's peers, round-robin. */
static int ups_chash_next(struct ups_pick *p, ev_tstamp now)
{
    const struct ups_rt *rt = p->rt;
    if (ups_hash_off(p, true) || rt->npoints == 0)
        return ups_rr_next(p, now);
    for (;;) {
        long at = ups_smooth(p, now, rt->points[p->hash % rt->npoints].server);
        if (at >= 0) {
            ups_take(p, (size_t)at, now);
            return 0;
        }
        p->hash++;
        if (++p->hash_tries > UPS_HASH_TRIES)
            return ups_rr_next(p, now);
    }
}

/* The first point at or after hash (the ring wraps by the modulo). */
static uint32_t ups_chash_find(const struct ups_rt *rt, uint32_t hash)
{
    size_t i = 0, j = rt->npoints;
    while (i < j) {
        size_t k = (i + j) / 2;
        if (hash > rt->points[k].hash)
            i = k + 1;
        else if (hash < rt->points[k].hash)
            j = k;
        else
            return (uint32_t)k;
    }
    return (uint32_t)i;
}

/* ---- a request's picks ------------------------------------------------------------- */

static void ups_pick_client(struct ups_pick *p, const union sockaddr_any *client)
{
    /* nginx hashes anything else (a unix client) as three zero bytes. */
    memset(p->addr, 0, sizeof(p->addr));
    p->addrlen = 3;
    if (client != NULL && client->sa.sa_family == AF_INET) {
        memcpy(p->addr, &client->sin.sin_addr, 3);
    } else if (client != NULL && client->sa.sa_family == AF_INET6) {
        memcpy(p->addr, &client->sin6.sin6_addr, 16);
        p->addrlen = 16;
    }
}

int ups_pick_init(struct ups_pick *p, struct ups_rt *rt, struct mpool *pool,
                  const union sockaddr_any *client, struct str key)
{
    memset(p, 0, sizeof(*p));
    p->rt = rt;
    p->pool = pool;
    p->tier = &rt->primary;
    p->version = rt->version;
    p->tries = (unsigned)(rt->primary.n + rt->backup.n);
    p->key = key;
    if (rt->g->method == UPS_IP_HASH) {
        ups_pick_client(p, client);
        p->hash = 89;
    } else if (rt->g->method == UPS_CHASH && rt->npoints > 0) {
        p->hash = ups_chash_find(rt, (uint32_t)crc32(0L, (const Bytef *)key.p, (uInt)key.len));
    }
    return tried_reset(p);
}

int ups_pick_next(struct ups_pick *p, ev_tstamp now)
{
    /* DNS changed the peers since the last pick: the tried bits are for
     * the old list, so start over on the new one. */
    if (p->version != p->rt->version) {
        p->version = p->rt->version;
        p->tier = &p->rt->primary;
        if (tried_reset(p) < 0)
            return -1;
    }
    p->current = NULL;
    switch (p->rt->g->method) {
    case UPS_LEAST_CONN:
        return ups_lc_next(p, now);
    case UPS_IP_HASH:
        return ups_ip_hash_next(p, now);
    case UPS_HASH:
        return ups_hash_next(p, now);
    case UPS_CHASH:
        return ups_chash_next(p, now);
    default:
        return ups_rr_next(p, now);
    }
}

/* nginx's ngx_http_upstream_free_round_robin_peer. */
static bool ups_count(struct ups_peer *peer, unsigned state, ev_tstamp now)
{
    const struct ups_server *srv = peer->srv;
    if (!(state & UPS_FAILED)) {
        if (peer->accessed < peer->checked)
            peer->fails = 0; /* a success after fail_timeout: live again */
        return false;
    }
    peer->fails++;
    peer->accessed = peer->checked = now;
    if (srv->max_fails == 0)
        return false;
    peer->effective_weight -= (int)(peer->weight / srv->max_fails);
    if (peer->effective_weight < 0)
        peer->effective_weight = 0;
    return peer->fails >= (unsigned long)srv->max_fails;
}

bool ups_pick_done(struct ups_pick *p, unsigned state, ev_tstamp now)
{
    struct ups_peer *peer = p->current;
    bool disabled = false;
    if (peer == NULL)
        return false;
    p->current = NULL;
    if (ups_single(p)) {
        p->tries = 0;
    } else {
        disabled = ups_count(peer, state, now);
        if (p->tries > 0)
            p->tries--;
    }
    peer->conns--;
    ups_peer_release(peer);
    return disabled;
}

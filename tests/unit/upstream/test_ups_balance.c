/* test_ups_balance.c - the balancers against nginx's documented and
 * computed behaviour, counted over many picks: smooth weighted
 * round-robin's sequence, least_conn with weights, ip_hash and hash
 * against nginx's formulas worked out independently here, the consistent
 * hash ring, down and backup servers, max_conns, and passive health
 * (max_fails within fail_timeout), plus peers changing under DNS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/mpool.h"
#include "upstream/ups.h"
#include "upstream/ups_peer.h"

#define MAX_SRV 128

/* A group built by hand: servers 127.0.0.1:8001, :8002, ... */
struct grp {
    struct ups_group g;             /* the group */
    struct ups_server srv[MAX_SRV]; /* its server lines */
    struct ups_addr addr[MAX_SRV];  /* one address each */
    struct mpool pool;              /* picks' memory */
};

static struct grp *grp_new(enum ups_method m)
{
    struct grp *t = calloc(1, sizeof(*t));
    t->g.name = "test";
    t->g.method = m;
    t->g.servers = t->srv;
    t->g.key = NULL;
    mpool_init(&t->pool, 4096);
    return t;
}

static struct ups_server *grp_add(struct grp *t, long weight)
{
    size_t i = t->g.nservers++;
    struct ups_server *s = &t->srv[i];
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    ups_addr_inet(&t->addr[i], (struct sockaddr *)&sin, 8001 + (unsigned)i);
    s->name = t->addr[i].name;
    s->addrs = &t->addr[i];
    s->naddrs = 1;
    s->port = 8001 + (unsigned)i;
    s->weight = weight;
    s->max_fails = 1;
    s->fail_timeout = 10000;
    return s;
}

static void grp_free(struct grp *t, struct ups_rt *rt)
{
    if (rt != NULL)
        ups_rt_destroy(rt);
    mpool_destroy(&t->pool);
    free(t);
}

/* The server index a pick chose (0 for 8001, ...). */
static int idx(const struct ups_peer *peer)
{
    return (int)peer->srv->port - 8001;
}

/* One whole request: a pick, and done with state. -1 if none. */
static int one(struct ups_rt *rt, const union sockaddr_any *client, const char *key, unsigned state,
               ev_tstamp now)
{
    struct ups_pick p;
    struct str k = key ? str_make(key, strlen(key)) : STR_LIT("");
    assert_int_equal(ups_pick_init(&p, rt, NULL, client, k), 0);
    if (ups_pick_next(&p, now) < 0)
        return -1;
    int i = idx(p.current);
    ups_pick_done(&p, state, now);
    return i;
}

/* ---- round-robin ---------------------------------------------------------------- */

/* nginx's documentation: weights 5, 1, 1 give a a b a c a a. */
static void test_rr_sequence(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 5);
    grp_add(t, 1);
    grp_add(t, 1);
    struct ups_rt *rt = ups_rt_create(&t->g);
    char seq[15] = {0};
    for (int i = 0; i < 14; i++)
        seq[i] = (char)('a' + one(rt, NULL, NULL, 0, 100));
    assert_string_equal(seq, "aabacaaaabacaa");
    grp_free(t, rt);
}

static void test_rr_counts(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 3);
    grp_add(t, 2);
    grp_add(t, 1);
    grp_add(t, 1)->down = true;
    struct ups_rt *rt = ups_rt_create(&t->g);
    int count[4] = {0};
    for (int i = 0; i < 6000; i++)
        count[one(rt, NULL, NULL, 0, 100)]++;
    assert_int_equal(count[0], 3000);
    assert_int_equal(count[1], 2000);
    assert_int_equal(count[2], 1000);
    assert_int_equal(count[3], 0); /* down: never */
    grp_free(t, rt);
}

/* Many peers: the tried set outgrows one word; one request tries every
 * peer once, then there is none left. */
static void test_rr_many_peers(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    for (int i = 0; i < 100; i++)
        grp_add(t, 1);
    struct ups_rt *rt = ups_rt_create(&t->g);
    struct ups_pick p;
    bool seen[100] = {false};
    assert_int_equal(ups_pick_init(&p, rt, &t->pool, NULL, STR_LIT("")), 0);
    assert_int_equal(p.tries, 100);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(ups_pick_next(&p, 100), 0);
        assert_false(seen[idx(p.current)]);
        seen[idx(p.current)] = true;
        ups_pick_done(&p, UPS_FAILED, 100);
    }
    assert_int_equal(p.tries, 0);
    assert_int_equal(ups_pick_next(&p, 100), -1);
    grp_free(t, rt);
}

/* ---- passive health ---------------------------------------------------------------- */

static void test_backup_and_fail_timeout(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 1)->down = true;
    grp_add(t, 1);
    grp_add(t, 1)->backup = true;
    struct ups_rt *rt = ups_rt_create(&t->g);
    for (int i = 0; i < 5; i++)
        assert_int_equal(one(rt, NULL, NULL, 0, 100), 1);
    /* One failure (max_fails=1): out for fail_timeout, the backup serves. */
    assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 100), 1);
    assert_int_equal(one(rt, NULL, NULL, 0, 105), 2);
    assert_int_equal(one(rt, NULL, NULL, 0, 110), 2);
    /* After fail_timeout it is tried again, and a success makes it live. */
    assert_int_equal(one(rt, NULL, NULL, 0, 110.5), 1);
    assert_int_equal(one(rt, NULL, NULL, 0, 111), 1);
    /* Within one request: a failure moves on to the backup. */
    struct ups_pick p;
    ups_pick_init(&p, rt, NULL, NULL, STR_LIT(""));
    assert_int_equal(p.tries, 3);
    assert_int_equal(ups_pick_next(&p, 200), 0);
    assert_int_equal(idx(p.current), 1);
    assert_true(ups_pick_done(&p, UPS_FAILED, 200)); /* "temporarily disabled" */
    assert_int_equal(ups_pick_next(&p, 200), 0);
    assert_int_equal(idx(p.current), 2);
    ups_pick_done(&p, UPS_FAILED, 200);
    assert_int_equal(ups_pick_next(&p, 200), -1);
    grp_free(t, rt);
}

static void test_max_fails_window(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    struct ups_server *a = grp_add(t, 6);
    a->max_fails = 3;
    grp_add(t, 6)->down = true; /* keeps the group from being "single" */
    struct ups_rt *rt = ups_rt_create(&t->g);
    struct ups_peer *pa = rt->primary.peers[0];
    /* Failures count within fail_timeout; a success in between does not
     * clear them (nginx clears them only after a pick past the window). */
    assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 100), 0);
    assert_int_equal(pa->effective_weight, 4); /* weight / max_fails less */
    assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 101), 0);
    assert_int_equal(one(rt, NULL, NULL, 0, 102), 0);
    assert_int_equal(pa->fails, 2);
    assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 103), 0);
    assert_int_equal(one(rt, NULL, NULL, 0, 104), -1);
    assert_int_equal(one(rt, NULL, NULL, 0, 113), -1);
    assert_int_equal(one(rt, NULL, NULL, 0, 113.5), 0);
    assert_int_equal(pa->fails, 0);
    /* Its effective weight comes back by one per pick. */
    for (int i = 0; i < 10; i++)
        one(rt, NULL, NULL, 0, 120);
    assert_int_equal(pa->effective_weight, 6);
    grp_free(t, rt);
}

static void test_max_fails_zero_and_single(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 1)->max_fails = 0;
    grp_add(t, 1)->down = true;
    struct ups_rt *rt = ups_rt_create(&t->g);
    for (int i = 0; i < 10; i++)
        assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 100), 0);
    ups_rt_destroy(rt);
    /* A group of one server never takes it out, and one try is all. */
    t->g.nservers = 1;
    t->srv[0].max_fails = 1;
    rt = ups_rt_create(&t->g);
    struct ups_pick p;
    ups_pick_init(&p, rt, NULL, NULL, STR_LIT(""));
    assert_int_equal(ups_pick_next(&p, 100), 0);
    assert_false(ups_pick_done(&p, UPS_FAILED, 100));
    assert_int_equal(p.tries, 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(one(rt, NULL, NULL, UPS_FAILED, 100), 0);
    grp_free(t, rt);
}

static void test_max_conns(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 10)->max_conns = 1;
    grp_add(t, 1)->max_conns = 1;
    struct ups_rt *rt = ups_rt_create(&t->g);
    struct ups_pick p1, p2, p3;
    ups_pick_init(&p1, rt, NULL, NULL, STR_LIT(""));
    ups_pick_init(&p2, rt, NULL, NULL, STR_LIT(""));
    ups_pick_init(&p3, rt, NULL, NULL, STR_LIT(""));
    assert_int_equal(ups_pick_next(&p1, 100), 0);
    assert_int_equal(idx(p1.current), 0);
    assert_int_equal(ups_pick_next(&p2, 100), 0);
    assert_int_equal(idx(p2.current), 1); /* the heavy one is at max_conns */
    assert_int_equal(ups_pick_next(&p3, 100), -1);
    ups_pick_done(&p1, 0, 100);
    assert_int_equal(ups_pick_next(&p3, 100), 0);
    assert_int_equal(idx(p3.current), 0);
    ups_pick_done(&p2, 0, 100);
    ups_pick_done(&p3, 0, 100);
    grp_free(t, rt);
}

/* ---- least_conn ------------------------------------------------------------------- */

static void test_least_conn(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_LEAST_CONN);
    grp_add(t, 2);
    grp_add(t, 1);
    struct ups_rt *rt = ups_rt_create(&t->g);
    struct ups_pick held[3];
    /* a: 0/2 ties b: 0/1, round-robin by weight picks a; then b has
     * fewer (0 < 1/2); then a (1/2 < 1/1); then a tie at 2/2 vs 1/1. */
    for (int i = 0; i < 3; i++) {
        ups_pick_init(&held[i], rt, NULL, NULL, STR_LIT(""));
        assert_int_equal(ups_pick_next(&held[i], 100), 0);
    }
    assert_int_equal(idx(held[0].current), 0);
    assert_int_equal(idx(held[1].current), 1);
    assert_int_equal(idx(held[2].current), 0);
    /* Released connections make a server preferred again. */
    ups_pick_done(&held[1], 0, 100);
    assert_int_equal(one(rt, NULL, NULL, 0, 100), 1);
    ups_pick_done(&held[0], 0, 100);
    ups_pick_done(&held[2], 0, 100);
    /* With nothing held, ties go by weight: 2:1 over many picks. */
    int count[2] = {0};
    for (int i = 0; i < 3000; i++)
        count[one(rt, NULL, NULL, 0, 100)]++;
    assert_int_equal(count[0], 2000);
    assert_int_equal(count[1], 1000);
    grp_free(t, rt);
}

/* ---- ip_hash ------------------------------------------------------------------------ */

/* nginx's ip_hash, worked out here: 89, then h = (h * 113 + byte) % 6271
 * over the first three bytes, modulo the total weight. */
static int ip_hash_expect(const uint8_t *b, size_t n, const long *w, size_t nw)
{
    uint32_t h = 89;
    long total = 0, x;
    for (size_t i = 0; i < n; i++)
        h = (h * 113 + b[i]) % 6271;
    for (size_t i = 0; i < nw; i++)
        total += w[i];
    x = (long)(h % (uint32_t)total);
    int i = 0;
    while (x >= w[i])
        x -= w[i++];
    return i;
}

static union sockaddr_any v4(uint32_t ip)
{
    union sockaddr_any a;
    memset(&a, 0, sizeof(a));
    a.sin.sin_family = AF_INET;
    a.sin.sin_addr.s_addr = htonl(ip);
    return a;
}

static void test_ip_hash(void **state)
{
    (void)state;
    static const long w[3] = {1, 2, 3};
    struct grp *t = grp_new(UPS_IP_HASH);
    for (int i = 0; i < 3; i++)
        grp_add(t, w[i]);
    struct ups_rt *rt = ups_rt_create(&t->g);
    int count[3] = {0};
    for (uint32_t net = 0; net < 3000; net++) {
        uint32_t ip = 0x0a000000 | net << 8;
        union sockaddr_any a = v4(ip | 1), b = v4(ip | 254);
        uint8_t bytes[3] = {(uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8)};
        int want = ip_hash_expect(bytes, 3, w, 3);
        assert_int_equal(one(rt, &a, NULL, 0, 100), want);
        assert_int_equal(one(rt, &b, NULL, 0, 100), want); /* one /24, one server */
        count[want]++;
    }
    assert_true(count[0] > 0 && count[1] > count[0] && count[2] > count[1]);
    /* IPv6: all sixteen bytes. */
    union sockaddr_any a6;
    memset(&a6, 0, sizeof(a6));
    a6.sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::42", &a6.sin6.sin6_addr);
    assert_int_equal(one(rt, &a6, NULL, 0, 100),
                     ip_hash_expect(a6.sin6.sin6_addr.s6_addr, 16, w, 3));
    grp_free(t, rt);
}

/* An unavailable server makes ip_hash hash again: every client of it goes
 * elsewhere, every other client stays. */
static void test_ip_hash_rehash(void **state)
{
    (void)state;
    static const long w[3] = {1, 1, 1};
    struct grp *t = grp_new(UPS_IP_HASH);
    for (int i = 0; i < 3; i++)
        grp_add(t, 1);
    t->srv[1].down = true;
    struct ups_rt *rt = ups_rt_create(&t->g);
    for (uint32_t net = 0; net < 500; net++) {
        uint32_t ip = 0xc0a80000 | net << 8;
        uint8_t bytes[3] = {(uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8)};
        union sockaddr_any a = v4(ip | 7);
        int got = one(rt, &a, NULL, 0, 100), want = ip_hash_expect(bytes, 3, w, 3);
        assert_int_not_equal(got, 1);
        if (want != 1)
            assert_int_equal(got, want);
    }
    grp_free(t, rt);
}

/* ---- hash ---------------------------------------------------------------------------- */

/* nginx's hash KEY: ((crc32(KEY) >> 16) & 0x7fff) % total weight. */
static int hash_expect(const char *key, const long *w, size_t nw)
{
    uint32_t h = (uint32_t)(crc32(0L, (const Bytef *)key, (uInt)strlen(key)) >> 16) & 0x7fff;
    long total = 0, x;
    for (size_t i = 0; i < nw; i++)
        total += w[i];
    x = (long)(h % (uint32_t)total);
    int i = 0;
    while (x >= w[i])
        x -= w[i++];
    return i;
}

static void test_hash(void **state)
{
    (void)state;
    static const long w[4] = {1, 1, 2, 1};
    struct grp *t = grp_new(UPS_HASH);
    for (int i = 0; i < 4; i++)
        grp_add(t, w[i]);
    struct ups_rt *rt = ups_rt_create(&t->g);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "/item/%d", i);
        assert_int_equal(one(rt, NULL, key, 0, 100), hash_expect(key, w, 4));
    }
    /* An empty key is round-robin. */
    assert_true(one(rt, NULL, "", 0, 100) >= 0);
    /* A failed server makes the key rehash: crc32("1" KEY) added. */
    snprintf(key, sizeof(key), "/item/7");
    int first = hash_expect(key, w, 4);
    t->srv[first].down = true;
    uint32_t h = (uint32_t)(crc32(0L, (const Bytef *)key, (uInt)strlen(key)) >> 16) & 0x7fff;
    char re[40];
    snprintf(re, sizeof(re), "1%s", key);
    h += (uint32_t)(crc32(0L, (const Bytef *)re, (uInt)strlen(re)) >> 16) & 0x7fff;
    long x = (long)(h % 5);
    int want = 0;
    while (x >= w[want])
        x -= w[want++];
    if (want != first)
        assert_int_equal(one(rt, NULL, key, 0, 100), want);
    grp_free(t, rt);
}

/* ---- consistent hash --------------------------------------------------------------- */

static void test_chash_ring(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_CHASH);
    grp_add(t, 1);
    grp_add(t, 2);
    struct ups_rt *rt = ups_rt_create(&t->g);
    assert_int_equal(rt->npoints, 3 * 160); /* 160 per unit of weight */
    /* The first point of "127.0.0.1:8001": crc32("127.0.0.1" \0 "8001"
     * and four zero bytes). */
    uLong base = crc32(0L,
                       (const Bytef *)"127.0.0.1\0"
                                      "8001",
                       14);
    static const uint8_t zero[4] = {0};
    uint32_t first = (uint32_t)crc32(base, zero, 4);
    bool found = false;
    for (size_t i = 0; i < rt->npoints; i++) {
        found |= rt->points[i].hash == first;
        if (i > 0)
            assert_true(rt->points[i - 1].hash < rt->points[i].hash);
    }
    assert_true(found);
    grp_free(t, rt);
}

/* Removing a server moves only the keys it had. */
static void test_chash_consistent(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_CHASH);
    for (int i = 0; i < 4; i++)
        grp_add(t, 1);
    struct ups_rt *rt = ups_rt_create(&t->g);
    int before[2000], count[4] = {0};
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "user%d", i);
        before[i] = one(rt, NULL, key, 0, 100);
        count[before[i]]++;
    }
    for (int i = 0; i < 4; i++)
        assert_true(count[i] > 250); /* roughly a quarter each */
    ups_rt_destroy(rt);
    t->g.nservers = 3;
    rt = ups_rt_create(&t->g);
    int moved = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "user%d", i);
        int now = one(rt, NULL, key, 0, 100);
        if (before[i] != 3)
            assert_int_equal(now, before[i]);
        moved += before[i] == 3;
    }
    assert_int_equal(moved, count[3]);
    /* A down server: its keys go to the next point's server. */
    t->srv[0].down = true;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "user%d", i);
        int now = one(rt, NULL, key, 0, 100);
        assert_int_not_equal(now, 0);
        if (before[i] != 0 && before[i] != 3)
            assert_int_equal(now, before[i]);
    }
    grp_free(t, rt);
}

/* ---- DNS changes the peers ------------------------------------------------------------ */

static void test_resolved_peers(void **state)
{
    (void)state;
    struct grp *t = grp_new(UPS_RR);
    grp_add(t, 1);
    struct ups_server *r = grp_add(t, 1);
    r->resolve = true;
    r->naddrs = 0;
    r->port = 9000;
    struct ups_rt *rt = ups_rt_create(&t->g);
    assert_int_equal(rt->primary.n, 1);
    union sockaddr_any a[3] = {v4(0x0a000003), v4(0x0a000001), v4(0x0a000003)};
    unsigned v = rt->version;
    assert_int_equal(ups_rt_set_addrs(rt, 1, a, 3), 0);
    assert_true(rt->version != v);
    assert_int_equal(rt->primary.n, 3); /* repeats once, sorted */
    assert_string_equal(rt->primary.peers[1]->addr.name, "10.0.0.1:9000");
    assert_string_equal(rt->primary.peers[2]->addr.name, "10.0.0.3:9000");
    /* A pick holds 10.0.0.3 while DNS drops it; its state stays usable. */
    struct ups_peer *kept = rt->primary.peers[1];
    struct ups_pick p;
    ups_pick_init(&p, rt, NULL, NULL, STR_LIT(""));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ups_pick_next(&p, 100), 0);
        if (strcmp(p.current->addr.name, "10.0.0.3:9000") == 0)
            break;
        ups_pick_done(&p, 0, 100);
    }
    assert_string_equal(p.current->addr.name, "10.0.0.3:9000");
    kept->fails = 1;
    union sockaddr_any b[2] = {v4(0x0a000001), v4(0x0a000009)};
    assert_int_equal(ups_rt_set_addrs(rt, 1, b, 2), 0);
    assert_ptr_equal(rt->primary.peers[1], kept); /* same address, same state */
    assert_int_equal(rt->primary.peers[1]->fails, 1);
    assert_string_equal(rt->primary.peers[2]->addr.name, "10.0.0.9:9000");
    ups_pick_done(&p, UPS_FAILED, 100); /* the dropped peer goes now */
    /* The next pick of that request sees the new list. */
    assert_int_equal(ups_pick_next(&p, 100), 0);
    ups_pick_done(&p, 0, 100);
    /* "Host not found": the server has no peers left. */
    assert_int_equal(ups_rt_set_addrs(rt, 1, NULL, 0), 0);
    assert_int_equal(rt->primary.n, 1);
    grp_free(t, rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_sequence),
        cmocka_unit_test(test_rr_counts),
        cmocka_unit_test(test_rr_many_peers),
        cmocka_unit_test(test_backup_and_fail_timeout),
        cmocka_unit_test(test_max_fails_window),
        cmocka_unit_test(test_max_fails_zero_and_single),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_least_conn),
        cmocka_unit_test(test_ip_hash),
        cmocka_unit_test(test_ip_hash_rehash),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_chash_ring),
        cmocka_unit_test(test_chash_consistent),
        cmocka_unit_test(test_resolved_peers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

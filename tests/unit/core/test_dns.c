/* test_dns.c - the DNS client: names, the wire format, and whole lookups
 * against a server on loopback (dns_fake.h): resends to the next server,
 * CNAME chains, TCP for truncated answers, errors, timeouts, cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/eventfd.h>

#include "core/dns.h"
#include "dns_fake.h"

/* ---- names and the wire format ------------------------------------------- */

static void test_normalize(void **state)
{
    char out[DNS_NAME_MAX];
    (void)state;
    assert_true(dns_name_normalize("Backend.Example.", 16, out, sizeof(out)));
    assert_string_equal(out, "backend.example");
    assert_true(dns_name_normalize("localhost", 9, out, sizeof(out)));
    assert_false(dns_name_normalize("", 0, out, sizeof(out)));
    assert_false(dns_name_normalize(".", 1, out, sizeof(out)));
    assert_false(dns_name_normalize("a..b", 4, out, sizeof(out)));
    assert_false(dns_name_normalize(".a", 2, out, sizeof(out)));
    assert_false(dns_name_normalize("a b", 3, out, sizeof(out)));
    char label[70];
    memset(label, 'x', 64);
    assert_false(dns_name_normalize(label, 64, out, sizeof(out)));
    assert_true(dns_name_normalize(label, 63, out, sizeof(out)));
}

static void test_query_bytes(void **state)
{
    uint8_t buf[300];
    static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0,   1,   0,  0,   0,   0,
                                   0,    0,    3,    'w',  'w', 'w', 7,  'e', 'x', 'a',
                                   'm',  'p',  'l',  'e',  0,   0,   28, 0,   1};
    (void)state;
    size_t n = dns_query_build(buf, sizeof(buf), 0x1234, "www.example", DNS_TYPE_AAAA);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(dns_query_build(buf, 20, 1, "www.example", DNS_TYPE_A), 0);
}

/* An answer built by hand: header, the question, then raw records. */
static size_t answer_head(uint8_t *m, uint16_t id, uint8_t rcode, unsigned an, const char *name,
                          uint16_t qtype)
{
    uint8_t hdr[12] = {(uint8_t)(id >> 8),
                       (uint8_t)id,
                       0x81,
                       (uint8_t)(0x80 | rcode),
                       0,
                       1,
                       0,
                       (uint8_t)an,
                       0,
                       0,
                       0,
                       0};
    memcpy(m, hdr, 12);
    size_t off = fake_put_name(m, 12, name);
    m[off++] = 0;
    m[off++] = (uint8_t)qtype;
    m[off++] = 0;
    m[off++] = 1;
    return off;
}

static size_t put_a(uint8_t *m, size_t off, const uint8_t owner[2], uint32_t ttl, uint8_t last)
{
    uint8_t rr[16] = {owner[0],
                      owner[1],
                      0,
                      1,
                      0,
                      1,
                      (uint8_t)(ttl >> 24),
                      (uint8_t)(ttl >> 16),
                      (uint8_t)(ttl >> 8),
                      (uint8_t)ttl,
                      0,
                      4,
                      10,
                      0,
                      0,
                      last};
    memcpy(m + off, rr, sizeof(rr));
    return off + sizeof(rr);
}

static void test_parse_a(void **state)
{
    uint8_t m[512];
    struct dns_answer a;
    static const uint8_t q[2] = {0xc0, 12};
    (void)state;
    size_t off = answer_head(m, 7, 0, 2, "app.test", DNS_TYPE_A);
    off = put_a(m, off, q, 300, 1);
    off = put_a(m, off, q, 60, 2);
    assert_int_equal(dns_answer_parse(m, off, 7, "app.test", DNS_TYPE_A, &a), 0);
    assert_int_equal(a.status, DNS_OK);
    assert_int_equal(a.naddrs, 2);
    assert_int_equal(a.ttl, 60);
    assert_int_equal(ntohl(a.addrs[1].sin.sin_addr.s_addr), 0x0a000002);
    /* Someone else's answer: another id, another name, another type. */
    assert_int_equal(dns_answer_parse(m, off, 8, "app.test", DNS_TYPE_A, &a), -1);
    assert_int_equal(dns_answer_parse(m, off, 7, "other.test", DNS_TYPE_A, &a), -1);
    assert_int_equal(dns_answer_parse(m, off, 7, "app.test", DNS_TYPE_AAAA, &a), -1);
    /* Cut short. */
    assert_int_equal(dns_answer_parse(m, off - 3, 7, "app.test", DNS_TYPE_A, &a), -1);
}

static void test_parse_cname_chain(void **state)
{
    uint8_t m[512];
    struct dns_answer a;
    (void)state;
    size_t off = answer_head(m, 9, 0, 3, "www.test", DNS_TYPE_A);
    /* www.test CNAME real.test, the target written in full */
    uint8_t cn[12] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 0};
    memcpy(m + off, cn, sizeof(cn));
    size_t target = off + sizeof(cn);
    size_t end = fake_put_name(m, target, "real.test");
    m[off + 11] = (uint8_t)(end - target);
    /* real.test A 10.0.0.5, its owner a pointer to the target */
    uint8_t ptr[2] = {0xc0, (uint8_t)target};
    off = put_a(m, end, ptr, 100, 5);
    /* an address under a name outside the chain is not taken */
    off = fake_put_name(m, off, "evil.test");
    uint8_t rr[14] = {0, 1, 0, 1, 0, 0, 0, 100, 0, 4, 6, 6, 6, 6};
    memcpy(m + off, rr, sizeof(rr));
    off += sizeof(rr);
    assert_int_equal(dns_answer_parse(m, off, 9, "www.test", DNS_TYPE_A, &a), 0);
    assert_int_equal(a.naddrs, 1);
    assert_int_equal(ntohl(a.addrs[0].sin.sin_addr.s_addr), 0x0a000005);
    assert_int_equal(a.ttl, 30); /* the CNAME's TTL is the smaller */
}

static void test_parse_errors(void **state)
{
    uint8_t m[512];
    struct dns_answer a;
    (void)state;
    size_t off = answer_head(m, 3, 3, 0, "gone.test", DNS_TYPE_A);
    assert_int_equal(dns_answer_parse(m, off, 3, "gone.test", DNS_TYPE_A, &a), 0);
    assert_int_equal(a.status, DNS_NXDOMAIN);
    assert_string_equal(dns_strerror(a.status), "Host not found");
    assert_string_equal(dns_strerror(DNS_SERVFAIL), "Server failure");
    assert_string_equal(dns_strerror(DNS_REFUSED), "Operation refused");
    assert_string_equal(dns_strerror(DNS_TIMEDOUT), "Operation timed out");
    assert_string_equal(dns_strerror(DNS_ERROR), "Unknown error");
    /* A truncated answer says so. */
    off = answer_head(m, 4, 0, 0, "big.test", DNS_TYPE_A);
    m[2] |= 0x02;
    assert_int_equal(dns_answer_parse(m, off, 4, "big.test", DNS_TYPE_A, &a), 0);
    assert_true(a.truncated);
    /* A compression loop is malformed, not an endless walk. */
    off = answer_head(m, 5, 0, 1, "loop.test", DNS_TYPE_A);
    m[off] = 0xc0;
    m[off + 1] = (uint8_t)off;
    assert_int_equal(dns_answer_parse(m, off + 2, 5, "loop.test", DNS_TYPE_A, &a), -1);
    /* Not an answer at all. */
    off = answer_head(m, 6, 0, 0, "q.test", DNS_TYPE_A);
    m[2] &= 0x7f;
    assert_int_equal(dns_answer_parse(m, off, 6, "q.test", DNS_TYPE_A, &a), -1);
}

/* ---- whole lookups ----------------------------------------------------------- */

struct lk {
    struct fake_dns f;         /* first server */
    struct fake_dns g;         /* second server */
    union sockaddr_any srv[2]; /* their addresses */
};

static int lk_setup(void **state)
{
    struct lk *t = calloc(1, sizeof(*t));
    if (t == NULL || fake_start(&t->f) < 0 || fake_start(&t->g) < 0)
        return -1;
    t->srv[0] = fake_addr(t->f.port);
    t->srv[1] = fake_addr(t->g.port);
    *state = t;
    return 0;
}

static int lk_teardown(void **state)
{
    struct lk *t = *state;
    fake_stop(&t->f);
    fake_stop(&t->g);
    free(t);
    return 0;
}

static struct dns_lookup lk_query(struct lk *t, const char *name, size_t nservers, long timeout)
{
    return (struct dns_lookup){.servers = t->srv,
                               .nservers = nservers,
                               .name = name,
                               .ipv4 = true,
                               .ipv6 = true,
                               .timeout_ms = timeout,
                               .cancel_fd = -1};
}

static void test_lookup_both_families(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    fake_add(&t->f, "app.test", 1, "10.1.1.1", 120);
    fake_add(&t->f, "app.test", 28, "fd00::1", 90);
    struct dns_lookup q = lk_query(t, "app.test", 1, 3000);
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
    assert_int_equal(a.naddrs, 2);
    assert_int_equal(a.addrs[0].sa.sa_family, AF_INET);
    assert_int_equal(a.addrs[1].sa.sa_family, AF_INET6);
    assert_int_equal(a.ttl, 90);
    q.ipv6 = false;
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
    assert_int_equal(a.naddrs, 1);
}

static void test_lookup_errors(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    struct dns_lookup q = lk_query(t, "nobody.test", 1, 3000);
    /* A name with no records is nginx's "Host not found". */
    assert_int_equal(dns_lookup_run(&q, &a), DNS_NXDOMAIN);
    fake_rcode(&t->f, "broken.test", DNS_SERVFAIL);
    q.name = "broken.test";
    assert_int_equal(dns_lookup_run(&q, &a), DNS_SERVFAIL);
    assert_int_equal(a.naddrs, 0);
}

static void test_lookup_cname_followed(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    /* The server gives only the CNAME for www; its target is asked next. */
    fake_add(&t->f, "www.test", 5, "lb.test", 40);
    fake_add(&t->f, "lb.test", 1, "10.2.2.2", 200);
    struct dns_lookup q = lk_query(t, "www.test", 1, 3000);
    q.ipv6 = false;
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
    assert_int_equal(a.naddrs, 1);
    assert_int_equal(ntohl(a.addrs[0].sin.sin_addr.s_addr), 0x0a020202);
    assert_int_equal(a.ttl, 40);
}

static void test_lookup_truncated_over_tcp(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    fake_add(&t->f, "big.test", 1, "10.3.3.3", 60);
    fake_set(&t->f, &t->f.truncate, true);
    struct dns_lookup q = lk_query(t, "big.test", 1, 3000);
    q.ipv6 = false;
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
    assert_int_equal(a.naddrs, 1);
    assert_int_equal(atomic_load(&t->f.tcp_queries), 1);
}

/* A silent first server: after the resend time the second one is asked
 * (a short one here; nginx's 5 s by default). */
static void test_lookup_next_server(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    fake_set(&t->f, &t->f.silent, true);
    fake_add(&t->g, "app.test", 1, "10.4.4.4", 60);
    struct dns_lookup q = lk_query(t, "app.test", 2, 5000);
    q.ipv6 = false;
    q.resend_ms = 200;
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
    assert_int_equal(a.naddrs, 1);
    assert_int_equal(atomic_load(&t->f.udp_queries), 1);
    assert_int_equal(atomic_load(&t->g.udp_queries), 1);
}

static void test_lookup_timeout_and_cancel(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    fake_set(&t->f, &t->f.silent, true);
    struct dns_lookup q = lk_query(t, "slow.test", 1, 300);
    assert_int_equal(dns_lookup_run(&q, &a), DNS_TIMEDOUT);
    /* An already signalled cancel ends a long lookup at once. */
    q.timeout_ms = 60000;
    q.cancel_fd = eventfd(1, EFD_CLOEXEC);
    assert_int_equal(dns_lookup_run(&q, &a), DNS_ERROR);
    close(q.cancel_fd);
}

/* A closed port answers with ICMP: the next server is asked without
 * waiting for the resend time. */
static void test_lookup_refused_port(void **state)
{
    struct lk *t = *state;
    struct dns_answer a;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    union sockaddr_any dead = fake_addr(0);
    socklen_t len = sizeof(dead.sin);
    assert_int_equal(bind(s, &dead.sa, len), 0);
    assert_int_equal(getsockname(s, &dead.sa, &len), 0);
    close(s);
    t->srv[1] = t->srv[0];
    t->srv[0] = dead;
    fake_add(&t->f, "app.test", 1, "10.5.5.5", 60);
    struct dns_lookup q = lk_query(t, "app.test", 2, 60000);
    q.ipv6 = false;
    assert_int_equal(dns_lookup_run(&q, &a), DNS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_query_bytes),
        cmocka_unit_test(test_parse_a),
        cmocka_unit_test(test_parse_cname_chain),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test_setup_teardown(test_lookup_both_families, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_errors, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_cname_followed, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_truncated_over_tcp, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_next_server, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_timeout_and_cancel, lk_setup, lk_teardown),
        cmocka_unit_test_setup_teardown(test_lookup_refused_port, lk_setup, lk_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_proxy_proto.c - unit tests for the PROXY protocol: version 1 lines
 * and version 2 headers written by hand from proxy-protocol.txt (not by
 * our writer), every prefix of a valid header incomplete rather than bad,
 * malformed ones refused, TLVs and the SSL sub-TLVs, CRC32C (with the
 * standard check value), and the writer read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "event/proxy_proto.h"

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static enum pp_rc parse(const void *buf, size_t n, struct pp_info *info, size_t *len)
{
    const char *why;
    return pp_parse(buf, n, info, len, &why);
}

static void addr_is(const union sockaddr_any *a, int family, const char *text, unsigned port)
{
    char buf[64];
    assert_int_equal(a->sa.sa_family, family);
    const void *p = family == AF_INET ? (const void *)&a->sin.sin_addr : &a->sin6.sin6_addr;
    inet_ntop(family, p, buf, sizeof(buf));
    assert_string_equal(buf, text);
    assert_int_equal(sockaddr_port(a), port);
}

/* Every strict prefix is incomplete, never bad, and the whole is ok. */
static void prefixes_incomplete(const void *buf, size_t n)
{
    struct pp_info info;
    size_t len;
    for (size_t i = 1; i < n; i++)
        if (parse(buf, i, &info, &len) != PP_INCOMPLETE)
            fail_msg("prefix of %zu bytes (of %zu) not incomplete", i, n);
    assert_int_equal(parse(buf, n, &info, &len), PP_OK);
    assert_int_equal(len, n);
}

static void test_v1_tcp4(void **state)
{
    (void)state;
    const char *h = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\nGET /";
    struct pp_info info;
    size_t len;
    assert_int_equal(parse(h, strlen(h), &info, &len), PP_OK);
    assert_int_equal(len, strlen(h) - 5); /* the payload is left */
    assert_int_equal(info.version, 1);
    assert_false(info.local);
    addr_is(&info.src, AF_INET, "192.168.0.1", 56324);
    addr_is(&info.dst, AF_INET, "10.0.0.2", 443);
    prefixes_incomplete(h, strlen(h) - 5);
}

static void test_v1_tcp6_and_unknown(void **state)
{
    (void)state;
    struct pp_info info;
    size_t len;
    const char *h6 = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
    assert_int_equal(parse(h6, strlen(h6), &info, &len), PP_OK);
    addr_is(&info.src, AF_INET6, "2001:db8::1", 65535);
    addr_is(&info.dst, AF_INET6, "::1", 0);
    const char *u = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
    assert_int_equal(parse(u, strlen(u), &info, &len), PP_OK);
    assert_true(info.local); /* anything after UNKNOWN is ignored */
    assert_int_equal(parse("PROXY UNKNOWN\r\n", 15, &info, &len), PP_OK);
    assert_true(info.local);
}

static void test_v1_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",        /* LF without CR */
        "PROXY TCP4 1.2.3.4 5.6.7.8 065535 2\r\n", /* leading zero */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",  /* port too large */
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",     /* two spaces */
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",      /* no such protocol */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",        /* a field missing */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",    /* a field too many */
        "PROXY TCP4 ::1 ::1 1 2\r\n",              /* v6 address in TCP4 */
        "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",      /* v4 address in TCP6 */
        "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",     /* signed port */
        "GET / HTTP/1.1\r\n\r\n",                  /* no header at all */
    };
    struct pp_info info;
    size_t len;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], strlen(bad[i]), &info, &len) != PP_BAD)
            fail_msg("accepted: %s", bad[i]);
    char long_line[200];
    memset(long_line, 'x', sizeof(long_line));
    memcpy(long_line, "PROXY TCP4 ", 11);
    assert_int_equal(parse(long_line, sizeof(long_line), &info, &len), PP_BAD); /* > 107 */
}

/* A v2 header by hand: IPv4, PROXY, STREAM, with ALPN and SSL TLVs. */
static size_t v2_ipv4(uint8_t *b)
{
    size_t n = 0;
    memcpy(b, sig, 12);
    n = 12;
    b[n++] = 0x21; /* version 2, PROXY */
    b[n++] = 0x11; /* INET, STREAM */
    size_t len_at = n;
    n += 2;
    const uint8_t addrs[12] = {127, 0, 0, 1, 10, 1, 2, 3, 0x12, 0x34, 0x01, 0xBB};
    memcpy(b + n, addrs, 12);
    n += 12;
    const uint8_t alpn[] = {0x01, 0x00, 0x02, 'h', '2'};
    memcpy(b + n, alpn, sizeof(alpn));
    n += sizeof(alpn);
    /* SSL: client=1 (ssl), verify=0, then VERSION "TLSv1.3" and CN "x" */
    const uint8_t ssl[] = {0x20, 0x00, 5 + 10 + 4, 0x01, 0,   0,   0,   0,    0x21, 0x00, 0x07,
                           'T',  'L',  'S',        'v',  '1', '.', '3', 0x22, 0x00, 0x01, 'x'};
    memcpy(b + n, ssl, sizeof(ssl));
    n += sizeof(ssl);
    b[len_at] = (uint8_t)((n - 16) >> 8);
    b[len_at + 1] = (uint8_t)(n - 16);
    return n;
}

static void test_v2_ipv4_tlvs(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = v2_ipv4(b);
    struct pp_info info;
    size_t len;
    const uint8_t *v;
    size_t vlen;
    prefixes_incomplete(b, n);
    assert_int_equal(parse(b, n, &info, &len), PP_OK);
    assert_int_equal(info.version, 2);
    assert_false(info.local);
    addr_is(&info.src, AF_INET, "127.0.0.1", 0x1234);
    addr_is(&info.dst, AF_INET, "10.1.2.3", 443);
    assert_true(pp_tlv(&info, PP2_TYPE_ALPN, &v, &vlen));
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "h2", 2);
    assert_true(pp_tlv(&info, PP2_SUBTYPE_SSL_VERSION, &v, &vlen));
    assert_int_equal(vlen, 7);
    assert_memory_equal(v, "TLSv1.3", 7);
    assert_true(pp_tlv(&info, PP2_SUBTYPE_SSL_CN, &v, &vlen));
    assert_memory_equal(v, "x", 1);
    assert_false(pp_tlv(&info, PP2_TYPE_AUTHORITY, &v, &vlen));
    uint8_t client;
    uint32_t verify;
    assert_true(pp_tlv_ssl(&info, &client, &verify));
    assert_int_equal(client, PP2_CLIENT_SSL);
    assert_int_equal(verify, 0);
}

static void test_v2_ipv6_and_local(void **state)
{
    (void)state;
    uint8_t b[64] = {0};
    struct pp_info info;
    size_t len;
    memcpy(b, sig, 12);
    b[12] = 0x21;
    b[13] = 0x21; /* INET6, STREAM */
    b[15] = 36;
    b[16 + 15] = 1;                       /* src ::1 */
    b[16 + 16] = 0x20, b[16 + 17] = 0x01; /* dst 2001:: */
    b[16 + 32] = 0, b[16 + 33] = 80;
    b[16 + 34] = 0x1F, b[16 + 35] = 0x90;
    assert_int_equal(parse(b, 52, &info, &len), PP_OK);
    addr_is(&info.src, AF_INET6, "::1", 80);
    addr_is(&info.dst, AF_INET6, "2001::", 8080);
    /* LOCAL (a health check): addresses, if any, are ignored */
    uint8_t l[16];
    memcpy(l, sig, 12);
    l[12] = 0x20, l[13] = 0x00, l[14] = 0, l[15] = 0;
    assert_int_equal(parse(l, 16, &info, &len), PP_OK);
    assert_true(info.local);
    assert_int_equal(len, 16);
}

static void test_v2_malformed(void **state)
{
    (void)state;
    uint8_t b[256], c[256];
    size_t n = v2_ipv4(b);
    struct pp_info info;
    size_t len;
    memcpy(c, b, n);
    c[12] = 0x11; /* version 1 in binary form */
    assert_int_equal(parse(c, n, &info, &len), PP_BAD);
    memcpy(c, b, n);
    c[12] = 0x22; /* command 2 */
    assert_int_equal(parse(c, n, &info, &len), PP_BAD);
    memcpy(c, b, n);
    c[15] = 8; /* length shorter than the IPv4 addresses */
    assert_int_equal(parse(c, n, &info, &len), PP_BAD);
    memcpy(c, b, n);
    c[16 + 12 + 2] = 9; /* the ALPN TLV claims more than is left */
    assert_int_equal(parse(c, n, &info, &len), PP_BAD);
    memcpy(c, b, n);
    c[14] = 0x20; /* 8 KB body: too long for turnpike */
    assert_int_equal(parse(c, n, &info, &len), PP_BAD);
}

static void test_crc32c(void **state)
{
    (void)state;
    /* The check value of CRC-32C (RFC 3720, and every CRC catalogue). */
    assert_int_equal(pp_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    union sockaddr_any src = {0}, dst = {0};
    src.sin.sin_family = dst.sin.sin_family = AF_INET;
    inet_pton(AF_INET, "1.2.3.4", &src.sin.sin_addr);
    inet_pton(AF_INET, "5.6.7.8", &dst.sin.sin_addr);
    src.sin.sin_port = htons(1000);
    dst.sin.sin_port = htons(2000);
    struct pp_v2_out out = {.authority = "example.com", .crc32c = true};
    uint8_t b[256];
    size_t n = pp_write_v2(b, sizeof(b), &src, &dst, &out);
    assert_true(n > 0);
    struct pp_info info;
    size_t len;
    assert_int_equal(parse(b, n, &info, &len), PP_OK);
    b[n - 1] ^= 1; /* the CRC itself */
    assert_int_equal(parse(b, n, &info, &len), PP_BAD);
    b[n - 1] ^= 1;
    b[20] ^= 1; /* an address byte */
    assert_int_equal(parse(b, n, &info, &len), PP_BAD);
}

static void test_write_read_back(void **state)
{
    (void)state;
    union sockaddr_any src = {0}, dst = {0};
    src.sin6.sin6_family = dst.sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::5", &src.sin6.sin6_addr);
    inet_pton(AF_INET6, "::1", &dst.sin6.sin6_addr);
    src.sin6.sin6_port = htons(40000);
    dst.sin6.sin6_port = htons(443);
    struct pp_v2_out out = {.alpn = "http/1.1",
                            .authority = "a.test",
                            .unique_id = "id-1",
                            .ssl = true,
                            .ssl_client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN,
                            .ssl_verify = 0,
                            .ssl_version = "TLSv1.2",
                            .ssl_cipher = "ECDHE-RSA-AES128-GCM-SHA256",
                            .ssl_cn = "client"};
    uint8_t b[512];
    size_t n = pp_write_v2(b, sizeof(b), &src, &dst, &out);
    struct pp_info info;
    size_t len;
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(parse(b, n, &info, &len), PP_OK);
    assert_int_equal(len, n);
    addr_is(&info.src, AF_INET6, "2001:db8::5", 40000);
    addr_is(&info.dst, AF_INET6, "::1", 443);
    assert_true(pp_tlv(&info, PP2_SUBTYPE_SSL_CIPHER, &v, &vlen));
    assert_memory_equal(v, "ECDHE-RSA-AES128-GCM-SHA256", vlen);
    assert_true(pp_tlv(&info, PP2_TYPE_UNIQUE_ID, &v, &vlen));
    assert_memory_equal(v, "id-1", 4);
    uint8_t client;
    uint32_t verify;
    assert_true(pp_tlv_ssl(&info, &client, &verify));
    assert_int_equal(client, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN);
    assert_int_equal(pp_write_v2(b, 20, &src, &dst, &out), 0); /* too small: nothing */
    char line[PP_V1_MAX];
    n = pp_write_v1(line, &src, &dst);
    assert_string_equal(line, "PROXY TCP6 2001:db8::5 ::1 40000 443\r\n");
    assert_int_equal(parse(line, n, &info, &len), PP_OK);
    assert_int_equal(pp_write_v2(b, sizeof(b), NULL, NULL, NULL), 16); /* LOCAL */
    assert_int_equal(b[12], 0x20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_tcp4),
        cmocka_unit_test(test_v1_tcp6_and_unknown),
        cmocka_unit_test(test_v1_malformed),
        cmocka_unit_test(test_v2_ipv4_tlvs),
        cmocka_unit_test(test_v2_ipv6_and_local),
        cmocka_unit_test(test_v2_malformed),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_write_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

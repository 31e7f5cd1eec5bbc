/* test_stream_vars.c - the stream variables' strings (log_format, the
 * hash key) and the PROXY header TLVs by nginx's names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/pp_wait.h"
#include "event/proxy_proto.h"
#include "stream/stream_sess.h"
#include "stream/stream_vars.h"

static void test_compile_and_eval(void **state)
{
    struct mpool p;
    struct svar_fmt f = {0};
    struct stream_sess s;
    char err[128], out[256];
    (void)state;
    mpool_init(&p, 1024);
    memset(&s, 0, sizeof(s));
    s.peer.sin.sin_family = AF_INET;
    s.peer.sin.sin_port = htons(4242);
    inet_pton(AF_INET, "192.0.2.5", &s.peer.sin.sin_addr);
    s.status = 502;
    snprintf(s.up_addrs, sizeof(s.up_addrs), "10.0.0.1:80, 10.0.0.2:80");
    assert_int_equal(svar_compile(&p,
                                  "[$remote_addr:${remote_port}] $status \"$upstream_addr\" "
                                  "$protocol$proxy_protocol_addr|",
                                  &f, err, sizeof(err)),
                     0);
    size_t n = svar_eval(&f, &s, out, sizeof(out));
    assert_int_equal(n, strlen("[192.0.2.5:4242] 502 \"10.0.0.1:80, 10.0.0.2:80\" TCP|"));
    assert_memory_equal(out, "[192.0.2.5:4242] 502 \"10.0.0.1:80, 10.0.0.2:80\" TCP|", n);
    /* A value is cut at the buffer's end, never overrun. */
    assert_int_equal(svar_eval(&f, &s, out, 5), 5);
    mpool_destroy(&p);
}

static void test_compile_errors(void **state)
{
    struct mpool p;
    struct svar_fmt f = {0};
    char err[128];
    (void)state;
    mpool_init(&p, 1024);
    assert_int_equal(svar_compile(&p, "$request_uri", &f, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown \"request_uri\" variable");
    assert_int_equal(svar_compile(&p, "a $ b", &f, err, sizeof(err)), -1);
    assert_int_equal(svar_compile(&p, "${status", &f, err, sizeof(err)), -1);
    mpool_destroy(&p);
}

/* A version 2 header with TLVs, parsed, then asked by nginx's names. */
static void test_tlv_names(void **state)
{
    union sockaddr_any src, dst;
    uint8_t buf[512];
    struct pp_v2_out o = {.alpn = "h2",
                          .authority = "example.test",
                          .unique_id = "id-7",
                          .ssl = true,
                          .ssl_client = PP2_CLIENT_SSL,
                          .ssl_verify = 3,
                          .ssl_version = "TLSv1.3",
                          .ssl_cipher = "TLS_AES_128_GCM_SHA256",
                          .crc32c = true};
    struct pp_info info;
    size_t len;
    const char *why;
    char tmp[16];
    struct str v;
    (void)state;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    src.sin.sin_family = dst.sin.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.1", &src.sin.sin_addr);
    inet_pton(AF_INET, "198.51.100.1", &dst.sin.sin_addr);
    size_t n = pp_write_v2(buf, sizeof(buf), &src, &dst, &o);
    assert_true(n > 0);
    assert_int_equal(pp_parse(buf, n, &info, &len, &why), PP_OK);
    assert_int_equal(len, n);
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"alpn", "h2"},
        {"authority", "example.test"},
        {"unique_id", "id-7"},
        {"0x05", "id-7"},
        {"ssl_version", "TLSv1.3"},
        {"ssl_cipher", "TLS_AES_128_GCM_SHA256"},
        {"ssl_verify", "3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(pp_tlv_named(&info, str_make(cases[i].name, strlen(cases[i].name)), tmp, &v));
        assert_int_equal(v.len, strlen(cases[i].want));
        assert_memory_equal(v.p, cases[i].want, v.len);
    }
    assert_false(pp_tlv_named(&info, STR_LIT("ssl_cn"), tmp, &v));
    assert_false(pp_tlv_named(&info, STR_LIT("netns"), tmp, &v));
    assert_false(pp_tlv_named(&info, STR_LIT("nonsense"), tmp, &v));
    assert_false(pp_tlv_named(&info, STR_LIT("0xZZ"), tmp, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_and_eval),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_tlv_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_tls_names.c - OpenSSL cipher strings, curves and protocol names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tls/tls_names.h"

/* The names a cipher string selects, joined by ":", or the error. */
static const char *pick(const char *spec)
{
    static char out[2048];
    char err[256];
    int ids[TLS_NAMES_MAX];
    int n = tls_names_ciphers(spec, ids, err, sizeof(err));
    if (n < 0) {
        strcpy(out, err);
        return out;
    }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strcat(out, ":");
        strcat(out, tls_names_cipher(ids[i]));
    }
    return out;
}

static void test_default_is_mozilla_intermediate(void **state)
{
    (void)state;
    assert_string_equal(pick(tls_names_default_ciphers), tls_names_default_ciphers);
    assert_string_equal(pick("DEFAULT"), tls_names_default_ciphers);
}

static void test_names_in_order(void **state)
{
    (void)state;
    assert_string_equal(pick("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
                        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
    /* A repeat adds nothing; separators may be ":", "," or " ". */
    assert_string_equal(pick("ECDHE-RSA-AES256-GCM-SHA384, ECDHE-RSA-AES256-GCM-SHA384"),
                        "ECDHE-RSA-AES256-GCM-SHA384");
}

static void test_classes_and_operators(void **state)
{
    (void)state;
    assert_string_equal(pick("ECDHE+AESGCM+aRSA"),
                        "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384");
    assert_string_equal(pick("EECDH+CHACHA20"),
                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    /* nginx's old default: everything here is HIGH. */
    assert_true(strstr(pick("HIGH:!aNULL:!MD5"), "DHE-RSA-AES256-SHA") != NULL);
    /* "!" removes for good, "-" until added again, "+" moves to the end. */
    assert_string_equal(pick("ECDHE+AESGCM+aECDSA:!AES256:AES256+ECDSA+AESGCM"),
                        "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_string_equal(pick("ECDHE+AESGCM+aECDSA:-AES256:AES256+ECDSA+AESGCM"),
                        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
    assert_string_equal(pick("ECDHE+AESGCM+aECDSA:+AES128"),
                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_string_equal(pick("ECDHE+AESGCM+aECDSA:@STRENGTH"),
                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_true(strstr(pick("ALL:!SHA1:!SHA256:!SHA384"), "no cipher suite") != NULL);
}

static void test_unknown_and_empty(void **state)
{
    (void)state;
    assert_string_equal(pick("ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA"), "unknown cipher \"RC4-SHA\"");
    assert_string_equal(pick("AES128-SHA"), "unknown cipher \"AES128-SHA\"");
    assert_string_equal(pick("TLS_AES_128_GCM_SHA256"),
                        "unknown cipher \"TLS_AES_128_GCM_SHA256\"");
    assert_string_equal(pick("aNULL:eNULL:RC4:3DES"),
                        "no cipher suite of \"aNULL:eNULL:RC4:3DES\" is available");
    assert_string_equal(pick(""), "no cipher suite of \"\" is available");
}

static void test_curves(void **state)
{
    (void)state;
    uint16_t g[TLS_NAMES_MAX + 1];
    char err[128];
    assert_int_equal(tls_names_curves("auto", g, err, sizeof(err)), 0);
    assert_int_equal(g[0], 0x001d); /* X25519 */
    assert_int_equal(g[1], 0x0017); /* P-256 */
    assert_int_equal(g[2], 0x0018); /* P-384 */
    assert_int_equal(g[3], 0);
    assert_int_equal(tls_names_curves("secp384r1:prime256v1", g, err, sizeof(err)), 0);
    assert_int_equal(g[0], 0x0018);
    assert_int_equal(g[1], 0x0017);
    assert_int_equal(tls_names_curves("P-521:X448", g, err, sizeof(err)), -1);
    assert_string_equal(err, "unknown curve \"X448\"");
}

static void test_protocols(void **state)
{
    (void)state;
    assert_int_equal(tls_names_protocol("TLSv1.2"), TLS_PROTO_12);
    assert_int_equal(tls_names_protocol("TLSv1.3"), TLS_PROTO_13);
    assert_int_equal(tls_names_protocol("TLSv1"), TLS_PROTO_OLD);
    assert_int_equal(tls_names_protocol("SSLv3"), TLS_PROTO_OLD);
    assert_int_equal(tls_names_protocol("tlsv1.2"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_is_mozilla_intermediate),
        cmocka_unit_test(test_names_in_order),
        cmocka_unit_test(test_classes_and_operators),
        cmocka_unit_test(test_unknown_and_empty),
        cmocka_unit_test(test_curves),
        cmocka_unit_test(test_protocols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

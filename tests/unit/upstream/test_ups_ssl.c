/* test_ups_ssl.c - the proxy_ssl_* pieces that need no configuration file:
 * the name rules (port and brackets off, no SNI for an address) and
 * nginx's inheritance, with a level that has no directive of its own
 * sharing its parent's configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "upstream/ups_ssl.h"

static void name_is(const char *in, bool ask, const char *want, bool want_sni)
{
    char buf[64];
    bool sni = !want_sni;
    assert_int_equal(ups_ssl_name(str_make(in, strlen(in)), ask, buf, sizeof(buf), &sni), 0);
    assert_string_equal(buf, want);
    assert_int_equal(sni, want_sni);
}

static void test_names(void **state)
{
    (void)state;
    name_is("a.test", true, "a.test", true);
    name_is("a.test:8443", true, "a.test", true);
    name_is("a.test", false, "a.test", false);
    name_is("127.0.0.1:443", true, "127.0.0.1", false);
    name_is("[::1]:8443", true, "::1", false);
    name_is("[::1]", true, "::1", false);
    char buf[8];
    bool sni;
    assert_int_equal(ups_ssl_name(str_make("", 0), true, buf, sizeof(buf), &sni), -1);
    assert_int_equal(ups_ssl_name(str_make(":80", 3), true, buf, sizeof(buf), &sni), -1);
    assert_int_equal(ups_ssl_name(str_make("too.long.name", 13), true, buf, sizeof(buf), &sni), -1);
}

static void test_merge(void **state)
{
    (void)state;
    struct ups_ssl http, srv, loc, other;
    ups_ssl_init(&http);
    ups_ssl_init(&srv);
    ups_ssl_init(&loc);
    ups_ssl_init(&other);
    http.own = true;
    http.verify = 1;
    http.ciphers = "HIGH";
    /* No directive at the server: the http level's configuration. */
    ups_ssl_merge(&http, &srv);
    assert_ptr_equal(srv.origin, &http);
    assert_false(srv.own);
    assert_int_equal(srv.verify, 1);
    /* A location with one: its own, inheriting the rest directive by
     * directive. */
    loc.own = true;
    loc.server_name = 1;
    ups_ssl_merge(&srv, &loc);
    assert_ptr_equal(loc.origin, &loc);
    assert_int_equal(loc.verify, 1);
    assert_int_equal(loc.server_name, 1);
    assert_string_equal(loc.ciphers, "HIGH");
    assert_true(ups_ssl_sends_name(&loc));
    /* Below it, one without: the location's. */
    ups_ssl_merge(&loc, &other);
    assert_ptr_equal(other.origin, &loc);
    assert_false(ups_ssl_sends_name(&srv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

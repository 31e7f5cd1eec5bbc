/* test_proxy_uri.c - proxy_pass URLs, $proxy_host, and nginx's rules for
 * the URI a request goes upstream with (the rows follow the examples of
 * nginx's proxy_pass documentation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proxy/proxy_uri.h"

static struct str S(const char *s) {
    return str_make(s, strlen(s));
}

static const struct {
    const char *url;
    const char *host;
    unsigned port;
    bool has_port;
    bool unix_sock;
    const char *uri; /* NULL: no URI part */
    const char *host_header;
} good_urls[] = {
    {"http://backend", "backend", 80, false, false, NULL, "backend"},
    {"HTTP://backend:8080", "backend", 8080, true, false, NULL, "backend:8080"},
    {"http://127.0.0.1:80/", "127.0.0.1", 80, true, false, "/", "127.0.0.1"},
    {"http://h:81/a/b?x=1", "h", 81, true, false, "/a/b?x=1", "h:81"},
    {"http://h?x=1", "h", 80, false, false, "/?x=1", "h"},
    {"http://[::1]:8080/v6/", "::1", 8080, true, false, "/v6/", "[::1]:8080"},
    {"http://[::1]", "::1", 80, false, false, NULL, "[::1]"},
    {"http://unix:/run/app.sock", "/run/app.sock", 80, false, true, NULL, "localhost"},
    {"http://unix:/run/app.sock:/u/", "/run/app.sock", 80, false, true, "/u/", "localhost"},
    {"http://unix:/run/app.sock:", "/run/app.sock", 80, false, true, NULL, "localhost"},
    /* TLS: 443 by default, and left out of the Host header. */
    {"https://backend", "backend", 443, false, false, NULL, "backend"},
    {"HTTPS://backend:443/x", "backend", 443, true, false, "/x", "backend"},
    {"https://backend:8443", "backend", 8443, true, false, NULL, "backend:8443"},
    {"https://backend:80", "backend", 80, true, false, NULL, "backend:80"},
};

static void test_good_urls(void **state)
{
    (void)state;
    struct mpool p;
    mpool_init(&p, 512);
    for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++) {
        struct proxy_url u;
        const char *err = NULL;
        if (proxy_url_parse(&p, S(good_urls[i].url), &u, &err) < 0)
            fail_msg("%s: %s", good_urls[i].url, err);
        assert_true(str_eq(u.host, good_urls[i].host));
        assert_int_equal(u.port, good_urls[i].port);
        assert_int_equal(u.has_port, good_urls[i].has_port);
        assert_int_equal(u.unix_sock, good_urls[i].unix_sock);
        assert_int_equal(u.has_uri, good_urls[i].uri != NULL);
        if (good_urls[i].uri != NULL && !str_eq(u.uri, good_urls[i].uri))
            fail_msg("%s: uri %.*s", good_urls[i].url, (int)u.uri.len, u.uri.p);
        assert_true(str_eq(proxy_url_host_header(&p, &u), good_urls[i].host_header));
    }
    mpool_destroy(&p);
}

static const struct {
    const char *url;
    const char *err;
} bad_urls[] = {
    {"backend", "invalid URL prefix"},
    {"ftp://h", "invalid URL prefix"},
    {"https:/h", "invalid URL prefix"},
    {"https://", "no host"},
    {"http://", "no host"},
    {"http:///x", "no host"},
    {"http://h:0", "invalid port"},
    {"http://h:70000", "invalid port"},
    {"http://h:x/", "invalid port"},
    {"http://unix:", "no path in the unix domain socket"},
    {"http://[::1", "invalid host"},
};

static void test_bad_urls(void **state)
{
    (void)state;
    struct mpool p;
    mpool_init(&p, 512);
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        struct proxy_url u;
        const char *err = NULL;
        assert_int_equal(proxy_url_parse(&p, S(bad_urls[i].url), &u, &err), -1);
        assert_string_equal(err, bad_urls[i].err);
    }
    mpool_destroy(&p);
}

/* One request through one proxy_pass. */
static const struct {
    const char *target;   /* as the client sent it */
    bool redirected;      /* an internal redirect or rewrite since */
    const char *path;     /* $uri */
    const char *args;     /* $args */
    const char *loc;      /* the location's prefix ("" for regex/named) */
    bool vars;            /* proxy_pass with variables */
    const char *pass_uri; /* its URI part, NULL for none */
    const char *want;
} uri_rows[] = {
    /* No URI part: the request's URI as sent, unless it was changed. */
    {"/some/%7Epath?a=b", false, "/some/~path", "a=b", "/some/", false, NULL, "/some/%7Epath?a=b"},
    {"http://h.example/x//y?q", false, "/x/y", "q", "/", false, NULL, "/x//y?q"},
    {"http://h.example?q", false, "/", "q", "/", false, NULL, "/?q"},
    {"/orig", true, "/users", "name=x", "/", false, NULL, "/users?name=x"},
    {"/orig", true, "/a b#c?d", "", "/", false, NULL, "/a%20b%23c%3Fd"},
    /* A URI part replaces the location's prefix. */
    {"/name/x%20y?k=v", false, "/name/x y", "k=v", "/name/", false, "/remote/",
     "/remote/x%20y?k=v"},
    {"/name/", false, "/name/", "", "/name/", false, "/", "/"},
    {"/exact", false, "/exact", "", "/exact", false, "/other", "/other"},
    {"/name/caf\xc3\xa9", false, "/name/caf\xc3\xa9", "", "/name/", false, "/r/", "/r/caf%C3%A9"},
    /* ... unless a rewrite took $uri out of the prefix (nginx then keeps
     * all of it after the part). */
    {"/name/x", true, "/elsewhere", "", "/name/", false, "/r/", "/r//elsewhere"},
    /* With variables: a URI part is the whole URI; without, as sent. */
    {"/a?b", false, "/a", "b", "", true, "/fixed?x=1", "/fixed?x=1"},
    {"/a%2Fb?c", false, "/a/b", "c", "", true, NULL, "/a%2Fb?c"},
};

static void test_uri_rules(void **state)
{
    (void)state;
    struct mpool p;
    mpool_init(&p, 512);
    for (size_t i = 0; i < sizeof(uri_rows) / sizeof(uri_rows[0]); i++) {
        struct proxy_uri_req in = {
            .target = S(uri_rows[i].target),
            .target_valid = !uri_rows[i].redirected,
            .path = S(uri_rows[i].path),
            .args = S(uri_rows[i].args),
            .loc = S(uri_rows[i].loc),
            .pass_vars = uri_rows[i].vars,
            .uri = S(uri_rows[i].pass_uri ? uri_rows[i].pass_uri : ""),
            .has_uri = uri_rows[i].pass_uri != NULL,
        };
        in.loc_matches = strncmp(uri_rows[i].path, uri_rows[i].loc, in.loc.len) == 0;
        struct str out;
        assert_int_equal(proxy_uri_make(&p, &in, &out), 0);
        if (!str_eq(out, uri_rows[i].want))
            fail_msg("row %zu: got \"%.*s\", want \"%s\"", i, (int)out.len, out.p,
                     uri_rows[i].want);
    }
    mpool_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_uri_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

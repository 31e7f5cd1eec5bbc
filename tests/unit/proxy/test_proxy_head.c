/* test_proxy_head.c - the request head sent upstream: nginx's order and
 * defaults, proxy_set_header overriding and removing, the client's
 * hop-by-hop headers dropped, the framing turnpike's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "proxy/proxy_head.h"

static struct str S(const char *s) {
    return str_make(s, strlen(s));
}

#define NCLIENT 9

static struct req_hdr client[NCLIENT];

static void client_headers(void)
{
    static const char *const kv[NCLIENT][2] = {
        {"Host", "front.example"},
        {"User-Agent", "test"},
        {"Connection", "keep-alive, X-Secret"},
        {"X-Secret", "hop"},
        {"Keep-Alive", "timeout=5"},
        {"Transfer-Encoding", "chunked"},
        {"Accept", "*/*"},
        {"Proxy-Connection", "keep-alive"},
        {"Upgrade", "websocket"},
    };
    for (size_t i = 0; i < NCLIENT; i++) {
        client[i].name = S(kv[i][0]);
        client[i].value = S(kv[i][1]);
    }
}

static void expect(const struct proxy_head_in *in, const char *want)
{
    struct mpool p;
    struct str out;
    mpool_init(&p, 256);
    assert_int_equal(proxy_head_build(&p, in, &out), 0);
    if (!str_eq(out, want))
        fail_msg("got:\n%.*s\nwant:\n%s", (int)out.len, out.p, want);
    mpool_destroy(&p);
}

static void test_defaults(void **state)
{
    (void)state;
    client_headers();
    struct proxy_head_in in = {.method = S("POST"),
                               .uri = S("/x?y"),
                               .host = S("backend:8080"),
                               .client = client,
                               .nclient = NCLIENT,
                               .framing = PF_LENGTH,
                               .length = 12};
    expect(&in, "POST /x?y HTTP/1.0\r\nHost: backend:8080\r\nConnection: close\r\n"
                "Content-Length: 12\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n");
}

static void test_set_headers(void **state)
{
    (void)state;
    client_headers();
    struct proxy_hdr set[] = {
        {S("X-Real-IP"), S("1.2.3.4")}, {S("Connection"), S("")},       {S("Host"), S("$host")},
        {S("User-Agent"), S("")},       {S("Upgrade"), S("websocket")},
    };
    struct proxy_head_in in = {.method = S("GET"),
                               .uri = S("/"),
                               .http11 = true,
                               .set = set,
                               .nset = 5,
                               .host = S("backend"),
                               .client = client,
                               .nclient = NCLIENT,
                               .framing = PF_CHUNKED};
    expect(&in, "GET / HTTP/1.1\r\nX-Real-IP: 1.2.3.4\r\nHost: $host\r\nUpgrade: websocket\r\n"
                "Transfer-Encoding: chunked\r\nAccept: */*\r\n\r\n");
}

static void test_no_client_headers(void **state)
{
    (void)state;
    struct proxy_head_in in = {.method = S("HEAD"), .uri = S("/"), .host = S("h")};
    expect(&in, "HEAD / HTTP/1.0\r\nHost: h\r\nConnection: close\r\n\r\n");
}

static void test_connection_tokens(void **state)
{
    (void)state;
    assert_true(proxy_conn_lists(S("keep-alive, X-Secret"), S("x-secret")));
    assert_true(proxy_conn_lists(S(" Upgrade "), S("upgrade")));
    assert_false(proxy_conn_lists(S("keep-alive, X-Secretive"), S("x-secret")));
    assert_false(proxy_conn_lists(S(""), S("x")));
    assert_true(proxy_hop_by_hop(S("Trailer")));
    assert_false(proxy_hop_by_hop(S("Upgrade")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_headers),
        cmocka_unit_test(test_no_client_headers),
        cmocka_unit_test(test_connection_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

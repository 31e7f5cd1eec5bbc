/* test_proxy_parse.c - upstream responses: heads parsed and their framing
 * checked with nginx's words, interim responses dropped, bodies decoded in
 * place, the end of a message and bytes beyond it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/proxy_parse.h"

/* A head parsed from text fed n bytes at a time (0: all at once). */
struct parsed {
    struct proxy_parse pp;
    char buf[4096];
    size_t len;
    enum proxy_parse_rc rc;
};

static void feed(struct parsed *x, const char *text, size_t step, bool head_request)
{
    size_t total = strlen(text);
    proxy_parse_init(&x->pp, head_request);
    x->len = 0;
    x->rc = PP_AGAIN;
    while (x->rc == PP_AGAIN && total > 0) {
        size_t n = step == 0 || step > total ? total : step;
        memcpy(x->buf + x->len, text, n);
        x->len += n;
        text += n;
        total -= n;
        x->rc = proxy_parse_head(&x->pp, x->buf, &x->len);
    }
}

static void test_simple_head(void **state)
{
    (void)state;
    static const char head[] = "HTTP/1.1 200 Fine\r\nServer: b\r\nContent-Length: 5\r\n"
                               "X-Empty:\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello";
    for (size_t step = 0; step < 8; step++) {
        struct parsed x;
        feed(&x, head, step, false);
        assert_int_equal(x.rc, PP_HEAD);
        assert_int_equal(x.pp.status, 200);
        assert_int_equal(x.pp.content_length, 5);
        assert_false(x.pp.chunked);
        assert_false(x.pp.msg_done);
        assert_int_equal(x.pp.head_len, strlen(head) - 5);
        struct mpool p;
        mpool_init(&p, 1024);
        struct proxy_hdr *h;
        size_t n;
        struct str reason;
        assert_int_equal(proxy_parse_headers(&x.pp, &p, &h, &n, &reason), 0);
        assert_int_equal(n, 5);
        assert_true(str_eq(reason, "Fine"));
        assert_true(str_eq(h[0].name, "Server") && str_eq(h[0].value, "b"));
        assert_true(str_eq(h[2].name, "X-Empty") && h[2].value.len == 0);
        assert_true(str_eq(h[4].value, "b=2"));
        mpool_destroy(&p);
        proxy_parse_free(&x.pp);
    }
}

static void test_interim_dropped(void **state)
{
    (void)state;
    static const char head[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                               "Link: </s.css>\r\n\r\nHTTP/1.1 204 No Content\r\nX: y\r\n\r\n";
    for (size_t step = 0; step < 5; step++) {
        struct parsed x;
        feed(&x, head, step, false);
        assert_int_equal(x.rc, PP_HEAD);
        assert_int_equal(x.pp.status, 204);
        assert_int_equal(x.pp.nspans, 1);
        assert_true(x.pp.msg_done); /* 204: no body */
        assert_memory_equal(x.buf, "HTTP/1.1 204", 12);
        proxy_parse_free(&x.pp);
    }
}

static void test_101_leaves_the_rest(void **state)
{
    (void)state;
    struct parsed x;
    feed(&x,
         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\n\r\n\x81\x02hi",
         0, false);
    assert_int_equal(x.rc, PP_HEAD);
    assert_int_equal(x.pp.status, 101);
    assert_int_equal(x.len - x.pp.head_len, 4);
    proxy_parse_free(&x.pp);
}

/* Each malformed head and the start of what nginx logs for it. */
static const struct {
    const char *head;
    const char *err;
} bad_heads[] = {
    {"HTTP/1.1 abc OK\r\n\r\n", "upstream sent no valid HTTP/1.0 header"},
    {"this is not http\r\n\r\n", "upstream sent no valid HTTP/1.0 header"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     "upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     "upstream sent \"Content-Length\" and \"Transfer-Encoding\" headers at the same time"},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     "upstream sent duplicate header line: \"Content-Length: 6\", previous value: "
     "\"Content-Length: 5\""},
    {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
     "upstream sent duplicate header line"},
    {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
     "upstream sent invalid \"Content-Length\" header: \"Content-Length: a"},
    {"HTTP/1.1 200 OK\r\nBroken header line\r\n\r\n", "upstream sent invalid header"},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
     "upstream sent unknown \"Transfer-Encoding\": \"gzip\""},
    {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     "upstream sent duplicate header line"},
};

static void test_bad_heads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_heads) / sizeof(bad_heads[0]); i++) {
        for (size_t step = 0; step < 3; step++) {
            struct parsed x;
            feed(&x, bad_heads[i].head, step, false);
            if (x.rc != PP_ERROR || strncmp(x.pp.err, bad_heads[i].err, strlen(bad_heads[i].err)))
                fail_msg("head %zu step %zu: rc %d, err \"%s\"", i, step, x.rc, x.pp.err);
            proxy_parse_free(&x.pp);
        }
    }
}

static void test_lf_only_accepted(void **state)
{
    (void)state;
    struct parsed x;
    feed(&x, "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, false);
    assert_int_equal(x.rc, PP_HEAD);
    assert_int_equal(x.pp.content_length, 2);
    proxy_parse_free(&x.pp);
}

/* Body bytes after the head, decoded in place in pieces of `step`. */
static enum proxy_parse_rc body(struct parsed *x, size_t step, char *out, size_t *outlen,
                                size_t *extra)
{
    char *p = x->buf + x->pp.head_len;
    size_t left = x->len - x->pp.head_len;
    enum proxy_parse_rc rc = PP_AGAIN;
    *outlen = 0;
    *extra = 0;
    while (rc == PP_AGAIN && left > 0) {
        size_t n = step == 0 || step > left ? left : step, got;
        rc = proxy_parse_body(&x->pp, p, n, &got, extra);
        memcpy(out + *outlen, p, got);
        *outlen += got;
        p += n;
        left -= n;
    }
    if (rc == PP_DONE)
        *extra += left;
    return rc;
}

static void test_chunked_decoded(void **state)
{
    (void)state;
    for (size_t step = 0; step < 6; step++) {
        struct parsed x;
        char out[256];
        size_t n, extra;
        feed(&x,
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-T: 1\r\n\r\n",
             0, false);
        assert_int_equal(x.rc, PP_HEAD);
        assert_true(x.pp.chunked);
        assert_int_equal(body(&x, step, out, &n, &extra), PP_DONE);
        assert_int_equal(n, 12);
        assert_memory_equal(out, "hello world!", 12);
        assert_int_equal(extra, 0);
        assert_true(x.pp.keepalive);
        proxy_parse_free(&x.pp);
    }
}

static void test_length_and_extra(void **state)
{
    (void)state;
    for (size_t step = 0; step < 4; step++) {
        struct parsed x;
        char out[256];
        size_t n, extra;
        feed(&x, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES", 0, false);
        assert_int_equal(body(&x, step, out, &n, &extra), PP_DONE);
        assert_int_equal(n, 5);
        assert_memory_equal(out, "hello", 5);
        assert_int_equal(extra, strlen("EXTRA BYTES"));
        proxy_parse_free(&x.pp);
    }
}

static void test_bad_chunk(void **state)
{
    (void)state;
    struct parsed x;
    char out[256];
    size_t n, extra;
    feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", 0, false);
    assert_int_equal(body(&x, 0, out, &n, &extra), PP_ERROR);
    assert_string_equal(x.pp.err, "upstream sent invalid chunked response");
    proxy_parse_free(&x.pp);
}

static void test_eof(void **state)
{
    (void)state;
    struct parsed x;
    char out[256];
    size_t n, extra;
    /* Delimited by the close: the close ends it. */
    feed(&x, "HTTP/1.1 200 OK\r\n\r\nuntil the end", 0, false);
    assert_int_equal(body(&x, 0, out, &n, &extra), PP_AGAIN);
    assert_int_equal(n, 13);
    assert_int_equal(proxy_parse_eof(&x.pp), PP_DONE);
    assert_false(x.pp.keepalive);
    proxy_parse_free(&x.pp);
    /* Short of its length, or of its last chunk: premature. */
    feed(&x, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx", 0, false);
    assert_int_equal(body(&x, 0, out, &n, &extra), PP_AGAIN);
    assert_int_equal(proxy_parse_eof(&x.pp), PP_ERROR);
    assert_string_equal(x.pp.err, "upstream prematurely closed connection");
    proxy_parse_free(&x.pp);
    feed(&x, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 0, false);
    assert_int_equal(body(&x, 0, out, &n, &extra), PP_AGAIN);
    assert_int_equal(proxy_parse_eof(&x.pp), PP_ERROR);
    proxy_parse_free(&x.pp);
}

static void test_head_request_has_no_body(void **state)
{
    (void)state;
    struct parsed x;
    feed(&x, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, true);
    assert_int_equal(x.rc, PP_HEAD);
    assert_true(x.pp.msg_done);
    assert_int_equal(x.pp.content_length, 100);
    assert_true(x.pp.keepalive);
    proxy_parse_free(&x.pp);
}

/* 204 and 304 end at their head, whatever Content-Length says. */
static void test_204_and_304_have_no_body(void **state)
{
    (void)state;
    static const char *const heads[] = {"HTTP/1.1 204 No Content\r\nContent-Length: 11\r\n\r\n",
                                        "HTTP/1.1 304 Not Modified\r\nContent-Length: 11\r\n\r\n"};
    for (size_t i = 0; i < 2; i++) {
        struct parsed x;
        feed(&x, heads[i], 0, false);
        assert_int_equal(x.rc, PP_HEAD);
        assert_true(x.pp.msg_done);
        assert_true(x.pp.keepalive);
        proxy_parse_free(&x.pp);
    }
}

static void test_keepalive_rules(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        bool keep;
    } rows[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct parsed x;
        feed(&x, rows[i].head, 0, false);
        assert_int_equal(x.rc, PP_HEAD);
        assert_true(x.pp.msg_done);
        assert_int_equal(x.pp.keepalive, rows[i].keep);
        proxy_parse_free(&x.pp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_head),
        cmocka_unit_test(test_interim_dropped),
        cmocka_unit_test(test_101_leaves_the_rest),
        cmocka_unit_test(test_bad_heads),
        cmocka_unit_test(test_lf_only_accepted),
        cmocka_unit_test(test_chunked_decoded),
        cmocka_unit_test(test_length_and_extra),
        cmocka_unit_test(test_bad_chunk),
        cmocka_unit_test(test_eof),
        cmocka_unit_test(test_head_request_has_no_body),
        cmocka_unit_test(test_204_and_304_have_no_body),
        cmocka_unit_test(test_keepalive_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_base64.c - base64 as nginx's ngx_decode_base64 reads it: padding
 * optional, the first "=" ends the data, a character outside the alphabet
 * or a lone final one is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/base64.h"

static void expect(const char *in, const char *out)
{
    unsigned char buf[64];
    long n = base64_decode(in, strlen(in), buf);
    if (out == NULL) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_equal(n, (long)strlen(out));
    assert_memory_equal(buf, out, strlen(out));
}

static void test_decode(void **state)
{
    (void)state;
    expect("", "");
    expect("dXNlcjpwYXNz", "user:pass");
    expect("dXNlcjpwYXNzMQ==", "user:pass1");
    expect("dXNlcjpwYXNzMQ", "user:pass1"); /* padding left out */
    expect("dXNlcjpwYXNzMTI=", "user:pass12");
    expect("dXNlcjpwYXNzMTI", "user:pass12");
    expect("YQ==trailing", "a"); /* "=" ends the data */
    expect("dXNlc", NULL);       /* one character past a group */
    expect("dXNl cjpw", NULL);   /* a space */
    expect("dXNl*jpw", NULL);
    expect("+/+/", "\xfb\xff\xbf");
}

static void test_encode(void **state)
{
    char buf[64];
    (void)state;
    assert_int_equal(base64_encode((const unsigned char *)"user:pass1", 10, buf), 16);
    assert_memory_equal(buf, "dXNlcjpwYXNzMQ==", 16);
    assert_int_equal(base64_encode((const unsigned char *)"abc", 3, buf), 4);
    assert_memory_equal(buf, "YWJj", 4);
    assert_int_equal(base64_encode((const unsigned char *)"", 0, buf), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

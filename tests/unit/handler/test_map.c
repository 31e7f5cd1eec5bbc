/* test_map.c - split_clients' hash: nginx's ngx_murmur_hash2.  The values
 * agree with an independent implementation (tests/integration/test_map.py),
 * whose buckets were compared with nginx 1.22's answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handler/map.h"

static uint32_t hash(const char *s)
{
    return map_murmur2((const unsigned char *)s, strlen(s));
}

static void test_murmur2(void **state)
{
    (void)state;
    assert_int_equal(hash(""), 0x0);
    assert_int_equal(hash("a"), 0x92685f5e);
    assert_int_equal(hash("ab"), 0x1aa14063);
    assert_int_equal(hash("abc"), 0x13577c9b);
    assert_int_equal(hash("abcd"), 0x26873021);
    assert_int_equal(hash("127.0.0.1AAA"), 0xb5fc5e4b);
    assert_int_equal(hash("hello world"), 0x44a81419);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_murmur2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

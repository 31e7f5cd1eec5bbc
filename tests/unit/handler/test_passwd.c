/* test_passwd.c - the password formats of auth_basic_user_file.  The
 * hashes were made by openssl passwd -apr1 (Apache's $apr1$), by
 * libcrypt's crypt() and by Python's hashlib for {SHA} and {SSHA}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "handler/passwd.h"

static enum passwd_rc check(const char *password, const char *stored)
{
    return passwd_check(password, strlen(password), stored);
}

static void test_apr1_matches_openssl(void **state)
{
    char out[64];
    (void)state;
    passwd_apr1("password", 8, "$apr1$abcdefgh$", out);
    assert_string_equal(out, "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1");
    /* a password longer than one digest, a short salt, an empty password */
    const char *longer = "a much longer password, longer than sixteen bytes";
    passwd_apr1(longer, strlen(longer), "$apr1$xy$PkWD", out);
    assert_string_equal(out, "$apr1$xy$PkWDrVVAbW.uS0MhCqcMO1");
    passwd_apr1("", 0, "$apr1$12345678", out);
    assert_string_equal(out, "$apr1$12345678$sHuPAw7VA9xjRbJz7zKV7/");
}

static void test_formats(void **state)
{
    static const struct {
        const char *stored; /* as in the file */
    } rows[] = {
        {"$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1"},
        {"{PLAIN}password"},
        {"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="},
        {"{SSHA}dYUvqKVtTEfrJvbYYn9ZeMecKtQA/3NhbHQ="},
        {"$2y$04$abcdefghijklmnopqrstuughE8Ev8uGFaUgY2cNEySvxngrb/Jzdm"},
        {"$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc."
         "eoxqOmSuNp2xS0ktL3nh/"},
        {"$5$saltsalt$gOjOtoMpVhru2uyjeJSEc/JaLQWOXMNmlOnj6T4AtC."},
        {"$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(check("password", rows[i].stored), PASSWD_MATCH);
        assert_int_equal(check("passwore", rows[i].stored), PASSWD_MISMATCH);
        assert_int_equal(check("", rows[i].stored), PASSWD_MISMATCH);
        assert_int_equal(check("password1", rows[i].stored), PASSWD_MISMATCH);
    }
}

/* nginx reads the password as a C string: a NUL ends it. */
static void test_password_up_to_nul(void **state)
{
    (void)state;
    assert_int_equal(passwd_check("password\0tail", 13, "{PLAIN}password"), PASSWD_MATCH);
    assert_int_equal(passwd_check("pass\0word", 9, "{PLAIN}password"), PASSWD_MISMATCH);
}

static void test_broken_hashes_never_match(void **state)
{
    (void)state;
    assert_int_equal(check("x", "{SSHA}"), PASSWD_MISMATCH);     /* no digest at all */
    assert_int_equal(check("x", "{SSHA}!!!!"), PASSWD_MISMATCH); /* not base64 */
    assert_int_equal(check("x", "{SHA}"), PASSWD_MISMATCH);
    assert_int_equal(check("x", "$2y$04$short"), PASSWD_MISMATCH);
    assert_int_equal(check("x", ""), PASSWD_MISMATCH);
    assert_int_equal(check("", ""), PASSWD_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apr1_matches_openssl),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_password_up_to_nul),
        cmocka_unit_test(test_broken_hashes_never_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

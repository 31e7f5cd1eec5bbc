/* test_args.c - the command line parses like nginx's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>

#include "proc/args.h"

#define ARGV(...) ((char *const[]){"turnpike", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *const[]){"turnpike", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(a, err, ...) args_parse(a, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof(err))

static void test_flags_combined(void **state)
{
    struct args a;
    char err[128];
    (void)state;
    assert_int_equal(PARSE(&a, err, "-tq"), 0);
    assert_true(a.test);
    assert_true(a.quiet);
    assert_false(a.dump);
    assert_int_equal(PARSE(&a, err, "-T"), 0);
    assert_true(a.test && a.dump);
    assert_int_equal(PARSE(&a, err, "-V"), 0);
    assert_true(a.version && a.version_full);
    assert_int_equal(PARSE(&a, err, "-h"), 0);
    assert_true(a.help);
    assert_int_equal(PARSE(&a, err, "-?"), 0);
    assert_true(a.help);
}

static void test_values_attached_and_separate(void **state)
{
    struct args a;
    char err[128];
    (void)state;
    assert_int_equal(PARSE(&a, err, "-c", "/etc/x.conf", "-p/srv/", "-gdaemon off;"), 0);
    assert_string_equal(a.conf_file, "/etc/x.conf");
    assert_string_equal(a.prefix, "/srv/");
    assert_string_equal(a.directives, "daemon off;");
    assert_int_equal(PARSE(&a, err, "-e", "stderr", "-s", "reload"), 0);
    assert_string_equal(a.error_log, "stderr");
    assert_string_equal(a.signal, "reload");
    /* a value ends the word: "-tc" takes "c" as a flag needing a value */
    assert_int_equal(PARSE(&a, err, "-tcfile"), 0);
    assert_true(a.test);
    assert_string_equal(a.conf_file, "file");
}

static void test_errors(void **state)
{
    struct args a;
    char err[128];
    (void)state;
    assert_int_equal(PARSE(&a, err, "-c"), -1);
    assert_string_equal(err, "option \"-c\" requires file name");
    assert_int_equal(PARSE(&a, err, "-p"), -1);
    assert_string_equal(err, "option \"-p\" requires directory name");
    assert_int_equal(PARSE(&a, err, "-g"), -1);
    assert_string_equal(err, "option \"-g\" requires parameter");
    assert_int_equal(PARSE(&a, err, "-s", "bogus"), -1);
    assert_string_equal(err, "invalid option: \"-s bogus\"");
    assert_int_equal(PARSE(&a, err, "-x"), -1);
    assert_string_equal(err, "invalid option: \"x\"");
    assert_int_equal(PARSE(&a, err, "stray"), -1);
    assert_string_equal(err, "invalid option: \"stray\"");
    assert_int_equal(PARSE(&a, err, "-"), -1);
}

static void test_signal_names(void **state)
{
    (void)state;
    assert_int_equal(args_signal_number("stop"), SIGTERM);
    assert_int_equal(args_signal_number("quit"), SIGQUIT);
    assert_int_equal(args_signal_number("reopen"), SIGUSR1);
    assert_int_equal(args_signal_number("reload"), SIGHUP);
    assert_int_equal(args_signal_number("hup"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_combined),
        cmocka_unit_test(test_values_attached_and_separate),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_signal_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

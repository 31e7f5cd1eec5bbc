/* test_process_conf.c - the workers' environment from `env` (nginx's
 * ngx_set_environment): listed names keep the master's value, NAME=value
 * sets one, the first entry for a name wins, and an unset name is left
 * out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proc/process_conf.h"

static size_t count(char **env)
{
    size_t n = 0;
    while (env[n] != NULL)
        n++;
    return n;
}

static void test_listed_and_set(void **state)
{
    char *master[] = {"PATH=/bin", "KEEP=kept", "TZ=UTC", "DROP=x", "KEEPER=no", NULL};
    char *list[] = {"KEEP", "SET=given", "MISSING", "TZ"};
    struct process_conf pc = {.env = list, .nenv = 4};
    (void)state;
    char **env = process_environment(&pc, master);
    assert_non_null(env);
    assert_int_equal(count(env), 3);
    assert_string_equal(env[0], "KEEP=kept");
    assert_string_equal(env[1], "SET=given");
    assert_string_equal(env[2], "TZ=UTC");
    free(env);
}

/* `env TZ=...` before the implicit TZ at the end of the list wins. */
static void test_first_entry_wins(void **state)
{
    char *master[] = {"TZ=UTC", NULL};
    char *list[] = {"TZ=Asia/Tokyo", "TZ"};
    struct process_conf pc = {.env = list, .nenv = 2};
    (void)state;
    char **env = process_environment(&pc, master);
    assert_int_equal(count(env), 1);
    assert_string_equal(env[0], "TZ=Asia/Tokyo");
    free(env);
}

static void test_empty(void **state)
{
    char *list[] = {"TZ"};
    struct process_conf pc = {.env = list, .nenv = 1};
    (void)state;
    char **env = process_environment(&pc, NULL);
    assert_int_equal(count(env), 0);
    free(env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_and_set),
        cmocka_unit_test(test_first_entry_wins),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ofile.c - the open file cache's policies: a file is kept once it
 * has been opened min_uses times (open_file_cache_min_uses), a failed open
 * is remembered only with open_file_cache_errors, entries go stale after
 * `valid`, directories are never kept, and every reference is released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ofile.h"

static char dir[64];
static char file[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_ofile.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(file, sizeof(file), "%s/f", dir);
    FILE *f = fopen(file, "w");
    if (f == NULL)
        return -1;
    fputs("x", f);
    fclose(f);
    ofile_cache_init(16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ofile_cache_destroy();
    unlink(file);
    rmdir(dir);
    return 0;
}

/* What opening the path gives now, as file_open.c hands it to the cache. */
static struct ofile_result open_now(const char *path)
{
    struct ofile_raw raw;
    struct ofile_result res;
    ofile_open_sync(path, false, &raw);
    assert_int_equal(ofile_from_raw(&raw, &res), 0);
    return res;
}

static struct ofile_policy policy(unsigned min_uses, bool errors)
{
    return (struct ofile_policy){
        .cache = true, .errors = errors, .min_uses = min_uses, .valid = 60, .inactive = 60};
}

/* One request: the cache, else an open that the cache is told about. */
static int request(const char *path, const struct ofile_policy *pol, double now, bool *hit)
{
    struct ofile_result res;
    struct str p = str_make(path, strlen(path));
    *hit = ofile_cache_lookup(p, pol, now, &res) == 1;
    if (!*hit) {
        res = open_now(path);
        ofile_cache_note(p, &res, pol, now);
    }
    int err = res.file != NULL ? 0 : res.err;
    if (res.file != NULL)
        ofile_put(res.file);
    return err;
}

static void test_min_uses(void **state)
{
    struct ofile_policy pol = policy(3, false);
    bool hit;
    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(request(file, &pol, 1.0 + i, &hit), 0);
        assert_false(hit); /* counted, not kept */
    }
    assert_int_equal(request(file, &pol, 4.0, &hit), 0);
    assert_true(hit);
}

static void test_min_uses_one_keeps_at_once(void **state)
{
    struct ofile_policy pol = policy(1, false);
    bool hit;
    (void)state;
    assert_int_equal(request(file, &pol, 1.0, &hit), 0);
    assert_false(hit);
    assert_int_equal(request(file, &pol, 2.0, &hit), 0);
    assert_true(hit);
}

static void test_errors_remembered_only_when_asked(void **state)
{
    char missing[128];
    struct ofile_policy quiet = policy(1, false), errors = policy(1, true);
    bool hit;
    (void)state;
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    assert_int_equal(request(missing, &quiet, 1.0, &hit), ENOENT);
    assert_int_equal(request(missing, &quiet, 2.0, &hit), ENOENT);
    assert_false(hit);
    assert_int_equal(request(missing, &errors, 3.0, &hit), ENOENT);
    assert_false(hit);
    assert_int_equal(request(missing, &errors, 4.0, &hit), ENOENT);
    assert_true(hit); /* answered without touching the disk */
    /* the file appears: the remembered error holds until it is stale */
    FILE *f = fopen(missing, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(request(missing, &errors, 5.0, &hit), ENOENT);
    assert_true(hit);
    assert_int_equal(request(missing, &errors, 70.0, &hit), 0);
    assert_false(hit);
    unlink(missing);
}

static void test_directories_never_kept(void **state)
{
    struct ofile_policy pol = policy(1, true);
    struct ofile_result res;
    (void)state;
    res = open_now(dir);
    assert_true(res.is_dir);
    ofile_cache_note(str_make(dir, strlen(dir)), &res, &pol, 1.0);
    assert_int_equal(ofile_cache_lookup(str_make(dir, strlen(dir)), &pol, 2.0, &res), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_min_uses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_uses_one_keeps_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_remembered_only_when_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directories_never_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_shm.c - unit tests for shared memory: the allocator (shm_alloc),
 * the zones and their registry (shm), a zone shared with a forked child,
 * the robust lock's recovery after a holder died, and the keyed map by
 * last use (shm_map). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/shm.h"
#include "core/shm_alloc.h"
#include "core/shm_map.h"

#define ARENA (64 * SHM_PAGE)

/* ---- the allocator ---------------------------------------------------------- */

static struct shm_slab *slab_over(void *mem, size_t len)
{
    struct shm_slab *s = shm_slab_init(mem, len);
    assert_non_null(s);
    return s;
}

/* Every size class and a big run: the blocks lie inside the memory, do not
 * overlap, and freeing them all gives every page back. */
static void test_slab_sizes_do_not_overlap(void **state)
{
    (void)state;
    char *mem = malloc(ARENA);
    struct shm_slab *s = slab_over(mem, ARENA);
    size_t pages = shm_slab_pages(s);
    static const size_t sizes[] = {1, 15, 16, 17, 100, 500, 1024, 2048, 2049, 9000};
    enum { N = sizeof(sizes) / sizeof(sizes[0]) };
    unsigned char *p[N][4];
    assert_int_equal(shm_slab_free_pages(s), pages);
    for (size_t i = 0; i < N; i++)
        for (int k = 0; k < 4; k++) {
            p[i][k] = shm_slab_alloc(s, sizes[i]);
            assert_non_null(p[i][k]);
            assert_true(p[i][k] >= (unsigned char *)mem &&
                        p[i][k] + sizes[i] <= (unsigned char *)mem + ARENA);
            assert_int_equal((uintptr_t)p[i][k] % 16, 0);
            memset(p[i][k], (int)(i * 4 + k + 1), sizes[i]);
        }
    for (size_t i = 0; i < N; i++)
        for (int k = 0; k < 4; k++)
            for (size_t b = 0; b < sizes[i]; b++)
                assert_int_equal(p[i][k][b], (unsigned char)(i * 4 + k + 1));
    for (size_t i = 0; i < N; i++)
        for (int k = 0; k < 4; k++)
            shm_slab_free(s, p[i][k]);
    assert_int_equal(shm_slab_free_pages(s), pages);
    free(mem);
}

/* Filling the memory ends in NULL, not in an overrun; what was freed can
 * be had again, by another size too. */
static void test_slab_exhaustion_and_reuse(void **state)
{
    (void)state;
    char *mem = malloc(ARENA);
    struct shm_slab *s = slab_over(mem, ARENA);
    size_t pages = shm_slab_pages(s), n = 0, cap = pages * (SHM_PAGE / 64) + 1;
    void **got = calloc(cap, sizeof(*got));
    while ((got[n] = shm_slab_alloc(s, 64)) != NULL)
        n++;
    assert_int_equal(n, pages * (SHM_PAGE / 64));
    assert_int_equal(shm_slab_free_pages(s), 0);
    assert_null(shm_slab_alloc(s, 16));
    assert_null(shm_slab_alloc(s, 5000));
    for (size_t i = 0; i < n; i += 2)
        shm_slab_free(s, got[i]); /* half of every page: no page is free yet */
    assert_int_equal(shm_slab_free_pages(s), 0);
    assert_null(shm_slab_alloc(s, 1000));
    void *again = shm_slab_alloc(s, 64); /* a freed slot of its own class */
    assert_non_null(again);
    for (size_t i = 1; i < n; i += 2)
        shm_slab_free(s, got[i]);
    assert_int_equal(shm_slab_free_pages(s), pages - 1); /* `again` holds one */
    shm_slab_free(s, again);
    void *big = shm_slab_alloc(s, pages * SHM_PAGE);
    assert_non_null(big);
    assert_int_equal(shm_slab_free_pages(s), 0);
    shm_slab_free(s, big);
    assert_int_equal(shm_slab_free_pages(s), pages);
    free(got);
    free(mem);
}

/* A run needs contiguous free pages: freed pages scattered between used
 * ones do not make one. */
static void test_slab_run_needs_contiguous_pages(void **state)
{
    (void)state;
    char *mem = malloc(ARENA);
    struct shm_slab *s = slab_over(mem, ARENA);
    size_t pages = shm_slab_pages(s);
    void **page = calloc(pages, sizeof(*page));
    for (size_t i = 0; i < pages; i++)
        assert_non_null(page[i] = shm_slab_alloc(s, SHM_PAGE));
    for (size_t i = 0; i < pages; i += 2)
        shm_slab_free(s, page[i]);
    assert_null(shm_slab_alloc(s, 2 * SHM_PAGE));
    shm_slab_free(s, page[1]); /* pages 0, 1 and 2 are free together now */
    void *run = shm_slab_alloc(s, 3 * SHM_PAGE);
    assert_ptr_equal(run, page[0]);
    free(page);
    free(mem);
}

static void test_slab_too_small(void **state)
{
    (void)state;
    char mem[SHM_PAGE];
    assert_null(shm_slab_init(mem, sizeof(mem)));
}

/* ---- zones -------------------------------------------------------------------- */

/* The test kind keeps a counter at its root. */
struct counter {
    long value; /* what the processes add to */
    long inits; /* how often the zone was laid out: survives nothing, 1 each time */
};

static int counter_init(struct shm_zone *z)
{
    struct counter *c = shm_alloc(z, sizeof(*c));
    if (c == NULL)
        return -1;
    *c = (struct counter){.inits = 1};
    shm_set_root(z, c);
    return 0;
}

static const struct shm_kind counter_kind = {"counter", counter_init};
static const struct shm_kind other_kind = {"other", counter_init};

static struct shm_zone *attach(const char *name, size_t size, const struct shm_kind *k, bool *fresh)
{
    char err[256];
    struct shm_zone *z = shm_attach(name, size, k, "label", fresh, err, sizeof(err));
    assert_non_null(z);
    return z;
}

/* The same name, size and kind is the same zone, with its state; another
 * size or kind is another zone; the last detach unmaps. */
static void test_zone_registry(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *a = attach("one", 64 * 1024, &counter_kind, &fresh);
    assert_true(fresh);
    assert_string_equal(shm_label(a), "label");
    ((struct counter *)shm_root(a))->value = 42;
    struct shm_zone *b = attach("one", 64 * 1024, &counter_kind, &fresh);
    assert_false(fresh);
    assert_ptr_equal(a, b);
    assert_int_equal(((struct counter *)shm_root(b))->value, 42);
    struct shm_zone *c = attach("one", 128 * 1024, &counter_kind, &fresh);
    assert_true(fresh);
    assert_ptr_not_equal(a, c);
    assert_int_equal(((struct counter *)shm_root(c))->value, 0);
    struct shm_zone *d = attach("one", 64 * 1024, &other_kind, &fresh);
    assert_true(fresh);
    assert_ptr_not_equal(a, d);
    shm_detach(a);
    struct shm_zone *e = attach("one", 64 * 1024, &counter_kind, &fresh);
    assert_false(fresh); /* b still holds it */
    shm_detach(e);
    shm_detach(b);
    e = attach("one", 64 * 1024, &counter_kind, &fresh);
    assert_true(fresh); /* the last reference had gone */
    shm_detach(e);
    shm_detach(c);
    shm_detach(d);
}

static void test_zone_refused(void **state)
{
    (void)state;
    char err[256];
    bool fresh;
    assert_null(shm_attach("tiny", 4096, &counter_kind, NULL, &fresh, err, sizeof(err)));
    assert_non_null(strstr(err, "too small"));
}

/* A forked child's changes are the parent's: the memory is shared. */
static void test_zone_shared_with_child(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *z = attach("shared", 64 * 1024, &counter_kind, &fresh);
    struct counter *c = shm_root(z);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 1000; i++) {
            shm_lock(z);
            c->value++;
            shm_unlock(z);
        }
        _exit(0);
    }
    for (int i = 0; i < 1000; i++) {
        shm_lock(z);
        c->value++;
        shm_unlock(z);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(c->value, 2000);
    shm_detach(z);
}

/* A child that dies holding the lock: the next locker empties the zone
 * (the kind lays it out again) and the epoch changes. */
static void test_zone_dead_holder(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *z = attach("robust", 64 * 1024, &counter_kind, &fresh);
    ((struct counter *)shm_root(z))->value = 7;
    uint64_t epoch = shm_epoch(z);
    size_t pages = shm_free_pages(z);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        shm_lock(z);
        ((struct counter *)shm_root(z))->value = 8; /* half done, as far as anyone knows */
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    shm_lock(z);
    assert_int_equal(shm_epoch(z), epoch + 1);
    assert_int_equal(((struct counter *)shm_root(z))->value, 0);
    assert_int_equal(shm_free_pages(z), pages);
    shm_unlock(z);
    shm_lock(z); /* consistent again: an ordinary lock */
    assert_int_equal(shm_epoch(z), epoch + 1);
    shm_unlock(z);
    shm_detach(z);
}

/* ---- the map ----------------------------------------------------------------- */

/* A user's node: the map's part first. */
struct item {
    struct shm_node node; /* the map's */
    int value;            /* the user's */
};

static int map_init(struct shm_zone *z)
{
    struct shm_map *m = shm_map_new(z, sizeof(struct item), 256);
    shm_set_root(z, m);
    return m != NULL ? 0 : -1;
}

static const struct shm_kind map_kind = {"map", map_init};

static struct item *add(struct shm_zone *z, const char *key)
{
    struct item *it = shm_map_add(z, shm_root(z), key, strlen(key));
    assert_non_null(it);
    return it;
}

static void test_map_find_add_remove(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *z = attach("map1", 64 * 1024, &map_kind, &fresh);
    struct shm_map *m = shm_root(z);
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        add(z, key)->value = i;
    }
    assert_int_equal(shm_map_count(m), 500);
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        struct item *it = shm_map_find(m, key, strlen(key));
        assert_non_null(it);
        assert_int_equal(it->value, i);
        assert_memory_equal(shm_map_key(m, it), key, strlen(key));
    }
    assert_null(shm_map_find(m, "key-5000", 8));
    assert_null(shm_map_find(m, "key-1", 4)); /* a prefix is another key */
    for (int i = 0; i < 500; i += 2) {
        snprintf(key, sizeof(key), "key-%d", i);
        shm_map_remove(z, m, shm_map_find(m, key, strlen(key)));
    }
    assert_int_equal(shm_map_count(m), 250);
    assert_null(shm_map_find(m, "key-2", 5));
    assert_non_null(shm_map_find(m, "key-3", 5));
    shm_detach(z);
}

/* The oldest node is the one used least recently; a find makes a node the
 * newest. */
static void test_map_lru(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *z = attach("map2", 64 * 1024, &map_kind, &fresh);
    struct shm_map *m = shm_root(z);
    assert_null(shm_map_oldest(m));
    struct item *a = add(z, "a"), *b = add(z, "b"), *c = add(z, "c");
    assert_ptr_equal(shm_map_oldest(m), a);
    shm_map_find(m, "a", 1);
    assert_ptr_equal(shm_map_oldest(m), b);
    shm_map_remove(z, m, b);
    assert_ptr_equal(shm_map_oldest(m), c);
    shm_map_remove(z, m, c);
    shm_map_remove(z, m, a);
    assert_null(shm_map_oldest(m));
    shm_detach(z);
}

/* A full zone refuses a node; giving up the oldest makes room, as the
 * limits do. */
static void test_map_full_zone(void **state)
{
    (void)state;
    bool fresh;
    struct shm_zone *z = attach("map3", 32 * 1024, &map_kind, &fresh);
    struct shm_map *m = shm_root(z);
    char key[32];
    int n = 0;
    for (;; n++) {
        snprintf(key, sizeof(key), "%d", n);
        if (shm_map_add(z, m, key, strlen(key)) == NULL)
            break;
    }
    assert_true(n > 100);
    shm_map_remove(z, m, shm_map_oldest(m));
    assert_non_null(shm_map_add(z, m, "new", 3));
    assert_null(shm_map_find(m, "0", 1));
    assert_non_null(shm_map_find(m, "1", 1));
    shm_detach(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slab_sizes_do_not_overlap),
        cmocka_unit_test(test_slab_exhaustion_and_reuse),
        cmocka_unit_test(test_slab_run_needs_contiguous_pages),
        cmocka_unit_test(test_slab_too_small),
        cmocka_unit_test(test_zone_registry),
        cmocka_unit_test(test_zone_refused),
        cmocka_unit_test(test_zone_shared_with_child),
        cmocka_unit_test(test_zone_dead_holder),
        cmocka_unit_test(test_map_find_add_remove),
        cmocka_unit_test(test_map_lru),
        cmocka_unit_test(test_map_full_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

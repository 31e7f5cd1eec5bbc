/* tls_lib.c - the library's allocator, generator and PSA, per process. */
#include "tls/tls_lib.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/platform.h>
#include <mbedtls/version.h>
#include <psa/crypto.h>

/* This process's randomness. */
static struct {
    mbedtls_entropy_context entropy; /* the kernel's getrandom() */
    mbedtls_ctr_drbg_context drbg;   /* AES-CTR DRBG on top (locked inside) */
    bool seeded;                     /* drbg is ready */
    bool psa;                        /* psa_crypto_init ran in this process */
    bool idle_ok;                    /* pool threads may go SCHED_IDLE and come back */
    pid_t forked;                    /* the process tls_lib_fork last ran in, or 0 */
} lib;

static size_t tls_page(void)
{
    static size_t page;
    if (page == 0)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

/* ---- record buffers: pages of their own -------------------------------- */

/* Big allocations are mmap'd whole pages: nothing else shares a page with
 * them (malloc would put its chunk header and neighbours in the page
 * before one), so giving their pages back frees every byte.  Their sizes
 * are kept here by address, for munmap; any thread may allocate. */
#define BIG_SPARE 64 /* freed mappings kept for the next connections */

static struct {
    pthread_mutex_t lock;        /* guards everything here */
    uintptr_t *addr;             /* open addressing, 0 = empty */
    size_t *len;                 /* each mapping's length */
    size_t cap;                  /* slots, a power of two */
    size_t n;                    /* used */
    void *spare[BIG_SPARE];      /* freed mappings, not in the table */
    size_t spare_len[BIG_SPARE]; /* their lengths */
    size_t nspare;               /* how many */
} big = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t big_home(uintptr_t a, size_t cap)
{
    return (size_t)(((uint64_t)(a >> 12) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void big_place(uintptr_t *addr, size_t *len, size_t cap, uintptr_t a, size_t l)
{
    size_t i = big_home(a, cap);
    while (addr[i] != 0)
        i = (i + 1) & (cap - 1);
    addr[i] = a;
    len[i] = l;
}

static int big_grow(void)
{
    size_t cap = big.cap ? big.cap * 2 : 256;
    uintptr_t *addr = calloc(cap, sizeof(*addr));
    size_t *len = calloc(cap, sizeof(*len));
    if (addr == NULL || len == NULL) {
        free(addr);
        free(len);
        return -1;
    }
    for (size_t i = 0; i < big.cap; i++)
        if (big.addr[i] != 0)
            big_place(addr, len, cap, big.addr[i], big.len[i]);
    free(big.addr);
    free(big.len);
    big.addr = addr;
    big.len = len;
    big.cap = cap;
    return 0;
}

static int big_put(void *p, size_t l)
{
    pthread_mutex_lock(&big.lock);
    int rc = 2 * (big.n + 1) > big.cap ? big_grow() : 0;
    if (rc == 0) {
        big_place(big.addr, big.len, big.cap, (uintptr_t)p, l);
        big.n++;
    }
    pthread_mutex_unlock(&big.lock);
    return rc;
}

/* Linear probing's delete: later entries of the cluster move up so no
 * lookup stops at the hole. */
static void big_remove_at(size_t i)
{
    size_t mask = big.cap - 1;
    big.addr[i] = 0;
    for (size_t j = (i + 1) & mask; big.addr[j] != 0; j = (j + 1) & mask) {
        size_t h = big_home(big.addr[j], big.cap);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            big.addr[i] = big.addr[j];
            big.len[i] = big.len[j];
            big.addr[j] = 0;
            i = j;
        }
    }
    big.n--;
}

/* The mapping's length if p is one, else 0 (and it stays unknown). */
static size_t big_take(void *p)
{
    size_t l = 0;
    pthread_mutex_lock(&big.lock);
    for (size_t i = big.cap ? big_home((uintptr_t)p, big.cap) : 0; big.cap && big.addr[i] != 0;
         i = (i + 1) & (big.cap - 1))
        if (big.addr[i] == (uintptr_t)p) {
            l = big.len[i];
            big_remove_at(i);
            break;
        }
    pthread_mutex_unlock(&big.lock);
    return l;
}

/* A spare mapping of exactly len bytes, zeroed, or NULL.  Reusing one
 * costs a memset; a fresh mapping costs a page fault per page and an
 * munmap with its TLB flush, for every connection. */
static void *big_reuse(size_t len)
{
    void *p = NULL;
    pthread_mutex_lock(&big.lock);
    for (size_t i = big.nspare; p == NULL && i-- > 0;)
        if (big.spare_len[i] == len) {
            p = big.spare[i];
            big.nspare--;
            big.spare[i] = big.spare[big.nspare];
            big.spare_len[i] = big.spare_len[big.nspare];
        }
    pthread_mutex_unlock(&big.lock);
    if (p != NULL)
        memset(p, 0, len);
    return p;
}

/* Keeps a freed mapping for reuse; false when there are enough. */
static bool big_keep(void *p, size_t len)
{
    pthread_mutex_lock(&big.lock);
    bool kept = big.nspare < BIG_SPARE;
    if (kept) {
        big.spare[big.nspare] = p;
        big.spare_len[big.nspare++] = len;
    }
    pthread_mutex_unlock(&big.lock);
    return kept;
}

/* Small objects come from malloc as usual; record buffers are mappings
 * (a spare one, or fresh pages, zero already). */
static void *tls_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    size_t len = n * size;
    if (len < TLS_LIB_BIG)
        return calloc(n, size);
    size_t page = tls_page(), rounded = (len + page - 1) & ~(page - 1);
    void *p = big_reuse(rounded);
    if (p == NULL)
        p = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (big_put(p, rounded) < 0) {
        munmap(p, rounded);
        return NULL;
    }
    return p;
}

/* Only a page-aligned pointer may be one of the mappings (malloc's rarely
 * are), so only those are looked up; the table tells. */
static void tls_free(void *p)
{
    size_t l = 0;
    if (p != NULL && ((uintptr_t)p & (tls_page() - 1)) == 0)
        l = big_take(p);
    if (l > 0 && !big_keep(p, l))
        munmap(p, l);
    else if (l == 0)
        free(p);
}

void tls_lib_release(void *p, size_t len)
{
    size_t page = tls_page();
    uintptr_t start = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = (uintptr_t)p + len;
    /* A big buffer owns its last partial page too (see tls_calloc). */
    if (len >= TLS_LIB_BIG && (uintptr_t)p % page == 0)
        end = (end + page - 1) & ~(uintptr_t)(page - 1);
    else
        end &= ~(uintptr_t)(page - 1);
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_DONTNEED);
}

static int tls_seed(const char *who, char *err, size_t errlen)
{
    char pers[64];
    int n = snprintf(pers, sizeof(pers), "turnpike %s %ld", who, (long)getpid());
    mbedtls_entropy_init(&lib.entropy);
    mbedtls_ctr_drbg_init(&lib.drbg);
    int rc = mbedtls_ctr_drbg_seed(&lib.drbg, mbedtls_entropy_func, &lib.entropy,
                                   (const unsigned char *)pers, (size_t)n);
    if (rc != 0) {
        char why[128];
        tls_strerror(rc, why, sizeof(why));
        snprintf(err, errlen, "cannot seed the TLS random generator: %s", why);
        return -1;
    }
    lib.seeded = true;
    return 0;
}

/* A thread that went SCHED_IDLE may return to SCHED_OTHER only within
 * RLIMIT_NICE (nice 0 needs 20) or as root; the master, still root, lets
 * its workers (which will not be) do that. */
static void tls_allow_idle(void)
{
    struct rlimit rl;
    if (geteuid() == 0 && getrlimit(RLIMIT_NICE, &rl) == 0 && rl.rlim_max < 20) {
        rl.rlim_cur = rl.rlim_max = 20;
        (void)setrlimit(RLIMIT_NICE, &rl);
    }
}

int tls_lib_init(char *err, size_t errlen)
{
    if (lib.seeded)
        return 0;
    mbedtls_platform_set_calloc_free(tls_calloc, tls_free);
    tls_allow_idle();
    return tls_seed("master", err, errlen);
}

bool tls_lib_idle_jobs(void)
{
    return lib.idle_ok;
}

static void tls_unseed(void)
{
    if (!lib.seeded)
        return;
    mbedtls_ctr_drbg_free(&lib.drbg);
    mbedtls_entropy_free(&lib.entropy);
    lib.seeded = false;
}

int tls_lib_fork(char *err, size_t errlen)
{
    /* Every module using TLS calls it; the first call in a process does it. */
    if (lib.forked == getpid() && lib.psa)
        return 0;
    tls_unseed();
    if (lib.psa)
        mbedtls_psa_crypto_free();
    mbedtls_platform_set_calloc_free(tls_calloc, tls_free);
    if (tls_seed("worker", err, errlen) < 0)
        return -1;
    psa_status_t st = psa_crypto_init();
    if (st != PSA_SUCCESS) {
        snprintf(err, errlen, "psa_crypto_init() failed (%d)", (int)st);
        return -1;
    }
    lib.psa = true;
    lib.forked = getpid();
    struct rlimit rl;
    lib.idle_ok = geteuid() == 0 || (getrlimit(RLIMIT_NICE, &rl) == 0 && rl.rlim_cur >= 20);
    return 0;
}

void tls_lib_stop(void)
{
    tls_unseed();
    if (lib.psa)
        mbedtls_psa_crypto_free();
    lib.psa = false;
    lib.forked = 0;
}

int tls_rng(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    while (len > 0) {
        size_t n = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        int rc = mbedtls_ctr_drbg_random(&lib.drbg, out, n);
        if (rc != 0)
            return rc;
        out += n;
        len -= n;
    }
    return 0;
}

void tls_strerror(int rc, char *buf, size_t len)
{
    mbedtls_strerror(rc, buf, len);
}

const char *tls_lib_version(void)
{
    return "mbed TLS " MBEDTLS_VERSION_STRING;
}

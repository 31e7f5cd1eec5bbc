/* tls_lib.h - what the TLS library keeps per process: its allocator, the
 * process's random generator, PSA crypto, and error text.
 *
 * The master calls tls_lib_init before it loads a key.  Every worker calls
 * tls_lib_fork right after fork: a fresh DRBG seeded from the kernel and a
 * fresh PSA (TLS 1.3's key shares come from PSA's own generator), so no two
 * processes ever continue one random state. */
#ifndef TP_TLS_LIB_H
#define TP_TLS_LIB_H

#include <stdbool.h>
#include <stddef.h>

/* Allocations at least this big (the record buffers) get pages of their
 * own, so that tls_lib_release can hand them back. */
#define TLS_LIB_BIG 16384

/* Installs the allocator and seeds this process's generator; idempotent.
 * -1 with the reason in err. */
int tls_lib_init(char *err, size_t errlen);

/* In a new worker: reseeds from the kernel and restarts PSA (once per
 * process: later calls in the same process do nothing). */
int tls_lib_fork(char *err, size_t errlen);

/* Whether handshake jobs may run at SCHED_IDLE (the thread can return to
 * SCHED_OTHER after: root, or RLIMIT_NICE as the master set it). */
bool tls_lib_idle_jobs(void);

/* Before the process exits: frees what init and fork made. */
void tls_lib_stop(void);

/* The library's RNG callback shape: this process's generator. */
int tls_rng(void *unused, unsigned char *out, size_t len);

/* The library's text for an error code ("X509 - ..."). */
void tls_strerror(int rc, char *buf, size_t len);

/* Gives the whole pages inside [p, p + len) back to the kernel; they read
 * as zeros afterwards.  The caller guarantees nothing there is needed. */
void tls_lib_release(void *p, size_t len);

/* "mbed TLS 3.6.6", for -V. */
const char *tls_lib_version(void);

#endif

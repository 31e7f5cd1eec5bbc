/* tls_cache.h - the shared session cache (ssl_session_cache shared:NAME:SIZE).
 *
 * TLS 1.2 clients that do not use tickets resume by session ID.  The cache
 * lives in shared memory that the master maps before forking, so a session
 * made by one worker resumes on any other, and a zone whose name and size
 * survive a reload keeps its sessions.  Entries are fixed-size slots in
 * 4-way sets chosen by a hash of the session ID; the oldest of a set goes
 * first.  A process-shared robust mutex guards the zone, so a worker that
 * dies holding it cannot wedge the others. */
#ifndef TP_TLS_CACHE_H
#define TP_TLS_CACHE_H

#include <stddef.h>

#include <mbedtls/ssl.h>

struct tls_cache;

/* Bytes of a serialized session an entry holds; larger ones (a session
 * keeping a client certificate) are not cached. */
#define TLS_CACHE_DATA 448

/* The zone `name` of `size` bytes, made or found in this process's
 * registry, with one more reference; NULL with the reason in err. */
struct tls_cache *tls_cache_attach(const char *name, size_t size, char *err, size_t errlen);

/* Drops a reference; the last one unmaps the zone. */
void tls_cache_detach(void *zone);

/* Its name and size, for conflicts between directives. */
const char *tls_cache_name(const struct tls_cache *z);
size_t tls_cache_size(const struct tls_cache *z);

/* The library's callbacks; data is a struct tls_cache_use. */
int tls_cache_get(void *data, const unsigned char *id, size_t id_len, mbedtls_ssl_session *session);
int tls_cache_set(void *data, const unsigned char *id, size_t id_len,
                  const mbedtls_ssl_session *session);

#endif

/* digest.h - the message digests the password formats nginx reads need
 * ({SHA}, {SSHA}, $apr1$), over mbedTLS.  Every mbedTLS call is in
 * src/tls/; this header keeps its types out of the callers. */
#ifndef TP_TLS_DIGEST_H
#define TP_TLS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

#define DIGEST_MD5_LEN 16
#define DIGEST_SHA1_LEN 20

/* The digest of parts[0] .. parts[n - 1] one after another.  Thread-safe:
 * the pool's hashing jobs call them. */
void digest_md5(const struct str *parts, size_t n, uint8_t out[DIGEST_MD5_LEN]);
void digest_sha1(const struct str *parts, size_t n, uint8_t out[DIGEST_SHA1_LEN]);

#endif

/* digest.c - MD5 and SHA-1 over mbedTLS (see digest.h). */
#include "tls/digest.h"

#include <mbedtls/md5.h>
#include <mbedtls/sha1.h>

/* The calls cannot fail for in-memory data with these contexts (mbedTLS
 * returns errors only for hardware accelerators), so they return nothing. */
void digest_md5(const struct str *parts, size_t n, uint8_t out[DIGEST_MD5_LEN])
{
    mbedtls_md5_context ctx;
    mbedtls_md5_init(&ctx);
    (void)mbedtls_md5_starts(&ctx);
    for (size_t i = 0; i < n; i++)
        (void)mbedtls_md5_update(&ctx, (const unsigned char *)parts[i].p, parts[i].len);
    (void)mbedtls_md5_finish(&ctx, out);
    mbedtls_md5_free(&ctx);
}

void digest_sha1(const struct str *parts, size_t n, uint8_t out[DIGEST_SHA1_LEN])
{
    mbedtls_sha1_context ctx;
    mbedtls_sha1_init(&ctx);
    (void)mbedtls_sha1_starts(&ctx);
    for (size_t i = 0; i < n; i++)
        (void)mbedtls_sha1_update(&ctx, (const unsigned char *)parts[i].p, parts[i].len);
    (void)mbedtls_sha1_finish(&ctx, out);
    mbedtls_sha1_free(&ctx);
}

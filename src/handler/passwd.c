/* passwd.c - password hashes nginx reads (see passwd.h).  As nginx does,
 * each check computes the hash of the given password with the stored
 * one's salt and compares the two strings. */
#include "handler/passwd.h"

#include <crypt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "tls/digest.h"

#define APR1_MAGIC "$apr1$"
#define APR1_MAGIC_LEN 6

/* Equal byte strings, in time that depends on their lengths only. */
static bool passwd_equal_n(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static bool passwd_equal(const char *a, const char *b)
{
    return passwd_equal_n(a, strlen(a), b, strlen(b));
}

/* ---- $apr1$ ------------------------------------------------------------------ */

static char *passwd_to64(char *p, uint32_t v, int n)
{
    static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    while (n-- > 0) {
        *p++ = itoa64[v & 0x3f];
        v >>= 6;
    }
    return p;
}

/* The first digest: password, magic, salt, then the digest of password,
 * salt and password again for as many bytes as the password has, then a
 * byte for each bit of the password's length (a zero byte for a 1 bit,
 * the password's first byte for a 0 bit). */
static void passwd_apr1_start(struct str key, struct str salt, uint8_t fin[16])
{
    size_t nparts = 0, cap = 3 + key.len / 16 + 1 + 8 * sizeof(size_t);
    struct str *parts = calloc(cap, sizeof(*parts));
    struct str inner[] = {key, salt, key};
    if (parts == NULL) {
        memset(fin, 0, 16);
        return;
    }
    digest_md5(inner, 3, fin);
    parts[nparts++] = key;
    parts[nparts++] = STR_LIT(APR1_MAGIC);
    parts[nparts++] = salt;
    for (size_t n = key.len; n > 0; n -= n > 16 ? 16 : n)
        parts[nparts++] = str_make((const char *)fin, n > 16 ? 16 : n);
    for (size_t i = key.len; i != 0; i >>= 1)
        parts[nparts++] = (i & 1) ? str_make("", 1) : str_make(key.p, 1);
    digest_md5(parts, nparts, fin);
    free(parts);
}

void passwd_apr1(const char *password, size_t len, const char *setting, char *out)
{
    struct str key = str_make(password, len);
    const char *salt = setting + APR1_MAGIC_LEN;
    size_t saltlen = 0;
    uint8_t f[16];
    while (saltlen < 8 && salt[saltlen] != '\0' && salt[saltlen] != '$')
        saltlen++;
    struct str s = str_make(salt, saltlen), fin = str_make((const char *)f, 16);
    passwd_apr1_start(key, s, f);
    for (int i = 0; i < 1000; i++) {
        struct str parts[4];
        size_t n = 0;
        parts[n++] = (i & 1) ? key : fin;
        if (i % 3)
            parts[n++] = s;
        if (i % 7)
            parts[n++] = key;
        parts[n++] = (i & 1) ? fin : key;
        digest_md5(parts, n, f);
    }
    memcpy(out, APR1_MAGIC, APR1_MAGIC_LEN);
    memcpy(out + APR1_MAGIC_LEN, salt, saltlen);
    char *p = out + APR1_MAGIC_LEN + saltlen;
    *p++ = '$';
    p = passwd_to64(p, (uint32_t)f[0] << 16 | (uint32_t)f[6] << 8 | f[12], 4);
    p = passwd_to64(p, (uint32_t)f[1] << 16 | (uint32_t)f[7] << 8 | f[13], 4);
    p = passwd_to64(p, (uint32_t)f[2] << 16 | (uint32_t)f[8] << 8 | f[14], 4);
    p = passwd_to64(p, (uint32_t)f[3] << 16 | (uint32_t)f[9] << 8 | f[15], 4);
    p = passwd_to64(p, (uint32_t)f[4] << 16 | (uint32_t)f[10] << 8 | f[5], 4);
    p = passwd_to64(p, f[11], 2);
    *p = '\0';
}

/* ---- {SHA}, {SSHA} ---------------------------------------------------------------- */

/* {SHA} base64(SHA1(password)); {SSHA} base64(SHA1(password salt) salt),
 * the salt being what the stored hash decodes to after 20 bytes. */
static enum passwd_rc passwd_sha(struct str key, const char *stored, bool salted)
{
    const char *b64 = stored + (salted ? 6 : 5);
    size_t len = strlen(b64);
    unsigned char *raw = malloc(BASE64_DECODED_MAX(len) + DIGEST_SHA1_LEN);
    char *text = malloc(6 + BASE64_ENCODED_LEN(BASE64_DECODED_MAX(len) + DIGEST_SHA1_LEN) + 1);
    long n = raw != NULL && salted ? base64_decode(b64, len, raw) : 0;
    enum passwd_rc rc = PASSWD_MISMATCH;
    if (raw == NULL || text == NULL) {
        rc = PASSWD_ERROR;
    } else if (n >= (salted ? DIGEST_SHA1_LEN : 0)) {
        size_t saltlen = salted ? (size_t)n - DIGEST_SHA1_LEN : 0;
        struct str parts[] = {key, str_make((const char *)raw + DIGEST_SHA1_LEN, saltlen)};
        digest_sha1(parts, 2, raw);
        size_t head = salted ? 6 : 5;
        memcpy(text, stored, head);
        text[head + base64_encode(raw, DIGEST_SHA1_LEN + saltlen, text + head)] = '\0';
        rc = passwd_equal(text, stored) ? PASSWD_MATCH : PASSWD_MISMATCH;
    }
    free(raw);
    free(text);
    return rc;
}

/* ---- crypt(3) --------------------------------------------------------------------- */

/* libcrypt's reentrant crypt: its state is large, so it is allocated, and
 * cleared afterwards since it held the password. */
static enum passwd_rc passwd_crypt(const char *key, const char *stored)
{
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return PASSWD_ERROR;
    const char *hash = crypt_r(key, stored, cd);
    enum passwd_rc rc = hash != NULL && passwd_equal(hash, stored) ? PASSWD_MATCH : PASSWD_MISMATCH;
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return rc;
}

enum passwd_rc passwd_check(const char *password, size_t len, const char *stored)
{
    /* nginx takes the password as a C string: up to a NUL */
    const char *nul = memchr(password, '\0', len);
    struct str key = str_make(password, nul != NULL ? (size_t)(nul - password) : len);
    if (strncmp(stored, APR1_MAGIC, APR1_MAGIC_LEN) == 0) {
        char out[APR1_MAGIC_LEN + 8 + 1 + 22 + 1];
        passwd_apr1(key.p, key.len, stored, out);
        return passwd_equal(out, stored) ? PASSWD_MATCH : PASSWD_MISMATCH;
    }
    if (strncmp(stored, "{PLAIN}", 7) == 0)
        return passwd_equal_n(stored + 7, strlen(stored + 7), key.p, key.len) ? PASSWD_MATCH
                                                                              : PASSWD_MISMATCH;
    if (strncmp(stored, "{SSHA}", 6) == 0 || strncmp(stored, "{SHA}", 5) == 0)
        return passwd_sha(key, stored, stored[1] == 'S' && stored[2] == 'S');
    char *copy = strndup(key.p, key.len);
    if (copy == NULL)
        return PASSWD_ERROR;
    enum passwd_rc rc = passwd_crypt(copy, stored);
    explicit_bzero(copy, key.len);
    free(copy);
    return rc;
}

/* tls_ceiling.c - what mbedTLS can do on one core, for bench/run: the
 * ceiling that turnpike's full handshakes per second are held against.
 *
 *   tls_ceiling KEY.pem SECONDS
 *
 * Runs, each for SECONDS on the CPU it is pinned to:
 *   crypto13  the server's asymmetric crypto of a TLS 1.3 full handshake,
 *             as the library does it: an ECDSA P-256 signature (the key's,
 *             deterministic) and an X25519 key share through PSA (generate,
 *             export, agree);
 *   crypto12  the same for TLS 1.2 ECDHE-ECDSA: the signature and X25519
 *             through the classic ECDH module (TLS 1.2 does not use PSA here).
 * and prints "name=ops_per_second" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <psa/crypto.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "tls_ceiling: %s failed (%d)\n", what, rc);
    exit(1);
}

static void sign(mbedtls_pk_context *key, unsigned n)
{
    unsigned char hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t len;
    memset(hash, (int)n, sizeof(hash));
    int rc = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sizeof(sig), &len,
                             mbedtls_ctr_drbg_random, &drbg);
    if (rc != 0)
        die("mbedtls_pk_sign", rc);
}

/* A key share as TLS 1.3 makes it: PSA X25519, agreed with the peer's. */
static void x25519_psa(const unsigned char *peer, size_t peer_len)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
    psa_set_key_bits(&a, 255);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    psa_key_id_t k;
    unsigned char pub[32], shared[32];
    size_t n;
    if (psa_generate_key(&a, &k) != PSA_SUCCESS)
        die("psa_generate_key", 0);
    if (psa_export_public_key(k, pub, sizeof(pub), &n) != PSA_SUCCESS ||
        psa_raw_key_agreement(PSA_ALG_ECDH, k, peer, peer_len, shared, sizeof(shared), &n) !=
            PSA_SUCCESS)
        die("psa X25519", 0);
    psa_destroy_key(k);
}

/* The same through the classic module, as TLS 1.2's ECDHE does (the
 * peer's share is our own public value: the cost is the same). */
static void x25519_classic(void)
{
    mbedtls_ecdh_context e;
    unsigned char pub[64], secret[64];
    size_t n, m;
    mbedtls_ecdh_init(&e);
    if (mbedtls_ecdh_setup(&e, MBEDTLS_ECP_DP_CURVE25519) != 0 ||
        mbedtls_ecdh_make_public(&e, &n, pub, sizeof(pub), mbedtls_ctr_drbg_random, &drbg) != 0)
        die("ecdh make_public", 0);
    if (mbedtls_ecdh_read_public(&e, pub, n) != 0 ||
        mbedtls_ecdh_calc_secret(&e, &m, secret, sizeof(secret), mbedtls_ctr_drbg_random,
                                 &drbg) != 0)
        die("ecdh calc_secret", 0);
    mbedtls_ecdh_free(&e);
}

static double run(const char *name, double seconds, void (*step)(unsigned, void *), void *arg)
{
    unsigned n = 0;
    double start = now(), end = start + seconds;
    while (now() < end)
        step(n++, arg);
    double rate = n / (now() - start);
    printf("%s=%.1f\n", name, rate);
    fflush(stdout);
    return rate;
}

static unsigned char peer_pub[32];

static void step13(unsigned n, void *key)
{
    sign(key, n);
    x25519_psa(peer_pub, sizeof(peer_pub));
}

static void step12(unsigned n, void *key)
{
    sign(key, n);
    x25519_classic();
}

static void make_peer(void)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY));
    psa_set_key_bits(&a, 255);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    psa_key_id_t k;
    size_t n;
    if (psa_generate_key(&a, &k) != PSA_SUCCESS ||
        psa_export_public_key(k, peer_pub, sizeof(peer_pub), &n) != PSA_SUCCESS)
        die("the peer's key", 0);
    psa_destroy_key(k);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tls_ceiling KEY.pem SECONDS\n");
        return 2;
    }
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0 ||
        psa_crypto_init() != PSA_SUCCESS)
        die("seeding", 0);
    mbedtls_pk_context key;
    mbedtls_pk_init(&key);
    int rc = mbedtls_pk_parse_keyfile(&key, argv[1], NULL, mbedtls_ctr_drbg_random, &drbg);
    if (rc != 0)
        die("mbedtls_pk_parse_keyfile", rc);
    make_peer();
    double seconds = atof(argv[2]);
    run("crypto13", seconds, step13, &key);
    run("crypto12", seconds, step12, &key);
    mbedtls_pk_free(&key);
    return 0;
}

/* tls_ceiling.c - what mbedTLS can do on one core, for bench/run: the
 * ceiling that turnpike's full handshakes per second are held against.
 *
 *   tls_ceiling KEY.pem SECONDS [parts]
 *
 * Runs, each for SECONDS on the CPU it is pinned to:
 *   crypto13  the server's asymmetric crypto of a TLS 1.3 full handshake,
 *             as the library does it: an ECDSA P-256 signature (the key's,
 *             deterministic) and an X25519 key share through PSA (generate,
 *             export, agree);
 *   crypto12  the same for TLS 1.2 ECDHE-ECDSA: the signature and X25519
 *             through the classic ECDH module (TLS 1.2 does not use PSA here).
 * and prints "name=ops_per_second" lines.  With "parts", also each piece
 * alone: sign (the ECDSA signature), x25519_share and p256_share (generate
 * a PSA key and export its public value: a TLS 1.3 key share),
 * x25519_agree and p256_agree (the agreement with the peer's share). */
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

/* ---- the pieces alone ("parts") ---- */

struct part_key {
    psa_key_type_t type;
    size_t bits;
    psa_key_id_t ours;
    unsigned char peer[65];
    size_t peer_len;
};

static psa_key_id_t part_generate(const struct part_key *k, unsigned char *pub, size_t cap,
                                  size_t *len)
{
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&a, k->type);
    psa_set_key_bits(&a, k->bits);
    psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&a, PSA_ALG_ECDH);
    psa_key_id_t id;
    if (psa_generate_key(&a, &id) != PSA_SUCCESS ||
        psa_export_public_key(id, pub, cap, len) != PSA_SUCCESS)
        die("psa key share", 0);
    return id;
}

static void part_share(unsigned n, void *arg)
{
    unsigned char pub[65];
    size_t len;
    (void)n;
    psa_destroy_key(part_generate(arg, pub, sizeof(pub), &len));
}

static void part_agree(unsigned n, void *arg)
{
    struct part_key *k = arg;
    unsigned char shared[66];
    size_t len;
    (void)n;
    if (psa_raw_key_agreement(PSA_ALG_ECDH, k->ours, k->peer, k->peer_len, shared,
                              sizeof(shared), &len) != PSA_SUCCESS)
        die("psa agreement", 0);
}

static void part_sign(unsigned n, void *key)
{
    sign(key, n);
}

static void run_parts(double seconds, mbedtls_pk_context *key)
{
    struct part_key keys[] = {
        {PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY), 255, 0, {0}, 0},
        {PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256, 0, {0}, 0},
    };
    const char *names[][2] = {{"x25519_share", "x25519_agree"}, {"p256_share", "p256_agree"}};
    run("sign", seconds, part_sign, key);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        unsigned char pub[65];
        size_t len;
        psa_destroy_key(part_generate(&keys[i], keys[i].peer, sizeof(keys[i].peer),
                                      &keys[i].peer_len));
        keys[i].ours = part_generate(&keys[i], pub, sizeof(pub), &len);
        run(names[i][0], seconds, part_share, &keys[i]);
        run(names[i][1], seconds, part_agree, &keys[i]);
        psa_destroy_key(keys[i].ours);
    }
}

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
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "parts") == 0)) {
        fprintf(stderr, "usage: tls_ceiling KEY.pem SECONDS [parts]\n");
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
    if (argc == 4)
        run_parts(seconds, &key);
    mbedtls_pk_free(&key);
    return 0;
}

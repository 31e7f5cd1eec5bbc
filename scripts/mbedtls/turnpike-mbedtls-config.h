/*
 * mbedTLS 3.6 configuration for turnpike.
 *
 * scripts/install-deps builds the library with this file in place of
 * upstream's include/mbedtls/mbedtls_config.h, and so installs it as the
 * prefix's mbedtls_config.h: turnpike compiles against exactly the options
 * the archives were built with (several of them change struct layouts).
 * It replaces the upstream default whole: anything not defined here is off.
 * Changing this file changes its hash, and the next scripts/install-deps
 * rebuilds the library.
 *
 * What is on, and why:
 *   - a TLS 1.2 and TLS 1.3 server (and client: TLS to upstreams, and the
 *     library's own TLS tests) with forward-secret key exchanges only, resumption through tickets
 *     and a session cache, SNI, ALPN and client certificates;
 *   - AES-GCM and ChaCha20-Poly1305, plus AES-CBC for TLS 1.2 clients
 *     that lack AEAD suites and for encrypted PEM keys;
 *   - X25519, P-256, P-384 and P-521; RSA (PKCS#1 v1.5 and PSS) and ECDSA;
 *   - X.509 certificates and CRLs, PEM and DER keys;
 *   - threads: handshake steps run on pool threads, and the ticket keys,
 *     the session cache and the RNG are shared between them;
 *   - the platform allocator hook, for page-aligned record buffers.
 * Off: DTLS, renegotiation, static-RSA and PSK key exchanges, 0-RTT,
 * ciphers and modes no TLS peer of ours needs (DES, CAMELLIA, ARIA, CCM,
 * CMAC, CFB/OFB/CTR/XTS), SHA-224, SHA-3 and RIPEMD-160, other curves,
 * PKCS#7/#12, writing certificates and CSRs, the debug module, the
 * library's own sockets and timers, and PSA key storage.
 */
#ifndef TURNPIKE_MBEDTLS_CONFIG_H
#define TURNPIKE_MBEDTLS_CONFIG_H

/* The config format this file is written for; the library checks it. */
#define MBEDTLS_CONFIG_VERSION 0x03000000

/* ---- Platform --------------------------------------------------------- */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
/* Certificate validity dates and ticket lifetimes need the wall clock. */
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
/* turnpike's allocator gives record buffers whole pages of their own, so
 * an idle TLS connection can hand those pages back to the kernel
 * (madvise) and cost a few hundred bytes instead of 33 KB. */
#define MBEDTLS_PLATFORM_MEMORY
/* mbedtls_x509_crt_parse_file() and friends load ssl_certificate etc. */
#define MBEDTLS_FS_IO
/* Handshakes run on pool threads; ticket keys, cache and RNG are shared. */
#define MBEDTLS_THREADING_C
#define MBEDTLS_THREADING_PTHREAD
/* mbedtls_strerror() gives the error log a reason, not just a number. */
#define MBEDTLS_ERROR_C
/* mbedtls_version_get_string() reports the library actually linked. */
#define MBEDTLS_VERSION_C

/* ---- Randomness ------------------------------------------------------- */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
/* Deterministic ECDSA (RFC 6979) so a weak RNG cannot leak the key. */
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_ECDSA_DETERMINISTIC

/* ---- Symmetric ciphers ------------------------------------------------ */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_AES_C
/* AES-NI where the CPU has it; the portable code stays as a fallback. */
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
/* CBC suites for TLS 1.2 clients without AEAD, and encrypted PEM keys. */
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_PADDING_PKCS7

/* ---- Hashes and KDFs -------------------------------------------------- */
#define MBEDTLS_MD_C
/* MD5 and SHA-1: {SHA} password hashes, fingerprints, old certificates. */
#define MBEDTLS_MD5_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C
/* PBKDF2, for PKCS#8 private keys encrypted with a password. */
#define MBEDTLS_PKCS5_C

/* ---- Public key ------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
/* PSS: TLS 1.3 signs with rsa_pss_rsae_* even with plain RSA keys. */
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
/* P-521: some CAs sign with it; the library's TLS tests assume it too. */
#define MBEDTLS_ECP_DP_SECP521R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
/* X25519 through Project Everest's formally verified HACL* code (the
 * library's 3rdparty/everest, built as libeverest.a) instead of the generic
 * bignum ladder: an ECDHE share is computed in 75 us instead of 440 us on
 * the bench machine.  TLS 1.2's ECDHE (the classic ECDH module) uses it for
 * both the key and the secret; TLS 1.3 (PSA) for the secret. */
#define MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
/* Finite-field DHE for the DHE-RSA suites and ssl_dhparam. */
#define MBEDTLS_DHM_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C

/* ---- Encodings and X.509 ---------------------------------------------- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
/* PEM output: $ssl_client_cert is the client certificate in PEM. */
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
/* ssl_crl. */
#define MBEDTLS_X509_CRL_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT

/* ---- PSA crypto ------------------------------------------------------- */
/* TLS 1.3 in 3.6 does all its crypto through PSA, so the process must call
 * psa_crypto_init() before the first handshake.  MBEDTLS_USE_PSA_CRYPTO
 * stays off: TLS 1.2, X.509 and PK keep the classic code paths. */
#define MBEDTLS_PSA_CRYPTO_C
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC

/* ---- TLS -------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
/* The client side: TLS to upstreams, and the library's own TLS tests. */
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
/* Middleboxes drop TLS 1.3 handshakes that do not look like TLS 1.2 ones. */
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
/* Resumption in TLS 1.3 is a ticket PSK plus a fresh (EC)DHE. */
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
/* TLS 1.2 key exchanges: forward-secret ones only. */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_DHE_RSA_ENABLED
/* RFC 7627 and RFC 7366: without them TLS 1.2 resumption and CBC are weak. */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_TICKET_C
#define MBEDTLS_SSL_CACHE_C
/* mbedtls_ssl_context_save()/load(): a live connection's TLS state can be
 * written out and restored, e.g. to hand the connection to another process. */
#define MBEDTLS_SSL_CONTEXT_SERIALIZATION
/* $ssl_client_cert and friends read the peer certificate after the
 * handshake; TLS 1.3 requires it too. */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
/* Shrinks a connection's record buffers to the negotiated fragment size. */
#define MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT

#endif /* TURNPIKE_MBEDTLS_CONFIG_H */

/* tls_ticket.c - sealing and opening session tickets (see tls_ticket.h). */
#include "tls/tls_ticket.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "tls/tls_impl.h"
#include "tls/tls_lib.h"

#define TICKET_IV 12
#define TICKET_LEN 2
#define TICKET_TAG 16
#define TICKET_AAD (TLS_TKEY_NAME + TICKET_IV + TICKET_LEN)
#define TICKET_MIN (TICKET_AAD + TICKET_TAG)

static void put_be(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint32_t get_be(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

/* The master's secret behind rotating keys: drawn once, inherited by every
 * worker of every generation. */
static unsigned char ticket_secret[32];
static bool ticket_secret_set;

/* One lock for every ticket key of the process: contexts share the keys of
 * ssl_session_ticket_key files, and a key schedule in use must not be
 * touched by another thread.  Sealing takes microseconds. */
static pthread_mutex_t ticket_lock = PTHREAD_MUTEX_INITIALIZER;

static int tls_tkey_set(struct tls_tkey *k, const unsigned char *okm)
{
    memcpy(k->name, okm, TLS_TKEY_NAME);
    if (!k->set)
        mbedtls_gcm_init(&k->gcm);
    k->set = true;
    return mbedtls_gcm_setkey(&k->gcm, MBEDTLS_CIPHER_ID_AES, okm + TLS_TKEY_NAME, 256);
}

static int tls_tkey_derive(struct tls_tkey *k, const unsigned char *salt, size_t saltlen,
                           const unsigned char *ikm, size_t ikmlen, const char *info,
                           size_t infolen)
{
    unsigned char okm[TLS_TKEY_NAME + 32];
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    int rc = mbedtls_hkdf(md, salt, saltlen, ikm, ikmlen, (const unsigned char *)info, infolen, okm,
                          sizeof(okm));
    if (rc == 0)
        rc = tls_tkey_set(k, okm);
    mbedtls_platform_zeroize(okm, sizeof(okm));
    return rc;
}

int tls_tkey_from_file(struct tls_tkey *k, const unsigned char *data, size_t len)
{
    static const char info[] = "turnpike ticket key file";
    int rc = tls_tkey_derive(k, NULL, 0, data + TLS_TKEY_NAME, len - TLS_TKEY_NAME, info,
                             sizeof(info) - 1);
    /* The operator's name stays the name, as in nginx. */
    memcpy(k->name, data, TLS_TKEY_NAME);
    return rc == 0 ? 0 : -1;
}

void tls_tkey_free(struct tls_tkey *k)
{
    if (k->set)
        mbedtls_gcm_free(&k->gcm);
    k->set = false;
}

/* ---- rotation ---------------------------------------------------------------- */

static int64_t tls_ticket_slot(const struct tls_tickets *t, time_t now)
{
    return (int64_t)now / (int64_t)t->lifetime;
}

static int tls_rot_derive(struct tls_tickets *t, struct tls_tkey *k, int64_t slot)
{
    char info[48];
    int n = snprintf(info, sizeof(info), "turnpike ticket %lld", (long long)slot);
    return tls_tkey_derive(k, t->salt, sizeof(t->salt), ticket_secret, sizeof(ticket_secret), info,
                           (size_t)n);
}

/* Brings the rotating keys to the current slot (under the lock). */
static int tls_ticket_rotate(struct tls_tickets *t)
{
    int64_t slot = tls_ticket_slot(t, time(NULL));
    if (t->nfixed > 0 || slot == t->slot)
        return 0;
    for (int i = 0; i < 3; i++)
        if (tls_rot_derive(t, &t->rot[i], slot - 1 + i) != 0)
            return -1;
    t->slot = slot;
    return 0;
}

static struct tls_tkey *tls_ticket_sealer(struct tls_tickets *t)
{
    return t->nfixed > 0 ? t->fixed[0] : &t->rot[1];
}

static struct tls_tkey *tls_ticket_opener(struct tls_tickets *t, const unsigned char *name)
{
    size_t n = t->nfixed > 0 ? t->nfixed : 3;
    for (size_t i = 0; i < n; i++) {
        struct tls_tkey *k = t->nfixed > 0 ? t->fixed[i] : &t->rot[i];
        if (memcmp(k->name, name, TLS_TKEY_NAME) == 0)
            return k;
    }
    return NULL;
}

/* ---- the contexts' keys ------------------------------------------------------ */

struct tls_tickets *tls_tickets_new(struct tls_tkey **fixed, size_t nfixed, uint32_t lifetime,
                                    const char *id, char *err, size_t errlen)
{
    struct tls_tickets *t = calloc(1, sizeof(*t));
    if (t == NULL || (!ticket_secret_set && tls_rng(NULL, ticket_secret, 32) != 0)) {
        snprintf(err, errlen, "cannot make session ticket keys");
        free(t);
        return NULL;
    }
    ticket_secret_set = true;
    t->lifetime = lifetime > 0 ? lifetime : 1;
    t->fixed = fixed;
    t->nfixed = nfixed;
    t->slot = INT64_MIN;
    mbedtls_sha256((const unsigned char *)id, strlen(id), t->salt, 0);
    return t;
}

void tls_tickets_free(void *tickets)
{
    struct tls_tickets *t = tickets;
    for (int i = 0; i < 3; i++)
        tls_tkey_free(&t->rot[i]);
    free(t);
}

/* ---- the library's callbacks ------------------------------------------------- */

static int tls_ticket_seal(struct tls_tickets *t, unsigned char *start, size_t clear)
{
    struct tls_tkey *k = tls_ticket_sealer(t);
    unsigned char *iv = start + TLS_TKEY_NAME, *state = start + TICKET_AAD;
    memcpy(start, k->name, TLS_TKEY_NAME);
    put_be(start + TLS_TKEY_NAME + TICKET_IV, (uint32_t)clear, 2);
    return mbedtls_gcm_crypt_and_tag(&k->gcm, MBEDTLS_GCM_ENCRYPT, clear, iv, TICKET_IV, start,
                                     TICKET_AAD, state, state, TICKET_TAG, state + clear);
}

/* The library saves a TLS 1.3 session without the client's certificate,
 * and resuming would lose it: such tickets carry it, and the check's
 * result, after the session.  Plaintext: session length (2) | session |
 * [verify result (4) | certificate length (3) | DER]. */
static int tls_ticket_put_peer(const mbedtls_ssl_session *session, unsigned char *p, size_t room,
                               size_t *len)
{
    const mbedtls_x509_crt *peer = NULL;
    uint32_t verify = 0;
    *len = 0;
    if (session->MBEDTLS_PRIVATE(tls_version) != MBEDTLS_SSL_VERSION_TLS1_3)
        return 0;
    tls_conn_ticket_peer(session, &peer, &verify);
    size_t n = peer != NULL ? peer->raw.len : 0;
    if (room < 7 + n || n > 0xFFFFFF)
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    put_be(p, verify, 4);
    put_be(p + 4, (uint32_t)n, 3);
    if (n > 0)
        memcpy(p + 7, peer->raw.p, n);
    *len = 7 + n;
    return 0;
}

/* The session and what follows it, at state; the plaintext's length. */
static int tls_ticket_plain(const mbedtls_ssl_session *session, unsigned char *state, size_t room,
                            size_t *clear)
{
    size_t slen = 0, extra = 0;
    if (room < 2)
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    int rc = mbedtls_ssl_session_save(session, state + 2, room - 2, &slen);
    if (rc == 0)
        rc = tls_ticket_put_peer(session, state + 2 + slen, room - 2 - slen, &extra);
    if (rc == 0 && (slen > 65535 || 2 + slen + extra > 65535))
        rc = MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    if (rc != 0)
        return rc;
    put_be(state, (uint32_t)slen, 2);
    *clear = 2 + slen + extra;
    return 0;
}

int tls_ticket_write(void *p_ticket, const mbedtls_ssl_session *session, unsigned char *start,
                     const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    struct tls_tickets *t = p_ticket;
    size_t room = (size_t)(end - start), clear = 0;
    *tlen = 0;
    if (room < TICKET_MIN)
        return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
    int rc = tls_ticket_plain(session, start + TICKET_AAD, room - TICKET_MIN, &clear);
    if (rc != 0)
        return rc;
    if ((rc = tls_rng(NULL, start + TLS_TKEY_NAME, TICKET_IV)) != 0)
        return rc;
    pthread_mutex_lock(&ticket_lock);
    rc = tls_ticket_rotate(t) < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR
                                  : tls_ticket_seal(t, start, clear);
    pthread_mutex_unlock(&ticket_lock);
    if (rc != 0)
        return rc;
    *tlen = TICKET_MIN + clear;
    *lifetime = t->lifetime;
    return 0;
}

/* Opens buf in place; MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED for a key
 * that has rotated out (or never was ours). */
static int tls_ticket_open(struct tls_tickets *t, unsigned char *buf, size_t enc)
{
    struct tls_tkey *k = tls_ticket_opener(t, buf);
    if (k == NULL)
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
    unsigned char *state = buf + TICKET_AAD;
    int rc = mbedtls_gcm_auth_decrypt(&k->gcm, enc, buf + TLS_TKEY_NAME, TICKET_IV, buf, TICKET_AAD,
                                      state + enc, TICKET_TAG, state, state);
    return rc == 0 ? 0 : MBEDTLS_ERR_SSL_INVALID_MAC;
}

/* The session, and a TLS 1.3 client certificate for the connection. */
static int tls_ticket_load(mbedtls_ssl_session *session, const unsigned char *p, size_t len)
{
    size_t slen = len >= 2 ? get_be(p, 2) : 0;
    if (len < 2 || slen > len - 2)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    int rc = mbedtls_ssl_session_load(session, p + 2, slen);
    const unsigned char *x = p + 2 + slen;
    size_t rest = len - 2 - slen;
    if (rc != 0 || rest < 7)
        return rc;
    size_t n = get_be(x + 4, 3);
    if (n != rest - 7)
        return MBEDTLS_ERR_SSL_INVALID_MAC;
    tls_conn_ticket_keep(get_be(x, 4), x + 7, n);
    return 0;
}

/* The session's age against ssl_session_timeout, as the library's own
 * ticket module checks it. */
static int tls_ticket_age_ok(const struct tls_tickets *t, mbedtls_ssl_session *session)
{
    mbedtls_ms_time_t made, age;
    if (mbedtls_ssl_session_get_ticket_creation_time(session, &made) != 0)
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
    age = mbedtls_ms_time() - made;
    if (age < 0 || age > (mbedtls_ms_time_t)t->lifetime * 1000)
        return MBEDTLS_ERR_SSL_SESSION_TICKET_EXPIRED;
    return 0;
}

int tls_ticket_parse(void *p_ticket, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
    struct tls_tickets *t = p_ticket;
    if (len < TICKET_MIN)
        return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    size_t enc = get_be(buf + TLS_TKEY_NAME + TICKET_IV, 2);
    if (len != TICKET_MIN + enc)
        return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
    pthread_mutex_lock(&ticket_lock);
    int rc =
        tls_ticket_rotate(t) < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : tls_ticket_open(t, buf, enc);
    pthread_mutex_unlock(&ticket_lock);
    if (rc == 0)
        rc = tls_ticket_load(session, buf + TICKET_AAD, enc);
    if (rc == 0)
        rc = tls_ticket_age_ok(t, session);
    return rc;
}

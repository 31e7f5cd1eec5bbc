/* tls_store.c - loading and owning a generation's TLS files. */
#include "tls/tls_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>

#include "core/log.h"
#include "tls/tls_cache.h"
#include "tls/tls_impl.h"
#include "tls/tls_lib.h"
#include "tls/tls_ticket.h"

struct tls_store *tls_store_new(void)
{
    char err[256];
    /* Parsing keys and checking pairs draw random numbers (blinding). */
    if (tls_lib_init(err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return NULL;
    }
    return calloc(1, sizeof(struct tls_store));
}

void tls_store_free(struct tls_store *st)
{
    if (st == NULL)
        return;
    while (st->items != NULL) {
        struct tls_item *it = st->items;
        st->items = it->next;
        it->free(it->obj);
        free(it);
    }
    free(st);
}

int tls_store_own(struct tls_store *st, void *obj, void (*free_fn)(void *obj))
{
    struct tls_item *it = malloc(sizeof(*it));
    if (it == NULL) {
        free_fn(obj);
        return -1;
    }
    *it = (struct tls_item){.obj = obj, .free = free_fn, .next = st->items};
    st->items = it;
    return 0;
}

void tls_load_err(char *err, size_t errlen, const char *what, const char *path, int rc)
{
    char why[160];
    tls_strerror(rc, why, sizeof(why));
    snprintf(err, errlen, "cannot load %s \"%s\" (%s)", what, path, why);
}

/* An unreadable file gets the system's reason, not the library's "file
 * I/O error". */
static int tls_readable(const char *what, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot load %s \"%s\": fopen() failed (%d: %s)", what, path, errno,
                 strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

/* ---- certificates ------------------------------------------------------- */

static void tls_chain_free(void *obj)
{
    struct tls_chain *c = obj;
    mbedtls_x509_crt_free(&c->crt);
    free(c);
}

static void tls_time_text(const mbedtls_x509_time *t, char *buf, size_t len)
{
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d UTC", t->year, t->mon, t->day, t->hour,
             t->min, t->sec);
}

/* nginx would serve it silently; a warning at load time saves an outage. */
static void tls_chain_check_dates(const struct tls_chain *c, const char *path, const char *where)
{
    char when[40];
    const mbedtls_x509_crt *crt = &c->crt;
    if (mbedtls_x509_time_is_past(&crt->valid_to)) {
        tls_time_text(&crt->valid_to, when, sizeof(when));
        log_msg(LL_WARN, 0, 0, "the certificate \"%s\" has expired (not after %s) in %s", path,
                when, where);
    } else if (mbedtls_x509_time_is_future(&crt->valid_from)) {
        tls_time_text(&crt->valid_from, when, sizeof(when));
        log_msg(LL_WARN, 0, 0, "the certificate \"%s\" is not yet valid (not before %s) in %s",
                path, when, where);
    }
}

struct tls_chain *tls_load_chain(struct tls_store *st, const char *path, const char *where,
                                 char *err, size_t errlen)
{
    if (tls_readable("certificate", path, err, errlen) < 0)
        return NULL;
    struct tls_chain *c = calloc(1, sizeof(*c));
    if (c == NULL || tls_store_own(st, c, tls_chain_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_x509_crt_init(&c->crt);
    int rc = mbedtls_x509_crt_parse_file(&c->crt, path);
    if (rc != 0) {
        tls_load_err(err, errlen, "certificate", path,
                     rc > 0 ? MBEDTLS_ERR_X509_INVALID_FORMAT : rc);
        return NULL;
    }
    tls_chain_check_dates(c, path, where);
    return c;
}

/* ---- keys ------------------------------------------------------------------ */

static void tls_key_free(void *obj)
{
    struct tls_key *k = obj;
    mbedtls_pk_free(&k->pk);
    free(k);
}

struct tls_key *tls_load_key(struct tls_store *st, const char *path, char *err, size_t errlen)
{
    if (tls_readable("certificate key", path, err, errlen) < 0)
        return NULL;
    struct tls_key *k = calloc(1, sizeof(*k));
    if (k == NULL || tls_store_own(st, k, tls_key_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_pk_init(&k->pk);
    int rc = mbedtls_pk_parse_keyfile(&k->pk, path, NULL, tls_rng, NULL);
    if (rc != 0) {
        tls_load_err(err, errlen, "certificate key", path, rc);
        return NULL;
    }
    return k;
}

int tls_key_matches(const struct tls_key *key, const struct tls_chain *chain, char *err,
                    size_t errlen)
{
    int rc = mbedtls_pk_check_pair(&chain->crt.pk, &key->pk, tls_rng, NULL);
    if (rc == 0)
        return 0;
    tls_strerror(rc, err, errlen);
    return -1;
}

/* ---- CRLs and DH parameters ------------------------------------------------ */

static void tls_crl_free(void *obj)
{
    struct tls_crl *c = obj;
    mbedtls_x509_crl_free(&c->crl);
    free(c);
}

struct tls_crl *tls_load_crl(struct tls_store *st, const char *path, char *err, size_t errlen)
{
    if (tls_readable("CRL", path, err, errlen) < 0)
        return NULL;
    struct tls_crl *c = calloc(1, sizeof(*c));
    if (c == NULL || tls_store_own(st, c, tls_crl_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_x509_crl_init(&c->crl);
    int rc = mbedtls_x509_crl_parse_file(&c->crl, path);
    if (rc != 0) {
        tls_load_err(err, errlen, "CRL", path, rc);
        return NULL;
    }
    return c;
}

static void tls_dh_free(void *obj)
{
    struct tls_dh *d = obj;
    mbedtls_dhm_free(&d->dhm);
    free(d);
}

struct tls_dh *tls_load_dh(struct tls_store *st, const char *path, char *err, size_t errlen)
{
    if (tls_readable("DH parameters", path, err, errlen) < 0)
        return NULL;
    struct tls_dh *d = calloc(1, sizeof(*d));
    if (d == NULL || tls_store_own(st, d, tls_dh_free) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mbedtls_dhm_init(&d->dhm);
    int rc = mbedtls_dhm_parse_dhmfile(&d->dhm, path);
    if (rc != 0) {
        tls_load_err(err, errlen, "DH parameters", path, rc);
        return NULL;
    }
    return d;
}

/* ---- ticket key files -------------------------------------------------------- */

static void tls_tkey_item_free(void *obj)
{
    tls_tkey_free(obj);
    free(obj);
}

/* nginx's formats: 48 bytes (name, HMAC key, AES-128 key) or 80 (name,
 * HMAC key, AES-256 key).  Only the length and the name keep their
 * meaning here: the sealing key is derived from all the rest. */
struct tls_tkey *tls_load_ticket_key(struct tls_store *st, const char *path, char *err,
                                     size_t errlen)
{
    unsigned char buf[81];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot load ticket key \"%s\": fopen() failed (%d: %s)", path, errno,
                 strerror(errno));
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n != 48 && n != 80) {
        snprintf(err, errlen, "\"%s\" must be 48 or 80 bytes", path);
        return NULL;
    }
    struct tls_tkey *k = calloc(1, sizeof(*k));
    if (k == NULL || tls_store_own(st, k, tls_tkey_item_free) < 0 ||
        tls_tkey_from_file(k, buf, n) < 0) {
        snprintf(err, errlen, "cannot set up ticket key \"%s\"", path);
        return NULL;
    }
    return k;
}

/* ---- shared caches ------------------------------------------------------------ */

static struct tls_cache *tls_store_find_cache(struct tls_store *st, const char *name)
{
    for (size_t i = 0; i < st->ncaches; i++)
        if (strcmp(tls_cache_name(st->caches[i]), name) == 0)
            return st->caches[i];
    return NULL;
}

struct tls_cache *tls_store_cache(struct tls_store *st, const char *name, size_t size, char *err,
                                  size_t errlen)
{
    struct tls_cache *z = tls_store_find_cache(st, name);
    if (z != NULL && tls_cache_size(z) != size) {
        snprintf(err, errlen,
                 "the size %zu of shared memory zone \"%s\" conflicts with already "
                 "declared size %zu",
                 size, name, tls_cache_size(z));
        return NULL;
    }
    if (z != NULL)
        return z;
    if (st->ncaches == TLS_STORE_CACHES) {
        snprintf(err, errlen, "too many session cache zones (at most %d)", TLS_STORE_CACHES);
        return NULL;
    }
    if ((z = tls_cache_attach(name, size, err, errlen)) == NULL)
        return NULL;
    if (tls_store_own(st, z, tls_cache_detach) < 0) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->caches[st->ncaches++] = z;
    return z;
}

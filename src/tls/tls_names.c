/* tls_names.c - OpenSSL's names for what ssl_protocols, ssl_ciphers and
 * ssl_ecdh_curve select, mapped to the library's numbers. */
#include "tls/tls_names.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>

/* What a suite is made of: OpenSSL's class keywords select by these. */
enum {
    CF_ECDHE = 1 << 0,  /* key exchange */
    CF_DHE = 1 << 1,    /* finite-field key exchange */
    CF_RSA = 1 << 2,    /* authentication by an RSA certificate */
    CF_ECDSA = 1 << 3,  /* authentication by an ECDSA certificate */
    CF_AES128 = 1 << 4, /* bulk cipher */
    CF_AES256 = 1 << 5,
    CF_CHACHA = 1 << 6,
    CF_GCM = 1 << 7, /* mode */
    CF_CBC = 1 << 8,
    CF_SHA1 = 1 << 9, /* MAC (or PRF hash for AEAD suites) */
    CF_SHA256 = 1 << 10,
    CF_SHA384 = 1 << 11,
    CF_AES = 1 << 12,  /* either AES (derived from the two above) */
    CF_NONE = 1 << 15, /* a class no suite here belongs to */
};

/* One TLS 1.2 suite the library is built with. */
struct tls_suite {
    const char *name; /* OpenSSL's name */
    int id;           /* IANA number, the library's id */
    unsigned flags;   /* CF_* */
};

#define ECDSA_GCM (CF_ECDHE | CF_ECDSA | CF_GCM)
#define RSA_GCM (CF_ECDHE | CF_RSA | CF_GCM)

/* In Mozilla's order of preference: AEAD first, CBC (for old clients) last. */
static const struct tls_suite tls_suites[] = {
    {"ECDHE-ECDSA-AES128-GCM-SHA256", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
     ECDSA_GCM | CF_AES128 | CF_SHA256},
    {"ECDHE-RSA-AES128-GCM-SHA256", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
     RSA_GCM | CF_AES128 | CF_SHA256},
    {"ECDHE-ECDSA-AES256-GCM-SHA384", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
     ECDSA_GCM | CF_AES256 | CF_SHA384},
    {"ECDHE-RSA-AES256-GCM-SHA384", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
     RSA_GCM | CF_AES256 | CF_SHA384},
    {"ECDHE-ECDSA-CHACHA20-POLY1305", MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
     CF_ECDHE | CF_ECDSA | CF_CHACHA | CF_SHA256},
    {"ECDHE-RSA-CHACHA20-POLY1305", MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
     CF_ECDHE | CF_RSA | CF_CHACHA | CF_SHA256},
    {"DHE-RSA-AES128-GCM-SHA256", MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
     CF_DHE | CF_RSA | CF_GCM | CF_AES128 | CF_SHA256},
    {"DHE-RSA-AES256-GCM-SHA384", MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
     CF_DHE | CF_RSA | CF_GCM | CF_AES256 | CF_SHA384},
    {"DHE-RSA-CHACHA20-POLY1305", MBEDTLS_TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
     CF_DHE | CF_RSA | CF_CHACHA | CF_SHA256},
    {"ECDHE-ECDSA-AES128-SHA256", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
     CF_ECDHE | CF_ECDSA | CF_CBC | CF_AES128 | CF_SHA256},
    {"ECDHE-RSA-AES128-SHA256", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
     CF_ECDHE | CF_RSA | CF_CBC | CF_AES128 | CF_SHA256},
    {"ECDHE-ECDSA-AES256-SHA384", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
     CF_ECDHE | CF_ECDSA | CF_CBC | CF_AES256 | CF_SHA384},
    {"ECDHE-RSA-AES256-SHA384", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
     CF_ECDHE | CF_RSA | CF_CBC | CF_AES256 | CF_SHA384},
    {"ECDHE-ECDSA-AES128-SHA", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
     CF_ECDHE | CF_ECDSA | CF_CBC | CF_AES128 | CF_SHA1},
    {"ECDHE-RSA-AES128-SHA", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
     CF_ECDHE | CF_RSA | CF_CBC | CF_AES128 | CF_SHA1},
    {"ECDHE-ECDSA-AES256-SHA", MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
     CF_ECDHE | CF_ECDSA | CF_CBC | CF_AES256 | CF_SHA1},
    {"ECDHE-RSA-AES256-SHA", MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
     CF_ECDHE | CF_RSA | CF_CBC | CF_AES256 | CF_SHA1},
    {"DHE-RSA-AES128-SHA256", MBEDTLS_TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
     CF_DHE | CF_RSA | CF_CBC | CF_AES128 | CF_SHA256},
    {"DHE-RSA-AES256-SHA256", MBEDTLS_TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
     CF_DHE | CF_RSA | CF_CBC | CF_AES256 | CF_SHA256},
    {"DHE-RSA-AES128-SHA", MBEDTLS_TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
     CF_DHE | CF_RSA | CF_CBC | CF_AES128 | CF_SHA1},
    {"DHE-RSA-AES256-SHA", MBEDTLS_TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
     CF_DHE | CF_RSA | CF_CBC | CF_AES256 | CF_SHA1},
};

#define TLS_NSUITES (sizeof(tls_suites) / sizeof(tls_suites[0]))

/* TLS 1.3's suites, always all on (OpenSSL's names, for $ssl_cipher). */
static const struct tls_suite tls13_suites[] = {
    {"TLS_AES_128_GCM_SHA256", MBEDTLS_TLS1_3_AES_128_GCM_SHA256, 0},
    {"TLS_AES_256_GCM_SHA384", MBEDTLS_TLS1_3_AES_256_GCM_SHA384, 0},
    {"TLS_CHACHA20_POLY1305_SHA256", MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, 0},
};

const char tls_names_default_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/* A class keyword: the suites that have every one of its flags. */
struct tls_class {
    const char *name; /* as OpenSSL spells it */
    unsigned flags;   /* CF_*; 0 = every suite */
};

static const struct tls_class tls_classes[] = {
    {"ALL", 0},
    {"HIGH", 0},
    {"ECDHE", CF_ECDHE},
    {"EECDH", CF_ECDHE},
    {"kECDHE", CF_ECDHE},
    {"kEECDH", CF_ECDHE},
    {"DHE", CF_DHE},
    {"EDH", CF_DHE},
    {"kDHE", CF_DHE},
    {"kEDH", CF_DHE},
    {"aRSA", CF_RSA},
    {"aECDSA", CF_ECDSA},
    {"ECDSA", CF_ECDSA},
    {"AES", CF_AES},
    {"AES128", CF_AES128},
    {"AES256", CF_AES256},
    {"AESGCM", CF_GCM},
    {"CHACHA20", CF_CHACHA},
    {"SHA", CF_SHA1},
    {"SHA1", CF_SHA1},
    {"SHA256", CF_SHA256},
    {"SHA384", CF_SHA384},
    /* Nothing here belongs to these, so "!aNULL" and friends are no-ops. */
    {"aNULL", CF_NONE},
    {"eNULL", CF_NONE},
    {"NULL", CF_NONE},
    {"ADH", CF_NONE},
    {"AECDH", CF_NONE},
    {"MD5", CF_NONE},
    {"RC4", CF_NONE},
    {"3DES", CF_NONE},
    {"DES", CF_NONE},
    {"IDEA", CF_NONE},
    {"SEED", CF_NONE},
    {"CAMELLIA", CF_NONE},
    {"ARIA", CF_NONE},
    {"EXPORT", CF_NONE},
    {"EXP", CF_NONE},
    {"LOW", CF_NONE},
    {"MEDIUM", CF_NONE},
    {"PSK", CF_NONE},
    {"aPSK", CF_NONE},
    {"kPSK", CF_NONE},
    {"SRP", CF_NONE},
    {"DSS", CF_NONE},
    {"aDSS", CF_NONE},
    {"kRSA", CF_NONE},
    {"CCM", CF_NONE},
    {"CCM8", CF_NONE},
};

/* A set of suites, one bit per tls_suites entry. */
typedef uint32_t suite_set;

_Static_assert(TLS_NSUITES <= 32, "a suite_set holds every suite");

static unsigned tls_suite_flags(size_t i)
{
    unsigned f = tls_suites[i].flags;
    return f & (CF_AES128 | CF_AES256) ? f | CF_AES : f;
}

static suite_set tls_set_of_flags(unsigned flags)
{
    suite_set s = 0;
    for (size_t i = 0; i < TLS_NSUITES; i++)
        if ((tls_suite_flags(i) & flags) == flags)
            s |= (suite_set)1 << i;
    return s;
}

/* One word of a term (a suite name, a class, DEFAULT); -1 if unknown. */
static int tls_word_set(const char *w, size_t len, suite_set *out)
{
    for (size_t i = 0; i < TLS_NSUITES; i++)
        if (strlen(tls_suites[i].name) == len && strncmp(tls_suites[i].name, w, len) == 0) {
            *out = (suite_set)1 << i;
            return 0;
        }
    for (size_t i = 0; i < sizeof(tls_classes) / sizeof(tls_classes[0]); i++)
        if (strlen(tls_classes[i].name) == len && strncmp(tls_classes[i].name, w, len) == 0) {
            *out = tls_set_of_flags(tls_classes[i].flags);
            return 0;
        }
    if (len == 7 && strncmp(w, "DEFAULT", 7) == 0) {
        *out = tls_set_of_flags(CF_ECDHE | CF_GCM) | tls_set_of_flags(CF_ECDHE | CF_CHACHA);
        return 0;
    }
    return -1;
}

/* The suites chosen so far, in order. */
struct tls_pick {
    unsigned char order[TLS_NSUITES]; /* tls_suites indexes */
    size_t n;                         /* how many */
    suite_set killed;                 /* excluded with "!": never added again */
};

static void tls_pick_remove(struct tls_pick *p, suite_set s)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++)
        if (!(s & ((suite_set)1 << p->order[i])))
            p->order[k++] = p->order[i];
    p->n = k;
}

static suite_set tls_pick_set(const struct tls_pick *p)
{
    suite_set s = 0;
    for (size_t i = 0; i < p->n; i++)
        s |= (suite_set)1 << p->order[i];
    return s;
}

/* Appends, in table order, the suites of s that are not there yet. */
static void tls_pick_add(struct tls_pick *p, suite_set s)
{
    s &= ~p->killed & ~tls_pick_set(p);
    for (size_t i = 0; i < TLS_NSUITES; i++)
        if (s & ((suite_set)1 << i))
            p->order[p->n++] = (unsigned char)i;
}

/* "+x": the suites of x already chosen move to the end. */
static void tls_pick_to_end(struct tls_pick *p, suite_set s)
{
    s &= tls_pick_set(p);
    tls_pick_remove(p, s);
    tls_pick_add(p, s);
}

static unsigned tls_suite_bits(size_t i)
{
    return tls_suites[i].flags & CF_AES128 ? 128 : 256;
}

/* "@STRENGTH": stronger bulk ciphers first, otherwise as they were. */
static void tls_pick_strength(struct tls_pick *p)
{
    for (size_t i = 1; i < p->n; i++)
        for (size_t j = i; j > 0 && tls_suite_bits(p->order[j - 1]) < tls_suite_bits(p->order[j]);
             j--) {
            unsigned char t = p->order[j];
            p->order[j] = p->order[j - 1];
            p->order[j - 1] = t;
        }
}

/* "A+B+C": the suites in all of them. */
static int tls_term_set(const char *t, size_t len, suite_set *out, char *err, size_t errlen)
{
    suite_set s = ~(suite_set)0;
    while (len > 0) {
        const char *plus = memchr(t, '+', len);
        size_t n = plus != NULL ? (size_t)(plus - t) : len;
        suite_set w;
        if (tls_word_set(t, n, &w) < 0) {
            snprintf(err, errlen, "unknown cipher \"%.*s\"", (int)n, t);
            return -1;
        }
        s &= w;
        t += n + (plus != NULL);
        len -= n + (plus != NULL);
    }
    *out = s;
    return 0;
}

static int tls_term(struct tls_pick *p, const char *t, size_t len, char *err, size_t errlen)
{
    char op = t[0] == '!' || t[0] == '-' || t[0] == '+' ? t[0] : 0;
    suite_set s;
    if (len == 9 && strncmp(t, "@STRENGTH", 9) == 0) {
        tls_pick_strength(p);
        return 0;
    }
    if (tls_term_set(t + (op != 0), len - (op != 0), &s, err, errlen) < 0)
        return -1;
    if (op == '!')
        p->killed |= s;
    if (op == '!' || op == '-')
        tls_pick_remove(p, s);
    else if (op == '+')
        tls_pick_to_end(p, s);
    else
        tls_pick_add(p, s);
    return 0;
}

int tls_names_ciphers(const char *spec, int *ids, char *err, size_t errlen)
{
    struct tls_pick p = {.n = 0};
    for (const char *t = spec; *t != '\0';) {
        size_t len = strcspn(t, ":, ");
        if (len > 0 && tls_term(&p, t, len, err, errlen) < 0)
            return -1;
        t += len + (t[len] != '\0');
    }
    if (p.n == 0) {
        snprintf(err, errlen, "no cipher suite of \"%s\" is available", spec);
        return -1;
    }
    for (size_t i = 0; i < p.n; i++)
        ids[i] = tls_suites[p.order[i]].id;
    return (int)p.n;
}

const char *tls_names_cipher(int id)
{
    for (size_t i = 0; i < TLS_NSUITES; i++)
        if (tls_suites[i].id == id)
            return tls_suites[i].name;
    for (size_t i = 0; i < sizeof(tls13_suites) / sizeof(tls13_suites[0]); i++)
        if (tls13_suites[i].id == id)
            return tls13_suites[i].name;
    return NULL;
}

/* ---- protocols and curves ------------------------------------------------ */

unsigned tls_names_protocol(const char *word)
{
    if (strcmp(word, "TLSv1.2") == 0)
        return TLS_PROTO_12;
    if (strcmp(word, "TLSv1.3") == 0)
        return TLS_PROTO_13;
    if (strcmp(word, "SSLv2") == 0 || strcmp(word, "SSLv3") == 0 || strcmp(word, "TLSv1") == 0 ||
        strcmp(word, "TLSv1.1") == 0)
        return TLS_PROTO_OLD;
    return 0;
}

/* A curve's OpenSSL names and its TLS group. */
struct tls_curve {
    const char *names[3]; /* what OpenSSL accepts for it */
    uint16_t group;       /* IANA group number */
};

static const struct tls_curve tls_curves[] = {
    {{"X25519", "x25519", NULL}, MBEDTLS_SSL_IANA_TLS_GROUP_X25519},
    {{"prime256v1", "secp256r1", "P-256"}, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1},
    {{"secp384r1", "P-384", NULL}, MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1},
    {{"secp521r1", "P-521", NULL}, MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1},
};

static uint16_t tls_curve_group(const char *w, size_t len)
{
    for (size_t i = 0; i < sizeof(tls_curves) / sizeof(tls_curves[0]); i++)
        for (size_t k = 0; k < 3 && tls_curves[i].names[k] != NULL; k++)
            if (strlen(tls_curves[i].names[k]) == len &&
                strncmp(tls_curves[i].names[k], w, len) == 0)
                return tls_curves[i].group;
    return 0;
}

int tls_names_curves(const char *spec, uint16_t *groups, char *err, size_t errlen)
{
    size_t n = 0;
    /* X25519 first: a TLS 1.2 server picks by its own order, and with
     * Everest's X25519 (scripts/mbedtls) an ECDHE exchange costs the
     * library about 150 us against 660 us for P-256.  TLS 1.3 takes the
     * client's key share. */
    if (strcmp(spec, "auto") == 0)
        spec = "X25519:prime256v1:secp384r1";
    for (const char *w = spec; *w != '\0' && n < TLS_NAMES_MAX;) {
        size_t len = strcspn(w, ":,");
        uint16_t g = tls_curve_group(w, len);
        if (g == 0) {
            snprintf(err, errlen, "unknown curve \"%.*s\"", (int)len, w);
            return -1;
        }
        groups[n++] = g;
        w += len + (w[len] != '\0');
    }
    groups[n] = 0;
    if (n > 0)
        return 0;
    snprintf(err, errlen, "no curve in \"%s\"", spec);
    return -1;
}

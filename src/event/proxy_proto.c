/* proxy_proto.c - PROXY protocol v1 and v2, byte for byte as HAProxy's
 * proxy-protocol.txt has them. */
#include "event/proxy_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const uint8_t pp_v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define PP_CMD_LOCAL 0x0
#define PP_CMD_PROXY 0x1
#define PP_AF_UNSPEC 0x0
#define PP_AF_INET 0x1
#define PP_AF_INET6 0x2
#define PP_AF_UNIX 0x3
#define PP_PROTO_STREAM 0x1
#define PP_V2_INET 12  /* two addresses and two ports */
#define PP_V2_INET6 36 /* ... in IPv6 */
#define PP_V2_UNIX 216 /* two unix paths */

/* ---- CRC-32C --------------------------------------------------------------- */

uint32_t pp_crc32c(const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* reflected Castagnoli */
            table[i] = c;
        }
        ready = true;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* ---- version 1 ------------------------------------------------------------- */

/* A port: decimal, 0..65535, no sign, no leading zero. */
static bool pp_v1_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
        return false;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned long)(s[i] - '0');
    *out = (uint16_t)v;
    return v <= 65535;
}

static bool pp_v1_addr(int family, const char *text, const char *port, union sockaddr_any *a)
{
    uint16_t p;
    memset(a, 0, sizeof(*a));
    if (!pp_v1_port(port, &p))
        return false;
    a->sa.sa_family = (sa_family_t)family;
    if (family == AF_INET) {
        a->sin.sin_port = htons(p);
        return inet_pton(AF_INET, text, &a->sin.sin_addr) == 1;
    }
    a->sin6.sin6_port = htons(p);
    return inet_pton(AF_INET6, text, &a->sin6.sin6_addr) == 1;
}

/* "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222": exactly six words, one space
 * between each. */
static enum pp_rc pp_v1_words(char *line, struct pp_info *out, const char **why)
{
    char *w[7];
    int n = 0;
    for (char *p = line; n < 7; n++) {
        w[n] = p;
        char *sp = strchr(p, ' ');
        if (sp == NULL) {
            n++;
            break;
        }
        *sp = '\0';
        p = sp + 1;
    }
    if (n >= 2 && strcmp(w[1], "UNKNOWN") == 0) {
        out->local = true;
        return PP_OK;
    }
    int family = n >= 2 && strcmp(w[1], "TCP4") == 0   ? AF_INET
                 : n >= 2 && strcmp(w[1], "TCP6") == 0 ? AF_INET6
                                                       : 0;
    if (family == 0 || n != 6) {
        *why = "invalid PROXY v1 protocol or field count";
        return PP_BAD;
    }
    if (!pp_v1_addr(family, w[2], w[4], &out->src) || !pp_v1_addr(family, w[3], w[5], &out->dst)) {
        *why = "invalid PROXY v1 address or port";
        return PP_BAD;
    }
    return PP_OK;
}

static enum pp_rc pp_parse_v1(const uint8_t *buf, size_t n, struct pp_info *out, size_t *len,
                              const char **why)
{
    const uint8_t *lf = memchr(buf, '\n', n < PP_V1_MAX ? n : PP_V1_MAX);
    if (lf == NULL) {
        *why = "PROXY v1 header too long";
        return n < PP_V1_MAX ? PP_INCOMPLETE : PP_BAD;
    }
    size_t line_len = (size_t)(lf - buf) + 1;
    if (line_len < 8 || buf[line_len - 2] != '\r') {
        *why = "PROXY v1 header not ended by CRLF";
        return PP_BAD;
    }
    char line[PP_V1_MAX + 1];
    memcpy(line, buf, line_len - 2);
    line[line_len - 2] = '\0';
    if (memchr(line, '\0', line_len - 2) != NULL) {
        *why = "NUL in PROXY v1 header";
        return PP_BAD;
    }
    out->version = 1;
    *len = line_len;
    return pp_v1_words(line, out, why);
}

/* ---- version 2 ------------------------------------------------------------- */

static uint16_t pp_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void pp_v2_inet(const uint8_t *p, struct pp_info *out)
{
    memset(&out->src, 0, sizeof(out->src));
    memset(&out->dst, 0, sizeof(out->dst));
    out->src.sin.sin_family = out->dst.sin.sin_family = AF_INET;
    memcpy(&out->src.sin.sin_addr, p, 4);
    memcpy(&out->dst.sin.sin_addr, p + 4, 4);
    memcpy(&out->src.sin.sin_port, p + 8, 2);
    memcpy(&out->dst.sin.sin_port, p + 10, 2);
}

static void pp_v2_inet6(const uint8_t *p, struct pp_info *out)
{
    memset(&out->src, 0, sizeof(out->src));
    memset(&out->dst, 0, sizeof(out->dst));
    out->src.sin6.sin6_family = out->dst.sin6.sin6_family = AF_INET6;
    memcpy(&out->src.sin6.sin6_addr, p, 16);
    memcpy(&out->dst.sin6.sin6_addr, p + 16, 16);
    memcpy(&out->src.sin6.sin6_port, p + 32, 2);
    memcpy(&out->dst.sin6.sin6_port, p + 34, 2);
}

/* The address block; returns its length, or -1 if too short. */
static long pp_v2_addrs(uint8_t fam, const uint8_t *p, size_t body, struct pp_info *out)
{
    uint8_t af = fam >> 4;
    size_t need = af == PP_AF_INET    ? PP_V2_INET
                  : af == PP_AF_INET6 ? PP_V2_INET6
                  : af == PP_AF_UNIX  ? PP_V2_UNIX
                                      : 0;
    if (body < need)
        return -1;
    if (!out->local && af == PP_AF_INET && (fam & 0x0F) == PP_PROTO_STREAM)
        pp_v2_inet(p, out);
    else if (!out->local && af == PP_AF_INET6 && (fam & 0x0F) == PP_PROTO_STREAM)
        pp_v2_inet6(p, out);
    else
        out->local = true; /* unix, datagram or unspecified: nothing to use */
    return (long)need;
}

/* Every TLV must fit exactly in what the header's length leaves. */
static bool pp_tlvs_fit(const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (n < 3 || (size_t)pp_be16(p + 1) + 3 > n)
            return false;
        size_t l = (size_t)pp_be16(p + 1) + 3;
        p += l;
        n -= l;
    }
    return true;
}

static bool pp_crc_ok(const uint8_t *buf, size_t len, const struct pp_info *out)
{
    const uint8_t *v;
    size_t vlen;
    if (!pp_tlv(out, PP2_TYPE_CRC32C, &v, &vlen))
        return true;
    if (vlen != 4)
        return false;
    uint8_t copy[PP_MAX];
    memcpy(copy, buf, len);
    memset(copy + (v - buf), 0, 4); /* computed with its own field zeroed */
    uint32_t want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    return pp_crc32c(copy, len) == want;
}

static enum pp_rc pp_parse_v2(const uint8_t *buf, size_t n, struct pp_info *out, size_t *len,
                              const char **why)
{
    if (n < PP_V2_HEAD)
        return PP_INCOMPLETE;
    uint8_t cmd = buf[12] & 0x0F;
    size_t body = pp_be16(buf + 14);
    if ((buf[12] >> 4) != 2 || cmd > PP_CMD_PROXY) {
        *why = "invalid PROXY v2 version or command";
        return PP_BAD;
    }
    if (PP_V2_HEAD + body > PP_MAX) {
        *why = "PROXY v2 header too long";
        return PP_BAD;
    }
    if (n < PP_V2_HEAD + body)
        return PP_INCOMPLETE;
    out->version = 2;
    out->local = cmd == PP_CMD_LOCAL;
    long addrs = pp_v2_addrs(buf[13], buf + PP_V2_HEAD, body, out);
    if (addrs < 0 || !pp_tlvs_fit(buf + PP_V2_HEAD + addrs, body - (size_t)addrs)) {
        *why = "truncated PROXY v2 addresses or TLVs";
        return PP_BAD;
    }
    out->tlvs = buf + PP_V2_HEAD + addrs;
    out->tlvs_len = body - (size_t)addrs;
    *len = PP_V2_HEAD + body;
    if (!pp_crc_ok(buf, *len, out)) {
        *why = "PROXY v2 CRC32C mismatch";
        return PP_BAD;
    }
    return PP_OK;
}

enum pp_rc pp_parse(const uint8_t *buf, size_t n, struct pp_info *out, size_t *len,
                    const char **why)
{
    memset(out, 0, sizeof(*out));
    *why = "invalid PROXY protocol header";
    size_t sig = n < sizeof(pp_v2_sig) ? n : sizeof(pp_v2_sig);
    if (memcmp(buf, pp_v2_sig, sig) == 0)
        return pp_parse_v2(buf, n, out, len, why);
    size_t pre = n < 6 ? n : 6;
    if (memcmp(buf, "PROXY ", pre) != 0)
        return PP_BAD;
    return pre < 6 ? PP_INCOMPLETE : pp_parse_v1(buf, n, out, len, why);
}

/* ---- TLVs ------------------------------------------------------------------- */

static bool pp_tlv_in(const uint8_t *p, size_t n, uint8_t type, const uint8_t **val, size_t *len)
{
    while (n >= 3) {
        size_t l = pp_be16(p + 1);
        if (l + 3 > n)
            return false;
        if (p[0] == type) {
            *val = p + 3;
            *len = l;
            return true;
        }
        p += l + 3;
        n -= l + 3;
    }
    return false;
}

bool pp_tlv(const struct pp_info *info, uint8_t type, const uint8_t **val, size_t *len)
{
    const uint8_t *ssl;
    size_t ssl_len;
    if (info->tlvs == NULL)
        return false;
    if (type < PP2_SUBTYPE_SSL_VERSION || type > PP2_SUBTYPE_SSL_KEY_ALG)
        return pp_tlv_in(info->tlvs, info->tlvs_len, type, val, len);
    if (!pp_tlv_in(info->tlvs, info->tlvs_len, PP2_TYPE_SSL, &ssl, &ssl_len) || ssl_len < 5)
        return false;
    return pp_tlv_in(ssl + 5, ssl_len - 5, type, val, len); /* after client and verify */
}

bool pp_tlv_ssl(const struct pp_info *info, uint8_t *client, uint32_t *verify)
{
    const uint8_t *v;
    size_t n;
    if (!pp_tlv(info, PP2_TYPE_SSL, &v, &n) || n < 5)
        return false;
    *client = v[0];
    *verify = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 8 | v[4];
    return true;
}

/* ---- writing ------------------------------------------------------------------ */

size_t pp_write_v1(char *buf, const union sockaddr_any *src, const union sockaddr_any *dst)
{
    int family = src->sa.sa_family;
    if ((family != AF_INET && family != AF_INET6) || dst->sa.sa_family != family)
        return (size_t)snprintf(buf, PP_V1_MAX, "PROXY UNKNOWN\r\n");
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    const void *sa = family == AF_INET ? (const void *)&src->sin.sin_addr : &src->sin6.sin6_addr;
    const void *da = family == AF_INET ? (const void *)&dst->sin.sin_addr : &dst->sin6.sin6_addr;
    inet_ntop(family, sa, s, sizeof(s));
    inet_ntop(family, da, d, sizeof(d));
    return (size_t)snprintf(buf, PP_V1_MAX, "PROXY %s %s %s %u %u\r\n",
                            family == AF_INET ? "TCP4" : "TCP6", s, d, sockaddr_port(src),
                            sockaddr_port(dst));
}

/* Appends a TLV (its value may be NULL to reserve room); returns where the
 * value went, or NULL if it would not fit. */
static uint8_t *pp_put_tlv(uint8_t *buf, size_t cap, size_t *at, uint8_t type, const void *val,
                           size_t len)
{
    if (len > 0xFFFF || *at + 3 + len > cap)
        return NULL;
    uint8_t *p = buf + *at;
    p[0] = type;
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    if (val != NULL)
        memcpy(p + 3, val, len);
    *at += 3 + len;
    return p + 3;
}

static bool pp_put_str(uint8_t *buf, size_t cap, size_t *at, uint8_t type, const char *s)
{
    return s == NULL || pp_put_tlv(buf, cap, at, type, s, strlen(s)) != NULL;
}

/* The SSL TLV: client bits, verify, then its sub-TLVs. */
static bool pp_put_ssl(uint8_t *buf, size_t cap, size_t *at, const struct pp_v2_out *o)
{
    size_t start = *at;
    uint8_t fixed[5] = {o->ssl_client, (uint8_t)(o->ssl_verify >> 24),
                        (uint8_t)(o->ssl_verify >> 16), (uint8_t)(o->ssl_verify >> 8),
                        (uint8_t)o->ssl_verify};
    if (pp_put_tlv(buf, cap, at, PP2_TYPE_SSL, fixed, sizeof(fixed)) == NULL ||
        !pp_put_str(buf, cap, at, PP2_SUBTYPE_SSL_VERSION, o->ssl_version) ||
        !pp_put_str(buf, cap, at, PP2_SUBTYPE_SSL_CIPHER, o->ssl_cipher) ||
        !pp_put_str(buf, cap, at, PP2_SUBTYPE_SSL_CN, o->ssl_cn))
        return false;
    size_t len = *at - start - 3; /* the sub-TLVs count in the SSL TLV's length */
    buf[start + 1] = (uint8_t)(len >> 8);
    buf[start + 2] = (uint8_t)len;
    return true;
}

/* The fixed part and the addresses; returns the length so far, or 0. */
static size_t pp_put_addrs(uint8_t *buf, size_t cap, const union sockaddr_any *src,
                           const union sockaddr_any *dst)
{
    bool v4 = src != NULL && src->sa.sa_family == AF_INET && dst->sa.sa_family == AF_INET;
    bool v6 = src != NULL && src->sa.sa_family == AF_INET6 && dst->sa.sa_family == AF_INET6;
    size_t alen = v4 ? PP_V2_INET : v6 ? PP_V2_INET6 : 0;
    if (cap < PP_V2_HEAD + alen)
        return 0;
    memcpy(buf, pp_v2_sig, sizeof(pp_v2_sig));
    buf[12] = 0x20 | (v4 || v6 ? PP_CMD_PROXY : PP_CMD_LOCAL);
    buf[13] = v4   ? (PP_AF_INET << 4 | PP_PROTO_STREAM)
              : v6 ? (PP_AF_INET6 << 4 | PP_PROTO_STREAM)
                   : PP_AF_UNSPEC;
    uint8_t *p = buf + PP_V2_HEAD;
    if (v4) {
        memcpy(p, &src->sin.sin_addr, 4);
        memcpy(p + 4, &dst->sin.sin_addr, 4);
        memcpy(p + 8, &src->sin.sin_port, 2);
        memcpy(p + 10, &dst->sin.sin_port, 2);
    } else if (v6) {
        memcpy(p, &src->sin6.sin6_addr, 16);
        memcpy(p + 16, &dst->sin6.sin6_addr, 16);
        memcpy(p + 32, &src->sin6.sin6_port, 2);
        memcpy(p + 34, &dst->sin6.sin6_port, 2);
    }
    return PP_V2_HEAD + alen;
}

static bool pp_put_tlvs(uint8_t *buf, size_t cap, size_t *at, const struct pp_v2_out *o)
{
    if (!pp_put_str(buf, cap, at, PP2_TYPE_ALPN, o->alpn) ||
        !pp_put_str(buf, cap, at, PP2_TYPE_AUTHORITY, o->authority))
        return false;
    if (o->unique_id != NULL &&
        (strlen(o->unique_id) > 128 || !pp_put_str(buf, cap, at, PP2_TYPE_UNIQUE_ID, o->unique_id)))
        return false;
    return !o->ssl || pp_put_ssl(buf, cap, at, o);
}

size_t pp_write_v2(uint8_t *buf, size_t cap, const union sockaddr_any *src,
                   const union sockaddr_any *dst, const struct pp_v2_out *out)
{
    size_t at = pp_put_addrs(buf, cap, src, dst);
    uint8_t *crc = NULL;
    if (at == 0 || (out != NULL && !pp_put_tlvs(buf, cap, &at, out)))
        return 0;
    if (out != NULL && out->crc32c) {
        static const uint8_t zero[4];
        if ((crc = pp_put_tlv(buf, cap, &at, PP2_TYPE_CRC32C, zero, 4)) == NULL)
            return 0;
    }
    buf[14] = (uint8_t)((at - PP_V2_HEAD) >> 8);
    buf[15] = (uint8_t)(at - PP_V2_HEAD);
    if (crc != NULL) {
        uint32_t c = pp_crc32c(buf, at);
        crc[0] = (uint8_t)(c >> 24);
        crc[1] = (uint8_t)(c >> 16);
        crc[2] = (uint8_t)(c >> 8);
        crc[3] = (uint8_t)c;
    }
    return at;
}

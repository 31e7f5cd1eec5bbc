/* ups_pp.c - the PROXY header to a backend (see ups_pp.h). */
#include "upstream/ups_pp.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "event/proxy_proto.h"
#include "tls/tls_info.h"

/* The client certificate's CN, from its subject DN ("CN=x,O=y"). */
static const char *ups_pp_cn(const struct tls_conn *t, char *buf, size_t cap)
{
    char dn[512];
    if (tls_info_client_dn(t, false, dn, sizeof(dn)) <= 0)
        return NULL;
    for (char *p = dn; p != NULL; p = strchr(p, ',')) {
        p += *p == ',';
        if (strncmp(p, "CN=", 3) == 0) {
            snprintf(buf, cap, "%.*s", (int)strcspn(p + 3, ","), p + 3);
            return buf;
        }
    }
    return NULL;
}

/* The SSL TLV as haproxy sends it: CERT_SESS when the session has a
 * client certificate, CERT_CONN too when it came on this connection. */
static void ups_pp_ssl(struct tls_conn *t, struct pp_v2_out *o, char *cn, size_t cap)
{
    enum tls_client_cert st = tls_info_client_verify(t, NULL, 0);
    o->alpn = tls_info_alpn(t);
    o->authority = tls_info_server_name(t);
    o->ssl = true;
    o->ssl_client = PP2_CLIENT_SSL;
    o->ssl_verify = st == TLS_CERT_OK ? 0 : 1;
    if (st != TLS_CERT_NONE) {
        o->ssl_client |= PP2_CLIENT_CERT_SESS;
        if (!tls_info_reused(t))
            o->ssl_client |= PP2_CLIENT_CERT_CONN;
        o->ssl_cn = ups_pp_cn(t, cn, cap);
    }
    o->ssl_version = tls_info_protocol(t);
    o->ssl_cipher = tls_info_cipher(t);
}

static size_t ups_pp_v2(uint8_t *buf, size_t cap, const struct ups_pp_opts *opts,
                        const union sockaddr_any *src, const union sockaddr_any *dst,
                        struct tls_conn *t)
{
    struct pp_v2_out o = {0};
    char cn[256], uid[33];
    uint8_t rnd[16];
    if (t != NULL)
        ups_pp_ssl(t, &o, cn, sizeof(cn));
    o.crc32c = opts->crc32c;
    if (opts->unique_id && getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd)) {
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(uid + 2 * i, 3, "%02x", rnd[i]);
        o.unique_id = uid;
    }
    bool inet = src->sa.sa_family == AF_INET || src->sa.sa_family == AF_INET6;
    return pp_write_v2(buf, cap, inet ? src : NULL, dst, &o);
}

/* An IPv4 address as IPv4-mapped IPv6, port kept. */
static void ups_pp_map(union sockaddr_any *a)
{
    struct sockaddr_in in = a->sin;
    memset(a, 0, sizeof(*a));
    a->sin6.sin6_family = AF_INET6;
    a->sin6.sin6_port = in.sin_port;
    a->sin6.sin6_addr.s6_addr[10] = 0xff;
    a->sin6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6.sin6_addr.s6_addr[12], &in.sin_addr, 4);
}

size_t ups_pp_header(uint8_t *buf, size_t cap, const struct ups_pp_opts *o,
                     const union sockaddr_any *src, const union sockaddr_any *dst,
                     struct tls_conn *t)
{
    union sockaddr_any s = *src, d = *dst;
    bool s_inet = s.sa.sa_family == AF_INET || s.sa.sa_family == AF_INET6;
    /* A client address a balancer gave may not be of the family we were
     * reached on: both then go as IPv6, as haproxy sends them.  Reached on
     * a unix socket, the destination is the client family's unspecified
     * address, so the client is not lost to an UNKNOWN or LOCAL header. */
    if (s_inet && d.sa.sa_family != AF_INET && d.sa.sa_family != AF_INET6) {
        memset(&d, 0, sizeof(d));
        d.sa.sa_family = s.sa.sa_family;
    }
    if (s.sa.sa_family == AF_INET && d.sa.sa_family == AF_INET6)
        ups_pp_map(&s);
    else if (s.sa.sa_family == AF_INET6 && d.sa.sa_family == AF_INET)
        ups_pp_map(&d);
    if (o->version == 2)
        return ups_pp_v2(buf, cap, o, &s, &d, t);
    if (cap < PP_V1_MAX)
        return 0;
    return pp_write_v1((char *)buf, &s, &d);
}

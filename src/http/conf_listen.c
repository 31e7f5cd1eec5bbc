/* conf_listen.c - the socket options of `listen`, with nginx's syntax and
 * messages.  They belong to the socket, not the server: conf_ports.c
 * takes them from the one listen of an address that gives them. */
#include "http/conf_listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "conf/conf_table.h"

/* One part of the tunables: a time, or (last) a count; empty is unset. */
static int conf_keepalive_part(const char *s, bool count, int *out)
{
    long v = 0;
    if (*s != '\0' && (count ? conf_parse_num(s, &v) : conf_parse_sec(s, &v)) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* "[keepidle]:[keepintvl]:[keepcnt]", each part optional but not all of
 * them unset (ngx_http_core_listen). */
static int conf_keepalive_tunables(const char *v, struct listen_opts *o)
{
    char buf[96];
    char *parts[3] = {"", "", ""};
    if (strlen(v) >= sizeof(buf))
        return -1;
    strcpy(buf, v);
    char *p = buf;
    for (int i = 0; i < 3 && p != NULL; i++) {
        parts[i] = p;
        char *colon = i < 2 ? strchr(p, ':') : NULL;
        if (colon != NULL)
            *colon = '\0';
        p = colon != NULL ? colon + 1 : NULL;
    }
    if (conf_keepalive_part(parts[0], false, &o->keepidle) < 0 ||
        conf_keepalive_part(parts[1], false, &o->keepintvl) < 0 ||
        conf_keepalive_part(parts[2], true, &o->keepcnt) < 0)
        return -1;
    if (o->keepidle == 0 && o->keepintvl == 0 && o->keepcnt == 0)
        return -1;
    o->keepalive = 1;
    return 0;
}

static int conf_so_keepalive(struct conf_loader *cl, const struct conf_node *n, const char *v,
                             struct listen_opts *o)
{
    if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
        o->keepalive = v[1] == 'n';
        return 1;
    }
    if (conf_keepalive_tunables(v, o) < 0)
        return conf_err(cl, n, "invalid so_keepalive value: \"%s\"", v);
    return 1;
}

int conf_listen_opt(struct conf_loader *cl, const struct conf_node *n, const char *p,
                    struct listen_opts *o)
{
    long v;
    if (strcmp(p, "deferred") == 0) {
        o->deferred = true;
        return 1;
    }
    if (strncmp(p, "ipv6only=", 9) == 0) {
        if (strcmp(p + 9, "on") != 0 && strcmp(p + 9, "off") != 0)
            return conf_err(cl, n, "invalid ipv6only flags \"%s\"", p + 8);
        o->ipv6only = p[10] == 'n';
        return 1;
    }
    if (strncmp(p, "so_keepalive=", 13) == 0)
        return conf_so_keepalive(cl, n, p + 13, o);
    if (strncmp(p, "fastopen=", 9) == 0) {
        if (conf_parse_num(p + 9, &v) < 0)
            return conf_err(cl, n, "invalid fastopen \"%s\"", p + 9);
        o->fastopen = (int)v;
        return 1;
    }
    return 0;
}

/* ---- the address ------------------------------------------------------------ */

static int conf_listen_port(const char *s, unsigned *port)
{
    long v;
    if (conf_parse_num(s, &v) < 0 || v < 1 || v > 65535)
        return -1;
    *port = (unsigned)v;
    return 0;
}

/* Splits "host:port", "[v6]:port", "port" or "host" into host and port
 * (dflt_port when there is none; 0: one is required). */
static int conf_listen_split(char *buf, unsigned dflt_port, const char **host, unsigned *port)
{
    char *colon;
    *port = dflt_port;
    *host = "*";
    if (buf[0] == '[') {
        char *end = strchr(buf, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return -1;
        *end = '\0';
        *host = buf + 1;
        return end[1] == ':' ? conf_listen_port(end + 2, port) : dflt_port != 0 ? 0 : -1;
    }
    colon = strrchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        *host = buf;
        return conf_listen_port(colon + 1, port);
    }
    if (strspn(buf, "0123456789") == strlen(buf))
        return conf_listen_port(buf, port);
    *host = buf;
    return dflt_port != 0 ? 0 : -1;
}

static size_t conf_listen_name(struct conf_loader *cl, const struct conf_node *n, const char *host,
                               unsigned port, union sockaddr_any *out, size_t max)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    size_t k = 0;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        conf_err(cl, n, "host not found in \"%s\" of the \"listen\" directive", n->args[1].s);
        return 0;
    }
    for (ai = res; ai != NULL && k < max; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        memset(&out[k], 0, sizeof(out[k]));
        memcpy(&out[k], ai->ai_addr, ai->ai_addrlen);
        out[k++].sin.sin_port = htons(port); /* same offset in sin6 */
    }
    freeaddrinfo(res);
    return k;
}

static int conf_listen_inet(struct conf_loader *cl, const struct conf_node *n, const char *host,
                            unsigned port, union sockaddr_any *out, size_t max)
{
    memset(out, 0, sizeof(*out));
    if (strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &out->sin.sin_addr) == 1) {
        out->sin.sin_family = AF_INET;
        out->sin.sin_port = htons(port);
        return 1;
    }
    if (inet_pton(AF_INET6, host, &out->sin6.sin6_addr) == 1) {
        out->sin6.sin6_family = AF_INET6;
        out->sin6.sin6_port = htons(port);
        return 1;
    }
    size_t k = conf_listen_name(cl, n, host, port, out, max);
    return k > 0 ? (int)k : -1;
}

/* `listen unix:/path`: taken as written, as nginx does. */
static int conf_listen_unix(struct conf_loader *cl, const struct conf_node *n,
                            union sockaddr_any *out, const char **path)
{
    const char *p = n->args[1].s + 5;
    memset(out, 0, sizeof(*out));
    out->sa.sa_family = AF_UNIX;
    if (p[0] == '\0')
        return conf_err(cl, n, "no path in the unix domain socket");
    if (strlen(p) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
        return conf_err(cl, n, "too long path in the unix domain socket");
    if ((*path = mpool_strdup(cl->pool, p)) == NULL)
        return conf_err_nomem(cl, n);
    return 1;
}

int conf_listen_address(struct conf_loader *cl, const struct conf_node *n, unsigned dflt_port,
                        union sockaddr_any *out, size_t max, const char **path)
{
    char buf[256];
    const char *host;
    unsigned port;
    *path = NULL;
    if (strncmp(n->args[1].s, "unix:", 5) == 0)
        return conf_listen_unix(cl, n, out, path);
    snprintf(buf, sizeof(buf), "%s", n->args[1].s);
    if (conf_listen_split(buf, dflt_port, &host, &port) < 0)
        return conf_err(cl, n, "invalid port in \"%s\" of the \"listen\" directive", n->args[1].s);
    return conf_listen_inet(cl, n, host, port, out, max);
}

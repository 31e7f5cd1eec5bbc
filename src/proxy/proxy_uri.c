/* proxy_uri.c - proxy_pass URLs and the upstream request's URI. */
#include "proxy/proxy_uri.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

/* ---- the URL ------------------------------------------------------------ */

static bool proxy_url_prefix(struct str t, const char *prefix)
{
    size_t n = strlen(prefix);
    return t.len >= n && strncasecmp(t.p, prefix, n) == 0;
}

/* "unix:/path[:uri]": the path ends at the first ':' (nginx). */
static int proxy_url_unix(struct str rest, struct proxy_url *u, const char **err)
{
    const char *path = rest.p + 5, *end = rest.p + rest.len;
    const char *colon = memchr(path, ':', (size_t)(end - path));
    u->unix_sock = true;
    u->host = str_make(path, (size_t)((colon ? colon : end) - path));
    if (colon != NULL && colon + 1 < end) {
        u->uri = str_make(colon + 1, (size_t)(end - colon - 1));
        u->has_uri = true;
    }
    if (u->host.len == 0)
        return *err = "no path in the unix domain socket", -1;
    if (u->host.len >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return *err = "too long path in the unix domain socket", -1;
    return 0;
}

static int proxy_url_port(struct str s, struct proxy_url *u)
{
    unsigned long v = 0;
    if (s.len == 0 || s.len > 5)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s.p[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    u->port = (unsigned)v;
    u->has_port = true;
    return 0;
}

/* host[:port] before the URI part; "[v6]" keeps its colons. */
static int proxy_url_authority(struct str a, struct proxy_url *u, const char **err)
{
    const char *colon = NULL;
    if (a.len > 0 && a.p[0] == '[') {
        const char *close = memchr(a.p, ']', a.len);
        if (close == NULL)
            return *err = "invalid host", -1;
        u->host = str_make(a.p + 1, (size_t)(close - a.p - 1));
        u->ipv6 = true;
        if (close + 1 < a.p + a.len && close[1] != ':')
            return *err = "invalid host", -1;
        colon = close + 1 < a.p + a.len ? close + 1 : NULL;
    } else {
        colon = memchr(a.p, ':', a.len);
        u->host = str_make(a.p, colon ? (size_t)(colon - a.p) : a.len);
    }
    if (u->host.len == 0)
        return *err = "no host", -1;
    if (colon != NULL &&
        proxy_url_port(str_make(colon + 1, (size_t)(a.p + a.len - colon - 1)), u) < 0)
        return *err = "invalid port", -1;
    return 0;
}

/* The URI part starts at the first "/" or "?"; one starting with "?"
 * gets a "/" in front, as nginx gives it. */
static int proxy_url_inet(struct mpool *p, struct str rest, struct proxy_url *u, const char **err)
{
    size_t i = 0;
    while (i < rest.len && rest.p[i] != '/' && rest.p[i] != '?')
        i++;
    if (proxy_url_authority(str_make(rest.p, i), u, err) < 0)
        return -1;
    if (i == rest.len)
        return 0;
    u->has_uri = true;
    u->uri = str_make(rest.p + i, rest.len - i);
    if (u->uri.p[0] == '?') {
        char *s = mpool_alloc(p, u->uri.len + 1);
        if (s == NULL)
            return *err = "out of memory", -1;
        s[0] = '/';
        memcpy(s + 1, u->uri.p, u->uri.len);
        u->uri = str_make(s, u->uri.len + 1);
    }
    return 0;
}

int proxy_url_parse(struct mpool *p, struct str text, struct proxy_url *u, const char **err)
{
    memset(u, 0, sizeof(*u));
    u->https = proxy_url_prefix(text, "https://");
    u->port = u->https ? PROXY_DEFAULT_TLS_PORT : PROXY_DEFAULT_PORT;
    if (!u->https && !proxy_url_prefix(text, "http://"))
        return *err = "invalid URL prefix", -1;
    size_t skip = u->https ? 8 : 7;
    struct str rest = str_make(text.p + skip, text.len - skip);
    if (proxy_url_prefix(rest, "unix:"))
        return proxy_url_unix(rest, u, err);
    return proxy_url_inet(p, rest, u, err);
}

struct str proxy_url_host_header(struct mpool *p, const struct proxy_url *u)
{
    const char *open = u->ipv6 ? "[" : "", *close = u->ipv6 ? "]" : "";
    char *s;
    if (u->unix_sock)
        return STR_LIT("localhost");
    if (u->has_port && u->port != (u->https ? PROXY_DEFAULT_TLS_PORT : PROXY_DEFAULT_PORT))
        s = mpool_printf(p, "%s%.*s%s:%u", open, (int)u->host.len, u->host.p, close, u->port);
    else
        s = mpool_printf(p, "%s%.*s%s", open, (int)u->host.len, u->host.p, close);
    return s != NULL ? str_make(s, strlen(s)) : str_make(NULL, 0);
}

/* ---- the URI ---------------------------------------------------------------- */

/* nginx's NGX_ESCAPE_URI table: a set bit escapes the byte. */
static const uint32_t proxy_escape_uri[8] = {
    0xffffffff,                                     /* 0x00-0x1f: controls */
    0x80000029,                                     /* 0x20-0x3f: space # % ? */
    0x00000000,                                     /* 0x40-0x5f */
    0x80000000,                                     /* 0x60-0x7f: DEL */
    0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, /* non-ASCII */
};

size_t proxy_uri_escape(char *dst, struct str s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *d = dst;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (proxy_escape_uri[c >> 5] & (1u << (c & 31))) {
            *d++ = '%';
            *d++ = hex[c >> 4];
            *d++ = hex[c & 15];
        } else {
            *d++ = (char)c;
        }
    }
    return (size_t)(d - dst);
}

/* The path and query of the request-target as received; an absolute-form
 * target ("http://h/p?q") loses its scheme and host, and gets a "/" when
 * it had no path. */
static int proxy_uri_unparsed(struct mpool *p, struct str t, struct str *out)
{
    const char *sep = t.len > 0 && t.p[0] != '/' ? memmem(t.p, t.len, "://", 3) : NULL;
    *out = t;
    if (sep == NULL)
        return 0;
    const char *end = t.p + t.len, *q = sep + 3;
    while (q < end && *q != '/' && *q != '?')
        q++;
    *out = str_make(q, (size_t)(end - q));
    if (q < end && *q == '/')
        return 0;
    char *s = mpool_alloc(p, out->len + 1);
    if (s == NULL)
        return -1;
    s[0] = '/';
    memcpy(s + 1, out->p, out->len);
    *out = str_make(s, out->len + 1);
    return 0;
}

/* prefix + escaped path + "?" args. */
static int proxy_uri_join(struct mpool *p, struct str prefix, struct str path, struct str args,
                          struct str *out)
{
    char *s = mpool_alloc(p, prefix.len + 3 * path.len + 1 + args.len);
    if (s == NULL)
        return -1;
    memcpy(s, prefix.p, prefix.len);
    size_t n = prefix.len + proxy_uri_escape(s + prefix.len, path);
    if (args.len > 0) {
        s[n++] = '?';
        memcpy(s + n, args.p, args.len);
        n += args.len;
    }
    *out = str_make(s, n);
    return 0;
}

int proxy_uri_make(struct mpool *p, const struct proxy_uri_req *in, struct str *out)
{
    if (in->pass_vars && in->has_uri) {
        *out = in->uri;
        return 0;
    }
    if (!in->has_uri) {
        if (in->target_valid)
            return proxy_uri_unparsed(p, in->target, out);
        return proxy_uri_join(p, STR_LIT(""), in->path, in->args, out);
    }
    size_t skip = in->loc_matches && in->loc.len <= in->path.len ? in->loc.len : 0;
    return proxy_uri_join(p, in->uri, str_make(in->path.p + skip, in->path.len - skip), in->args,
                          out);
}

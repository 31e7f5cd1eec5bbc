/* proxy_head.c - the upstream request head. */
#include "proxy/proxy_head.h"

#include <string.h>

#include "core/fmt.h"

/* Lengths known: most names are told apart by length alone (these run
 * for every header of every proxied request). */
static const struct str proxy_hop[] = {
    STR_LIT("connection"), STR_LIT("keep-alive"), STR_LIT("proxy-connection"),
    STR_LIT("te"),         STR_LIT("trailer"),    STR_LIT("transfer-encoding"),
};

/* nginx's default proxy_set_header names: a client's header by one of
 * these names is never passed as it came. */
static const struct str proxy_defaults[] = {
    STR_LIT("host"), STR_LIT("connection"), STR_LIT("content-length"), STR_LIT("transfer-encoding"),
    STR_LIT("te"),   STR_LIT("keep-alive"), STR_LIT("expect"),         STR_LIT("upgrade"),
};

static bool proxy_in(struct str name, const struct str *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].len == name.len && strncasecmp(list[i].p, name.p, name.len) == 0)
            return true;
    return false;
}

#define PROXY_IN(name, list) proxy_in((name), (list), sizeof(list) / sizeof(list[0]))

bool proxy_hop_by_hop(struct str name)
{
    return PROXY_IN(name, proxy_hop);
}

bool proxy_conn_lists(struct str connection, struct str name)
{
    const char *s = connection.p, *end = connection.p + connection.len;
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        struct str token = str_trim(str_make(s, (size_t)(stop - s)));
        if (token.len == name.len && strncasecmp(token.p, name.p, name.len) == 0)
            return true;
        s = stop + 1;
    }
    return false;
}

static bool proxy_set_names(const struct proxy_head_in *in, struct str name)
{
    for (size_t i = 0; i < in->nset; i++)
        if (in->set[i].name.len == name.len &&
            strncasecmp(in->set[i].name.p, name.p, name.len) == 0)
            return true;
    return false;
}

/* The client's Connection headers, each of which may list more. */
static bool proxy_client_lists(const struct proxy_head_in *in, struct str name)
{
    for (size_t i = 0; i < in->nclient; i++)
        if (str_case_eq(in->client[i].name, "connection") &&
            proxy_conn_lists(in->client[i].value, name))
            return true;
    return false;
}

static bool proxy_client_passes(const struct proxy_head_in *in, struct str name)
{
    return !PROXY_IN(name, proxy_defaults) && !proxy_hop_by_hop(name) &&
           !proxy_set_names(in, name) && !proxy_client_lists(in, name);
}

static char *proxy_line(char *p, struct str name, struct str value)
{
    p = fmt_mem(p, name.p, name.len);
    p = fmt_lit(p, ": ");
    p = fmt_mem(p, value.p, value.len);
    return fmt_lit(p, "\r\n");
}

/* An upper bound of the head's size. */
static size_t proxy_head_size(const struct proxy_head_in *in)
{
    size_t n = in->method.len + in->uri.len + 64 + in->host.len + 64;
    for (size_t i = 0; i < in->nset; i++)
        n += in->set[i].name.len + in->set[i].value.len + 4;
    for (size_t i = 0; i < in->nclient; i++)
        n += in->client[i].name.len + in->client[i].value.len + 4;
    return n;
}

/* The headers turnpike writes itself: what proxy_set_header did not name
 * of nginx's defaults, and the framing. */
static char *proxy_head_own(char *p, const struct proxy_head_in *in)
{
    if (!proxy_set_names(in, STR_LIT("Host")))
        p = proxy_line(p, STR_LIT("Host"), in->host);
    if (!proxy_set_names(in, STR_LIT("Connection")))
        p = fmt_lit(p, "Connection: close\r\n");
    if (in->framing == PF_LENGTH) {
        p = fmt_lit(p, "Content-Length: ");
        p = fmt_u64(p, in->length);
        p = fmt_lit(p, "\r\n");
    } else if (in->framing == PF_CHUNKED) {
        p = fmt_lit(p, "Transfer-Encoding: chunked\r\n");
    }
    return p;
}

int proxy_head_build(struct mpool *pool, const struct proxy_head_in *in, struct str *out)
{
    char *buf = mpool_alloc(pool, proxy_head_size(in)), *p = buf;
    if (buf == NULL)
        return -1;
    p = fmt_mem(p, in->method.p, in->method.len);
    *p++ = ' ';
    p = fmt_mem(p, in->uri.p, in->uri.len);
    p = in->http11 ? fmt_lit(p, " HTTP/1.1\r\n") : fmt_lit(p, " HTTP/1.0\r\n");
    for (size_t i = 0; i < in->nset; i++)
        if (in->set[i].value.len > 0)
            p = proxy_line(p, in->set[i].name, in->set[i].value);
    p = proxy_head_own(p, in);
    for (size_t i = 0; i < in->nclient; i++)
        if (proxy_client_passes(in, in->client[i].name))
            p = proxy_line(p, in->client[i].name, in->client[i].value);
    p = fmt_lit(p, "\r\n");
    *out = str_make(buf, (size_t)(p - buf));
    return 0;
}

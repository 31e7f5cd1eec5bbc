/* proxy_vars.c - the $upstream_* and $proxy_* variables. */
#include "proxy/proxy_vars.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "http/conn.h"
#include "proxy/proxy_int.h"

#define PROXY_VAR_ITEM 160 /* room for one attempt's value and its ", " */

typedef int (*proxy_item_cb)(const struct proxy_attempt *a, char *buf, size_t cap);

/* Every attempt's value, joined by ", " as nginx joins them. */
static void proxy_join(struct req *r, proxy_item_cb item, struct str *out)
{
    const struct proxy_log *log = proxy_log_of(r, false);
    size_t n = 0, at = 0;
    *out = STR_LIT("");
    for (const struct proxy_attempt *a = log ? log->first : NULL; a != NULL; a = a->next)
        n++;
    char *buf = n > 0 ? mpool_alloc(&r->pool, n * PROXY_VAR_ITEM) : NULL;
    if (buf == NULL)
        return;
    for (const struct proxy_attempt *a = log->first; a != NULL; a = a->next) {
        if (at > 0) {
            memcpy(buf + at, ", ", 2);
            at += 2;
        }
        int k = item(a, buf + at, PROXY_VAR_ITEM - 2);
        at += k > 0 && k < PROXY_VAR_ITEM - 2 ? (size_t)k : 0;
    }
    *out = str_make(buf, at);
}

static int proxy_item_addr(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%s", a->addr);
}

static int proxy_item_status(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return a->status > 0 ? snprintf(buf, cap, "%d", a->status) : snprintf(buf, cap, "-");
}

/* Seconds with millisecond resolution, or "-" for a step never reached. */
static int proxy_item_time(double t, char *buf, size_t cap)
{
    if (t < 0)
        return snprintf(buf, cap, "-");
    long long ms = (long long)(t * 1000.0 + 0.5);
    return snprintf(buf, cap, "%lld.%03lld", ms / 1000, ms % 1000);
}

static int proxy_item_connect(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return proxy_item_time(a->connect, buf, cap);
}

static int proxy_item_header(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return proxy_item_time(a->header, buf, cap);
}

static int proxy_item_response(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return proxy_item_time(a->response, buf, cap);
}

static int proxy_item_received(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%llu", (unsigned long long)a->received);
}

static int proxy_item_sent(const struct proxy_attempt *a, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%llu", (unsigned long long)a->sent);
}

static void var_upstream_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_addr, out);
}

static void var_upstream_status(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_status, out);
}

static void var_upstream_connect_time(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_connect, out);
}

static void var_upstream_header_time(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_header, out);
}

static void var_upstream_response_time(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_response, out);
}

static void var_upstream_bytes_received(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_received, out);
}

static void var_upstream_bytes_sent(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    proxy_join(r, proxy_item_sent, out);
}

static void var_upstream_response_length(struct req *r, const struct cval_part *p, struct str *out)
{
    const struct proxy_log *log = proxy_log_of(r, false);
    char *s = log && log->first ? mpool_printf(&r->pool, "%llu", (unsigned long long)log->body_len)
                                : NULL;
    (void)p;
    *out = s != NULL ? str_make(s, strlen(s)) : STR_LIT("");
}

/* $upstream_http_x_foo is the last response's X-Foo. */
static bool proxy_name_match(struct str name, const char *arg, size_t len)
{
    if (name.len != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char a = (char)tolower((unsigned char)name.p[i]);
        if ((a == '-' ? '_' : a) != tolower((unsigned char)arg[i]))
            return false;
    }
    return true;
}

static void var_upstream_http(struct req *r, const struct cval_part *p, struct str *out)
{
    const struct proxy_log *log = proxy_log_of(r, false);
    *out = STR_LIT("");
    for (size_t i = 0; log != NULL && i < log->nhdrs; i++) {
        if (proxy_name_match(log->hdrs[i].name, p->arg, p->arglen)) {
            *out = log->hdrs[i].value;
            return;
        }
    }
}

static void var_proxy_host(struct req *r, const struct cval_part *p, struct str *out)
{
    const struct proxy_log *log = proxy_log_of(r, false);
    (void)p;
    *out = log != NULL ? log->host : STR_LIT("");
}

static void var_proxy_port(struct req *r, const struct cval_part *p, struct str *out)
{
    const struct proxy_log *log = proxy_log_of(r, false);
    (void)p;
    *out = log != NULL ? log->port : STR_LIT("");
}

/* The client's X-Forwarded-For (every such line, joined) and its address. */
static void var_proxy_add_xff(struct req *r, const struct cval_part *p, struct str *out)
{
    char addr[64];
    size_t alen = sockaddr_text(&r->c->peer, false, addr, sizeof(addr)), total = alen + 1;
    (void)p;
    for (uint32_t i = 0; i < r->nhdrs; i++)
        if (str_case_eq(r->hdrs[i].name, "x-forwarded-for"))
            total += r->hdrs[i].value.len + 2;
    char *s = mpool_alloc(&r->pool, total), *w = s;
    *out = STR_LIT("");
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        if (!str_case_eq(r->hdrs[i].name, "x-forwarded-for") || r->hdrs[i].value.len == 0)
            continue;
        memcpy(w, r->hdrs[i].value.p, r->hdrs[i].value.len);
        w += r->hdrs[i].value.len;
        w = memcpy(w, ", ", 2) + 2;
    }
    memcpy(w, addr, alen);
    *out = str_make(s, (size_t)(w - s) + alen);
}

const struct var_def proxy_vars[PROXY_NVARS] = {
    {"proxy_add_x_forwarded_for", false, var_proxy_add_xff},
    {"proxy_host", false, var_proxy_host},
    {"proxy_port", false, var_proxy_port},
    {"upstream_addr", false, var_upstream_addr},
    {"upstream_bytes_received", false, var_upstream_bytes_received},
    {"upstream_bytes_sent", false, var_upstream_bytes_sent},
    {"upstream_connect_time", false, var_upstream_connect_time},
    {"upstream_header_time", false, var_upstream_header_time},
    {"upstream_http_", true, var_upstream_http},
    {"upstream_response_length", false, var_upstream_response_length},
    {"upstream_response_time", false, var_upstream_response_time},
    {"upstream_status", false, var_upstream_status},
};

/* vars_extra.c - the variables nginx configurations use beyond the
 * core's (vars.c): $request_id, $server_addr, $cookie_NAME,
 * $content_type, $content_length, $pipe, $connection_time and
 * $nginx_version.  A module of their own, found after the core's. */
#include "http/vars_extra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/version.h"
#include "event/reactor.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"

#define VARS_RANDOM_POOL 4096 /* random bytes fetched per getrandom() */

static struct str vars_copy(struct req *r, const char *s, size_t n)
{
    char *d = mpool_strndup(&r->pool, s, n);
    return d != NULL ? str_make(d, n) : STR_LIT("");
}

/* ---- $request_id ---------------------------------------------------------- */

/* 16 bytes from the kernel's random source, taken from a per-worker pool so
 * that 256 ids cost one system call.  A forked worker starts with an empty
 * pool, so no two workers ever hand out the same bytes. */
static int vars_random16(unsigned char out[16])
{
    static unsigned char pool[VARS_RANDOM_POOL];
    static size_t left;
    if (left < 16) {
        ssize_t n = getrandom(pool, sizeof(pool), 0);
        if (n < 16)
            return -1;
        left = (size_t)n;
    }
    memcpy(out, pool + left - 16, 16);
    left -= 16;
    return 0;
}

/* nginx's: 16 random bytes in hex, the same for the whole request (an
 * internal redirect keeps it). */
static void var_request_id(struct req *r, const struct cval_part *p, struct str *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char bytes[16];
    char text[33];
    (void)p;
    if (r->request_id == NULL && vars_random16(bytes) == 0) {
        for (int i = 0; i < 16; i++) {
            text[2 * i] = hex[bytes[i] >> 4];
            text[2 * i + 1] = hex[bytes[i] & 15];
        }
        r->request_id = mpool_strndup(&r->pool, text, 32);
    }
    *out = r->request_id != NULL ? str_make(r->request_id, 32) : STR_LIT("");
}

/* ---- the connection ------------------------------------------------------- */

/* The address the client connected to (conn_local_addr), or unix:PATH. */
static void var_server_addr(struct req *r, const struct cval_part *p, struct str *out)
{
    char text[INET6_ADDRSTRLEN + 8];
    union sockaddr_any local;
    (void)p;
    if (r->c->port->path != NULL) {
        char *u = mpool_printf(&r->pool, "unix:%s", r->c->port->path);
        *out = u != NULL ? str_make(u, strlen(u)) : STR_LIT("");
        return;
    }
    if (conn_local_addr(r->c, &local) < 0) {
        *out = STR_LIT("");
        return;
    }
    size_t n = sockaddr_text(&local, false, text, sizeof(text));
    *out = vars_copy(r, text, n);
}

static void var_pipe(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    *out = r->pipelined ? STR_LIT("p") : STR_LIT(".");
}

/* Seconds since the connection was accepted, with milliseconds, from the
 * loop's time as $request_time. */
static void var_connection_time(struct req *r, const struct cval_part *p, struct str *out)
{
    char buf[32];
    (void)p;
    uint32_t now = (uint32_t)(uint64_t)(ev_now(r->c->sk.rx->loop) * 1000.0);
    uint32_t ms = now - r->c->start_ms; /* modulo 2^32: right for 49 days */
    int n = snprintf(buf, sizeof(buf), "%u.%03u", ms / 1000, ms % 1000);
    *out = vars_copy(r, buf, n > 0 ? (size_t)n : 0);
}

static void var_nginx_version(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)r;
    (void)p;
    *out = STR_LIT(TP_VERSION);
}

/* ---- the request's headers ---------------------------------------------------- */

static void var_header(struct req *r, const char *name, struct str *out)
{
    const struct str *v = req_header(r, name);
    *out = v != NULL ? *v : STR_LIT("");
}

static void var_content_type(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    var_header(r, "Content-Type", out);
}

static void var_content_length(struct req *r, const struct cval_part *p, struct str *out)
{
    (void)p;
    var_header(r, "Content-Length", out);
}

/* nginx's ngx_http_parse_multi_header_lines: "name=value" pairs separated
 * by ';' (or ','), the name compared case-insensitively, spaces around the
 * '=' skipped, the value running to the next ';'. */
static bool vars_cookie_in(struct str h, struct str name, struct str *out)
{
    const char *s = h.p, *end = h.p + h.len;
    while (s < end) {
        const char *q = s;
        if ((size_t)(end - q) >= name.len && strncasecmp(q, name.p, name.len) == 0) {
            for (q += name.len; q < end && *q == ' '; q++)
                ;
            if (q < end && *q == '=') {
                for (q++; q < end && *q == ' '; q++)
                    ;
                const char *last = memchr(q, ';', (size_t)(end - q));
                *out = str_make(q, (size_t)((last ? last : end) - q));
                return true;
            }
        }
        while (s < end && *s != ';' && *s != ',')
            s++;
        for (s += s < end; s < end && *s == ' '; s++)
            ;
    }
    return false;
}

static void var_cookie(struct req *r, const struct cval_part *p, struct str *out)
{
    struct str name = str_make(p->arg, p->arglen);
    *out = STR_LIT("");
    for (uint32_t i = 0; i < r->nhdrs; i++)
        if (str_case_eq(r->hdrs[i].name, "Cookie") && vars_cookie_in(r->hdrs[i].value, name, out))
            return;
}

static const struct var_def vars_extra[] = {
    {"connection_time", false, var_connection_time}, {"content_length", false, var_content_length},
    {"content_type", false, var_content_type},       {"cookie_", true, var_cookie},
    {"nginx_version", false, var_nginx_version},     {"pipe", false, var_pipe},
    {"request_id", false, var_request_id},           {"server_addr", false, var_server_addr},
};

struct module mod_http_vars_extra = {
    .name = "http_variables",
    .vars = vars_extra,
    .nvars = sizeof(vars_extra) / sizeof(vars_extra[0]),
};

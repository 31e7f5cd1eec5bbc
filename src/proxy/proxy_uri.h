/* proxy_uri.h - proxy_pass addresses, and the URI a request goes upstream
 * with, by nginx's rules (ngx_http_proxy_module).
 *
 * A proxy_pass URL is "http://" host [":" port] [uri], or
 * "http://unix:" path [":" uri].  The URI the backend sees:
 *
 *   - proxy_pass without a URI part: the request's URI as the client sent
 *     it, or, once an internal redirect (error_page, X-Accel-Redirect) or
 *     a rewrite changed it, the current $uri, escaped, with $args;
 *   - proxy_pass with a URI part (not allowed in regex and named
 *     locations): the part of $uri that the location's prefix matched is
 *     replaced by it, the rest escaped, $args appended;
 *   - proxy_pass with variables and a URI part: that URI, exactly as
 *     evaluated. */
#ifndef TP_PROXY_URI_H
#define TP_PROXY_URI_H

#include <stdbool.h>

#include "core/mpool.h"
#include "core/str.h"

#define PROXY_DEFAULT_PORT 80
#define PROXY_DEFAULT_TLS_PORT 443 /* https:// */

/* A parsed proxy_pass URL (views into the text). */
struct proxy_url {
    bool https;      /* "https://": TLS to the upstream (proxy_ssl_*) */
    struct str host; /* "backend", "127.0.0.1", "::1" (no brackets), or the unix path */
    unsigned port;   /* the port written, or 80 (443 for https) */
    bool has_port;   /* a port was written */
    bool ipv6;       /* host was written in brackets */
    bool unix_sock;  /* host is a unix socket's path */
    struct str uri;  /* the URI part ("/x/?a"); empty without one */
    bool has_uri;    /* a URI part was written (even a lone "/") */
};

/* Parses text, "http://" or "https://" (a URI part starting with "?"
 * gets its "/" from p); -1 with nginx's reason in *err ("invalid URL
 * prefix", "no host", "invalid port", "no path in the unix domain
 * socket"). */
int proxy_url_parse(struct mpool *p, struct str text, struct proxy_url *u, const char **err);

/* $proxy_host, the default Host header: the host, with ":port" when a
 * port other than the scheme's (80, 443) was written ("[v6]" keeps its brackets); "localhost"
 * for a unix socket.  NULL p when out of memory. */
struct str proxy_url_host_header(struct mpool *p, const struct proxy_url *u);

/* What the URI rules need to know of the request. */
struct proxy_uri_req {
    struct str target; /* the request-target as received */
    bool target_valid; /* no internal redirect or rewrite since (nginx's valid_unparsed_uri) */
    struct str path;   /* $uri: decoded and normalized */
    struct str args;   /* $args */
    struct str loc;    /* the location's prefix to replace; empty for regex and named ones */
    bool loc_matches;  /* $uri still starts with it (nginx's valid_location) */
    bool pass_vars;    /* proxy_pass had variables */
    struct str uri;    /* proxy_pass's URI part (evaluated when it had variables) */
    bool has_uri;      /* there was one */
};

/* The URI to send; -1 when out of memory. */
int proxy_uri_make(struct mpool *p, const struct proxy_uri_req *in, struct str *out);

/* Bytes of s escaped as nginx's NGX_ESCAPE_URI (controls, space, "#",
 * "%", "?", and non-ASCII as %XX) into dst, which has room for 3 * len;
 * returns the length written. */
size_t proxy_uri_escape(char *dst, struct str s);

#endif

/* route.h - choosing the server (by address and Host) and the location. */
#ifndef TP_ROUTE_H
#define TP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct conf_addr;
struct srv_conf;
struct loc_conf;
struct req;

#define ROUTE_MAX_CAPTURES 10

/* What the last matching regex captured, for $1..$9. */
struct route_captures {
    const char *subject;                    /* the string matched (the request's path) */
    size_t ovector[2 * ROUTE_MAX_CAPTURES]; /* start/end pairs */
    int n;                                  /* pairs set; 0 = none */
};

/* nginx's order: exact name, longest "*.x" wildcard, longest "x.*"
 * wildcard, first matching regex, else the address's default server.
 * host is lower-case. */
const struct srv_conf *route_server(const struct conf_addr *a, struct str host);

/* nginx's order: "=" exact; else the longest prefix, searching its nested
 * locations; unless that prefix is "^~", the regex locations in config
 * order (nested ones first).  NULL when nothing matches.  A regex match
 * fills caps. */
const struct loc_conf *route_location(const struct srv_conf *s, struct str path,
                                      struct route_captures *caps);

/* Whether a compiled regex (conf_regex) matches s anywhere; for the
 * loop thread, as routing (gzip_disable). */
struct pcre2_real_code_8;
bool route_regex_match(struct pcre2_real_code_8 *re, struct str s);

/* The server's @name location, or NULL. */
const struct loc_conf *route_named(const struct srv_conf *s, struct str name);

#endif

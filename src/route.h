/* route.h - choosing the server (by address and Host) and the location. */
#ifndef TP_ROUTE_H
#define TP_ROUTE_H

#include "str.h"

struct conf_addr;
struct srv_conf;
struct loc_conf;

/* nginx's order: exact name, longest "*.x" wildcard, longest "x.*"
 * wildcard, else the address's default server.  host is lower-case. */
const struct srv_conf *route_server(const struct conf_addr *a, struct str host);

/* nginx's order: "=" exact, then the longest prefix (searching its nested
 * locations), NULL when nothing matches. */
const struct loc_conf *route_location(const struct srv_conf *s, struct str path);

#endif

/* conf_listen.c - the socket options of `listen`, with nginx's syntax and
 * messages.  They belong to the socket, not the server: conf_ports.c
 * takes them from the one listen of an address that gives them. */
#include "http/conf_listen.h"

#include <stdbool.h>
#include <string.h>

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

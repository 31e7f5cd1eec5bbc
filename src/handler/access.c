/* access.c - allow, deny, satisfy and internal (see access.h). */
#include "handler/access.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"

enum access_satisfy { SATISFY_ALL, SATISFY_ANY };

/* One allow or deny. */
struct access_rule {
    int family;       /* AF_INET, AF_INET6 or AF_UNIX; AF_UNSPEC for `all` */
    uint8_t addr[16]; /* the network, in network order (4 bytes for IPv4) */
    uint8_t mask[16]; /* its mask */
    bool deny;        /* deny, else allow */
};

/* The module's part of a level. */
struct access_loc {
    struct access_rule *rules; /* allow/deny in order; a level without takes its parent's */
    size_t nrules;             /* how many */
    long satisfy;              /* enum access_satisfy */
};

static const struct access_loc *access_of(const struct req *r)
{
    return loc_part(r->loc, &mod_access);
}

/* ---- the verdicts ---------------------------------------------------------- */

enum phase_rc access_grant(struct req *r)
{
    if (access_of(r)->satisfy == SATISFY_ANY) {
        r->access_code = 0;
        return PHASE_DONE;
    }
    return PHASE_DECLINED;
}

enum phase_rc access_refuse(struct req *r, int status)
{
    if (access_of(r)->satisfy == SATISFY_ANY) {
        if (r->access_code != 401)
            r->access_code = status;
        return PHASE_DECLINED;
    }
    resp_error(r, status);
    return PHASE_TAKEN;
}

/* ---- matching ---------------------------------------------------------------- */

static bool access_bytes_match(const struct access_rule *rule, const uint8_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] & rule->mask[i]) != rule->addr[i])
            return false;
    return true;
}

/* nginx matches an IPv4 client that reached an IPv6 socket (::ffff:a.b.c.d)
 * against the IPv4 rules. */
static bool access_rule_match(const struct access_rule *rule, const union sockaddr_any *peer)
{
    const uint8_t *a6 = peer->sin6.sin6_addr.s6_addr;
    if (rule->family == AF_UNSPEC)
        return true;
    if (peer->sa.sa_family == AF_INET)
        return rule->family == AF_INET &&
               access_bytes_match(rule, (const uint8_t *)&peer->sin.sin_addr, 4);
    if (peer->sa.sa_family != AF_INET6)
        return rule->family == peer->sa.sa_family;
    if (IN6_IS_ADDR_V4MAPPED(&peer->sin6.sin6_addr))
        return rule->family == AF_INET && access_bytes_match(rule, a6 + 12, 4);
    return rule->family == AF_INET6 && access_bytes_match(rule, a6, 16);
}

static enum phase_rc access_phase(struct req *r)
{
    const struct access_loc *al = access_of(r);
    for (size_t i = 0; i < al->nrules; i++) {
        const struct access_rule *rule = &al->rules[i];
        if (!access_rule_match(rule, &r->c->peer))
            continue;
        if (!rule->deny)
            return access_grant(r);
        if (al->satisfy == SATISFY_ALL)
            conn_logf(r->c, LL_ERR, 0, "access forbidden by rule");
        return access_refuse(r, 403);
    }
    return PHASE_DECLINED;
}

/* ---- configuration --------------------------------------------------------------- */

static void access_mask(uint8_t *mask, size_t bytes, long bits)
{
    memset(mask, 0, 16);
    for (size_t i = 0; i < bytes; i++, bits -= 8)
        mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
}

/* nginx's ngx_ptocidr: "addr" or "addr/bits"; bits past the mask set in
 * the address are dropped with a warning. */
static int access_cidr(struct conf_loader *cl, const struct conf_node *n, const char *text,
                       struct access_rule *rule)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    long bits;
    if (alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    rule->family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
    size_t bytes = rule->family == AF_INET6 ? 16 : 4;
    if (inet_pton(rule->family, buf, rule->addr) != 1)
        return -1;
    bits = (long)bytes * 8;
    if (slash != NULL && (conf_parse_num(slash + 1, &bits) < 0 || bits > (long)bytes * 8))
        return -1;
    access_mask(rule->mask, bytes, bits);
    bool low = false;
    for (size_t i = 0; i < bytes; i++) {
        low |= (rule->addr[i] & ~rule->mask[i]) != 0;
        rule->addr[i] &= rule->mask[i];
    }
    if (low)
        conf_warn(n, "low address bits of %s are meaningless", text);
    return 0;
}

static int access_set_rule(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd)
{
    struct access_loc *al = cl->part(cl, &mod_access);
    struct access_rule *rule = conf_push(cl->pool, &al->rules, &al->nrules, sizeof(*rule));
    const char *a = n->args[1].s;
    if (rule == NULL)
        return conf_err_nomem(cl, n);
    rule->deny = cmd->name[0] == 'd';
    if (strcmp(a, "all") == 0)
        rule->family = AF_UNSPEC;
    else if (strcmp(a, "unix:") == 0)
        rule->family = AF_UNIX;
    else if (access_cidr(cl, n, a, rule) < 0)
        return conf_err_param(cl, n, a);
    return 0;
}

/* `internal` marks the core's own setting of the location. */
static int access_set_internal(struct conf_loader *cl, const struct conf_node *n,
                               const struct conf_cmd *cmd)
{
    struct loc_conf *loc = http_level(cl)->loc;
    if (loc->internal)
        return conf_err_dup(cl, n, cmd);
    loc->internal = true;
    return 0;
}

/* The rules are inherited as a whole: a level with its own replaces them. */
static void access_merge(const void *from, void *to)
{
    const struct access_loc *parent = from;
    struct access_loc *child = to;
    if (child->nrules == 0) {
        child->rules = parent->rules;
        child->nrules = parent->nrules;
    }
}

static const struct conf_enum access_satisfy_words[] = {
    {"all", SATISFY_ALL},
    {"any", SATISFY_ANY},
    {NULL, 0},
};

#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)
#define ACC_CUSTOM CT_CUSTOM, CS_MAIN, 0, NULL

static const struct conf_cmd access_cmds[] = {
    {"allow", HSL, ARGS(1), ACC_CUSTOM, access_set_rule, NULL},
    {"deny", HSL, ARGS(1), ACC_CUSTOM, access_set_rule, NULL},
    {"satisfy", HSL, ARGS(1), CT_ENUM, CS_PART, offsetof(struct access_loc, satisfy), "all", NULL,
     access_satisfy_words},
    {"internal", CTX_LOC, ARGS(0), ACC_CUSTOM, access_set_internal, NULL},
};

static const struct http_hooks access_hooks = {.access = access_phase};

struct module mod_access = {
    .name = "http_access",
    .cmds = access_cmds,
    .ncmds = sizeof(access_cmds) / sizeof(access_cmds[0]),
    .part_size = sizeof(struct access_loc),
    .part_merge = access_merge,
    .http = &access_hooks,
};

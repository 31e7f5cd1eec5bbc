/* access.c - allow, deny, satisfy and internal (see access.h). */
#include "handler/access.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_cidr.h"
#include "conf/conf_table.h"
#include "http/conn.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/resp.h"

enum access_satisfy { SATISFY_ALL, SATISFY_ANY };

/* One allow or deny. */
struct access_rule {
    struct cidr net; /* its family AF_UNIX for `unix:`, AF_UNSPEC for `all` */
    bool deny;       /* deny, else allow */
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

/* nginx matches an IPv4 client that reached an IPv6 socket (::ffff:a.b.c.d)
 * against the IPv4 rules. */
static bool access_rule_match(const struct access_rule *rule, const union sockaddr_any *peer)
{
    const uint8_t *a6 = peer->sin6.sin6_addr.s6_addr;
    if (rule->net.family == AF_UNSPEC)
        return true;
    if (peer->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&peer->sin6.sin6_addr))
        return cidr_match_bytes(&rule->net, AF_INET, a6 + 12, 4);
    if (peer->sa.sa_family != AF_INET && peer->sa.sa_family != AF_INET6)
        return rule->net.family == peer->sa.sa_family;
    return cidr_match(&rule->net, peer);
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
        rule->net.family = AF_UNSPEC;
    else if (strcmp(a, "unix:") == 0)
        rule->net.family = AF_UNIX;
    else if (conf_cidr_parse(n, a, &rule->net) < 0)
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

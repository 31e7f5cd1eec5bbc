/* split_clients.c - `split_clients key $variable { percent value; ... }`
 * (see map.h): a key's MurmurHash2 picks the part whose share of the
 * 32-bit hash space it falls in, the same one nginx picks. */
#include "handler/map.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/vars_dyn.h"

/* One line of the block. */
struct split_part {
    uint32_t upto;    /* the hashes below this go here; 0: "*", the rest */
    struct str value; /* the variable's value */
};

/* One split_clients block. */
struct split {
    struct cval key;          /* what is hashed */
    struct split_part *parts; /* in order */
    size_t nparts;            /* how many */
};

uint32_t map_murmur2(const unsigned char *data, size_t len)
{
    const uint32_t m = 0x5bd1e995;
    uint32_t h = (uint32_t)len, k;
    for (; len >= 4; data += 4, len -= 4) {
        k = data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h = h * m ^ k;
    }
    switch (len) {
    case 3:
        h ^= (uint32_t)data[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)data[1] << 8;
        /* fall through */
    case 1:
        h ^= data[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    return h ^ (h >> 15);
}

static bool split_eval(struct req *r, const struct var_dyn *d, struct str *out)
{
    const struct split *sp = d->data;
    struct str key;
    *out = STR_LIT("");
    if (cval_eval(&sp->key, r, &key) < 0)
        return false;
    uint32_t hash = map_murmur2((const unsigned char *)key.p, key.len);
    for (size_t i = 0; i < sp->nparts; i++) {
        if (hash < sp->parts[i].upto || sp->parts[i].upto == 0) {
            *out = sp->parts[i].value;
            break;
        }
    }
    return true;
}

/* nginx's ngx_atofp(s, len - 1, 2): "12.5%" -> 1250 hundredths of a
 * percent; at most two decimals; -1 if not a positive percentage. */
static long split_percent(const char *s)
{
    size_t len = strlen(s);
    long v = 0;
    int decimals = -1;
    if (len < 2 || s[len - 1] != '%')
        return -1;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] == '.' && decimals < 0) {
            decimals = 0;
            continue;
        }
        if (s[i] < '0' || s[i] > '9' || decimals >= 2 || v > 100000000)
            return -1;
        v = v * 10 + (s[i] - '0');
        decimals += decimals >= 0;
    }
    for (int i = decimals < 0 ? 0 : decimals; i < 2; i++)
        v *= 10;
    return v > 0 ? v : -1;
}

static int split_line(struct conf_loader *cl, const struct conf_node *n, struct split *sp)
{
    struct split_part *part = conf_push(cl->pool, &sp->parts, &sp->nparts, sizeof(*part));
    long percent = 0;
    if (part == NULL)
        return conf_err_nomem(cl, n);
    if (n->nargs != 2 || n->block)
        return conf_err(cl, n, "invalid number of the split_clients parameters");
    if (strcmp(n->args[0].s, "*") != 0 && (percent = split_percent(n->args[0].s)) < 0)
        return conf_err(cl, n, "invalid percent value \"%s\"", n->args[0].s);
    part->upto = (uint32_t)percent; /* hundredths of a percent until split_shares */
    part->value = str_make(mpool_strdup(cl->pool, n->args[1].s), n->args[1].len);
    return 0;
}

/* The shares become thresholds in the hash space, as nginx computes
 * them: each part's share of 0xffffffff, added up. */
static int split_shares(struct conf_loader *cl, const struct conf_node *n, struct split *sp)
{
    uint32_t sum = 0, last = 0;
    for (size_t i = 0; i < sp->nparts; i++) {
        struct split_part *part = &sp->parts[i];
        sum = part->upto != 0 ? sum + part->upto : 10000;
        if (sum > 10000)
            return conf_err(cl, n, "percent total is greater than 100%%");
        if (part->upto != 0) {
            last += (uint32_t)((uint64_t)part->upto * 0xffffffff / 10000);
            part->upto = last;
        }
    }
    return 0;
}

static int split_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct split *sp = mpool_calloc(cl->pool, sizeof(*sp));
    (void)cmd;
    if (sp == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], &sp->key) < 0)
        return -1;
    struct var_dyn *d = map_variable(cl, n);
    if (d == NULL)
        return -1;
    for (const struct conf_node *c = n->child; c != NULL; c = c->next)
        if (split_line(cl, c, sp) < 0)
            return -1;
    if (split_shares(cl, n, sp) < 0)
        return -1;
    d->eval = split_eval;
    d->data = sp;
    d->is_volatile = false;
    return 0;
}

static const struct conf_cmd split_cmds[] = {
    {"split_clients", CTX_HTTP, ARGS(2) | ARGS_BLOCK, CT_CUSTOM, CS_MAIN, 0, NULL, split_set, NULL},
};

struct module mod_split_clients = {
    .name = "http_split_clients",
    .cmds = split_cmds,
    .ncmds = sizeof(split_cmds) / sizeof(split_cmds[0]),
};

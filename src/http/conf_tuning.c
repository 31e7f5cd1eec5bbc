/* conf_tuning.c - nginx's table and pool sizes: accepted, checked, and
 * otherwise unused (see conf_tuning.h). */
#include "http/conf_tuning.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf_table.h"
#include "http/core_conf.h"

/* nginx rounds bucket sizes up to the CPU's cache line; 64 on x86-64. */
#define TUNING_CACHELINE 64
/* nginx's smallest pool (ngx_pool_t and two large-block links on 64-bit
 * systems) and the alignment every pool size must keep. */
#define TUNING_MIN_POOL 112
#define TUNING_POOL_ALIGN 16

const struct tuning_loc *tuning_of(const struct loc_conf *loc)
{
    return loc_part(loc, &mod_http_tuning);
}

/* The room one key takes in a bucket: ngx_hash_elt_t (a value pointer, a
 * length, the name) padded to pointers, plus the bucket's end marker. */
static size_t tuning_elt_size(size_t keylen)
{
    size_t ptr = sizeof(void *);
    return ptr + ((keylen + 2 + ptr - 1) & ~(ptr - 1)) + ptr;
}

int tuning_hash_check(const char *name, long max_size, long bucket_size, size_t nkeys,
                      size_t longest, char *err, size_t errlen)
{
    long bucket = (bucket_size + TUNING_CACHELINE - 1) & ~(long)(TUNING_CACHELINE - 1);
    if (nkeys == 0)
        return 0;
    if (max_size == 0) {
        snprintf(err, errlen, "could not build %s, you should increase %s_max_size: 0", name, name);
        return -1;
    }
    if (bucket > 65536 - TUNING_CACHELINE) {
        snprintf(err, errlen, "could not build %s, too large %s_bucket_size: %ld", name, name,
                 bucket);
        return -1;
    }
    if ((size_t)bucket < tuning_elt_size(longest)) {
        snprintf(err, errlen, "could not build %s, you should increase %s_bucket_size: %ld", name,
                 name, bucket);
        return -1;
    }
    return 0;
}

/* ngx_http_core_pool_size: a pool at least as large as its own header,
 * in whole alignment units. */
static int tuning_set_pool_size(struct conf_loader *cl, const struct conf_node *n,
                                const struct conf_cmd *cmd)
{
    long *field = (long *)((char *)cl->part(cl, &mod_http_tuning) + cmd->offset);
    if (*field != -1)
        return conf_err_dup(cl, n, cmd);
    if (conf_parse_size(n->args[1].s, field) < 0)
        return conf_err_value(cl, n, cmd, 1);
    if (*field < TUNING_MIN_POOL)
        return conf_err(cl, n, "the pool size must be no less than %d", TUNING_MIN_POOL);
    if (*field % TUNING_POOL_ALIGN != 0)
        return conf_err(cl, n, "the pool size must be a multiple of %d", TUNING_POOL_ALIGN);
    return 0;
}

/* ---- the hashes nginx would build -------------------------------------- */

/* Exact server names go into server_names_hash (wildcards into hashes of
 * their labels, which are never longer than the name). */
static int tuning_check_names(struct conf_loader *cl, const struct http_conf *h,
                              const struct tuning_loc *t)
{
    size_t n = 0, longest = 0;
    for (size_t i = 0; i < h->nservers; i++) {
        const struct srv_conf *s = h->servers[i];
        for (size_t j = 0; j < s->nnames; j++) {
            if (s->names[j].kind == NK_REGEX)
                continue;
            n++;
            if (s->names[j].len > longest)
                longest = s->names[j].len;
        }
    }
    return tuning_hash_check("server_names_hash", t->server_names_hash_max_size,
                             t->server_names_hash_bucket_size, n, longest, cl->err, cl->errlen);
}

/* types_hash holds a level's extensions, with that level's sizes. */
static int tuning_check_types(struct conf_loader *cl, const struct loc_conf *loc)
{
    const struct tuning_loc *t = tuning_of(loc);
    size_t longest = 0;
    for (size_t i = 0; i < loc->ntypes; i++) {
        size_t len = strlen(loc->types[i].ext);
        if (len > longest)
            longest = len;
    }
    return tuning_hash_check("types_hash", t->types_hash_max_size, t->types_hash_bucket_size,
                             loc->ntypes, longest, cl->err, cl->errlen);
}

static int tuning_check_locs(struct conf_loader *cl, struct loc_conf *const *locs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tuning_check_types(cl, locs[i]) < 0 ||
            tuning_check_locs(cl, locs[i]->children, locs[i]->nchildren) < 0)
            return -1;
    }
    return 0;
}

/* After the http core merged every level. */
static int tuning_finish(struct conf_loader *cl)
{
    const struct http_conf *h = http_main(cl->conf);
    if (h == NULL)
        return 0;
    if (tuning_check_names(cl, h, tuning_of(h->loc)) < 0 || tuning_check_types(cl, h->loc) < 0)
        return -1;
    for (size_t i = 0; i < h->nservers; i++) {
        const struct srv_conf *s = h->servers[i];
        if (tuning_check_types(cl, s->loc) < 0 || tuning_check_locs(cl, s->locs, s->nlocs) < 0 ||
            tuning_check_locs(cl, s->named, s->nnamed) < 0)
            return -1;
    }
    return 0;
}

#define T_F(f) CS_PART, offsetof(struct tuning_loc, f)
#define HSL (CTX_HTTP | CTX_SRV | CTX_LOC)

/* Defaults are nginx's on x86-64 (64-byte cache lines, 64-bit pools). */
static const struct conf_cmd tuning_cmds[] = {
    {"types_hash_max_size", HSL, ARGS(1), CT_NUM, T_F(types_hash_max_size), "1024", NULL, NULL},
    {"types_hash_bucket_size", HSL, ARGS(1), CT_NUM, T_F(types_hash_bucket_size), "64", NULL, NULL},
    {"server_names_hash_max_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(server_names_hash_max_size),
     "512", NULL, NULL},
    {"server_names_hash_bucket_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(server_names_hash_bucket_size),
     "64", NULL, NULL},
    {"variables_hash_max_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(variables_hash_max_size), "1024",
     NULL, NULL},
    {"variables_hash_bucket_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(variables_hash_bucket_size), "64",
     NULL, NULL},
    {"map_hash_max_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(map_hash_max_size), "2048", NULL, NULL},
    {"map_hash_bucket_size", CTX_HTTP, ARGS(1), CT_NUM, T_F(map_hash_bucket_size), "64", NULL,
     NULL},
    {"connection_pool_size", CTX_HTTP | CTX_SRV, ARGS(1), CT_SIZE, T_F(connection_pool_size), "512",
     tuning_set_pool_size, NULL},
    {"request_pool_size", CTX_HTTP | CTX_SRV, ARGS(1), CT_SIZE, T_F(request_pool_size), "4k",
     tuning_set_pool_size, NULL},
};

struct module mod_http_tuning = {
    .name = "http_tuning",
    .cmds = tuning_cmds,
    .ncmds = sizeof(tuning_cmds) / sizeof(tuning_cmds[0]),
    .part_size = sizeof(struct tuning_loc),
    .finish = tuning_finish,
};

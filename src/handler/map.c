/* map.c - the map module (see map.h). */
#include "handler/map.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf_table.h"
#include "http/conf_tuning.h"
#include "http/core_conf.h"
#include "http/req.h"
#include "http/route.h"
#include "http/vars_dyn.h"

/* One key and its value. */
struct map_key {
    const char *key;            /* lower-cased; a wildcard's fixed part, its dot kept */
    size_t len;                 /* its length */
    const struct cval *value;   /* what the variable becomes */
    const struct conf_node *at; /* where it was given (while loading, for messages) */
    size_t seq;                 /* its place in the block, to name the later of two */
};

/* One regex key. */
struct map_regex {
    pcre2_code *re;           /* the compiled key */
    const struct cval *value; /* the value, which may use the captures */
};

/* One map block. */
struct map {
    struct cval source;        /* the value looked up */
    struct map_key *exact;     /* exact keys, sorted */
    size_t nexact;             /* how many */
    struct map_key *heads;     /* "*.x" and ".x" wildcards: the suffix ".x" */
    size_t nheads;             /* how many */
    struct map_key *tails;     /* "x.*" wildcards: the prefix "x." */
    size_t ntails;             /* how many */
    struct map_regex *regexes; /* regex keys, in order */
    size_t nregexes;           /* how many */
    const struct cval *dflt;   /* the default value, or NULL: empty */
    bool hostnames;            /* keys may be wildcards; a final dot of the source is dropped */
    bool is_volatile;          /* computed at every use */
    size_t longest;            /* the longest exact key, for nginx's map_hash check */
    struct map *next;          /* the map defined before */
};

/* The module's main-level data. */
struct map_main {
    struct map *maps; /* every map, newest first */
};

/* ---- looking up ------------------------------------------------------------- */

static int map_key_cmp(const void *a, const void *b)
{
    const struct map_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The longest wildcard whose fixed part ends (heads) or starts (tails)
 * the value, with at least one more byte. */
static const struct cval *map_wild(const struct map_key *keys, size_t n, struct str v, bool head)
{
    const struct map_key *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct map_key *k = &keys[i];
        const char *at = head ? v.p + v.len - k->len : v.p;
        if (v.len > k->len && memcmp(at, k->key, k->len) == 0 &&
            (best == NULL || k->len > best->len))
            best = k;
    }
    return best != NULL ? best->value : NULL;
}

static const struct cval *map_regexes(struct req *r, const struct map *m, struct str v)
{
    static pcre2_match_data *md; /* the loop thread's; captures are copied out */
    if (md == NULL && (md = pcre2_match_data_create(ROUTE_MAX_CAPTURES, NULL)) == NULL)
        return NULL;
    for (size_t i = 0; i < m->nregexes; i++) {
        int rc = pcre2_match(m->regexes[i].re, (PCRE2_SPTR)v.p, v.len, 0, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0)
            return NULL;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        r->captures.n = rc == 0 ? ROUTE_MAX_CAPTURES : rc;
        r->captures.subject = v.p;
        for (int j = 0; j < 2 * r->captures.n; j++)
            r->captures.ovector[j] = ov[j];
        return m->regexes[i].value;
    }
    return NULL;
}

/* nginx's order: exact, head wildcard, tail wildcard, regex (an empty
 * value never matches a regex). */
static const struct cval *map_find(struct req *r, const struct map *m, struct str v)
{
    char *low = mpool_alloc(&r->pool, v.len + 1);
    if (low == NULL)
        return NULL;
    for (size_t i = 0; i < v.len; i++)
        low[i] = (char)tolower((unsigned char)v.p[i]);
    struct map_key key = {.key = low, .len = v.len};
    const struct map_key *k =
        m->nexact > 0 ? bsearch(&key, m->exact, m->nexact, sizeof(*k), map_key_cmp) : NULL;
    if (k != NULL)
        return k->value;
    struct str lv = str_make(low, v.len);
    const struct cval *w = map_wild(m->heads, m->nheads, lv, true);
    if (w == NULL)
        w = map_wild(m->tails, m->ntails, lv, false);
    if (w != NULL || v.len == 0)
        return w;
    return map_regexes(r, m, v);
}

static bool map_eval(struct req *r, const struct var_dyn *d, struct str *out)
{
    const struct map *m = d->data;
    struct str src;
    *out = STR_LIT("");
    if (cval_eval(&m->source, r, &src) < 0)
        return false;
    if (m->hostnames && src.len > 0 && src.p[src.len - 1] == '.')
        src.len--;
    const struct cval *v = map_find(r, m, src);
    if (v == NULL)
        v = m->dflt;
    return v == NULL || cval_eval(v, r, out) == 0;
}

/* ---- reading a map block -------------------------------------------------------- */

static int map_push(struct conf_loader *cl, const struct conf_node *n, struct map_key **arr,
                    size_t *count, const char *key, size_t len, const struct cval *value)
{
    struct map_key *k = conf_push(cl->pool, arr, count, sizeof(*k));
    if (k == NULL || (k->key = mpool_strndup(cl->pool, key, len)) == NULL)
        return conf_err_nomem(cl, n);
    char *low = (char *)k->key;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)low[i]);
    k->len = len;
    k->value = value;
    k->at = n;
    k->seq = *count;
    return 0;
}

/* With hostnames: "*.x" and ".x" (which also adds "x") are heads, "x.*" a
 * tail; any other "*" is no hostname. */
static int map_hostname(struct conf_loader *cl, const struct conf_node *n, struct map *m,
                        const char *key, const struct cval *value)
{
    size_t len = strlen(key);
    const char *star = strchr(key, '*');
    if (len > 2 && strncmp(key, "*.", 2) == 0 && strchr(key + 1, '*') == NULL)
        return map_push(cl, n, &m->heads, &m->nheads, key + 1, len - 1, value);
    if (len > 1 && key[0] == '.' && star == NULL)
        return map_push(cl, n, &m->heads, &m->nheads, key, len, value) < 0
                   ? -1
                   : map_push(cl, n, &m->exact, &m->nexact, key + 1, len - 1, value);
    if (len > 2 && strcmp(key + len - 2, ".*") == 0 && star == key + len - 1)
        return map_push(cl, n, &m->tails, &m->ntails, key, len - 1, value);
    if (star != NULL)
        return conf_err(cl, n, "invalid hostname or wildcard \"%s\"", key);
    return map_push(cl, n, &m->exact, &m->nexact, key, len, value);
}

static int map_regex_key(struct conf_loader *cl, const struct conf_node *n, struct map *m,
                         const char *key, const struct cval *value)
{
    struct map_regex *re = conf_push(cl->pool, &m->regexes, &m->nregexes, sizeof(*re));
    bool caseless = key[1] == '*';
    if (re == NULL)
        return conf_err_nomem(cl, n);
    re->value = value;
    return conf_regex(cl, n, key + 1 + caseless, caseless, &re->re);
}

/* One line of the block: a flag, or a key and its value. */
static int map_line(struct conf_loader *cl, const struct conf_node *n, struct map *m)
{
    const char *key = n->args[0].s;
    if (n->nargs == 1 && !n->block && strcmp(key, "hostnames") == 0)
        return m->hostnames = true, 0;
    if (n->nargs == 1 && !n->block && strcmp(key, "volatile") == 0)
        return m->is_volatile = true, 0;
    if (n->nargs != 2 || n->block)
        return conf_err(cl, n, "invalid number of the map parameters");
    struct cval *value = mpool_calloc(cl->pool, sizeof(*value));
    if (value == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], value) < 0)
        return -1;
    if (strcmp(key, "default") == 0) {
        if (m->dflt != NULL)
            return conf_err(cl, n, "duplicate default map parameter");
        m->dflt = value;
        return 0;
    }
    if (key[0] == '~')
        return map_regex_key(cl, n, m, key, value);
    key += key[0] == '\\'; /* "\default" is the key "default" */
    if (m->hostnames)
        return map_hostname(cl, n, m, key, value);
    return map_push(cl, n, &m->exact, &m->nexact, key, strlen(key), value);
}

/* A key given twice is nginx's "conflicting parameter" (at the later). */
static int map_conflicts(struct conf_loader *cl, struct map_key *keys, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (map_key_cmp(&keys[i - 1], &keys[i]) != 0)
            continue;
        const struct map_key *later = keys[i].seq > keys[i - 1].seq ? &keys[i] : &keys[i - 1];
        char low[256]; /* nginx names the key as it stored it: lower-cased */
        snprintf(low, sizeof(low), "%s", later->at->args[0].s);
        for (char *p = low; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        return conf_err(cl, later->at, "conflicting parameter \"%s\"", low);
    }
    return 0;
}

/* qsort must not be given an empty (NULL) array. */
static void map_sort(struct map_key *keys, size_t n)
{
    if (n > 1)
        qsort(keys, n, sizeof(*keys), map_key_cmp);
}

static int map_keys_done(struct conf_loader *cl, struct map *m)
{
    map_sort(m->exact, m->nexact);
    map_sort(m->heads, m->nheads);
    map_sort(m->tails, m->ntails);
    for (size_t i = 0; i < m->nexact; i++)
        if (m->exact[i].len > m->longest)
            m->longest = m->exact[i].len;
    if (map_conflicts(cl, m->exact, m->nexact) < 0 || map_conflicts(cl, m->heads, m->nheads) < 0)
        return -1;
    return map_conflicts(cl, m->tails, m->ntails);
}

struct var_dyn *map_variable(struct conf_loader *cl, const struct conf_node *n)
{
    const char *name = n->args[2].s;
    struct var_dyn *d = NULL;
    if (name[0] != '$' || name[1] == '\0')
        conf_err(cl, n, "invalid variable name \"%s\"", name);
    else if ((d = var_dyn_find(cl->conf, name + 1, strlen(name + 1))) == NULL)
        conf_err(cl, n, "the duplicate \"%s\" variable", name + 1);
    return d;
}

static int map_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd)
{
    struct map_main *mm = conf_mod(cl->conf, &mod_map);
    struct map *m = mpool_calloc(cl->pool, sizeof(*m));
    (void)cmd;
    if (mm == NULL && (mm = mpool_calloc(cl->pool, sizeof(*mm))) != NULL)
        conf_set_mod(cl->conf, &mod_map, mm);
    if (m == NULL || mm == NULL)
        return conf_err_nomem(cl, n);
    if (conf_cval(cl, n, &n->args[1], &m->source) < 0)
        return -1;
    struct var_dyn *d = map_variable(cl, n);
    if (d == NULL)
        return -1;
    for (const struct conf_node *c = n->child; c != NULL; c = c->next)
        if (map_line(cl, c, m) < 0)
            return -1;
    if (map_keys_done(cl, m) < 0)
        return -1;
    d->eval = map_eval; /* a later map of the same variable wins, as in nginx */
    d->data = m;
    d->is_volatile = m->is_volatile;
    m->next = mm->maps;
    mm->maps = m;
    return 0;
}

/* nginx builds a hash of each map's keys with map_hash_* of http. */
static int map_finish(struct conf_loader *cl)
{
    const struct map_main *mm = conf_mod(cl->conf, &mod_map);
    const struct http_conf *h = http_main(cl->conf);
    if (mm == NULL || h == NULL)
        return 0;
    const struct tuning_loc *t = tuning_of(h->loc);
    for (const struct map *m = mm->maps; m != NULL; m = m->next)
        if (tuning_hash_check("map_hash", t->map_hash_max_size, t->map_hash_bucket_size, m->nexact,
                              m->longest, cl->err, cl->errlen) < 0)
            return -1;
    return 0;
}

static const struct conf_cmd map_cmds[] = {
    {"map", CTX_HTTP, ARGS(2) | ARGS_BLOCK, CT_CUSTOM, CS_MAIN, 0, NULL, map_set, NULL},
};

struct module mod_map = {
    .name = "http_map",
    .cmds = map_cmds,
    .ncmds = sizeof(map_cmds) / sizeof(map_cmds[0]),
    .finish = map_finish,
};

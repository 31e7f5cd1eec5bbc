/* route.c - server and location selection. */
#include "http/route.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf.h"
#include "http/core_conf.h"

/* One match-data block for the whole worker: routing runs on the loop
 * thread only, and each match's results are copied out at once. */
static pcre2_match_data *route_md;

static int route_exec(pcre2_code *re, struct str s, struct route_captures *caps)
{
    if (route_md == NULL && (route_md = pcre2_match_data_create(ROUTE_MAX_CAPTURES, NULL)) == NULL)
        return -1;
    int rc = pcre2_match(re, (PCRE2_SPTR)s.p, s.len, 0, 0, route_md, NULL);
    if (rc < 0)
        return -1;
    if (caps != NULL) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(route_md);
        caps->n = rc == 0 ? ROUTE_MAX_CAPTURES : rc;
        caps->subject = s.p;
        for (int i = 0; i < 2 * caps->n; i++)
            caps->ovector[i] = ov[i];
    }
    return 0;
}

bool route_regex_match(struct pcre2_real_code_8 *re, struct str s)
{
    return route_exec(re, s, NULL) == 0;
}

static bool route_wild_head(const struct server_name *sn, struct str host)
{
    /* sn->name is ".example.com" */
    if (host.len > sn->len && memcmp(host.p + host.len - sn->len, sn->name, sn->len) == 0)
        return true;
    return sn->dot_also_bare && host.len == sn->len - 1 &&
           memcmp(host.p, sn->name + 1, host.len) == 0;
}

static bool route_wild_tail(const struct server_name *sn, struct str host)
{
    /* sn->name is "www.example." */
    return host.len > sn->len && memcmp(host.p, sn->name, sn->len) == 0;
}

/* Scores a server for host: 4 exact, 3 head wildcard, 2 tail wildcard,
 * 1 regex, with the matched length to prefer the longest wildcard. */
static int route_score(const struct srv_conf *s, struct str host, size_t *len)
{
    int best = 0;
    *len = 0;
    for (size_t i = 0; i < s->nnames; i++) {
        const struct server_name *sn = &s->names[i];
        int score = 0;
        if (sn->kind == NK_EXACT && sn->len == host.len && memcmp(sn->name, host.p, host.len) == 0)
            return 4;
        if (sn->kind == NK_WILD_HEAD && route_wild_head(sn, host))
            score = 3;
        else if (sn->kind == NK_WILD_TAIL && route_wild_tail(sn, host))
            score = 2;
        else if (sn->kind == NK_REGEX && best < 1 && route_exec(sn->regex, host, NULL) == 0)
            score = 1;
        if (score > best || (score == best && score > 1 && sn->len > *len)) {
            best = score;
            *len = sn->len;
        }
    }
    return best;
}

const struct srv_conf *route_server(const struct conf_addr *a, struct str host)
{
    const struct srv_conf *best = NULL;
    int best_score = 0;
    size_t best_len = 0;
    for (size_t i = 0; i < a->nservers; i++) {
        size_t len;
        int score = route_score(a->servers[i], host, &len);
        if (score == 4)
            return a->servers[i];
        /* Regexes go in config order: the first matching one wins. */
        if (score > best_score || (score == best_score && score > 1 && len > best_len)) {
            best = a->servers[i];
            best_score = score;
            best_len = len;
        }
    }
    return best != NULL ? best : a->default_srv;
}

enum route_rc { RT_NONE, RT_PREFIX, RT_FINAL };

/* Exact or longest prefix among one level's static locations. */
static enum route_rc route_static(struct loc_conf *const *locs, size_t n, struct str path,
                                  const struct loc_conf **found)
{
    const struct loc_conf *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct loc_conf *l = locs[i];
        if (l->match == LM_REGEX)
            continue;
        if (l->match == LM_EXACT) {
            if (l->name_len == path.len && memcmp(l->name, path.p, path.len) == 0) {
                *found = l;
                return RT_FINAL;
            }
            continue;
        }
        if (l->name_len <= path.len && memcmp(l->name, path.p, l->name_len) == 0 &&
            (best == NULL || l->name_len > best->name_len))
            best = l;
    }
    if (best == NULL)
        return RT_NONE;
    *found = best;
    return RT_PREFIX;
}

/* nginx's ngx_http_core_find_location, over one level. */
static enum route_rc route_find(struct loc_conf *const *locs, size_t n, struct str path,
                                const struct loc_conf **found, struct route_captures *caps)
{
    const struct loc_conf *prefix = NULL;
    enum route_rc rc = route_static(locs, n, path, &prefix);
    bool noregex = false;
    if (rc == RT_FINAL) {
        *found = prefix;
        return RT_FINAL;
    }
    if (rc == RT_PREFIX) {
        *found = prefix;
        noregex = prefix->match == LM_PREFIX_NOREGEX;
        rc = route_find(prefix->children, prefix->nchildren, path, found, caps);
        if (rc == RT_FINAL)
            return RT_FINAL;
        rc = RT_PREFIX;
    }
    for (size_t i = 0; !noregex && i < n; i++) {
        if (locs[i]->match != LM_REGEX || route_exec(locs[i]->regex, path, caps) < 0)
            continue;
        *found = locs[i];
        route_find(locs[i]->children, locs[i]->nchildren, path, found, caps);
        return RT_FINAL;
    }
    return rc;
}

const struct loc_conf *route_location(const struct srv_conf *s, struct str path,
                                      struct route_captures *caps)
{
    const struct loc_conf *found = NULL;
    route_find(s->locs, s->nlocs, path, &found, caps);
    return found;
}

const struct loc_conf *route_named(const struct srv_conf *s, struct str name)
{
    for (size_t i = 0; i < s->nnamed; i++)
        if (s->named[i]->name_len == name.len && memcmp(s->named[i]->name, name.p, name.len) == 0)
            return s->named[i];
    return NULL;
}

/* route.c - server and location selection. */
#include "route.h"

#include <string.h>

#include "conf.h"

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

/* Scores a server for host: 3 exact, 2 head wildcard, 1 tail wildcard, with
 * the matched length to prefer the longest wildcard. */
static int route_score(const struct srv_conf *s, struct str host, size_t *len)
{
    int best = 0;
    *len = 0;
    for (size_t i = 0; i < s->nnames; i++) {
        const struct server_name *sn = &s->names[i];
        int score = 0;
        if (sn->kind == NK_EXACT && sn->len == host.len && memcmp(sn->name, host.p, host.len) == 0)
            return 3;
        if (sn->kind == NK_WILD_HEAD && route_wild_head(sn, host))
            score = 2;
        else if (sn->kind == NK_WILD_TAIL && route_wild_tail(sn, host))
            score = 1;
        if (score > best || (score == best && score > 0 && sn->len > *len)) {
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
        if (score == 3)
            return a->servers[i];
        if (score > best_score || (score == best_score && score > 0 && len > best_len)) {
            best = a->servers[i];
            best_score = score;
            best_len = len;
        }
    }
    return best != NULL ? best : a->default_srv;
}

static const struct loc_conf *route_find(struct loc_conf *const *locs, size_t n, struct str path)
{
    const struct loc_conf *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct loc_conf *l = locs[i];
        if (l->match == LM_EXACT) {
            if (l->name_len == path.len && memcmp(l->name, path.p, path.len) == 0)
                return l;
            continue;
        }
        if (l->name_len <= path.len && memcmp(l->name, path.p, l->name_len) == 0 &&
            (best == NULL || l->name_len > best->name_len))
            best = l;
    }
    if (best != NULL && best->nchildren > 0) {
        const struct loc_conf *inner = route_find(best->children, best->nchildren, path);
        if (inner != NULL)
            return inner;
    }
    return best;
}

const struct loc_conf *route_location(const struct srv_conf *s, struct str path)
{
    return route_find(s->locs, s->nlocs, path);
}

/* resolver.c - the per-worker name cache and its lookups in the pool.
 *
 * An entry is one name asked through one `resolver` directive (as in
 * nginx, each directive has its own cache).  It is reference counted: the
 * cache holds one reference and a lookup in the pool another, so a worker
 * that stops while a DNS server is silent frees the entry only when the
 * pool hands the job back. */
#include "core/resolver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/dns.h"
#include "core/owner.h"
#include "core/tpool.h"

#define RESOLVER_BUCKETS 1024      /* hash chains */
#define RESOLVER_EXPIRE 30.0       /* nginx's: an entry unused this long is forgotten */
#define RESOLVER_MAX_ENTRIES 10000 /* beyond this, idle entries go at once */

struct resolver {
    struct ev_loop *loop;                             /* the worker's loop */
    struct tpool *pool;                               /* where lookups run */
    struct timers *timers;                            /* the waiters' timeouts */
    struct resolver_entry *buckets[RESOLVER_BUCKETS]; /* entries by hash */
    struct resolver_entry *lru;                       /* most recently used first */
    struct resolver_entry *lru_tail;                  /* least recently used */
    size_t nentries;                                  /* entries in the cache */
    unsigned next_server;                             /* lookups start at servers in turn */
};

struct resolver_job;

struct resolver_entry {
    struct owner own;               /* the cache's reference, plus a lookup's */
    struct resolver *rs;            /* the cache it is in (while not gone) */
    const struct resolver_conf *rc; /* the directive it is asked through */
    char name[DNS_NAME_MAX];        /* normalized name */
    uint32_t hash;                  /* of rc and name */
    struct resolver_entry *hnext;   /* hash chain */
    struct resolver_entry *lprev;   /* LRU list */
    struct resolver_entry *lnext;
    struct resolver_wait waiters;  /* sentinel of the circular list of waiters */
    struct resolver_job *job;      /* the lookup in the pool, or NULL */
    union sockaddr_any *addrs;     /* the last good answer (malloc), or NULL */
    struct resolver_answer answer; /* what callers see of it */
    ev_tstamp used;                /* last asked for */
};

/* A lookup in the pool; the pool thread touches only q, name and ans. */
struct resolver_job {
    struct tpool_job job;         /* the pool's part, first */
    struct resolver_entry *entry; /* what it fills (held through job.owner) */
    struct dns_lookup q;          /* the question (servers: the conf's) */
    char name[DNS_NAME_MAX];      /* q.name's storage */
    struct dns_answer ans;        /* the pool thread's result */
};

static struct resolver_entry *entry_of(struct owner *o)
{
    return (struct resolver_entry *)((char *)o - offsetof(struct resolver_entry, own));
}

static void resolver_entry_free(struct owner *o)
{
    struct resolver_entry *e = entry_of(o);
    free(e->addrs);
    free(e);
}

/* ---- waiters ---------------------------------------------------------------- */

static void wait_unlink(struct resolver_wait *w)
{
    w->prev->next = w->next;
    w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->entry = NULL;
    timer_disarm(&w->timer);
}

static bool waiters_empty(const struct resolver_entry *e)
{
    return e->waiters.next == &e->waiters;
}

void resolver_cancel(struct resolver_wait *w)
{
    if (w->entry != NULL)
        wait_unlink(w);
}

static void resolver_wait_expire(struct timer_node *node)
{
    struct resolver_wait *w =
        (struct resolver_wait *)((char *)node - offsetof(struct resolver_wait, timer));
    wait_unlink(w);
    w->cb(w, DNS_TIMEDOUT, NULL);
}

/* Tells every waiter, one at a time from a list of its own: a callback
 * may cancel another waiter, or start waiting again (on a new lookup). */
static void resolver_notify(struct resolver_entry *e, int status)
{
    struct resolver_wait told;
    if (waiters_empty(e))
        return;
    told.next = e->waiters.next;
    told.prev = e->waiters.prev;
    told.next->prev = told.prev->next = &told;
    e->waiters.next = e->waiters.prev = &e->waiters;
    owner_get(&e->own);
    while (told.next != &told) {
        struct resolver_wait *w = told.next;
        wait_unlink(w);
        w->cb(w, status, status == DNS_OK ? &e->answer : NULL);
    }
    owner_put(&e->own);
}

/* ---- the cache ---------------------------------------------------------------- */

static uint32_t resolver_hash(const struct resolver_conf *rc, const char *name)
{
    uint32_t h = 2166136261u ^ (uint32_t)((uintptr_t)rc >> 4);
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void lru_unlink(struct resolver *rs, struct resolver_entry *e)
{
    if (e->lprev != NULL)
        e->lprev->lnext = e->lnext;
    else
        rs->lru = e->lnext;
    if (e->lnext != NULL)
        e->lnext->lprev = e->lprev;
    else
        rs->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push(struct resolver *rs, struct resolver_entry *e)
{
    e->lnext = rs->lru;
    if (rs->lru != NULL)
        rs->lru->lprev = e;
    rs->lru = e;
    if (rs->lru_tail == NULL)
        rs->lru_tail = e;
}

static void resolver_touch(struct resolver *rs, struct resolver_entry *e)
{
    e->used = ev_now(rs->loop);
    lru_unlink(rs, e);
    lru_push(rs, e);
}

/* Takes e out of the cache; a lookup still in the pool keeps it alive. */
static void resolver_remove(struct resolver *rs, struct resolver_entry *e)
{
    struct resolver_entry **pp = &rs->buckets[e->hash % RESOLVER_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(rs, e);
    rs->nentries--;
    owner_close(&e->own);
}

/* nginx's ngx_resolver_expire: a couple of stale entries per call keep
 * the cache from growing with names nobody asks for any more. */
static void resolver_expire(struct resolver *rs)
{
    ev_tstamp now = ev_now(rs->loop);
    for (int i = 0; i < 2 && rs->lru_tail != NULL; i++) {
        struct resolver_entry *e = rs->lru_tail;
        bool idle = e->job == NULL && waiters_empty(e);
        bool stale = now - e->used > RESOLVER_EXPIRE && now >= e->answer.valid_until;
        if (!idle || (!stale && rs->nentries <= RESOLVER_MAX_ENTRIES))
            return;
        resolver_remove(rs, e);
    }
}

static struct resolver_entry *resolver_find(struct resolver *rs, const struct resolver_conf *rc,
                                            const char *name, uint32_t hash)
{
    for (struct resolver_entry *e = rs->buckets[hash % RESOLVER_BUCKETS]; e != NULL; e = e->hnext)
        if (e->hash == hash && e->rc == rc && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static struct resolver_entry *resolver_add(struct resolver *rs, const struct resolver_conf *rc,
                                           const char *name, uint32_t hash)
{
    struct resolver_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    owner_init(&e->own, resolver_entry_free);
    e->rs = rs;
    e->rc = rc;
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->hash = hash;
    e->waiters.next = e->waiters.prev = &e->waiters;
    e->hnext = rs->buckets[hash % RESOLVER_BUCKETS];
    rs->buckets[hash % RESOLVER_BUCKETS] = e;
    lru_push(rs, e);
    rs->nentries++;
    return e;
}

/* ---- lookups in the pool ---------------------------------------------------- */

static void resolver_job_work(struct tpool_job *job)
{
    struct resolver_job *j = (struct resolver_job *)job;
    dns_lookup_run(&j->q, &j->ans);
}

/* Keeps a good answer (and replaces the old one); a failure drops what
 * was kept, as nginx deletes the node. */
static int resolver_keep(struct resolver_entry *e, const struct dns_answer *ans, ev_tstamp now)
{
    free(e->addrs);
    e->addrs = NULL;
    e->answer.addrs = NULL;
    e->answer.naddrs = 0;
    e->answer.valid_until = 0;
    if (ans->status != DNS_OK)
        return ans->status;
    e->addrs = malloc(sizeof(*e->addrs) * ans->naddrs);
    if (e->addrs == NULL)
        return DNS_ERROR;
    memcpy(e->addrs, ans->addrs, sizeof(*e->addrs) * ans->naddrs);
    e->answer.addrs = e->addrs;
    e->answer.naddrs = ans->naddrs;
    e->answer.valid_until =
        now + (e->rc->valid > 0 ? (ev_tstamp)e->rc->valid / 1000.0 : (ev_tstamp)ans->ttl);
    return DNS_OK;
}

static void resolver_job_done(struct tpool_job *job)
{
    struct resolver_job *j = (struct resolver_job *)job;
    struct resolver_entry *e = j->entry;
    e->job = NULL;
    resolver_notify(e, resolver_keep(e, &j->ans, ev_now(e->rs->loop)));
}

static void resolver_job_release(struct tpool_job *job)
{
    struct resolver_job *j = (struct resolver_job *)job;
    if (j->q.cancel_fd >= 0)
        close(j->q.cancel_fd);
    free(j);
}

static int resolver_submit(struct resolver *rs, struct resolver_entry *e, long timeout_ms)
{
    struct resolver_job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return -1;
    j->job.work = resolver_job_work;
    j->job.done = resolver_job_done;
    j->job.release = resolver_job_release;
    j->job.owner = &e->own;
    j->job.cls = TPOOL_DNS;
    j->entry = e;
    snprintf(j->name, sizeof(j->name), "%s", e->name);
    j->q = (struct dns_lookup){
        .servers = e->rc->addrs,
        .nservers = e->rc->naddrs,
        .first = rs->next_server++,
        .name = j->name,
        .ipv4 = e->rc->ipv4,
        .ipv6 = e->rc->ipv6,
        .timeout_ms = timeout_ms,
        .cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
    };
    if (j->q.cancel_fd < 0 || tpool_submit(rs->pool, &j->job) < 0) {
        resolver_job_release(&j->job);
        return -1;
    }
    e->job = j;
    return 0;
}

/* ---- the interface ---------------------------------------------------------- */

struct resolver *resolver_create(struct ev_loop *loop, struct tpool *pool, struct timers *timers)
{
    struct resolver *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return NULL;
    rs->loop = loop;
    rs->pool = pool;
    rs->timers = timers;
    return rs;
}

/* A lookup still running is told to give up at once, so the pool's
 * threads can be joined without waiting out resolver_timeout. */
static void resolver_entry_drop(struct resolver *rs, struct resolver_entry *e)
{
    while (!waiters_empty(e))
        wait_unlink(e->waiters.next);
    if (e->job != NULL)
        (void)!write(e->job->q.cancel_fd, &(uint64_t){1}, sizeof(uint64_t));
    resolver_remove(rs, e);
}

void resolver_destroy(struct resolver *rs)
{
    if (rs == NULL)
        return;
    while (rs->lru != NULL)
        resolver_entry_drop(rs, rs->lru);
    free(rs);
}

const struct resolver_answer *resolver_cached(struct resolver *rs, const struct resolver_conf *rc,
                                              struct str name)
{
    char norm[DNS_NAME_MAX];
    resolver_expire(rs);
    if (!dns_name_normalize(name.p, name.len, norm, sizeof(norm)))
        return NULL;
    struct resolver_entry *e = resolver_find(rs, rc, norm, resolver_hash(rc, norm));
    if (e == NULL || e->answer.naddrs == 0 || ev_now(rs->loop) >= e->answer.valid_until)
        return NULL;
    resolver_touch(rs, e);
    return &e->answer;
}

static void resolver_wait_add(struct resolver_entry *e, struct resolver_wait *w, resolver_cb cb)
{
    w->cb = cb;
    w->entry = e;
    w->next = &e->waiters;
    w->prev = e->waiters.prev;
    w->prev->next = w;
    e->waiters.prev = w;
}

int resolver_start(struct resolver *rs, const struct resolver_conf *rc, struct str name,
                   long timeout_ms, struct resolver_wait *w, resolver_cb cb, int *status)
{
    char norm[DNS_NAME_MAX];
    *status = DNS_FORMERR;
    if (!dns_name_normalize(name.p, name.len, norm, sizeof(norm)))
        return -1;
    *status = DNS_ERROR;
    resolver_expire(rs);
    uint32_t hash = resolver_hash(rc, norm);
    struct resolver_entry *e = resolver_find(rs, rc, norm, hash);
    if (e == NULL && (e = resolver_add(rs, rc, norm, hash)) == NULL)
        return -1;
    resolver_touch(rs, e);
    if (e->job == NULL && resolver_submit(rs, e, timeout_ms) < 0)
        return -1;
    w->timer.expire = resolver_wait_expire;
    if (timer_arm(rs->timers, &w->timer, timeout_ms) < 0)
        return -1;
    resolver_wait_add(e, w, cb);
    return 0;
}

/* timer.c - per-timeout-value lists, and a heap for the timeouts that
 * vary. */
#include "core/timer.h"

#include <stdlib.h>

/* Every node on one list has the same timeout, so appending keeps the list
 * sorted by deadline. */
struct timer_list {
    ev_timer watcher;       /* fires at the head's deadline (or earlier) */
    struct timer_node head; /* sentinel: head.next is the oldest */
    long ms;                /* the timeout of every node here */
};

void timers_init(struct timers *t, struct ev_loop *loop)
{
    t->loop = loop;
    t->lists = NULL;
    t->nlists = 0;
    t->heap = NULL;
}

static void timer_list_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct timer_list *l = (struct timer_list *)w;
    ev_tstamp now = ev_now(loop);
    (void)revents;
    while (l->head.next != &l->head && l->head.next->deadline <= now) {
        struct timer_node *node = l->head.next;
        timer_disarm(node);
        node->expire(node);
    }
    if (l->head.next == &l->head) {
        ev_timer_stop(loop, w);
        return;
    }
    /* Nodes touched since the timer was set only move the deadline later;
     * the timer fires again at the new head's deadline. */
    w->repeat = l->head.next->deadline - now;
    ev_timer_again(loop, w);
}

static struct timer_list *timer_list_get(struct timers *t, long ms)
{
    for (unsigned i = 0; i < t->nlists; i++)
        if (t->lists[i]->ms == ms)
            return t->lists[i];
    struct timer_list **grown = realloc(t->lists, sizeof(*grown) * (t->nlists + 1));
    if (grown == NULL)
        return NULL;
    t->lists = grown;
    struct timer_list *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    ev_init(&l->watcher, timer_list_fire);
    l->head.prev = l->head.next = &l->head;
    l->ms = ms;
    t->lists[t->nlists++] = l;
    return l;
}

int timer_arm(struct timers *t, struct timer_node *node, long ms)
{
    struct timer_list *l = timer_list_get(t, ms);
    if (l == NULL)
        return -1;
    timer_disarm(node);
    node->deadline = ev_now(t->loop) + (ev_tstamp)ms / 1000.0;
    node->list = l;
    node->prev = l->head.prev;
    node->next = &l->head;
    l->head.prev->next = node;
    l->head.prev = node;
    if (!ev_is_active(&l->watcher)) {
        l->watcher.repeat = (ev_tstamp)ms / 1000.0;
        ev_timer_again(t->loop, &l->watcher);
    }
    return 0;
}

/* ---- the heap of varying timeouts ---------------------------------------- */

/* A binary min-heap of nodes by deadline; each node knows its slot, so
 * disarming one in the middle is O(log n) too. */
struct timer_heap {
    ev_timer watcher;         /* fires at the top's deadline */
    struct ev_loop *loop;     /* its loop */
    struct timer_node **node; /* the heap's array */
    unsigned n;               /* nodes on it */
    unsigned cap;             /* allocated */
};

static void timer_heap_put(struct timer_heap *h, unsigned i, struct timer_node *node)
{
    h->node[i] = node;
    node->slot = i;
}

static void timer_heap_up(struct timer_heap *h, unsigned i)
{
    struct timer_node *node = h->node[i];
    while (i > 0 && h->node[(i - 1) / 2]->deadline > node->deadline) {
        timer_heap_put(h, i, h->node[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    timer_heap_put(h, i, node);
}

static void timer_heap_down(struct timer_heap *h, unsigned i)
{
    struct timer_node *node = h->node[i];
    for (;;) {
        unsigned c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->node[c + 1]->deadline < h->node[c]->deadline)
            c++;
        if (h->node[c]->deadline >= node->deadline)
            break;
        timer_heap_put(h, i, h->node[c]);
        i = c;
    }
    timer_heap_put(h, i, node);
}

/* The watcher follows the top: armed for its deadline, stopped when empty. */
static void timer_heap_watch(struct timer_heap *h)
{
    if (h->n == 0) {
        ev_timer_stop(h->loop, &h->watcher);
        return;
    }
    ev_tstamp wait = h->node[0]->deadline - ev_now(h->loop);
    h->watcher.repeat = wait > 0 ? wait : 1e-6;
    ev_timer_again(h->loop, &h->watcher);
}

static void timer_heap_remove(struct timer_node *node)
{
    struct timer_heap *h = node->heap;
    unsigned i = node->slot;
    struct timer_node *last = h->node[--h->n];
    node->heap = NULL;
    if (i < h->n) {
        timer_heap_put(h, i, last);
        timer_heap_up(h, i);
        timer_heap_down(h, last->slot);
    }
    if (i == 0)
        timer_heap_watch(h);
}

static void timer_heap_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct timer_heap *h = (struct timer_heap *)w;
    ev_tstamp now = ev_now(loop);
    (void)revents;
    while (h->n > 0 && h->node[0]->deadline <= now) {
        struct timer_node *node = h->node[0];
        timer_disarm(node);
        node->expire(node);
    }
    timer_heap_watch(h);
}

static struct timer_heap *timer_heap_get(struct timers *t)
{
    if (t->heap == NULL && (t->heap = calloc(1, sizeof(*t->heap))) != NULL) {
        ev_init(&t->heap->watcher, timer_heap_fire);
        t->heap->loop = t->loop;
    }
    return t->heap;
}

int timer_arm_var(struct timers *t, struct timer_node *node, long ms)
{
    struct timer_heap *h = timer_heap_get(t);
    if (h == NULL)
        return -1;
    timer_disarm(node);
    if (ms < 1)
        ms = 1; /* a node re-armed from its expiry must not fire in the same pass */
    if (h->n == h->cap) {
        unsigned cap = h->cap ? h->cap * 2 : 64;
        struct timer_node **grown = realloc(h->node, sizeof(*grown) * cap);
        if (grown == NULL)
            return -1;
        h->node = grown;
        h->cap = cap;
    }
    node->deadline = ev_now(t->loop) + (ev_tstamp)ms / 1000.0;
    node->heap = h;
    timer_heap_put(h, h->n++, node);
    timer_heap_up(h, node->slot);
    if (node->slot == 0)
        timer_heap_watch(h);
    return 0;
}

void timer_disarm(struct timer_node *node)
{
    if (node->heap != NULL)
        timer_heap_remove(node);
    if (node->list == NULL)
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = NULL;
    node->list = NULL;
}

void timers_destroy(struct timers *t)
{
    for (unsigned i = 0; i < t->nlists; i++) {
        ev_timer_stop(t->loop, &t->lists[i]->watcher);
        free(t->lists[i]);
    }
    free(t->lists);
    t->lists = NULL;
    t->nlists = 0;
    if (t->heap != NULL) {
        ev_timer_stop(t->loop, &t->heap->watcher);
        free(t->heap->node);
        free(t->heap);
        t->heap = NULL;
    }
}

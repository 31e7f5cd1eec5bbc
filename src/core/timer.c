/* timer.c - per-timeout-value lists. */
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

void timer_disarm(struct timer_node *node)
{
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
}

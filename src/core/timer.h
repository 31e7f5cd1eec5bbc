/* timer.h - timeouts the way libev's manual recommends ("be smart about
 * timeouts"): one ev_timer per distinct timeout value and an intrusive list
 * ordered by deadline.  Arming is O(1) (append at the tail, since every
 * node of a list has the same timeout); a touch never touches the heap. */
#ifndef TP_TIMER_H
#define TP_TIMER_H

#include <ev.h>
#include <stdbool.h>

struct timer_heap;
struct timer_list;
struct timer_node;

typedef void (*timer_expire_cb)(struct timer_node *node);

/* Embedded in whatever can time out (a connection, an upstream socket). */
struct timer_node {
    struct timer_node *prev; /* list neighbours; NULL when disarmed */
    struct timer_node *next;
    ev_tstamp deadline;      /* when it expires */
    struct timer_list *list; /* the list it is on, or NULL */
    struct timer_heap *heap; /* or the heap it is on (timer_arm_var), or NULL */
    unsigned slot;           /* its index in that heap */
    timer_expire_cb expire;  /* what its owner does when it fires */
};

/* All the timeouts of one loop. */
struct timers {
    struct ev_loop *loop;      /* the worker's loop */
    struct timer_list **lists; /* one per distinct timeout value */
    unsigned nlists;           /* how many */
    struct timer_heap *heap;   /* nodes armed with timer_arm_var, made at first use */
};

void timers_init(struct timers *t, struct ev_loop *loop);
/* (Re)arms node to expire `ms` milliseconds from now; node->expire must be
 * set.  -1 if out of memory. */
int timer_arm(struct timers *t, struct timer_node *node, long ms);
/* The same for a timeout whose value varies from one arming to the next
 * (a pause computed from a rate): the node goes on the heap. */
int timer_arm_var(struct timers *t, struct timer_node *node, long ms);
void timer_disarm(struct timer_node *node);
static inline bool timer_armed(const struct timer_node *node)
{
    return node->list != NULL || node->heap != NULL;
}
/* Stops every ev_timer and frees the lists and the heap (nodes must be
 * disarmed). */
void timers_destroy(struct timers *t);

#endif

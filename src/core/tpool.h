/* tpool.h - a worker's thread pool for blocking work.
 *
 * A fixed set of threads takes jobs from one queue.  Finished jobs go back to
 * the loop through one ev_async, and their callbacks run on the loop thread.
 * Pool threads never touch the loop, a watcher, or an owner. */
#ifndef TP_TPOOL_H
#define TP_TPOOL_H

#include <ev.h>
#include <stddef.h>

#include "core/owner.h"

struct tpool;
struct tpool_job;

typedef void (*tpool_job_cb)(struct tpool_job *job);

/* Embedded in the caller's own job struct (use container_of-style casts). */
struct tpool_job {
    struct tpool_job *next; /* queue link, owned by the pool */
    tpool_job_cb work;      /* runs on a pool thread: the blocking part */
    tpool_job_cb done;      /* loop thread, only if the owner is not gone */
    tpool_job_cb release;   /* loop thread, always, last: frees the job */
    struct owner *owner;    /* object the job reports to, or NULL */
};

/* Starts `threads` threads (all signals blocked in them).  At most
 * `max_queue` jobs wait at once.  Returns NULL and sets errno on failure. */
struct tpool *tpool_create(struct ev_loop *loop, unsigned threads, unsigned max_queue);

/* Queues a job; takes a reference on job->owner.  Returns -1 (and touches
 * nothing) when the queue is full. */
int tpool_submit(struct tpool *pool, struct tpool_job *job);

/* Jobs queued or running. */
size_t tpool_pending(const struct tpool *pool);

/* Stops the threads after their current job and joins them.  Queued jobs
 * that never ran, and finished ones not yet reported, are released without
 * calling done.  Must be called on the loop thread. */
void tpool_destroy(struct tpool *pool);

#endif

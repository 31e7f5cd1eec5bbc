/* tpool.h - a worker's thread pool for blocking work.
 *
 * A fixed set of threads takes jobs from one queue per job class.  Finished
 * jobs go back to the loop through one ev_async, and their callbacks run on
 * the loop thread.  Pool threads never touch the loop, a watcher, or an owner.
 *
 * Classes exist so that a flood of slow jobs of one kind cannot delay a job
 * of another kind, e.g. a cold file open behind a burst of TLS handshakes:
 *
 *  - A free thread serves the classes in round-robin order.  Each take starts
 *    at the class after the one the previous take (by any thread) served and
 *    picks the first class that has a job waiting and is under its limit;
 *    within a class, jobs start in submission order.  So a job at the head
 *    of its queue, with its class under its limit, is taken after at most
 *    TPOOL_NCLASSES - 1 takes of other classes, however long their backlogs.
 *  - No class may run on more than threads - 1 threads at once (1 when there
 *    is a single thread), so a class whose jobs block for seconds (DNS) or
 *    come in floods (crypto) always leaves a thread for the others.  The
 *    cost: a workload of one class alone uses one thread less than the pool.
 *
 * Threads dedicated to each class would sit idle whenever their class is,
 * and fixed priorities between classes would starve the low ones.  Round-
 * robin with a limit idles a thread only while a single class has work, and
 * needs no tuning. */
#ifndef TP_TPOOL_H
#define TP_TPOOL_H

#include <ev.h>
#include <stddef.h>

#include "core/owner.h"

struct tpool;
struct tpool_job;

/* What kind of blocking a job does: each class has its own queue and limit.
 * TPOOL_FILE is 0, so a zero-initialised job is a file job. */
enum tpool_class {
    TPOOL_FILE = 0, /* open, read, stat: short and latency-sensitive */
    TPOOL_DNS,      /* getaddrinfo: may block for seconds */
    TPOOL_CRYPTO,   /* TLS handshake steps: ~1-2 ms of CPU, may come in floods */
    TPOOL_HASH,     /* password hashing (bcrypt): tens of ms of CPU */
    TPOOL_CPU,      /* other CPU work: gzip, autoindex formatting */
    TPOOL_NCLASSES, /* number of classes, not a class */
};

typedef void (*tpool_job_cb)(struct tpool_job *job);

/* Embedded in the caller's own job struct (use container_of-style casts). */
struct tpool_job {
    struct tpool_job *next; /* queue link, owned by the pool */
    tpool_job_cb work;      /* runs on a pool thread: the blocking part */
    tpool_job_cb done;      /* loop thread, only if the owner is not gone */
    tpool_job_cb release;   /* loop thread, always, last: frees the job */
    struct owner *owner;    /* object the job reports to, or NULL */
    enum tpool_class cls;   /* which queue; 0 = TPOOL_FILE */
};

/* Starts `threads` threads (all signals blocked in them).  At most
 * `max_queue` jobs wait at once, counted over all classes.  Returns NULL and
 * sets errno on failure. */
struct tpool *tpool_create(struct ev_loop *loop, unsigned threads, unsigned max_queue);

/* Queues a job in the queue of job->cls; takes a reference on job->owner.
 * Returns -1 with errno EAGAIN (and touches nothing) when max_queue jobs are
 * already waiting. */
int tpool_submit(struct tpool *pool, struct tpool_job *job);

/* Jobs queued or running. */
size_t tpool_pending(const struct tpool *pool);

/* Stops the threads after their current job and joins them.  Queued jobs
 * that never ran, and finished ones not yet reported, are released without
 * calling done.  Must be called on the loop thread. */
void tpool_destroy(struct tpool *pool);

#endif

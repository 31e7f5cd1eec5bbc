/* tpool.c - a worker's thread pool for blocking work.
 *
 * One mutex guards the class queues, the running counts, the round-robin
 * cursor, the finished list and the stop flag.  Pool threads only move jobs
 * between those lists and run work(); everything that touches the loop, a
 * watcher or an owner happens on the loop thread, in tpool_submit, the
 * ev_async callback and tpool_destroy.  tpool.h says how classes share the
 * threads, and why. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* pthread_sigmask under -std=c11 */
#endif

#include "core/tpool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

/* A FIFO of jobs linked through job->next. */
struct tpool_list {
    struct tpool_job *head; /* oldest job, NULL when empty */
    struct tpool_job *tail; /* newest job, meaningful only when head is set */
};

struct tpool {
    struct ev_loop *loop;                    /* loop that completions are reported on */
    ev_async async;                          /* wakes the loop when the finished list fills */
    pthread_mutex_t lock;                    /* guards the fields from queue to stopping */
    pthread_cond_t wake;                     /* a job was queued, or the pool is stopping */
    struct tpool_list queue[TPOOL_NCLASSES]; /* jobs waiting for a thread, by class */
    unsigned running[TPOOL_NCLASSES];        /* jobs of each class inside work() */
    unsigned queued;                         /* jobs in all of queue */
    unsigned max_queue;                      /* bound on queued, from tpool_create */
    unsigned limit;                          /* most jobs of one class running at once */
    unsigned next_class;                     /* class the next take looks at first */
    struct tpool_list finished;              /* jobs whose work is done, not yet reported */
    bool stopping;                           /* threads exit instead of taking a job */
    size_t pending;                          /* loop thread only: queued, running or unreported */
    bool reporting;                          /* loop thread only: inside the async callback */
    unsigned nthreads;                       /* threads started, all to be joined */
    pthread_t threads[];                     /* their ids */
};

static void tpool_list_push(struct tpool_list *list, struct tpool_job *job)
{
    job->next = NULL;
    if (list->head == NULL)
        list->head = job;
    else
        list->tail->next = job;
    list->tail = job;
}

static struct tpool_job *tpool_list_pop(struct tpool_list *list)
{
    struct tpool_job *job = list->head;

    if (job != NULL)
        list->head = job->next;
    return job;
}

/* The async watcher holds a loop reference only while jobs are in flight: an
 * idle pool must not keep a worker's loop alive, but a busy one must, or the
 * loop could return with completions (and owner references) still out. */
static void tpool_hold(struct tpool *pool)
{
    if (pool->pending++ == 0)
        ev_ref(pool->loop);
}

static void tpool_unhold(struct tpool *pool)
{
    assert(pool->pending > 0);
    if (--pool->pending == 0)
        ev_unref(pool->loop);
}

/* Ends a job's life on the loop thread.  The owner's reference goes last:
 * release may be the last thing that still looks at the owner, and once the
 * reference is dropped the owner's memory may be gone. */
static void tpool_report(struct tpool *pool, struct tpool_job *job, bool call_done)
{
    struct owner *owner = job->owner; /* release frees the job */

    if (call_done && job->done != NULL && (owner == NULL || !owner->gone))
        job->done(job);
    job->release(job);
    if (owner != NULL)
        owner_put(owner);
    tpool_unhold(pool);
}

static void tpool_release_all(struct tpool *pool, struct tpool_list *list)
{
    struct tpool_job *job;

    while ((job = tpool_list_pop(list)) != NULL)
        tpool_report(pool, job, false);
}

static void tpool_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct tpool *pool = w->data;
    struct tpool_list batch;
    struct tpool_job *job;

    (void)loop;
    (void)revents;
    /* Take the whole list at once so threads can keep finishing jobs while
     * their callbacks run, without the lock held. */
    pthread_mutex_lock(&pool->lock);
    batch = pool->finished;
    pool->finished.head = NULL;
    pthread_mutex_unlock(&pool->lock);

    pool->reporting = true;
    while ((job = tpool_list_pop(&batch)) != NULL)
        tpool_report(pool, job, true);
    pool->reporting = false;
}

/* Round-robin from the class after the last one served, skipping classes
 * with nothing queued or at their limit; NULL if no job may start now.  The
 * cursor is shared, so the rotation holds across threads, not per thread. */
static struct tpool_job *tpool_pick(struct tpool *pool)
{
    for (unsigned i = 0; i < TPOOL_NCLASSES; i++) {
        unsigned cls = (pool->next_class + i) % TPOOL_NCLASSES;

        if (pool->queue[cls].head == NULL || pool->running[cls] >= pool->limit)
            continue;
        pool->next_class = (cls + 1) % TPOOL_NCLASSES;
        pool->running[cls]++;
        pool->queued--;
        return tpool_list_pop(&pool->queue[cls]);
    }
    return NULL;
}

/* Blocks until a job may start, or returns NULL once the pool is stopping,
 * even with jobs still queued: destroy releases those without running them. */
static struct tpool_job *tpool_take(struct tpool *pool)
{
    struct tpool_job *job = NULL;

    pthread_mutex_lock(&pool->lock);
    while (!pool->stopping && (job = tpool_pick(pool)) == NULL)
        pthread_cond_wait(&pool->wake, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    return job;
}

/* No signal when the class count drops: the freed slot lets at most one more
 * job start, and this thread looks for work next.  Should it take another
 * job instead, that one could start already, so a thread was woken for it
 * (by submit, or by finishing) and will find this one. */
static void tpool_finish(struct tpool *pool, struct tpool_job *job, enum tpool_class cls)
{
    bool first;

    pthread_mutex_lock(&pool->lock);
    assert(pool->running[cls] > 0);
    pool->running[cls]--;
    first = pool->finished.head == NULL;
    tpool_list_push(&pool->finished, job);
    pthread_mutex_unlock(&pool->lock);
    /* Only the job that makes the list non-empty wakes the loop: until the
     * callback takes the list, its send is still due, and the callback takes
     * every job queued behind it too. */
    if (first)
        ev_async_send(pool->loop, &pool->async);
}

static void *tpool_thread(void *arg)
{
    struct tpool *pool = arg;
    struct tpool_job *job;

    while ((job = tpool_take(pool)) != NULL) {
        enum tpool_class cls = job->cls; /* the count take raised, even if work() changes job */

        job->work(job);
        tpool_finish(pool, job, cls);
    }
    return NULL;
}

static void tpool_stop_threads(struct tpool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pool->nthreads = 0;
}

/* Threads inherit the creator's signal mask, so block everything around
 * pthread_create: the worker takes its signals through a signalfd, and a
 * process-directed signal must never be delivered to a pool thread instead.
 * Returns 0 or an error number, with no thread left running on error. */
static int tpool_start_threads(struct tpool *pool, unsigned threads)
{
    sigset_t all, saved;
    int err;

    sigfillset(&all);
    err = pthread_sigmask(SIG_SETMASK, &all, &saved);
    if (err != 0)
        return err;
    for (; pool->nthreads < threads; pool->nthreads++) {
        err = pthread_create(&pool->threads[pool->nthreads], NULL, tpool_thread, pool);
        if (err != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (err != 0)
        tpool_stop_threads(pool);
    return err;
}

struct tpool *tpool_create(struct ev_loop *loop, unsigned threads, unsigned max_queue)
{
    struct tpool *pool;
    int err;

    if (threads == 0 || max_queue == 0) {
        errno = EINVAL;
        return NULL;
    }
    pool = calloc(1, sizeof(*pool) + (size_t)threads * sizeof(pool->threads[0]));
    if (pool == NULL)
        return NULL;
    pool->loop = loop;
    pool->max_queue = max_queue;
    /* One thread stays free for the other classes, unless there is only one. */
    pool->limit = threads > 1 ? threads - 1 : 1;
    err = pthread_mutex_init(&pool->lock, NULL);
    if (err != 0)
        goto fail_free;
    err = pthread_cond_init(&pool->wake, NULL);
    if (err != 0)
        goto fail_mutex;
    err = tpool_start_threads(pool, threads);
    if (err != 0)
        goto fail_cond;

    ev_async_init(&pool->async, tpool_async_cb);
    pool->async.data = pool;
    ev_async_start(loop, &pool->async);
    ev_unref(loop); /* idle; tpool_hold takes the reference back */
    return pool;

fail_cond:
    pthread_cond_destroy(&pool->wake);
fail_mutex:
    pthread_mutex_destroy(&pool->lock);
fail_free:
    free(pool);
    errno = err;
    return NULL;
}

int tpool_submit(struct tpool *pool, struct tpool_job *job)
{
    struct owner *owner = job->owner; /* once queued, the job is a thread's */
    bool full;

    assert(job->work != NULL && job->release != NULL);
    assert((unsigned)job->cls < TPOOL_NCLASSES);
    pthread_mutex_lock(&pool->lock);
    full = pool->queued >= pool->max_queue;
    if (!full) {
        tpool_list_push(&pool->queue[job->cls], job);
        pool->queued++;
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    if (full) {
        errno = EAGAIN;
        return -1;
    }
    /* Safe after the unlock: completions are only reported on this thread. */
    if (owner != NULL)
        owner_get(owner);
    tpool_hold(pool);
    return 0;
}

size_t tpool_pending(const struct tpool *pool)
{
    return pool->pending;
}

void tpool_destroy(struct tpool *pool)
{
    if (pool == NULL)
        return;
    /* A callback destroying the pool would free the batch being reported. */
    assert(!pool->reporting);
    tpool_stop_threads(pool);
    /* The threads are joined: the lists are ours now, no lock needed. */
    for (unsigned cls = 0; cls < TPOOL_NCLASSES; cls++)
        tpool_release_all(pool, &pool->queue[cls]);
    tpool_release_all(pool, &pool->finished);
    assert(pool->pending == 0);

    ev_ref(pool->loop); /* ev_async_stop drops the reference create gave up */
    ev_async_stop(pool->loop, &pool->async);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

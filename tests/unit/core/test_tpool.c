/* test_tpool.c - unit tests for the worker thread pool.
 *
 * Pool threads never call cmocka: work() only records into the fixture, and
 * the test checks the records on the main (loop) thread once the job has been
 * reported, which the pool's mutex orders after work().  Every wait has a
 * deadline, so a broken pool fails a test instead of hanging it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT, RTLD_DEFAULT */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/tpool.h"

enum {
    WAIT_SECONDS = 5,    /* longest a gate wait may take before it gives up */
    SAFETY_SECONDS = 30, /* longest a loop run may take before the test fails */
    MANY_JOBS = 10000,   /* jobs in the stress test */
};

/* Where pool threads wait, and where the test waits for them. */
struct gate {
    pthread_mutex_t lock; /* guards arrived, open and let_go */
    pthread_cond_t cond;  /* arrived, open or let_go changed; on CLOCK_MONOTONIC */
    unsigned arrived;     /* threads that reached the gate */
    bool open;            /* set by the test to let blocked threads go */
    unsigned let_go;      /* work_ticket() jobs with an index below this may leave */
};

/* What happened to job number i, written where it happened. */
struct record {
    unsigned work_runs;     /* times work() ran (pool thread) */
    pthread_t work_thread;  /* thread work() ran on */
    bool signals_blocked;   /* work() found the usual signals blocked */
    bool gate_ok;           /* work()'s gate wait was satisfied in time */
    unsigned done_runs;     /* times done() ran */
    bool done_on_main;      /* done() ran on the loop thread */
    unsigned done_seq;      /* fixture seq when done() ran */
    unsigned release_runs;  /* times release() ran */
    bool release_on_main;   /* release() ran on the loop thread */
    unsigned release_seq;   /* fixture seq when release() ran */
    unsigned owner_put_seq; /* fixture seq when owner i was released */
    unsigned owner_puts;    /* times owner i was released */
    unsigned arrival;       /* work_ticket(): its rank among gate arrivals, from 0 */
};

struct fixture {
    struct ev_loop *loop; /* the test's loop, run on the main thread */
    struct tpool *pool;   /* pool under test, destroyed by teardown */
    struct gate gate;     /* shared by blocking work() functions */
    unsigned gate_need;   /* arrivals that satisfy a work_together() */
    struct record *rec;   /* one record per job index */
    unsigned nrec;        /* length of rec */
    pthread_t main;       /* the loop thread */
    unsigned seq;         /* loop thread: orders done, release and owner puts */
    unsigned released;    /* loop thread: jobs released so far */
    unsigned expect;      /* break the loop when released reaches this */
    ev_timer safety;      /* fails a loop run that takes too long */
    bool timed_out;       /* the safety timer fired */
    unsigned submitted;   /* stress test: jobs submitted so far */
    unsigned queue_full;  /* stress test: submits refused */
    struct owner *shared; /* stress test: owner of every job */
    atomic_uint inside;   /* jobs inside work_ticket() right now */
    atomic_uint peak;     /* most jobs ever inside work_ticket() at once */
};

/* A job as a pool user embeds it; base first so callbacks can cast back. */
struct test_job {
    struct tpool_job base; /* what the pool sees */
    struct fixture *fx;    /* where to record */
    unsigned index;        /* record index */
};

/* An owner that frees itself, to let ASan catch a late owner access. */
struct test_owner {
    struct owner base;  /* what the pool sees */
    struct fixture *fx; /* where to record */
    unsigned index;     /* record index */
};

/* ---- pthread interposers: make thread creation fail, act when destroy joins ---- */

typedef int (*create_cb)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*join_cb)(pthread_t, void **);

struct gate;
static void gate_open(struct gate *g);

static create_cb real_create;         /* the pthread_create we forward to */
static atomic_int creates_until_fail; /* > 0: this call number fails, counting down */
static atomic_uint threads_started;   /* threads that entered their routine */
static atomic_uint threads_exited;    /* threads whose routine returned */
static join_cb real_join;             /* the pthread_join we forward to */
static struct gate *open_on_join;     /* main thread only: opened by pthread_join */

/* A thread's real routine, carried through the trampoline. */
struct trampoline {
    void *(*fn)(void *); /* the routine pthread_create was given */
    void *arg;           /* its argument */
};

static void *trampoline_run(void *p)
{
    struct trampoline t = *(struct trampoline *)p;
    void *ret;

    free(p);
    atomic_fetch_add(&threads_started, 1);
    ret = t.fn(t.arg);
    atomic_fetch_add(&threads_exited, 1);
    return ret;
}

/* Overrides libc's for the whole test binary, tpool.c included. */
int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct trampoline *t;
    int err;

    if (atomic_load(&creates_until_fail) > 0 && atomic_fetch_sub(&creates_until_fail, 1) == 1)
        return EAGAIN;
    t = malloc(sizeof(*t));
    if (t == NULL)
        return EAGAIN;
    t->fn = fn;
    t->arg = arg;
    err = real_create(thread, attr, trampoline_run, t);
    if (err != 0)
        free(t);
    return err;
}

/* tpool_destroy joins only after telling the threads to stop, so opening a
 * gate here lets a blocked job finish exactly when no new job may start. */
int pthread_join(pthread_t thread, void **ret)
{
    if (open_on_join != NULL)
        gate_open(open_on_join);
    return real_join(thread, ret);
}

/* A sanitizer linked statically defines the pthread functions as weak aliases
 * of its interceptors, which the definitions above replace: call the
 * interceptor then, or the sanitizer would not see the pool's threads. */
static void *find_real(const char *name, const char *interceptor)
{
    void *sym = dlsym(RTLD_DEFAULT, interceptor);

    return sym != NULL ? sym : dlsym(RTLD_NEXT, name);
}

static void find_real_pthread(void)
{
    real_create = (create_cb)find_real("pthread_create", "__interceptor_pthread_create");
    real_join = (join_cb)find_real("pthread_join", "__interceptor_pthread_join");
}

/* ---- gate ---- */

static void gate_init(struct gate *g)
{
    pthread_condattr_t attr;

    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cond, &attr);
    pthread_condattr_destroy(&attr);
    g->arrived = 0;
    g->open = false;
    g->let_go = 0;
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

/* Returns the arrival's rank, from 0. */
static unsigned gate_arrive(struct gate *g)
{
    unsigned rank;

    pthread_mutex_lock(&g->lock);
    rank = g->arrived++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
    return rank;
}

static unsigned gate_arrived(struct gate *g)
{
    unsigned n;

    pthread_mutex_lock(&g->lock);
    n = g->arrived;
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* Lets the work_ticket() jobs with an index below `n` leave. */
static void gate_let_go(struct gate *g, unsigned n)
{
    pthread_mutex_lock(&g->lock);
    g->let_go = n;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* A condition on the gate, checked with its lock held. */
typedef bool (*gate_ready_cb)(const struct gate *g, unsigned arg);

static bool gate_has_arrivals(const struct gate *g, unsigned arrivals)
{
    return g->arrived >= arrivals;
}

static bool gate_lets_go(const struct gate *g, unsigned index)
{
    return index < g->let_go;
}

/* Waits until the gate is open or ready(g, arg); false if that did not
 * happen within WAIT_SECONDS. */
static bool gate_wait_for(struct gate *g, gate_ready_cb ready, unsigned arg)
{
    struct timespec deadline;
    bool ok;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&g->lock);
    while (!g->open && !ready(g, arg))
        if (pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == ETIMEDOUT)
            break;
    ok = g->open || ready(g, arg);
    pthread_mutex_unlock(&g->lock);
    return ok;
}

/* Waits until the gate is open or `arrivals` threads arrived. */
static bool gate_wait(struct gate *g, unsigned arrivals)
{
    return gate_wait_for(g, gate_has_arrivals, arrivals);
}

/* ---- job and owner callbacks ---- */

static struct record *job_record(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;

    return &tj->fx->rec[tj->index];
}

static bool all_signals_blocked(void)
{
    static const int sigs[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,  SIGUSR1,
                               SIGUSR2, SIGCHLD, SIGPIPE, SIGWINCH, SIGALRM};
    sigset_t mask;

    if (pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0)
        return false;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigismember(&mask, sigs[i]) != 1)
            return false;
    return true;
}

static void work_record(struct tpool_job *job)
{
    struct record *r = job_record(job);

    r->work_runs++;
    r->work_thread = pthread_self();
    r->signals_blocked = all_signals_blocked();
}

/* Blocks its thread until the test opens the gate. */
static void work_blocked(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;

    work_record(job);
    gate_arrive(&tj->fx->gate);
    job_record(job)->gate_ok = gate_wait(&tj->fx->gate, UINT_MAX);
}

static void inside_enter(struct fixture *fx)
{
    unsigned now = atomic_fetch_add(&fx->inside, 1) + 1;
    unsigned max = atomic_load(&fx->peak);

    /* A failed exchange reloads max; stop once someone stored >= now. */
    while (now > max && !atomic_compare_exchange_weak(&fx->peak, &max, now))
        continue;
}

/* Records its arrival rank and blocks until the test lets its index go
 * (gate_let_go) or opens the gate; counts how many are inside at once. */
static void work_ticket(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;
    struct record *r = job_record(job);

    work_record(job);
    inside_enter(tj->fx);
    r->arrival = gate_arrive(&tj->fx->gate);
    r->gate_ok = gate_wait_for(&tj->fx->gate, gate_lets_go, tj->index);
    atomic_fetch_sub(&tj->fx->inside, 1);
}

/* Succeeds only if gate_need jobs are inside work() at the same time. */
static void work_together(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;

    work_record(job);
    gate_arrive(&tj->fx->gate);
    job_record(job)->gate_ok = gate_wait(&tj->fx->gate, tj->fx->gate_need);
}

static void job_done(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;
    struct record *r = job_record(job);

    r->done_runs++;
    r->done_on_main = pthread_equal(pthread_self(), tj->fx->main);
    r->done_seq = ++tj->fx->seq;
}

static void job_release(struct tpool_job *job)
{
    struct test_job *tj = (struct test_job *)job;
    struct fixture *fx = tj->fx;
    struct record *r = job_record(job);

    r->release_runs++;
    r->release_on_main = pthread_equal(pthread_self(), fx->main);
    r->release_seq = ++fx->seq;
    free(tj);
    if (++fx->released == fx->expect)
        ev_break(fx->loop, EVBREAK_ONE);
}

static void owner_release(struct owner *o)
{
    struct test_owner *to = (struct test_owner *)o;
    struct record *r = &to->fx->rec[to->index];

    r->owner_puts++;
    r->owner_put_seq = ++to->fx->seq;
    free(to);
}

static struct owner *new_owner(struct fixture *fx, unsigned index)
{
    struct test_owner *to = malloc(sizeof(*to));

    assert_non_null(to);
    owner_init(&to->base, owner_release);
    to->fx = fx;
    to->index = index;
    return &to->base;
}

static struct test_job *new_job(struct fixture *fx, unsigned index, tpool_job_cb work,
                                struct owner *owner)
{
    struct test_job *tj = calloc(1, sizeof(*tj));

    assert_non_null(tj);
    assert_true(index < fx->nrec);
    tj->base.work = work;
    tj->base.done = job_done;
    tj->base.release = job_release;
    tj->base.owner = owner;
    tj->fx = fx;
    tj->index = index;
    return tj;
}

static void submit_ok(struct fixture *fx, unsigned index, tpool_job_cb work, struct owner *owner)
{
    assert_int_equal(tpool_submit(fx->pool, &new_job(fx, index, work, owner)->base), 0);
}

static void submit_in(struct fixture *fx, unsigned index, enum tpool_class cls, tpool_job_cb work)
{
    struct test_job *tj = new_job(fx, index, work, NULL);

    tj->base.cls = cls;
    assert_int_equal(tpool_submit(fx->pool, &tj->base), 0);
}

/* ---- fixture ---- */

static void safety_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct fixture *fx = w->data;

    (void)revents;
    fx->timed_out = true;
    ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until `expect` jobs in all were released, or the timeout. */
static void run_until_released(struct fixture *fx, unsigned expect)
{
    fx->expect = expect;
    if (fx->released < expect) {
        ev_timer_set(&fx->safety, SAFETY_SECONDS, 0.);
        ev_timer_start(fx->loop, &fx->safety);
        ev_run(fx->loop, 0);
        ev_timer_stop(fx->loop, &fx->safety);
    }
    assert_false(fx->timed_out);
    assert_int_equal(fx->released, expect);
}

static int fixture_setup_n(void **state, unsigned nrec)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    fx->rec = calloc(nrec, sizeof(*fx->rec));
    if (fx->loop == NULL || fx->rec == NULL)
        return -1;
    fx->nrec = nrec;
    fx->main = pthread_self();
    atomic_init(&fx->inside, 0);
    atomic_init(&fx->peak, 0);
    gate_init(&fx->gate);
    ev_timer_init(&fx->safety, safety_cb, SAFETY_SECONDS, 0.);
    fx->safety.data = fx;
    *state = fx;
    return 0;
}

static int fixture_setup(void **state)
{
    return fixture_setup_n(state, 64);
}

static int fixture_setup_many(void **state)
{
    return fixture_setup_n(state, MANY_JOBS);
}

/* Also cleans up after a failed test: blocked threads must be let go first,
 * or tpool_destroy would wait for them. */
static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    gate_open(&fx->gate);
    tpool_destroy(fx->pool);
    ev_loop_destroy(fx->loop);
    gate_destroy(&fx->gate);
    free(fx->rec);
    free(fx);
    atomic_store(&creates_until_fail, 0);
    open_on_join = NULL;
    return 0;
}

static void check_reported(struct fixture *fx, unsigned index)
{
    struct record *r = &fx->rec[index];

    assert_int_equal(r->work_runs, 1);
    assert_false(pthread_equal(r->work_thread, fx->main));
    assert_int_equal(r->done_runs, 1);
    assert_true(r->done_on_main);
    assert_int_equal(r->release_runs, 1);
    assert_true(r->release_on_main);
    assert_true(r->done_seq < r->release_seq);
}

/* ---- tests ---- */

/* Each job waits inside work() for all the others, so they can only all
 * succeed if the pool runs `threads` jobs at once.  One class may use only
 * threads - 1 of them, so each job is of its own class. */
static void test_jobs_run_concurrently(void **state)
{
    struct fixture *fx = *state;
    enum { threads = 4 };

    fx->gate_need = threads;
    fx->pool = tpool_create(fx->loop, threads, threads);
    assert_non_null(fx->pool);
    for (unsigned i = 0; i < threads; i++)
        submit_in(fx, i, (enum tpool_class)(i % TPOOL_NCLASSES), work_together);
    run_until_released(fx, threads);
    for (unsigned i = 0; i < threads; i++) {
        check_reported(fx, i);
        assert_true(fx->rec[i].gate_ok);
    }
}

static void test_callbacks_on_loop_thread(void **state)
{
    struct fixture *fx = *state;
    struct owner *owner = new_owner(fx, 0);

    fx->pool = tpool_create(fx->loop, 2, 4);
    assert_non_null(fx->pool);
    submit_ok(fx, 1, work_record, owner);
    submit_ok(fx, 2, work_record, owner);
    assert_int_equal(owner->refs, 3);
    run_until_released(fx, 2);
    check_reported(fx, 1);
    check_reported(fx, 2);
    assert_int_equal(owner->refs, 1);
    assert_int_equal(fx->rec[0].owner_puts, 0);
    owner_close(owner);
    assert_int_equal(fx->rec[0].owner_puts, 1);
}

/* The job's reference is the owner's last one once it is closed; the owner's
 * release frees it, so under ASan any later touch by the pool is caught. */
static void test_owner_closed_while_running(void **state)
{
    struct fixture *fx = *state;
    struct owner *owner = new_owner(fx, 0);

    fx->pool = tpool_create(fx->loop, 1, 4);
    assert_non_null(fx->pool);
    submit_ok(fx, 0, work_blocked, owner);
    assert_int_equal(owner->refs, 2);
    assert_true(gate_wait(&fx->gate, 1));
    owner_close(owner);
    assert_int_equal(fx->rec[0].owner_puts, 0);
    gate_open(&fx->gate);
    run_until_released(fx, 1);

    struct record *r = &fx->rec[0];
    assert_int_equal(r->work_runs, 1);
    assert_true(r->gate_ok);
    assert_int_equal(r->done_runs, 0);
    assert_int_equal(r->release_runs, 1);
    assert_true(r->release_on_main);
    assert_int_equal(r->owner_puts, 1);
    assert_true(r->release_seq < r->owner_put_seq);
}

static void test_queue_full(void **state)
{
    struct fixture *fx = *state;
    struct owner *owner = new_owner(fx, 0);
    struct tpool_job *const sentinel = (struct tpool_job *)fx;
    struct test_job *refused;

    fx->pool = tpool_create(fx->loop, 1, 2);
    assert_non_null(fx->pool);
    submit_ok(fx, 1, work_blocked, owner);
    assert_true(gate_wait(&fx->gate, 1)); /* out of the queue, running */
    submit_ok(fx, 2, work_record, owner);
    submit_ok(fx, 3, work_record, owner);
    assert_int_equal(owner->refs, 4);

    refused = new_job(fx, 4, work_record, owner);
    refused->base.next = sentinel;
    errno = 0;
    assert_int_equal(tpool_submit(fx->pool, &refused->base), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(owner->refs, 4);
    assert_ptr_equal(refused->base.next, sentinel);
    assert_int_equal(tpool_pending(fx->pool), 3);

    gate_open(&fx->gate);
    run_until_released(fx, 3);
    assert_int_equal(owner->refs, 1);
    assert_int_equal(tpool_pending(fx->pool), 0);
    assert_int_equal(fx->rec[4].work_runs, 0);

    /* Room again: the refused job can go now. */
    assert_int_equal(tpool_submit(fx->pool, &refused->base), 0);
    run_until_released(fx, 4);
    for (unsigned i = 1; i <= 4; i++)
        check_reported(fx, i);
    owner_close(owner);
    assert_int_equal(fx->rec[0].owner_puts, 1);
}

/* One thread: job 0 runs while jobs 1..4 wait, one in each other class, and
 * is let go only once destroy has stopped the pool, so jobs 1..4 must never
 * run.  Nothing is ever
 * reported, since the loop never runs: destroy must release all five without
 * done and drop the last reference on each owner (ASan reports a missed one). */
static void test_destroy_releases_queued(void **state)
{
    struct fixture *fx = *state;
    enum { jobs = 5 };
    struct owner *owners[jobs];

    fx->pool = tpool_create(fx->loop, 1, 8);
    assert_non_null(fx->pool);
    for (unsigned i = 0; i < jobs; i++) {
        struct test_job *tj;

        owners[i] = new_owner(fx, i);
        tj = new_job(fx, i, i == 0 ? work_blocked : work_record, owners[i]);
        tj->base.cls = (enum tpool_class)(i % TPOOL_NCLASSES);
        assert_int_equal(tpool_submit(fx->pool, &tj->base), 0);
        if (i == 0)
            assert_true(gate_wait(&fx->gate, 1));
    }
    for (unsigned i = 0; i < jobs; i++)
        owner_close(owners[i]);
    assert_int_equal(tpool_pending(fx->pool), jobs);

    open_on_join = &fx->gate;
    tpool_destroy(fx->pool);
    fx->pool = NULL;
    assert_true(fx->rec[0].gate_ok);
    for (unsigned i = 0; i < jobs; i++) {
        struct record *r = &fx->rec[i];

        assert_int_equal(r->work_runs, i == 0 ? 1 : 0);
        assert_int_equal(r->done_runs, 0);
        assert_int_equal(r->release_runs, 1);
        assert_true(r->release_on_main);
        assert_int_equal(r->owner_puts, 1);
        assert_true(r->release_seq < r->owner_put_seq);
    }
}

/* Keeps the queue topped up; runs from the loop, first on a timer, then
 * from each done(). */
static void pump_done(struct tpool_job *job);

static void pump(struct fixture *fx)
{
    while (fx->submitted < MANY_JOBS) {
        struct test_job *tj = new_job(fx, fx->submitted, work_record, fx->shared);

        tj->base.done = pump_done;
        tj->base.cls = (enum tpool_class)(fx->submitted % TPOOL_NCLASSES);
        if (tpool_submit(fx->pool, &tj->base) == -1) {
            free(tj);
            fx->queue_full++;
            return;
        }
        fx->submitted++;
    }
}

static void pump_done(struct tpool_job *job)
{
    job_done(job);
    pump(((struct test_job *)job)->fx);
}

static void pump_start_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    pump(w->data);
}

static void test_many_jobs(void **state)
{
    struct fixture *fx = *state;
    ev_timer start;

    fx->pool = tpool_create(fx->loop, 4, 64);
    assert_non_null(fx->pool);
    fx->shared = new_owner(fx, 0);
    ev_timer_init(&start, pump_start_cb, 0., 0.);
    start.data = fx;
    ev_timer_start(fx->loop, &start);
    run_until_released(fx, MANY_JOBS);
    assert_int_equal(fx->submitted, MANY_JOBS);
    assert_int_equal(tpool_pending(fx->pool), 0);
    assert_int_equal(fx->shared->refs, 1);
    for (unsigned i = 0; i < MANY_JOBS; i++)
        check_reported(fx, i);
    /* The shared owner records into rec[0] too; no job touches owner_puts. */
    assert_int_equal(fx->rec[0].owner_puts, 0);
    owner_close(fx->shared);
    assert_int_equal(fx->rec[0].owner_puts, 1);
}

/* One thread runs queued jobs in the order they were submitted. */
static void test_fifo_order(void **state)
{
    struct fixture *fx = *state;
    enum { jobs = 10 };

    fx->pool = tpool_create(fx->loop, 1, jobs);
    assert_non_null(fx->pool);
    submit_ok(fx, 0, work_blocked, NULL);
    assert_true(gate_wait(&fx->gate, 1));
    for (unsigned i = 1; i < jobs; i++)
        submit_ok(fx, i, work_record, NULL);
    gate_open(&fx->gate);
    run_until_released(fx, jobs);
    for (unsigned i = 1; i < jobs; i++)
        assert_true(fx->rec[i - 1].release_seq < fx->rec[i].release_seq);
}

static bool same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int sig = 1; sig < SIGRTMIN; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return false;
    return true;
}

static void test_signals_blocked_in_threads(void **state)
{
    struct fixture *fx = *state;
    sigset_t mine, saved, after;

    sigemptyset(&mine);
    sigaddset(&mine, SIGUSR2);
    pthread_sigmask(SIG_SETMASK, &mine, &saved);
    fx->pool = tpool_create(fx->loop, 2, 4);
    pthread_sigmask(SIG_SETMASK, &saved, &after);
    assert_non_null(fx->pool);
    assert_true(same_mask(&after, &mine));

    submit_ok(fx, 0, work_record, NULL);
    submit_ok(fx, 1, work_record, NULL);
    run_until_released(fx, 2);
    assert_true(fx->rec[0].signals_blocked);
    assert_true(fx->rec[1].signals_blocked);
}

/* The third pthread_create fails: the two threads already started must be
 * stopped and joined, errno must carry the error, the mask be restored. */
static void test_create_fails_cleanly(void **state)
{
    struct fixture *fx = *state;
    sigset_t mine, saved, after;

    errno = 0;
    assert_null(tpool_create(fx->loop, 0, 4));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(tpool_create(fx->loop, 4, 0));
    assert_int_equal(errno, EINVAL);

    sigemptyset(&mine);
    pthread_sigmask(SIG_SETMASK, &mine, &saved);
    atomic_store(&threads_started, 0);
    atomic_store(&threads_exited, 0);
    atomic_store(&creates_until_fail, 3);
    errno = 0;
    assert_null(tpool_create(fx->loop, 4, 4));
    assert_int_equal(errno, EAGAIN);
    pthread_sigmask(SIG_SETMASK, &saved, &after);
    assert_true(same_mask(&after, &mine));
    assert_int_equal(atomic_load(&threads_started), 2);
    assert_int_equal(atomic_load(&threads_exited), 2);
}

/* With no other watcher, ev_run must wait for in-flight jobs but return at
 * once when the pool is idle.  The safety timer is unreferenced here so it
 * does not keep the loop alive itself; it only fires if something else does. */
static void test_loop_lifetime(void **state)
{
    struct fixture *fx = *state;
    enum { jobs = 50 };

    fx->pool = tpool_create(fx->loop, 2, jobs);
    assert_non_null(fx->pool);
    fx->expect = UINT_MAX;
    ev_timer_set(&fx->safety, WAIT_SECONDS, 0.);
    ev_timer_start(fx->loop, &fx->safety);
    ev_unref(fx->loop);

    for (unsigned i = 0; i < jobs; i++)
        submit_ok(fx, i, work_record, NULL);
    ev_run(fx->loop, 0);
    assert_false(fx->timed_out);
    assert_int_equal(fx->released, jobs);

    ev_run(fx->loop, 0); /* idle pool: must return without the timer */
    assert_false(fx->timed_out);
    ev_ref(fx->loop);
    ev_timer_stop(fx->loop, &fx->safety);
}

/* ---- job classes ---- */

/* Lets the `jobs` work_ticket() jobs go one at a time, oldest first, with
 * `slots` of them inside at once: after job k leaves, the next one in must
 * arrive before job k + 1 is let go, so arrival ranks show start order. */
static void let_go_one_by_one(struct fixture *fx, unsigned jobs, unsigned slots)
{
    for (unsigned k = 0; k < jobs; k++) {
        gate_let_go(&fx->gate, k + 1);
        if (k + slots < jobs)
            assert_true(gate_wait(&fx->gate, k + slots + 1));
    }
}

/* The first `slots` jobs start together, in any order; every later one
 * starts alone, so its rank is exactly its index if the class is FIFO. */
static void check_arrivals_fifo(struct fixture *fx, unsigned jobs, unsigned slots)
{
    for (unsigned i = 0; i < jobs; i++) {
        check_reported(fx, i);
        assert_true(fx->rec[i].gate_ok);
        if (i < slots)
            assert_true(fx->rec[i].arrival < slots);
        else
            assert_int_equal(fx->rec[i].arrival, i);
    }
}

/* 40 crypto jobs block 3 of the 4 threads (the class limit) and queue the
 * rest; a file job submitted after them must run and be reported while
 * every crypto job is still inside work() or queued. */
static void test_file_not_behind_crypto(void **state)
{
    struct fixture *fx = *state;
    enum { threads = 4, crypto = 40, file = crypto, slots = threads - 1 };

    fx->pool = tpool_create(fx->loop, threads, crypto + 1);
    assert_non_null(fx->pool);
    for (unsigned i = 0; i < crypto; i++)
        submit_in(fx, i, TPOOL_CRYPTO, work_ticket);
    assert_true(gate_wait(&fx->gate, slots));
    submit_in(fx, file, TPOOL_FILE, work_record);
    run_until_released(fx, 1);
    check_reported(fx, file);
    /* No crypto job was let go, and none beyond the limit started. */
    assert_int_equal(gate_arrived(&fx->gate), slots);
    assert_int_equal(tpool_pending(fx->pool), crypto);

    let_go_one_by_one(fx, crypto, slots);
    run_until_released(fx, crypto + 1);
    check_arrivals_fifo(fx, crypto, slots);
    assert_int_equal(atomic_load(&fx->peak), slots);
    assert_int_equal(tpool_pending(fx->pool), 0);
}

/* With 3 threads no class may run on more than 2: while two hash jobs are
 * blocked, the third thread must still be free for a file job (were it in a
 * hash job, the file job could not run and the loop run would time out). */
static void test_class_limit(void **state)
{
    struct fixture *fx = *state;
    enum { threads = 3, jobs = 10, probe = jobs, slots = threads - 1 };

    fx->pool = tpool_create(fx->loop, threads, jobs + 1);
    assert_non_null(fx->pool);
    for (unsigned i = 0; i < jobs; i++)
        submit_in(fx, i, TPOOL_HASH, work_ticket);
    assert_true(gate_wait(&fx->gate, slots));
    submit_in(fx, probe, TPOOL_FILE, work_record);
    run_until_released(fx, 1);
    check_reported(fx, probe);
    assert_int_equal(gate_arrived(&fx->gate), slots);

    let_go_one_by_one(fx, jobs, slots);
    run_until_released(fx, jobs + 1);
    check_arrivals_fifo(fx, jobs, slots);
    assert_int_equal(atomic_load(&fx->peak), slots);
}

/* One thread, first blocked on job 0 of class `first`; jobs 1..n of
 * classes cls[] queue behind it.  The scheduler's rule (tpool.h): each take
 * serves the first class, cyclically after the class of the previous take,
 * that has a job queued.  With one thread the run order is the report order,
 * which must be exactly order[] (job indices). */
static void check_rotation(struct fixture *fx, enum tpool_class first, unsigned n,
                           const enum tpool_class cls[], const unsigned order[])
{
    fx->pool = tpool_create(fx->loop, 1, n);
    assert_non_null(fx->pool);
    submit_in(fx, 0, first, work_blocked);
    assert_true(gate_wait(&fx->gate, 1));
    for (unsigned i = 1; i <= n; i++)
        submit_in(fx, i, cls[i - 1], work_record);
    gate_open(&fx->gate);
    run_until_released(fx, n + 1);
    check_reported(fx, 0);
    for (unsigned i = 0; i < n; i++) {
        unsigned prev = i == 0 ? 0 : order[i - 1];

        check_reported(fx, order[i]);
        assert_true(fx->rec[prev].release_seq < fx->rec[order[i]].release_seq);
    }
}

/* A1 A2 A3 (file) and B1 B2 (DNS) behind a crypto job: the rotation goes
 * on from crypto, wraps to file, then alternates: A1 B1 A2 B2 A3. */
static void test_round_robin_alternates(void **state)
{
    static const enum tpool_class cls[] = {TPOOL_FILE, TPOOL_FILE, TPOOL_FILE, TPOOL_DNS,
                                           TPOOL_DNS};
    static const unsigned order[] = {1, 4, 2, 5, 3};

    check_rotation(*state, TPOOL_CRYPTO, 5, cls, order);
}

/* The same queue behind a file job: file was served last, so DNS goes
 * first: B1 A1 B2 A2 A3. */
static void test_round_robin_starts_after_last(void **state)
{
    static const enum tpool_class cls[] = {TPOOL_FILE, TPOOL_FILE, TPOOL_FILE, TPOOL_DNS,
                                           TPOOL_DNS};
    static const unsigned order[] = {4, 1, 5, 2, 3};

    check_rotation(*state, TPOOL_FILE, 5, cls, order);
}

/* F1 F2 (file), D1 (DNS), C1 C2 (CPU) behind a hash job: empty classes are
 * skipped and the rotation wraps: C1 F1 D1 C2 F2. */
static void test_round_robin_skips_empty(void **state)
{
    static const enum tpool_class cls[] = {TPOOL_FILE, TPOOL_FILE, TPOOL_DNS, TPOOL_CPU, TPOOL_CPU};
    static const unsigned order[] = {4, 1, 3, 5, 2};

    check_rotation(*state, TPOOL_HASH, 5, cls, order);
}

/* max_queue bounds the jobs waiting in all classes together: with three
 * queued in three classes, a fourth is refused even in an empty class. */
static void test_queue_full_across_classes(void **state)
{
    struct fixture *fx = *state;
    struct owner *owner = new_owner(fx, 0);
    struct tpool_job *const sentinel = (struct tpool_job *)fx;
    struct test_job *refused;

    fx->pool = tpool_create(fx->loop, 1, 3);
    assert_non_null(fx->pool);
    submit_in(fx, 1, TPOOL_FILE, work_blocked);
    assert_true(gate_wait(&fx->gate, 1)); /* out of the queue, running */
    submit_in(fx, 2, TPOOL_DNS, work_record);
    submit_in(fx, 3, TPOOL_CRYPTO, work_record);
    submit_in(fx, 4, TPOOL_HASH, work_record);

    refused = new_job(fx, 5, work_record, owner);
    refused->base.cls = TPOOL_CPU;
    refused->base.next = sentinel;
    errno = 0;
    assert_int_equal(tpool_submit(fx->pool, &refused->base), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(owner->refs, 1);
    assert_ptr_equal(refused->base.next, sentinel);
    assert_int_equal(tpool_pending(fx->pool), 4);

    gate_open(&fx->gate);
    run_until_released(fx, 4);
    assert_int_equal(tpool_submit(fx->pool, &refused->base), 0);
    run_until_released(fx, 5);
    for (unsigned i = 1; i <= 5; i++)
        check_reported(fx, i);
    assert_int_equal(owner->refs, 1);
    owner_close(owner);
    assert_int_equal(fx->rec[0].owner_puts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jobs_run_concurrently, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_on_loop_thread, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_owner_closed_while_running, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_destroy_releases_queued, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_jobs, fixture_setup_many, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fifo_order, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_signals_blocked_in_threads, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_create_fails_cleanly, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_loop_lifetime, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_file_not_behind_crypto, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_class_limit, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_round_robin_alternates, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_round_robin_starts_after_last, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_round_robin_skips_empty, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_across_classes, fixture_setup,
                                        fixture_teardown),
    };

    find_real_pthread();
    return cmocka_run_group_tests(tests, NULL, NULL);
}

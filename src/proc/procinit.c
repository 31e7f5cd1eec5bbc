/* procinit.c - per-worker process setup. */
#include "proc/procinit.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"
#include "proc/process_conf.h"
#include "proc/proctitle.h"

extern char **environ;

/* worker_cpu_affinity: explicit masks (the last one repeats), or auto: the
 * slot-th CPU this process may run on, optionally within a mask. */
static int procinit_cpus(const struct conf *c, unsigned slot, cpu_set_t *set)
{
    CPU_ZERO(set);
    if (c->ncpu_masks > 0 && !c->cpu_affinity_auto) {
        unsigned long m = c->cpu_masks[slot < c->ncpu_masks ? slot : c->ncpu_masks - 1];
        for (unsigned i = 0; i < 8 * sizeof(m); i++)
            if (m & (1UL << i))
                CPU_SET(i, set);
        return 0;
    }
    if (c->cpu_affinity_auto != 1)
        return -1;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        return -1;
    unsigned long limit = c->ncpu_masks ? c->cpu_masks[0] : ~0UL;
    int n = 0, cpus[CPU_SETSIZE];
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &allowed) && (i >= 64 || (limit & (1UL << i))))
            cpus[n++] = i;
    if (n == 0)
        return -1;
    CPU_SET(cpus[slot % (unsigned)n], set);
    return 0;
}

/* worker_priority needs root to raise it: before dropping privileges. */
static void procinit_priority(const struct process_conf *pc)
{
    if (pc->priority != 0 && setpriority(PRIO_PROCESS, 0, pc->priority) < 0)
        log_msg(LL_ALERT, 0, errno, "setpriority(%d) failed", pc->priority);
}

/* After dropping privileges, as nginx: the worker user must be able to
 * enter the directory (which is where its core dumps go). */
static void procinit_directory(const struct process_conf *pc)
{
    if (pc->working_directory != NULL && chdir(pc->working_directory) < 0) {
        log_msg(LL_ALERT, 0, errno, "chdir(\"%s\") failed", pc->working_directory);
        _exit(2);
    }
}

/* `env`: a worker sees only the listed variables (TZ included), as in
 * nginx.  proctitle owns the array from now on. */
void procinit_environment(const struct conf *c)
{
    const struct process_conf *pc = process_conf(c);
    char **env = process_environment(pc, environ);
    if (env == NULL) {
        log_msg(LL_ALERT, 0, ENOMEM, "cannot set the workers' environment");
        return;
    }
    proctitle_environ(env);
    tzset(); /* localtime_r does not look at TZ again by itself */
}

void procinit_worker(const struct conf *c, unsigned slot)
{
    cpu_set_t set;
    const struct process_conf *pc = process_conf(c);
    procinit_environment(c);
    procinit_priority(pc);
    if (c->worker_rlimit_nofile > 0) {
        struct rlimit rl = {(rlim_t)c->worker_rlimit_nofile, (rlim_t)c->worker_rlimit_nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_msg(LL_ALERT, 0, errno, "setrlimit(RLIMIT_NOFILE, %ld) failed",
                    c->worker_rlimit_nofile);
    }
    if (procinit_cpus(c, slot, &set) == 0 && sched_setaffinity(0, sizeof(set), &set) < 0)
        log_msg(LL_ALERT, 0, errno, "sched_setaffinity() failed");
    if (geteuid() == 0 && c->user != NULL &&
        (setgid(c->gid) < 0 || initgroups(c->user, c->gid) < 0 || setuid(c->uid) < 0)) {
        log_msg(LL_EMERG, 0, errno, "cannot switch to user \"%s\"", c->user);
        _exit(2);
    }
    procinit_directory(pc);
}

/* master.c - supervising workers across reloads, crashes and stops. */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "log.h"
#include "pidfile.h"
#include "signals.h"
#include "worker.h"

#define MASTER_READY_TIMEOUT 5.0 /* new generation must report ready by then */
#define MASTER_KILL_AFTER 5.0    /* fast stop: SIGKILL stragglers after this */
#define MASTER_BACKOFF_MAX 30.0  /* crash loop: longest respawn delay */

/* One worker process. */
struct child {
    pid_t pid;      /* process id */
    unsigned slot;  /* its slot */
    unsigned gen;   /* its generation */
    int chan;       /* master's end of the socketpair, or -1 */
    bool ready;     /* it reported that it accepts */
    bool quitting;  /* it was told to stop */
};

/* Respawn bookkeeping for a slot. */
struct slot {
    double started;    /* when its current worker was forked */
    unsigned fails;    /* consecutive quick deaths */
    double respawn_at; /* when to fork again, or 0 */
};

enum master_mode { MM_RUN, MM_QUIT, MM_TERM };

static struct {
    struct conf *conf;        /* current generation */
    unsigned gen;             /* its number */
    struct listen_set ls;     /* every bound socket */
    struct child *kids;       /* live workers */
    unsigned nkids;           /* how many */
    unsigned capkids;         /* allocated */
    struct slot *slots;       /* one per worker slot of this generation */
    unsigned nslots;          /* how many */
    int sigfd;                /* signals */
    enum master_mode mode;    /* running or stopping */
    double kill_at;           /* fast stop: when to SIGKILL */
    double ready_by;          /* reload: old workers stop by then at the latest */
    bool old_pending;         /* old generation still accepting */
    bool pid_written;         /* the pid file is ours to remove */
} M;

static double master_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- in the forked worker -------------------------------------------- */

static int master_cpu_for(const struct conf *c, unsigned slot, cpu_set_t *set)
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

static void master_worker_init(const struct conf *c, unsigned slot)
{
    cpu_set_t set;
    if (c->worker_rlimit_nofile > 0) {
        struct rlimit rl = {(rlim_t)c->worker_rlimit_nofile, (rlim_t)c->worker_rlimit_nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_msg(LL_ALERT, 0, errno, "setrlimit(RLIMIT_NOFILE, %ld) failed",
                    c->worker_rlimit_nofile);
    }
    if (master_cpu_for(c, slot, &set) == 0 && sched_setaffinity(0, sizeof(set), &set) < 0)
        log_msg(LL_ALERT, 0, errno, "sched_setaffinity() failed");
    if (geteuid() != 0 || c->user == NULL)
        return;
    if (setgid(c->gid) < 0 || initgroups(c->user, c->gid) < 0 || setuid(c->uid) < 0) {
        log_msg(LL_EMERG, 0, errno, "cannot switch to user \"%s\"", c->user);
        _exit(2);
    }
}

static void master_in_child(unsigned slot, int chan)
{
    close(M.sigfd);
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].chan >= 0)
            close(M.kids[i].chan);
    listen_close_others(&M.ls, M.gen, slot);
    master_worker_init(M.conf, slot);
    int rc = worker_run(M.conf, slot, M.gen, chan, false);
    exit(rc);
}

/* ---- spawning and reaping -------------------------------------------------- */

static struct child *master_add_kid(void)
{
    if (M.nkids == M.capkids) {
        unsigned cap = M.capkids ? M.capkids * 2 : 8;
        struct child *k = realloc(M.kids, sizeof(*k) * cap);
        if (k == NULL)
            return NULL;
        M.kids = k;
        M.capkids = cap;
    }
    return &M.kids[M.nkids++];
}

static void master_schedule(unsigned slot, double delay);

static void master_spawn(unsigned slot)
{
    int sv[2];
    struct child *k = master_add_kid();
    if (k == NULL || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        if (k != NULL)
            M.nkids--;
        log_msg(LL_ALERT, 0, errno, "cannot prepare worker %u", slot);
        master_schedule(slot, 1.0);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        M.nkids--; /* the new entry is not a sibling */
        master_in_child(slot, sv[1]);
    }
    close(sv[1]);
    if (pid < 0) {
        M.nkids--;
        close(sv[0]);
        log_msg(LL_ALERT, 0, errno, "fork() failed while spawning worker %u", slot);
        master_schedule(slot, 1.0);
        return;
    }
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    *k = (struct child){.pid = pid, .slot = slot, .gen = M.gen, .chan = sv[0]};
    M.slots[slot].started = master_now();
    M.slots[slot].respawn_at = 0;
    log_msg(LL_NOTICE, 0, 0, "start worker process %d", (int)pid);
}

static void master_schedule(unsigned slot, double delay)
{
    M.slots[slot].respawn_at = master_now() + (delay > 0 ? delay : 0.000001);
}

/* A worker of the current generation died unexpectedly: respawn it into
 * the same slot, backing off if it keeps dying young. */
static void master_respawn(unsigned slot)
{
    struct slot *s = &M.slots[slot];
    if (master_now() - s->started < 1.0) {
        s->fails++;
        double delay = ldexp(1.0, (int)(s->fails < 6 ? s->fails - 1 : 5));
        delay = delay > MASTER_BACKOFF_MAX ? MASTER_BACKOFF_MAX : delay;
        log_msg(LL_ALERT, 0, 0, "worker %u keeps dying, respawning in %.0f s", slot, delay);
        master_schedule(slot, delay);
        return;
    }
    s->fails = 0;
    master_spawn(slot);
}

static void master_log_exit(const struct child *k, int status)
{
    if (WIFSIGNALED(status))
        log_msg(k->quitting && WTERMSIG(status) == SIGKILL ? LL_NOTICE : LL_ALERT, 0, 0,
                "worker process %d exited on signal %d", (int)k->pid, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        log_msg(LL_ALERT, 0, 0, "worker process %d exited with code %d", (int)k->pid,
                WEXITSTATUS(status));
    else
        log_msg(LL_NOTICE, 0, 0, "worker process %d exited with code 0", (int)k->pid);
}

static bool master_old_alive(void)
{
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].gen != M.gen)
            return true;
    return false;
}

static void master_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < M.nkids; i++) {
            struct child k = M.kids[i];
            if (k.pid != pid)
                continue;
            master_log_exit(&k, status);
            if (k.chan >= 0)
                close(k.chan);
            M.kids[i] = M.kids[--M.nkids];
            if (M.mode == MM_RUN && k.gen == M.gen && !k.quitting)
                master_respawn(k.slot);
            break;
        }
    }
    /* Sockets of removed addresses go only once no old worker holds them. */
    if (!master_old_alive())
        listen_sweep(&M.ls, M.gen, M.nslots);
}

static void master_signal_all(int sig, bool quitting)
{
    for (unsigned i = 0; i < M.nkids; i++) {
        if (quitting)
            M.kids[i].quitting = true;
        kill(M.kids[i].pid, sig);
    }
}

/* ---- reload ------------------------------------------------------------- */

/* Once every slot of the new generation accepts, the old one drains. */
static void master_retire_old(bool forced)
{
    if (forced)
        log_msg(LL_WARN, 0, 0, "new workers not ready in time, stopping old ones anyway");
    for (unsigned i = 0; i < M.nkids; i++) {
        if (M.kids[i].gen != M.gen && !M.kids[i].quitting) {
            M.kids[i].quitting = true;
            kill(M.kids[i].pid, SIGQUIT);
        }
    }
    M.old_pending = false;
}

static void master_check_ready(void)
{
    unsigned ready = 0;
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].gen == M.gen && M.kids[i].ready)
            ready++;
    if (M.old_pending && ready >= M.nslots)
        master_retire_old(false);
}

static int master_resize_slots(unsigned n)
{
    struct slot *s = calloc(n, sizeof(*s));
    if (s == NULL)
        return -1;
    free(M.slots);
    M.slots = s;
    M.nslots = n;
    return 0;
}

static void master_commit(struct conf *next)
{
    if (strcmp(next->pid, M.conf->pid) != 0) {
        char err[512];
        if (pidfile_write(next->pid, getpid(), err, sizeof(err)) < 0)
            log_msg(LL_ALERT, 0, 0, "%s", err);
        else
            pidfile_remove(M.conf->pid);
    }
    conf_free(M.conf);
    M.conf = next;
    M.gen++;
    for (unsigned i = 0; i < M.nslots; i++)
        master_spawn(i);
    M.old_pending = true;
    M.ready_by = master_now() + MASTER_READY_TIMEOUT;
}

static void master_reload(void)
{
    char err[1024];
    log_msg(LL_NOTICE, 0, 0, "signal %d (SIGHUP) received, reconfiguring", SIGHUP);
    struct conf *next = conf_load(&M.conf->paths, false, err, sizeof(err));
    if (next == NULL) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return;
    }
    if (listen_sync(&M.ls, next, M.gen + 1, next->nworkers, err, sizeof(err)) < 0 ||
        log_open(next->error_logs, next->nerror_logs, next->uid, next->gid, err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        conf_free(next);
        return;
    }
    if (master_resize_slots(next->nworkers) < 0) {
        log_msg(LL_EMERG, 0, 0, "out of memory");
        conf_free(next);
        return;
    }
    master_commit(next);
}

/* ---- the loop -------------------------------------------------------------- */

static void master_on_signal(int sig)
{
    switch (sig) {
    case SIGCHLD:
        master_reap();
        break;
    case SIGHUP:
        if (M.mode == MM_RUN)
            master_reload();
        break;
    case SIGQUIT:
        if (M.mode == MM_RUN) {
            log_msg(LL_NOTICE, 0, 0, "signal %d (SIGQUIT) received, shutting down", sig);
            M.mode = MM_QUIT;
            master_signal_all(SIGQUIT, true);
        }
        break;
    case SIGTERM:
    case SIGINT:
        if (M.mode != MM_TERM) {
            log_msg(LL_NOTICE, 0, 0, "signal %d received, exiting", sig);
            M.mode = MM_TERM;
            M.kill_at = master_now() + MASTER_KILL_AFTER;
            master_signal_all(SIGTERM, true);
        }
        break;
    case SIGUSR1:
        log_msg(LL_NOTICE, 0, 0, "signal %d (SIGUSR1) received, reopening logs", sig);
        log_reopen(M.conf->uid, M.conf->gid);
        master_signal_all(SIGUSR1, false);
        break;
    default:
        log_msg(LL_NOTICE, 0, 0, "signal %d ignored: binary upgrade is not supported yet", sig);
        break;
    }
}

static void master_on_chan(struct child *k)
{
    char buf[16];
    ssize_t n = read(k->chan, buf, sizeof(buf));
    if (n > 0 && buf[0] == 'R') {
        k->ready = true;
        master_check_ready();
    } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(k->chan);
        k->chan = -1;
    }
}

static int master_timeout_ms(void)
{
    double now = master_now(), next = now + 3600;
    for (unsigned i = 0; i < M.nslots; i++)
        if (M.slots[i].respawn_at > 0 && M.slots[i].respawn_at < next)
            next = M.slots[i].respawn_at;
    if (M.old_pending && M.ready_by < next)
        next = M.ready_by;
    if (M.mode == MM_TERM && M.kill_at < next)
        next = M.kill_at;
    double ms = (next - now) * 1000.0;
    return ms <= 0 ? 0 : (int)ms + 1;
}

static void master_timers(void)
{
    double now = master_now();
    for (unsigned i = 0; M.mode == MM_RUN && i < M.nslots; i++)
        if (M.slots[i].respawn_at > 0 && M.slots[i].respawn_at <= now)
            master_spawn(i);
    if (M.old_pending && M.ready_by <= now)
        master_retire_old(true);
    if (M.mode == MM_TERM && M.kill_at <= now) {
        master_signal_all(SIGKILL, true);
        M.kill_at = now + 3600;
    }
}

static void master_poll(void)
{
    struct pollfd pfd[1 + M.nkids];
    unsigned idx[1 + M.nkids], n = 1;
    pfd[0] = (struct pollfd){.fd = M.sigfd, .events = POLLIN};
    for (unsigned i = 0; i < M.nkids; i++) {
        if (M.kids[i].chan < 0)
            continue;
        pfd[n] = (struct pollfd){.fd = M.kids[i].chan, .events = POLLIN};
        idx[n++] = M.kids[i].pid;
    }
    if (poll(pfd, n, master_timeout_ms()) < 0 && errno != EINTR)
        log_msg(LL_ALERT, 0, errno, "poll() failed");
    for (unsigned i = 1; i < n; i++) {
        if (pfd[i].revents == 0)
            continue;
        for (unsigned j = 0; j < M.nkids; j++)
            if (M.kids[j].pid == (pid_t)idx[i] && M.kids[j].chan >= 0)
                master_on_chan(&M.kids[j]);
    }
    int sig;
    while ((sig = signals_read(M.sigfd)) != 0)
        master_on_signal(sig);
    master_timers();
}

/* ---- start and stop ----------------------------------------------------- */

static int master_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LL_EMERG, 0, errno, "fork() failed");
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        log_msg(LL_ALERT, 0, errno, "setsid() failed");
    umask(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    log_redirect_stderr();
    return 0;
}

static int master_start(struct conf *conf)
{
    char err[1024];
    M.conf = conf;
    M.gen = 1;
    M.sigfd = -1;
    log_set_startup(true);
    if (log_open(conf->error_logs, conf->nerror_logs, conf->uid, conf->gid, err, sizeof(err)) < 0 ||
        listen_sync(&M.ls, conf, M.gen, conf->nworkers, err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return -1;
    }
    if (conf->daemon && master_daemonize() < 0)
        return -1;
    if (conf->daemon)
        log_set_startup(false); /* stderr is the log or /dev/null now */
    if (pidfile_write(conf->pid, getpid(), err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return -1;
    }
    M.pid_written = true;
    if ((M.sigfd = signals_fd()) < 0) {
        log_msg(LL_EMERG, 0, errno, "signalfd() failed");
        return -1;
    }
    log_set_startup(false);
    return master_resize_slots(conf->nworkers);
}

static void master_cleanup(void)
{
    if (M.conf != NULL && M.pid_written)
        pidfile_remove(M.conf->pid);
    listen_close_all(&M.ls);
    conf_free(M.conf);
    free(M.kids);
    free(M.slots);
    if (M.sigfd >= 0)
        close(M.sigfd);
}

/* master_process off: one process that is its own only worker. */
static int master_single(void)
{
    int rc = worker_run(M.conf, 0, M.gen, -1, true);
    master_cleanup();
    return rc;
}

int master_run(struct conf *conf)
{
    if (master_start(conf) < 0) {
        master_cleanup();
        return 1;
    }
    if (!conf->master_process)
        return master_single();
    for (unsigned i = 0; i < M.nslots; i++)
        master_spawn(i);
    while (M.mode == MM_RUN || M.nkids > 0)
        master_poll();
    log_msg(LL_NOTICE, 0, 0, "exit");
    master_cleanup();
    return 0;
}

/* master.c - supervising workers across reloads, crashes and stops. */
#include "proc/master.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http/alog.h"
#include "conf/conf.h"
#include "conf/module.h"
#include "proc/daemon.h"
#include "proc/listen.h"
#include "core/log.h"
#include "proc/notify.h"
#include "proc/pidfile.h"
#include "proc/proctitle.h"
#include "proc/procinit.h"
#include "core/signals.h"
#include "proc/upgrade.h"
#include "proc/worker.h"

#define MASTER_READY_TIMEOUT 5.0 /* new generation must report ready by then */
#define MASTER_KILL_AFTER 5.0    /* fast stop: SIGKILL stragglers after this */
#define MASTER_BACKOFF_MAX 30.0  /* crash loop: longest respawn delay */

/* One worker process. */
struct child {
    pid_t pid;     /* process id */
    unsigned slot; /* its slot */
    unsigned gen;  /* its generation */
    int chan;      /* master's end of the socketpair, or -1 */
    bool ready;    /* it reported that it accepts */
    bool quitting; /* it was told to stop */
    bool drained;  /* it reported that it stopped accepting */
};

/* Respawn bookkeeping for a slot. */
struct slot {
    double started;    /* when its current worker was forked */
    unsigned fails;    /* consecutive quick deaths */
    double respawn_at; /* when to fork again, or 0 */
};

enum master_mode { MM_RUN, MM_QUIT, MM_TERM };

static struct {
    struct conf *conf;     /* current generation */
    unsigned gen;          /* its number */
    struct listen_set ls;  /* every bound socket */
    struct child *kids;    /* live workers */
    unsigned nkids;        /* how many */
    unsigned capkids;      /* allocated */
    struct slot *slots;    /* one per worker slot of this generation */
    unsigned nslots;       /* how many */
    int sigfd;             /* signals */
    enum master_mode mode; /* running or stopping */
    double kill_at;        /* fast stop: when to SIGKILL */
    double ready_by;       /* reload: old workers stop by then at the latest */
    bool old_pending;      /* old generation still accepting */
    bool pid_written;      /* the pid file is ours to remove */
    char pid_path[4096];   /* where our pid file is now (".oldbin" after USR2) */
    char *const *argv;     /* our command line, to exec a new binary */
    pid_t newbin;          /* the new binary's master during an upgrade, or 0 */
    bool workers_stopped;  /* WINCH: workers stopped, sockets kept */
    bool ready_notified;   /* systemd heard READY=1 for this generation */
    bool has_tty;          /* a controlling terminal: WINCH may be a resize */
    bool upgraded;         /* started by an old binary's USR2 */
    char last_error[1024]; /* last reload failure, for systemd's STATUS */
    int exit_status;       /* what master_run returns */
} M;

static double master_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- in the forked worker -------------------------------------------- */

static void master_in_child(unsigned slot, int chan)
{
    close(M.sigfd);
    daemon_forget();
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].chan >= 0)
            close(M.kids[i].chan);
    listen_close_others(&M.ls, M.gen, slot);
    proctitle_set("worker process");
    procinit_worker(M.conf, slot);
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

static void master_restart_workers(void);
static void master_check_ready(void);

/* The new binary's master died (a failed upgrade, or its QUIT during a
 * rollback): we are the master again, under the usual pid file name. */
static void master_newbin_exited(int status)
{
    log_msg(LL_NOTICE, 0, 0, "new binary process %d exited with %s %d", (int)M.newbin,
            WIFSIGNALED(status) ? "signal" : "code",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    M.newbin = 0;
    M.ls.keep_paths = false; /* the unix sockets are this master's again */
    if (strcmp(M.pid_path, M.conf->pid) != 0 && rename(M.pid_path, M.conf->pid) == 0)
        snprintf(M.pid_path, sizeof(M.pid_path), "%s", M.conf->pid);
    /* nginx: if our workers were stopped for the upgrade, serve again. */
    if (M.workers_stopped && M.mode == MM_RUN)
        master_restart_workers();
}

static void master_fast_stop(int sig);

/* A worker of the first generation died before it accepted while the
 * starting process waits: the start failed (the worker said why on the
 * terminal).  Respawning would only hide that behind a daemon that
 * serves nothing. */
static bool master_start_failed(const struct child *k)
{
    if (!daemon_waiting() || k->ready || k->gen != M.gen || M.mode != MM_RUN)
        return false;
    log_msg(LL_EMERG, 0, 0, "worker process %d could not start", (int)k->pid);
    M.exit_status = 1;
    master_fast_stop(SIGTERM);
    return true;
}

static void master_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == M.newbin) {
            master_newbin_exited(status);
            continue;
        }
        for (unsigned i = 0; i < M.nkids; i++) {
            struct child k = M.kids[i];
            if (k.pid != pid)
                continue;
            master_log_exit(&k, status);
            if (k.chan >= 0)
                close(k.chan);
            M.kids[i] = M.kids[--M.nkids];
            if (!k.quitting && !master_start_failed(&k) && M.mode == MM_RUN && k.gen == M.gen)
                master_respawn(k.slot);
            break;
        }
    }
    /* Sockets of removed addresses go only once no old worker holds them. */
    if (!master_old_alive())
        listen_sweep(&M.ls, M.gen, M.nslots);
    master_check_ready();
}

static void master_signal_all(int sig, bool quitting)
{
    for (unsigned i = 0; i < M.nkids; i++) {
        if (quitting)
            M.kids[i].quitting = true;
        kill(M.kids[i].pid, sig);
    }
}

/* A real stop: each worker drains and also closes its copies of the
 * listening sockets, told over its channel (a plain SIGQUIT, as for a
 * reload or WINCH, keeps them; then the master or the new generation holds
 * them anyway, and a worker's epoll set keeps no stale registrations). */
static void master_quit_all(void)
{
    for (unsigned i = 0; i < M.nkids; i++) {
        struct child *k = &M.kids[i];
        k->quitting = true;
        if (k->chan < 0 || write(k->chan, WORKER_MSG_QUIT, 1) != 1)
            kill(k->pid, SIGQUIT);
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

static bool master_old_accepting(void)
{
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].gen != M.gen && !M.kids[i].drained)
            return true;
    return false;
}

static void master_check_ready(void)
{
    unsigned ready = 0;
    for (unsigned i = 0; i < M.nkids; i++)
        if (M.kids[i].gen == M.gen && M.kids[i].ready)
            ready++;
    if (M.old_pending && ready >= M.nslots)
        master_retire_old(false);
    /* systemd's reload is over only when no old worker can still accept:
     * the next request after `systemctl reload` must see the new config. */
    if (!M.ready_notified && ready >= M.nslots && !master_old_accepting()) {
        notify_ready(M.gen, M.last_error, M.upgraded);
        daemon_ready();
        M.ready_notified = true;
    }
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
        if (pidfile_write(next->pid, getpid(), err, sizeof(err)) < 0) {
            log_msg(LL_ALERT, 0, 0, "%s", err);
        } else {
            pidfile_remove(M.pid_path);
            snprintf(M.pid_path, sizeof(M.pid_path), "%s", next->pid);
        }
    }
    alog_close(M.conf);
    conf_free(M.conf);
    M.conf = next;
    M.gen++;
    for (unsigned i = 0; i < M.nslots; i++)
        master_spawn(i);
    M.old_pending = true;
    M.ready_by = master_now() + MASTER_READY_TIMEOUT;
}

/* A reload that fails keeps the old generation serving; systemd hears
 * READY=1 again with the reason in STATUS. */
static void master_reload_failed(struct conf *next, const char *err)
{
    log_msg(LL_EMERG, 0, 0, "%s", err);
    snprintf(M.last_error, sizeof(M.last_error), "%s", err);
    listen_abort(&M.ls);
    if (next != NULL)
        alog_close(next);
    conf_free(next);
    notify_ready(M.gen, M.last_error, M.upgraded);
}

static void master_reload(void)
{
    char err[1024];
    log_msg(LL_NOTICE, 0, 0, "signal %d (SIGHUP) received, reconfiguring", SIGHUP);
    notify_reloading();
    struct conf *next = conf_load(&M.conf->paths, false, err, sizeof(err));
    if (next == NULL) {
        master_reload_failed(NULL, err);
        return;
    }
    if (listen_sync(&M.ls, next, next->nworkers, err, sizeof(err)) < 0 ||
        alog_open(next, next->uid, next->gid, err, sizeof(err)) < 0 ||
        modules_master_open(next, err, sizeof(err)) < 0 ||
        log_open(next->error_logs, next->nerror_logs, next->uid, next->gid, err, sizeof(err)) < 0) {
        master_reload_failed(next, err);
        return;
    }
    if (master_resize_slots(next->nworkers) < 0) {
        master_reload_failed(next, "out of memory");
        return;
    }
    M.last_error[0] = '\0';
    M.ready_notified = false;
    listen_commit(&M.ls, next, M.gen + 1, next->nworkers);
    master_commit(next);
}

/* USR2: nginx's binary upgrade.  The pid file becomes ".oldbin" and the
 * new binary starts with our listening sockets. */
static void master_upgrade(void)
{
    char old[sizeof(M.pid_path)];
    if (M.newbin != 0) {
        log_msg(LL_NOTICE, 0, 0, "binary upgrade already in progress (new master %d)",
                (int)M.newbin);
        return;
    }
    if ((size_t)snprintf(old, sizeof(old), "%s.oldbin", M.conf->pid) >= sizeof(old))
        return;
    if (rename(M.pid_path, old) < 0) {
        log_msg(LL_ALERT, 0, errno, "rename() %s to %s failed", M.pid_path, old);
        return;
    }
    pid_t pid = upgrade_exec(&M.ls, M.argv);
    if (pid < 0) {
        log_msg(LL_ALERT, 0, errno, "cannot start the new binary");
        rename(old, M.pid_path);
        return;
    }
    memcpy(M.pid_path, old, sizeof(old));
    M.newbin = pid;
    M.ls.keep_paths = true; /* the new binary serves on the unix sockets' files */
    log_msg(LL_NOTICE, 0, 0, "started new binary process %d", (int)pid);
}

/* WINCH: stop the workers gracefully but keep the sockets, so the old
 * binary can step aside during an upgrade (and come back on HUP). */
static void master_stop_workers(void)
{
    log_msg(LL_NOTICE, 0, 0, "gracefully shutting down worker processes");
    M.workers_stopped = true;
    M.old_pending = false;
    for (unsigned i = 0; i < M.nslots; i++)
        M.slots[i].respawn_at = 0;
    master_signal_all(SIGQUIT, true);
}

/* HUP after WINCH: nginx starts workers again with the configuration it
 * has, without reading the files (the rollback step of an upgrade). */
static void master_restart_workers(void)
{
    log_msg(LL_NOTICE, 0, 0, "starting worker processes again");
    M.workers_stopped = false;
    for (unsigned i = 0; i < M.nslots; i++)
        master_spawn(i);
}

/* ---- the loop -------------------------------------------------------------- */

/* TERM, or a failed start: workers close everything; stragglers get KILL. */
static void master_fast_stop(int sig)
{
    M.mode = MM_TERM;
    notify_stopping();
    listen_close_all(&M.ls);
    M.kill_at = master_now() + MASTER_KILL_AFTER;
    master_signal_all(sig, true);
}

static void master_on_signal(int sig)
{
    switch (sig) {
    case SIGCHLD:
        master_reap();
        break;
    case SIGHUP:
        if (M.mode == MM_RUN && M.workers_stopped)
            master_restart_workers();
        else if (M.mode == MM_RUN)
            master_reload();
        break;
    case SIGUSR2:
        if (M.mode == MM_RUN)
            master_upgrade();
        break;
    case SIGWINCH:
        /* In a terminal WINCH is a window resize, not an order (nginx
         * obeys it only as a daemon); during an upgrade it always counts. */
        if (M.mode == MM_RUN && !M.workers_stopped && (!M.has_tty || M.newbin != 0))
            master_stop_workers();
        break;
    case SIGQUIT:
        if (M.mode == MM_RUN) {
            log_msg(LL_NOTICE, 0, 0, "signal %d (SIGQUIT) received, shutting down", sig);
            M.mode = MM_QUIT;
            notify_stopping();
            /* Before the workers hear it: once they close their copies
             * too, the kernel refuses new connections. */
            listen_close_all(&M.ls);
            master_quit_all();
        }
        break;
    case SIGTERM:
    case SIGINT:
        if (M.mode != MM_TERM) {
            log_msg(LL_NOTICE, 0, 0, "signal %d received, exiting", sig);
            master_fast_stop(SIGTERM);
        }
        break;
    case SIGUSR1:
        log_msg(LL_NOTICE, 0, 0, "signal %d (SIGUSR1) received, reopening logs", sig);
        log_reopen(M.conf->uid, M.conf->gid);
        alog_reopen_master(M.conf, M.conf->uid, M.conf->gid);
        master_signal_all(SIGUSR1, false);
        break;
    default:
        break;
    }
}

static void master_on_chan(struct child *k)
{
    char buf[16];
    ssize_t n = read(k->chan, buf, sizeof(buf));
    if (n > 0 && memchr(buf, 'R', (size_t)n) != NULL)
        k->ready = true;
    if (n > 0 && memchr(buf, 'D', (size_t)n) != NULL)
        k->drained = true;
    if (n > 0) {
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
    for (unsigned i = 0; M.mode == MM_RUN && !M.workers_stopped && i < M.nslots; i++)
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

static int master_start(struct conf *conf)
{
    char err[1024];
    M.conf = conf;
    M.gen = 1;
    M.sigfd = -1;
    log_set_startup(true);
    bool upgraded = getenv(UPGRADE_ENV) != NULL;
    int inherited = -1;
    if (log_open(conf->error_logs, conf->nerror_logs, conf->uid, conf->gid, err, sizeof(err)) < 0 ||
        (inherited = upgrade_inherit(&M.ls, err, sizeof(err))) < 0 ||
        listen_sync(&M.ls, conf, conf->nworkers, err, sizeof(err)) < 0 ||
        alog_open(conf, conf->uid, conf->gid, err, sizeof(err)) < 0 ||
        modules_master_open(conf, err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return -1;
    }
    listen_commit(&M.ls, conf, M.gen, conf->nworkers);
    /* Handed-down sockets the configuration no longer names go now. */
    if (inherited > 0)
        listen_sweep(&M.ls, M.gen, conf->nworkers);
    /* A new binary started by an old master must stay its child (nginx
     * does not daemonize an upgraded binary either).  A daemon keeps the
     * terminal's stderr until it serves, so that the errors below (and
     * its workers') still reach the operator. */
    if (conf->daemon && !upgraded && daemon_start() < 0)
        return -1;
    if (pidfile_write(conf->pid, getpid(), err, sizeof(err)) < 0) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        return -1;
    }
    snprintf(M.pid_path, sizeof(M.pid_path), "%s", conf->pid);
    M.pid_written = true;
    M.upgraded = upgraded;
    int tty = open("/dev/tty", O_RDONLY | O_CLOEXEC);
    M.has_tty = tty >= 0;
    if (tty >= 0)
        close(tty);
    if ((M.sigfd = signals_fd()) < 0) {
        log_msg(LL_EMERG, 0, errno, "signalfd() failed");
        return -1;
    }
    if (!daemon_waiting())
        log_set_startup(false);
    return master_resize_slots(conf->nworkers);
}

static void master_cleanup(void)
{
    if (M.conf != NULL && M.pid_written)
        pidfile_remove(M.pid_path);
    listen_close_all(&M.ls);
    if (M.conf != NULL)
        alog_close(M.conf);
    conf_free(M.conf);
    free(M.kids);
    free(M.slots);
    if (M.sigfd >= 0)
        close(M.sigfd);
}

/* master_process off: one process that is its own only worker. */
static int master_single(void)
{
    procinit_environment(M.conf); /* nginx's single process takes `env` too */
    int rc = worker_run(M.conf, 0, M.gen, -1, true);
    master_cleanup();
    return rc;
}

int master_run(struct conf *conf, char *const argv[])
{
    M.argv = argv;
    if (master_start(conf) < 0) {
        master_cleanup();
        return 1;
    }
    if (!conf->master_process)
        return master_single();
    proctitle_master();
    for (unsigned i = 0; i < M.nslots; i++)
        master_spawn(i);
    while (M.mode == MM_RUN || M.nkids > 0)
        master_poll();
    log_msg(LL_NOTICE, 0, 0, "exit");
    master_cleanup();
    return M.exit_status;
}

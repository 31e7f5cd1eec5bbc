/* daemon.c - forking into the background and reporting the outcome. */
#include "proc/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

#define DAEMON_READY 'R' /* the byte that says "serving" */

static int daemon_fd = -1; /* the master's end of the pipe, while someone waits */

/* In the starting process: wait for the report, and never return.  A
 * closed pipe without it means the master died; its own stderr lines
 * already said why. */
static void daemon_wait(pid_t master, int fd)
{
    sigset_t none;
    char c;
    ssize_t n;
    /* The mask main() set for signalfd would make this process deaf to
     * Ctrl-C while it waits; it runs no loop, so defaults are right. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && c == DAEMON_READY)
        _exit(0);
    while (waitpid(master, NULL, 0) < 0 && errno == EINTR)
        ;
    _exit(1);
}

static void daemon_null_stdio(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
}

int daemon_start(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        log_msg(LL_EMERG, 0, errno, "pipe() failed");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LL_EMERG, 0, errno, "fork() failed");
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        daemon_wait(pid, p[0]);
    }
    close(p[0]);
    daemon_fd = p[1];
    if (setsid() < 0)
        log_msg(LL_ALERT, 0, errno, "setsid() failed");
    umask(0);
    daemon_null_stdio();
    return 0;
}

bool daemon_waiting(void)
{
    return daemon_fd >= 0;
}

void daemon_detach_stderr(void)
{
    log_set_startup(false);
    log_redirect_stderr();
}

void daemon_ready(void)
{
    if (daemon_fd < 0)
        return;
    /* Before the report: once the starting process exits, nobody reads
     * the terminal for us, and a pipe there could block a caller such as
     * a shell capturing our output. */
    daemon_detach_stderr();
    char c = DAEMON_READY;
    (void)!write(daemon_fd, &c, 1);
    daemon_forget();
}

void daemon_forget(void)
{
    if (daemon_fd >= 0)
        close(daemon_fd);
    daemon_fd = -1;
}

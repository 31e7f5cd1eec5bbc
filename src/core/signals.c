/* signals.c - the blocked signal set and its signalfd. */
#include "core/signals.h"

#include <errno.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void signals_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    sigaddset(set, SIGWINCH);
    sigaddset(set, SIGCHLD);
}

void signals_block(void)
{
    sigset_t set;
    signals_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int signals_fd(void)
{
    sigset_t set;
    signals_set(&set);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int signals_read(int fd)
{
    struct signalfd_siginfo si;
    ssize_t n;
    do {
        n = read(fd, &si, sizeof(si));
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(si) ? (int)si.ssi_signo : 0;
}

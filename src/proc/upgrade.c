/* upgrade.c - passing listening sockets to a new binary, and taking them. */
#include "proc/upgrade.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/listen.h"
#include "core/log.h"

#define UPGRADE_MAX_FDS 4096
#define UPGRADE_SD_FIRST_FD 3 /* SD_LISTEN_FDS_START */

extern char **environ;

/* "3;4;5;" -> fds; returns the count, or -1 on a malformed value. */
static int upgrade_parse(const char *v, int *fds, int cap)
{
    int n = 0;
    while (*v != '\0') {
        char *end;
        long fd = strtol(v, &end, 10);
        if (end == v || (*end != ';' && *end != '\0') || fd < 0 || fd > 1 << 20 || n == cap)
            return -1;
        fds[n++] = (int)fd;
        v = *end == ';' ? end + 1 : end;
    }
    return n;
}

/* systemd: LISTEN_PID names us and LISTEN_FDS counts fds from 3. */
static int upgrade_systemd(int *fds, int cap)
{
    const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
    if (pid == NULL || n == NULL || atol(pid) != (long)getpid())
        return 0;
    long count = atol(n);
    if (count < 0 || count > cap)
        return -1;
    for (long i = 0; i < count; i++)
        fds[i] = UPGRADE_SD_FIRST_FD + (int)i;
    return (int)count;
}

int upgrade_inherit(struct listen_set *ls, char *err, size_t errlen)
{
    static int fds[UPGRADE_MAX_FDS];
    const char *v = getenv(UPGRADE_ENV);
    int n =
        v != NULL ? upgrade_parse(v, fds, UPGRADE_MAX_FDS) : upgrade_systemd(fds, UPGRADE_MAX_FDS);
    const char *from = v != NULL ? "the " UPGRADE_ENV " variable" : "LISTEN_FDS";
    unsetenv(UPGRADE_ENV);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (n < 0) {
        /* nginx ignores what it cannot use rather than refuse to start. */
        log_msg(LL_WARN, 0, 0, "invalid socket list in %s, ignored", from);
        return 0;
    }
    if (n > 0 && listen_adopt(ls, fds, (size_t)n, err, errlen) < 0)
        return -1;
    if (n > 0)
        log_msg(LL_NOTICE, 0, 0, "using %d inherited sockets from %s", n, from);
    return n;
}

pid_t upgrade_exec(const struct listen_set *ls, char *const argv[])
{
    char *value = listen_env_value(ls);
    if (value == NULL)
        return -1;
    pid_t pid = fork();
    if (pid != 0) {
        free(value);
        return pid;
    }
    listen_keep_on_exec(ls);
    setenv(UPGRADE_ENV, value, 1);
    /* The signal mask stays blocked across exec: the new master reads its
     * signals from a signalfd too, and none can kill it before it does. */
    execvp(argv[0], argv);
    log_msg(LL_ALERT, 0, errno, "execve() failed while executing new binary process \"%s\"",
            argv[0]);
    _exit(1);
}

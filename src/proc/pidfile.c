/* pidfile.c - writing, reading and removing the pid file. */
#include "proc/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
    char buf[32];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return -1;
    }
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
    if (write(fd, buf, (size_t)n) != n) {
        snprintf(err, errlen, "write() to \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int pidfile_read(const char *path, pid_t *pid, char *err, size_t errlen)
{
    char buf[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open() \"%s\" failed (%d: %s)", path, errno, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *end;
    long v = strtol(buf, &end, 10);
    if (n == 0 || *end != '\0' || v <= 0) {
        snprintf(err, errlen, "invalid PID number \"%s\" in \"%s\"", buf, path);
        return -1;
    }
    *pid = (pid_t)v;
    return 0;
}

void pidfile_remove(const char *path)
{
    (void)unlink(path);
}

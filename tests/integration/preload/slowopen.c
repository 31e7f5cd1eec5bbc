/* slowopen.c - LD_PRELOAD shim for test_static_pool.py.
 *
 * Makes opening any path that contains "slowopen" slow, the way a cold disk
 * would be, without touching other paths:
 *   - syscall(SYS_openat2, ...) with RESOLVE_CACHED (turnpike's inline fast
 *     path on the event loop) fails with EAGAIN, forcing the thread pool;
 *   - syscall(SYS_openat2, ...) without it (the pool) sleeps 3 s first;
 *   - open()/open64() (the pool's fallback and its existence checks for
 *     index and try_files) sleep 3 s first.
 * Every other syscall number is forwarded unchanged.  Built by the test
 * with the machine's cc; not part of the product. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define SLOW_SECONDS 3

static int slow_path(const char *path)
{
    return path != NULL && strstr(path, "slowopen") != NULL;
}

long syscall(long number, ...)
{
    static long (*real)(long, ...);
    long a[6];
    va_list ap;

    va_start(ap, number);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (real == NULL)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    if (number == SYS_openat2 && slow_path((const char *)a[1])) {
        const struct open_how *how = (const struct open_how *)a[2];
        if (how != NULL && (how->resolve & RESOLVE_CACHED)) {
            errno = EAGAIN;
            return -1;
        }
        sleep(SLOW_SECONDS);
    }
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int slow_open(const char *name, const char *path, int flags, va_list ap)
{
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, name);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE))
        mode = (mode_t)va_arg(ap, int);
    if (slow_path(path))
        sleep(SLOW_SECONDS);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = slow_open("open", path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = slow_open("open64", path, flags, ap);
    va_end(ap);
    return fd;
}

/* proctitle.c - rewriting argv in place for ps(1), as nginx's
 * ngx_setproctitle does. */
#include "proc/proctitle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROCTITLE_PREFIX "turnpike: "

extern char **environ;

static char *proctitle_start;  /* argv[0]: where the title goes */
static char *proctitle_end;    /* one past the last byte it may use */
static char **proctitle_argv;  /* the command line as given, kept intact */
static char *proctitle_envbuf; /* the environment's strings, moved here */
static char **proctitle_env;   /* the array environ started as (setenv may replace it) */

/* Extends the writable area over strings that follow it in memory (the
 * kernel lays out argv, then the environment, back to back). */
static void proctitle_take(const char *s)
{
    if (s == proctitle_end)
        proctitle_end += strlen(s) + 1;
}

/* Copies n strings into one block (kept in *block, so that a string
 * unsetenv drops from environ is still owned, not leaked) and returns a
 * NULL-terminated array pointing into it. */
static char **proctitle_copy(int n, char **v, char **block)
{
    size_t size = 0;
    for (int i = 0; i < n; i++)
        size += strlen(v[i]) + 1;
    char **copy = calloc((size_t)n + 1, sizeof(*copy));
    char *p = *block = malloc(size ? size : 1);
    if (copy == NULL || p == NULL) {
        free(copy);
        free(p);
        *block = NULL;
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        proctitle_take(v[i]);
        size_t len = strlen(v[i]) + 1;
        copy[i] = memcpy(p, v[i], len);
        p += len;
    }
    return copy;
}

char **proctitle_init(int argc, char **argv)
{
    static char *argbuf; /* owns the strings of proctitle_argv */
    int nenv = 0;
    if (argc < 1)
        return argv;
    proctitle_start = proctitle_end = argv[0];
    proctitle_argv = proctitle_copy(argc, argv, &argbuf);
    while (environ[nenv] != NULL)
        nenv++;
    proctitle_env = proctitle_copy(nenv, environ, &proctitle_envbuf);
    if (proctitle_argv == NULL || proctitle_env == NULL) {
        proctitle_start = NULL; /* no titles, but keep running */
        return proctitle_argv;
    }
    environ = proctitle_env;
    return proctitle_argv;
}

void proctitle_environ(char **env)
{
    if (environ == proctitle_env)
        free(proctitle_env);
    proctitle_env = env;
    environ = env;
}

void proctitle_set(const char *text)
{
    if (proctitle_start == NULL || proctitle_end <= proctitle_start)
        return;
    size_t room = (size_t)(proctitle_end - proctitle_start);
    int n = snprintf(proctitle_start, room, PROCTITLE_PREFIX "%s", text);
    /* NULs after the title: ps and /proc/PID/cmdline stop at the first
     * one, and nothing of the old command line shows through. */
    size_t used = n < 0 ? 0 : (size_t)n + 1 < room ? (size_t)n + 1 : room;
    memset(proctitle_start + used, '\0', room - used);
}

void proctitle_master(void)
{
    char title[4096] = "master process";
    size_t len = strlen(title);
    for (char **a = proctitle_argv; a != NULL && *a != NULL && len < sizeof(title) - 1; a++)
        len += (size_t)snprintf(title + len, sizeof(title) - len, " %s", *a);
    proctitle_set(title);
}

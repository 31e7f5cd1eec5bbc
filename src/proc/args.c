/* args.c - command-line parsing. */
#include "proc/args.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* A flag that takes a value, and nginx's complaint when it is missing. */
struct args_valued {
    char flag;        /* the letter */
    const char *what; /* "file name", "directory name", "parameter" */
};

static const struct args_valued args_valued[] = {
    {'c', "file name"},      {'e', "file name"}, {'g', "parameter"},
    {'p', "directory name"}, {'s', "parameter"},
};

int args_signal_number(const char *name)
{
    if (strcmp(name, "stop") == 0)
        return SIGTERM;
    if (strcmp(name, "quit") == 0)
        return SIGQUIT;
    if (strcmp(name, "reopen") == 0)
        return SIGUSR1;
    if (strcmp(name, "reload") == 0)
        return SIGHUP;
    return 0;
}

static const char **args_slot(struct args *a, char flag)
{
    switch (flag) {
    case 'c':
        return &a->conf_file;
    case 'e':
        return &a->error_log;
    case 'g':
        return &a->directives;
    case 'p':
        return &a->prefix;
    default:
        return &a->signal;
    }
}

static const char *args_valued_what(char flag)
{
    for (size_t i = 0; i < sizeof(args_valued) / sizeof(args_valued[0]); i++)
        if (args_valued[i].flag == flag)
            return args_valued[i].what;
    return NULL;
}

static int args_flag(struct args *a, char flag)
{
    switch (flag) {
    case '?':
    case 'h':
        a->help = true;
        return 0;
    case 'v':
        a->version = true;
        return 0;
    case 'V':
        a->version = a->version_full = true;
        return 0;
    case 't':
        a->test = true;
        return 0;
    case 'T':
        a->test = a->dump = true;
        return 0;
    case 'q':
        a->quiet = true;
        return 0;
    default:
        return -1;
    }
}

/* Takes the value of flag argv[*i][j]: the rest of the word, or the next
 * word.  Returns -1 when there is none. */
static int args_value(struct args *a, int argc, char *const argv[], int *i, size_t j)
{
    char flag = argv[*i][j];
    const char *rest = argv[*i] + j + 1;
    if (*rest == '\0') {
        if (*i + 1 >= argc)
            return -1;
        rest = argv[++*i];
    }
    *args_slot(a, flag) = rest;
    return 0;
}

int args_parse(struct args *a, int argc, char *const argv[], char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (w[0] != '-' || w[1] == '\0') {
            snprintf(err, errlen, "invalid option: \"%s\"", w);
            return -1;
        }
        for (size_t j = 1; w[j] != '\0'; j++) {
            const char *what = args_valued_what(w[j]);
            if (what != NULL) {
                if (args_value(a, argc, argv, &i, j) < 0) {
                    snprintf(err, errlen, "option \"-%c\" requires %s", w[j], what);
                    return -1;
                }
                break;
            }
            if (args_flag(a, w[j]) < 0) {
                snprintf(err, errlen, "invalid option: \"%s\"", w + j);
                return -1;
            }
        }
    }
    if (a->signal != NULL && args_signal_number(a->signal) == 0) {
        snprintf(err, errlen, "invalid option: \"-s %s\"", a->signal);
        return -1;
    }
    return 0;
}

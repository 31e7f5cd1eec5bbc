/* args.h - nginx's command-line flags, with nginx's meaning. */
#ifndef TP_ARGS_H
#define TP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* What the command line asked for. */
struct args {
    bool help;              /* -h, -?: usage */
    bool version;           /* -v: version */
    bool version_full;      /* -V: version and build configuration */
    bool test;              /* -t: test the configuration */
    bool dump;              /* -T: test and dump the configuration */
    bool quiet;             /* -q: no non-error messages while testing */
    const char *signal;     /* -s: stop | quit | reopen | reload */
    const char *prefix;     /* -p: prefix for relative paths */
    const char *error_log;  /* -e: error log before (and absent) error_log */
    const char *conf_file;  /* -c: configuration file */
    const char *directives; /* -g: global directives */
};

/* Parses argv like nginx: flags may be combined ("-tq"), a flag's value may
 * be attached ("-cfile") or the next word.  On error writes nginx's message
 * (e.g. `option "-c" requires file name`) and returns -1. */
int args_parse(struct args *a, int argc, char *const argv[], char *err, size_t errlen);

/* Maps a -s name to its signal number, or 0. */
int args_signal_number(const char *name);

#endif

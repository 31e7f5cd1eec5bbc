/* main.c - the command line: nginx's flags, nginx's meaning. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/alog.h"
#include "proc/args.h"
#include "conf/conf.h"
#include "core/log.h"
#include "proc/master.h"
#include "core/mpool.h"
#include "proc/pidfile.h"
#include "proc/proctitle.h"
#include "core/signals.h"
#include "core/version.h"
#include "tls/tls_lib.h"

#include <ev.h>
#include <http_parser.h>

#ifndef TP_PREFIX
#define TP_PREFIX "/usr/local/share/turnpike/"
#endif
#ifndef TP_CONF_PATH
#define TP_CONF_PATH "/usr/local/etc/turnpike/turnpike.conf"
#endif
#ifndef TP_ERROR_LOG_PATH
#define TP_ERROR_LOG_PATH "logs/error.log" /* relative: under the prefix */
#endif

static void main_usage(void)
{
    fprintf(stderr,
            "Usage: turnpike [-?hvVtTq] [-s signal] [-p prefix]\n"
            "                [-e filename] [-c filename] [-g directives]\n\n"
            "Options:\n"
            "  -?,-h         : this help\n"
            "  -v            : show version and exit\n"
            "  -V            : show version and configure options then exit\n"
            "  -t            : test configuration and exit\n"
            "  -T            : test configuration, dump it and exit\n"
            "  -q            : suppress non-error messages during configuration testing\n"
            "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
            "  -p prefix     : set prefix path (default: %s)\n"
            "  -e filename   : set error log file (default: %s)\n"
            "  -c filename   : set configuration file (default: %s)\n"
            "  -g directives : set global directives out of configuration file\n\n",
            TP_PREFIX, TP_ERROR_LOG_PATH, TP_CONF_PATH);
}

static void main_version(bool full)
{
    fprintf(stderr, "turnpike version: %s\n", TP_VERSION_BUILD);
    if (!full)
        return;
    fprintf(stderr, "built with %s, libev %d.%d, http-parser %d.%d.%d\n", tls_lib_version(),
            EV_VERSION_MAJOR, EV_VERSION_MINOR, HTTP_PARSER_VERSION_MAJOR,
            HTTP_PARSER_VERSION_MINOR, HTTP_PARSER_VERSION_PATCH);
    fprintf(stderr, "configure arguments: %s\n", TP_CONFIGURE_ARGS);
}

/* Works out prefix, conf file, conf prefix and error log as nginx does:
 * -c and -e are relative to the prefix, include to the conf file's dir. */
static int main_paths(const struct args *a, struct mpool *p, struct conf_paths *out)
{
    const char *prefix = a->prefix ? a->prefix : TP_PREFIX;
    size_t plen = strlen(prefix);
    out->prefix =
        plen && prefix[plen - 1] == '/' ? mpool_strdup(p, prefix) : mpool_printf(p, "%s/", prefix);
    out->conf_file = conf_full_path(p, out->prefix, a->conf_file ? a->conf_file : TP_CONF_PATH);
    const char *slash = strrchr(out->conf_file, '/');
    out->conf_prefix = mpool_strndup(p, out->conf_file, (size_t)(slash - out->conf_file) + 1);
    const char *e = a->error_log ? a->error_log : TP_ERROR_LOG_PATH;
    out->error_log = strcmp(e, "stderr") == 0 ? e : conf_full_path(p, out->prefix, e);
    out->directives = a->directives;
    return out->prefix && out->conf_file && out->conf_prefix && out->error_log ? 0 : -1;
}

static int main_signal(const struct conf *c, const char *name)
{
    char err[512];
    pid_t pid;
    int sig = args_signal_number(name);
    if (pidfile_read(c->pid, &pid, err, sizeof(err)) < 0) {
        log_msg(LL_ERR, 0, 0, "%s", err);
        return 1;
    }
    if (kill(pid, sig) < 0) {
        log_msg(LL_ERR, 0, errno, "kill(%d, %d) failed", (int)pid, sig);
        return 1;
    }
    return 0;
}

/* -t also opens the log files, as nginx does, to prove they are usable. */
static int main_test(struct conf *c, const struct args *a)
{
    char err[1024];
    if (alog_open(c, (uid_t)-1, (gid_t)-1, err, sizeof(err)) < 0 ||
        log_open(c->error_logs, c->nerror_logs, (uid_t)-1, (gid_t)-1, err, sizeof(err)) < 0) {
        alog_close(c);
        log_msg(LL_EMERG, 0, 0, "%s", err);
        fprintf(stderr, "turnpike: configuration file %s test failed\n", c->paths.conf_file);
        return 1;
    }
    log_close_all();
    alog_close(c);
    if (!a->quiet) {
        fprintf(stderr, "turnpike: the configuration file %s syntax is ok\n", c->paths.conf_file);
        fprintf(stderr, "turnpike: configuration file %s test is successful\n", c->paths.conf_file);
    }
    if (a->dump)
        conf_dump(c, stdout);
    return 0;
}

static int main_run(const struct args *a, const struct conf_paths *paths, char *const argv[])
{
    char err[1024];
    struct conf *c = conf_load(paths, a->dump, err, sizeof(err));
    if (c == NULL) {
        log_msg(LL_EMERG, 0, 0, "%s", err);
        if (a->test)
            fprintf(stderr, "turnpike: configuration file %s test failed\n", paths->conf_file);
        return 1;
    }
    int rc;
    if (a->test)
        rc = main_test(c, a);
    else if (a->signal != NULL)
        rc = main_signal(c, a->signal);
    else
        return master_run(c, argv);
    conf_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    struct args a;
    char err[256];
    /* Before anything reads argv or the environment: later process
     * titles overwrite the strings they point into. */
    argv = proctitle_init(argc, argv);
    if (argv == NULL) {
        fprintf(stderr, "turnpike: out of memory\n");
        return 1;
    }
    signals_block();
    if (args_parse(&a, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "turnpike: %s\n", err);
        return 1;
    }
    if (a.help || a.version) {
        if (a.version)
            main_version(a.version_full);
        if (a.help)
            main_usage();
        if (!a.test)
            return 0;
    }
    struct mpool pool;
    struct conf_paths paths;
    mpool_init(&pool, 1024);
    int rc = main_paths(&a, &pool, &paths) < 0 ? 1 : main_run(&a, &paths, argv);
    mpool_destroy(&pool);
    return rc;
}

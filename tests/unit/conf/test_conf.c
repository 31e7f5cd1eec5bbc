/* test_conf.c - the configuration loader: the directive table, every error
 * with its file:line, values, inheritance, and the listen sockets it plans.
 *
 * Each test loads real files from a fresh mkdtemp directory.  Error cases
 * mark the line the error must name with a "#!" comment, so tables need no
 * hand-counted line numbers. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "handler/ret.h"
#include "handler/rewrite.h"
#include "http/core_conf.h"
#include "stream/stream.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define LEAK_CHECK() 0
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture ------------------------------------------------------------ */

struct fx {
    char dir[64];          /* the test's temporary directory */
    char conf_prefix[80];  /* dir + "/": where main.conf and includes live */
    char prefix[96];       /* dir + "/pfx/": -p, deliberately elsewhere */
    char main[96];         /* dir/main.conf */
    const char *g;         /* -g directives, or NULL */
    const char *error_log; /* paths.error_log; "stderr" unless a test sets it */
    bool keep;             /* keep_files */
    struct conf *c;        /* the last successful load */
    char err[1024];        /* the loader's message */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_conf.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->conf_prefix, sizeof(f->conf_prefix), "%s/", f->dir);
    snprintf(f->prefix, sizeof(f->prefix), "%s/pfx/", f->dir);
    snprintf(f->main, sizeof(f->main), "%s/main.conf", f->dir);
    mkdir(f->prefix, 0755);
    f->error_log = "stderr";
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    conf_free(f->c);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Writes dir/name, creating one level of subdirectory if the name has one. */
static void put(const struct fx *f, const char *name, const char *text)
{
    char path[256];
    const char *slash = strchr(name, '/');
    if (slash != NULL) {
        snprintf(path, sizeof(path), "%s/%.*s", f->dir, (int)(slash - name), name);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* Writes main.conf and loads it; returns the conf or NULL with f->err. */
static struct conf *try_load(struct fx *f, const char *text)
{
    struct conf_paths p = {
        .prefix = f->prefix,
        .conf_file = f->main,
        .conf_prefix = f->conf_prefix,
        .error_log = f->error_log,
        .directives = f->g,
    };
    conf_free(f->c);
    f->c = NULL;
    f->err[0] = '\0';
    if (text != NULL)
        put(f, "main.conf", text);
    f->c = conf_load(&p, f->keep, f->err, sizeof(f->err));
    return f->c;
}

static struct conf *load(struct fx *f, const char *text)
{
    struct conf *c = try_load(f, text);
    if (c == NULL)
        fail_msg("conf_load failed: %s\n--- config:\n%s", f->err, text ? text : "(file as is)");
    return c;
}

/* ---- error tables --------------------------------------------------------- */

enum at {
    AT_MARK,    /* main.conf, the line holding "#!" */
    AT_CMDLINE, /* "in command line" */
    AT_NONE,    /* no location at all */
};

struct err_case {
    const char *g;    /* -g directives, or NULL */
    const char *text; /* main.conf */
    const char *msg;  /* the message without its location */
    enum at at;       /* where it must point */
};

static int mark_line(const char *text)
{
    const char *m = strstr(text, "#!");
    int line = 1;
    if (m == NULL)
        return 0;
    for (const char *p = text; p < m; p++)
        line += *p == '\n';
    return line;
}

/* Runs every case, reports each mismatch, and fails once at the end. */
static void run_err_cases(struct fx *f, const struct err_case *cases, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct err_case *tc = &cases[i];
        char want[1024];
        switch (tc->at) {
        case AT_MARK:
            assert_true(mark_line(tc->text) > 0);
            snprintf(want, sizeof(want), "%s in %s:%d", tc->msg, f->main, mark_line(tc->text));
            break;
        case AT_CMDLINE:
            snprintf(want, sizeof(want), "%s in command line", tc->msg);
            break;
        case AT_NONE:
            snprintf(want, sizeof(want), "%s", tc->msg);
            break;
        }
        f->g = tc->g;
        struct conf *c = try_load(f, tc->text);
        f->g = NULL;
        if (c != NULL) {
            print_error("case %zu: loaded, expected error\n  want: %s\n  conf: %s\n", i, want,
                        tc->text);
            bad++;
        } else if (strcmp(f->err, want) != 0) {
            print_error("case %zu:\n  want: %s\n  got:  %s\n", i, want, f->err);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The rewrite module's `return` at a level. */
/* LOG_MAX_SINKS (64) error_log lines. */
#define ELOG8                                                                                      \
    "error_log stderr;\nerror_log stderr;\nerror_log stderr;\nerror_log stderr;\n"                 \
    "error_log stderr;\nerror_log stderr;\nerror_log stderr;\nerror_log stderr;\n"
#define ELOG64 ELOG8 ELOG8 ELOG8 ELOG8 ELOG8 ELOG8 ELOG8 ELOG8

/* A level's return: the first op of its rewrite script, or NULL. */
static const struct ret_conf *ret_of(const struct loc_conf *loc)
{
    const struct rw_loc *rl = loc_part(loc, &mod_rewrite);
    if (rl->script == NULL || rl->script->n == 0 || rl->script->ops[0].kind != RW_RETURN)
        return NULL;
    return rl->script->ops[0].arg;
}
#define RET(loc) ret_of(loc)

#define EV "events {}\n"
#define HTTP(body) EV "http {\n" body "}\n"
#define SRV(body) HTTP(" server {\n" body " }\n")
#define LOC(body) SRV("  location / {\n" body "  }\n")

/* ---- the directive table ------------------------------------------------ */

/* A directive of an earlier module, or earlier in m's table, named so
 * for a context of ctx too (one name may serve different contexts, as
 * `server` does in http and in upstream). */
static bool table_seen(size_t mi, size_t ci, const char *name, unsigned ctx)
{
    for (size_t i = 0; i <= mi; i++) {
        const struct module *m = modules[i];
        for (size_t j = 0; j < (i == mi ? ci : m->ncmds); j++)
            if (strcmp(m->cmds[j].name, name) == 0 && (m->cmds[j].ctx & ctx) != 0)
                return true;
    }
    return false;
}

static size_t table_part_size(const struct module *m, const struct conf_cmd *cmd)
{
    if (cmd->scope == CS_MAIN)
        return sizeof(struct conf);
    if (m == &mod_stream) /* the stream levels, outside the http parts */
        return sizeof(struct stream_srv);
    return m == &mod_http_core ? sizeof(struct loc_conf) : m->part_size;
}

static void table_entry(const struct module *m, size_t mi, size_t ci);

static void test_table_entries(void **state)
{
    (void)state;
    modules_init();
    assert_true(nmodules > 0);
    for (size_t i = 0; i < nmodules; i++) {
        assert_int_equal(modules[i]->index, i);
        for (size_t j = 0; j < modules[i]->ncmds; j++)
            table_entry(modules[i], i, j);
    }
    bool known;
    const struct module *m;
    assert_null(module_cmd_find("no_such_directive", CTX_ANY, &m, &known));
    assert_false(known);
    assert_null(module_cmd_find("", CTX_ANY, &m, &known));
    assert_null(module_cmd_find("Daemon", CTX_ANY, &m, &known));
    assert_null(module_cmd_find("daemon", CTX_HTTP, &m, &known));
    assert_true(known);
}

static void table_entry(const struct module *mod, size_t mi, size_t ci)
{
    const struct conf_cmd *cmd = &mod->cmds[ci];
    {
        assert_non_null(cmd->name);
        assert_true(cmd->name[0] != '\0');
        if (table_seen(mi, ci, cmd->name, cmd->ctx))
            fail_msg("directive \"%s\" is in the tables twice for one context", cmd->name);
        if (cmd->ctx == 0)
            fail_msg("\"%s\": bad context mask %#x", cmd->name, cmd->ctx);
        if (cmd->args == 0)
            fail_msg("\"%s\": accepts no argument count", cmd->name);
        if (cmd->type == CT_CUSTOM && cmd->set == NULL)
            fail_msg("\"%s\": CT_CUSTOM without a setter", cmd->name);
        if ((cmd->args & ARGS_BLOCK) && cmd->set == NULL)
            fail_msg("\"%s\": a block directive needs a setter", cmd->name);
        if (cmd->type != CT_CUSTOM && cmd->type != CT_PARSER) {
            size_t size = table_part_size(mod, cmd);
            size_t fsize = cmd->type == CT_FLAG  ? sizeof(int)
                           : cmd->type == CT_STR ? sizeof(char *)
                                                 : sizeof(long);
            if (cmd->offset + fsize > size)
                fail_msg("\"%s\": field offset %zu outside its struct", cmd->name, cmd->offset);
        }
        if (cmd->dflt != NULL) {
            int rc = 0, flag;
            long v;
            switch (cmd->type) {
            case CT_FLAG:
                rc = conf_parse_flag(cmd->dflt, &flag);
                break;
            case CT_NUM:
                rc = conf_parse_num(cmd->dflt, &v);
                break;
            case CT_SIZE:
                rc = conf_parse_size(cmd->dflt, &v);
                break;
            case CT_MSEC:
                rc = conf_parse_msec(cmd->dflt, &v);
                break;
            case CT_STR:
                break;
            case CT_ENUM:
                rc = -1;
                for (const struct conf_enum *e = cmd->post; e != NULL && e->name != NULL; e++)
                    if (strcmp(e->name, cmd->dflt) == 0)
                        rc = 0;
                break;
            default:
                fail_msg("\"%s\": a default on a non-generic type", cmd->name);
            }
            if (rc != 0)
                fail_msg("\"%s\": default \"%s\" does not parse", cmd->name, cmd->dflt);
        }
        bool known;
        const struct module *found;
        if (cmd->type != CT_PARSER)
            assert_ptr_equal(module_cmd_find(cmd->name, cmd->ctx, &found, &known), cmd);
    }
}

/* ---- value parsers, directly ---------------------------------------------- */

struct val_case {
    const char *s;
    int rc;
    long v;
};

static void test_parse_msec(void **state)
{
    static const struct val_case cases[] = {
        {"0", 0, 0},
        {"90", 0, 90000},
        {"500ms", 0, 500},
        {"1s", 0, 1000},
        {"1m", 0, 60000},
        {"1h 30m", 0, 5400000},
        {"1h30m", 0, 5400000},
        {"1m30s", 0, 90000},
        {"1m 5", 0, 65000},
        {"1s 500ms", 0, 1500},
        {"1d", 0, 86400000},
        {"2w", 0, 1209600000},
        {"1h 1m 1s 1ms", 0, 3661001},
        {"75s ", 0, 75000},
        {"", -1, 0},
        {"s", -1, 0},
        {"ms", -1, 0},
        {"-1", -1, 0},
        {" 5s", -1, 0},
        {"1x", -1, 0},
        {"30m 1h", -1, 0},
        {"1s 1m", -1, 0},
        {"1m 1m", -1, 0},
        {"500ms 1s", -1, 0},
        {"5 5s", -1, 0},
        {"1 2", -1, 0},
        {"1.5s", -1, 0},
        {"3000000s", -1, 0}, /* over INT_MAX ms */
        {"99999999999999999999", -1, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        long v = -7;
        int rc = conf_parse_msec(cases[i].s, &v);
        if (rc != cases[i].rc || (rc == 0 && v != cases[i].v))
            fail_msg("conf_parse_msec(\"%s\") = %d, %ld; want %d, %ld", cases[i].s, rc, v,
                     cases[i].rc, cases[i].v);
    }
}

static void test_parse_size_num_flag(void **state)
{
    static const struct val_case sizes[] = {
        {"0", 0, 0},
        {"512", 0, 512},
        {"16k", 0, 16384},
        {"16K", 0, 16384},
        {"2m", 0, 2097152},
        {"2M", 0, 2097152},
        {"1g", 0, 1073741824},
        {"1G", 0, 1073741824},
        {"", -1, 0},
        {"k", -1, 0},
        {"-1", -1, 0},
        {"-1k", -1, 0},
        {"1.5k", -1, 0},
        {"16kb", -1, 0},
        {"1 k", -1, 0},
        {"1t", -1, 0},
        {"99999999999999999999g", -1, 0},
    };
    static const struct val_case nums[] = {
        {"0", 0, 0},    {"42", 0, 42}, {"007", 0, 7},         {"2147483647", 0, 2147483647},
        {"", -1, 0},    {"-1", -1, 0}, {"+1", -1, 0},         {"1k", -1, 0},
        {"1.0", -1, 0}, {" 1", -1, 0}, {"2147483648", -1, 0},
    };
    static const struct val_case flags[] = {
        {"on", 0, 1},   {"off", 0, 0}, {"ON", 0, 1}, {"Off", 0, 0},
        {"yes", -1, 0}, {"1", -1, 0},  {"", -1, 0},  {"onn", -1, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        long v = -7;
        int rc = conf_parse_size(sizes[i].s, &v);
        if (rc != sizes[i].rc || (rc == 0 && v != sizes[i].v))
            fail_msg("conf_parse_size(\"%s\") = %d, %ld", sizes[i].s, rc, v);
    }
    for (size_t i = 0; i < ARRAY_LEN(nums); i++) {
        long v = -7;
        int rc = conf_parse_num(nums[i].s, &v);
        if (rc != nums[i].rc || (rc == 0 && v != nums[i].v))
            fail_msg("conf_parse_num(\"%s\") = %d, %ld", nums[i].s, rc, v);
    }
    for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
        int v = -7;
        int rc = conf_parse_flag(flags[i].s, &v);
        if (rc != flags[i].rc || (rc == 0 && v != flags[i].v))
            fail_msg("conf_parse_flag(\"%s\") = %d, %d", flags[i].s, rc, v);
    }
}

/* ---- errors ------------------------------------------------------------------ */

static void test_err_unknown(void **state)
{
    static const struct err_case cases[] = {
        {NULL, EV "foo bar; #!\n", "unknown directive \"foo\"", AT_MARK},
        {NULL, SRV("  bogus; #!\n"), "unknown directive \"bogus\"", AT_MARK},
        /* A module turnpike does not have is named. */
        {NULL, EV "mail { #!\n}\n", "\"mail\" is not supported: turnpike has no mail proxy",
         AT_MARK},
        {NULL, LOC("   fastcgi_pass 127.0.0.1:9000; #!\n"),
         "\"fastcgi_pass\" is not supported: turnpike has no FastCGI module (proxy_pass to an "
         "HTTP server instead)",
         AT_MARK},
        /* Left out on purpose: the reason, not "unknown". */
        {NULL, LOC("   proxy_cache_valid 200 1m; #!\n"),
         "\"proxy_cache_valid\" is not supported: turnpike does not cache responses", AT_MARK},
        {NULL, LOC("   proxy_cookie_path / /x; #!\n"),
         "\"proxy_cookie_path\" is not supported: turnpike does not rewrite cookies", AT_MARK},
        {NULL, LOC("   limit_except GET { deny all; } #!\n"),
         "\"limit_except\" is not supported: methods are not restricted per location (use "
         "\"if ($request_method ...)\" with \"return\")",
         AT_MARK},
        {NULL, "events {\n Worker_connections 5; #!\n}\n",
         "unknown directive \"Worker_connections\"", AT_MARK},
        {"foo;", EV, "unknown directive \"foo\"", AT_CMDLINE},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_context(void **state)
{
    static const struct err_case cases[] = {
        {NULL, HTTP(" listen 80; #!\n"), "\"listen\" directive is not allowed here", AT_MARK},
        {NULL, "worker_connections 10; #!\n" EV,
         "\"worker_connections\" directive is not allowed here", AT_MARK},
        {NULL, HTTP(" events { #!\n }\n"), "\"events\" directive is not allowed here", AT_MARK},
        {NULL, "events {\n events { #!\n }\n}\n", "\"events\" directive is not allowed here",
         AT_MARK},
        {NULL, "events {\n worker_processes 2; #!\n}\n",
         "\"worker_processes\" directive is not allowed here", AT_MARK},
        {NULL, EV "server { #!\n}\n", "\"server\" directive is not allowed here", AT_MARK},
        {NULL, EV "upstream x { #!\n}\n", "\"upstream\" directive is not allowed here", AT_MARK},
        {NULL, SRV("  server { #!\n  }\n"), "\"server\" directive is not allowed here", AT_MARK},
        {NULL, HTTP(" http { #!\n }\n"), "\"http\" directive is not allowed here", AT_MARK},
        {NULL, HTTP(" location / { #!\n }\n"), "\"location\" directive is not allowed here",
         AT_MARK},
        {NULL, HTTP(" return 200; #!\n"), "\"return\" directive is not allowed here", AT_MARK},
        {NULL, HTTP(" server_name x; #!\n"), "\"server_name\" directive is not allowed here",
         AT_MARK},
        {NULL, HTTP(" daemon off; #!\n"), "\"daemon\" directive is not allowed here", AT_MARK},
        {NULL, "events {\n keepalive_timeout 5; #!\n}\n",
         "\"keepalive_timeout\" directive is not allowed here", AT_MARK},
        {NULL, LOC("   client_header_timeout 5s; #!\n"),
         "\"client_header_timeout\" directive is not allowed here", AT_MARK},
        {NULL, LOC("   large_client_header_buffers 4 8k; #!\n"),
         "\"large_client_header_buffers\" directive is not allowed here", AT_MARK},
        {NULL, LOC("   listen 80; #!\n"), "\"listen\" directive is not allowed here", AT_MARK},
        {"listen 80;", EV, "\"listen\" directive is not allowed here", AT_CMDLINE},
        {"keepalive_timeout 5;", EV, "\"keepalive_timeout\" directive is not allowed here",
         AT_CMDLINE},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_arg_count(void **state)
{
#define NARGS(d) "invalid number of arguments in \"" d "\" directive"
    static const struct err_case cases[] = {
        {NULL, "daemon; #!\n" EV, NARGS("daemon"), AT_MARK},
        {NULL, "daemon on off; #!\n" EV, NARGS("daemon"), AT_MARK},
        {NULL, "events x { #!\n}\n", NARGS("events"), AT_MARK},
        {NULL, EV "http x { #!\n}\n", NARGS("http"), AT_MARK},
        {NULL, HTTP(" server x { #!\n }\n"), NARGS("server"), AT_MARK},
        {NULL, HTTP(" keepalive_timeout 1 2 3; #!\n"), NARGS("keepalive_timeout"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 4; #!\n"), NARGS("large_client_header_buffers"),
         AT_MARK},
        {NULL, SRV("  location { #!\n  }\n"), NARGS("location"), AT_MARK},
        {NULL, SRV("  location = /a /b { #!\n  }\n"), NARGS("location"), AT_MARK},
        {NULL, SRV("  return; #!\n"), NARGS("return"), AT_MARK},
        {NULL, SRV("  return 200 a b; #!\n"), NARGS("return"), AT_MARK},
        {NULL, SRV("  listen; #!\n"), NARGS("listen"), AT_MARK},
        {NULL, SRV("  listen 80 a b c d e f g; #!\n"), NARGS("listen"), AT_MARK},
        {NULL, SRV("  server_name; #!\n"), NARGS("server_name"), AT_MARK},
        {NULL, "worker_cpu_affinity auto 01 10; #!\n" EV, NARGS("worker_cpu_affinity"), AT_MARK},
        {NULL, "worker_cpu_affinity; #!\n" EV, NARGS("worker_cpu_affinity"), AT_MARK},
        {NULL, "thread_pool default; #!\n" EV, NARGS("thread_pool"), AT_MARK},
        {NULL, "user a b c; #!\n" EV, NARGS("user"), AT_MARK},
        {NULL, "error_log; #!\n" EV, NARGS("error_log"), AT_MARK},
        {NULL, "pid; #!\n" EV, NARGS("pid"), AT_MARK},
        {NULL, "events {\n worker_connections; #!\n}\n", NARGS("worker_connections"), AT_MARK},
        {"daemon;", EV, NARGS("daemon"), AT_CMDLINE},
    };
#undef NARGS
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_block_shape(void **state)
{
    static const struct err_case cases[] = {
        {NULL, "events; #!\n", "directive \"events\" has no opening \"{\"", AT_MARK},
        {NULL, EV "http; #!\n", "directive \"http\" has no opening \"{\"", AT_MARK},
        {NULL, HTTP(" server; #!\n"), "directive \"server\" has no opening \"{\"", AT_MARK},
        {NULL, SRV("  location /; #!\n"), "directive \"location\" has no opening \"{\"", AT_MARK},
        {NULL, "daemon on { #!\n}\n" EV, "directive \"daemon\" is not terminated by \";\"",
         AT_MARK},
        {NULL, SRV("  listen 80 { #!\n  }\n"), "directive \"listen\" is not terminated by \";\"",
         AT_MARK},
        {NULL, HTTP(" keepalive_timeout 5 { #!\n }\n"),
         "directive \"keepalive_timeout\" is not terminated by \";\"", AT_MARK},
        {"events;", EV, "directive \"events\" has no opening \"{\"", AT_CMDLINE},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_duplicate(void **state)
{
#define DUP(d) "\"" d "\" directive is duplicate"
    static const struct err_case cases[] = {
        {NULL, "daemon on;\ndaemon off; #!\n" EV, DUP("daemon"), AT_MARK},
        {NULL, "master_process on;\nmaster_process on; #!\n" EV, DUP("master_process"), AT_MARK},
        {NULL, "pid a.pid;\npid b.pid; #!\n" EV, DUP("pid"), AT_MARK},
        {NULL, "user nobody;\nuser nobody; #!\n" EV, DUP("user"), AT_MARK},
        {NULL, "worker_processes 2;\nworker_processes auto; #!\n" EV, DUP("worker_processes"),
         AT_MARK},
        {NULL, "worker_processes auto;\nworker_processes 2; #!\n" EV, DUP("worker_processes"),
         AT_MARK},
        {NULL, "worker_cpu_affinity auto;\nworker_cpu_affinity 01; #!\n" EV,
         DUP("worker_cpu_affinity"), AT_MARK},
        {NULL, "worker_rlimit_nofile 10;\nworker_rlimit_nofile 10; #!\n" EV,
         DUP("worker_rlimit_nofile"), AT_MARK},
        {NULL, "worker_shutdown_timeout 1s;\nworker_shutdown_timeout 2s; #!\n" EV,
         DUP("worker_shutdown_timeout"), AT_MARK},
        {NULL, EV "events { #!\n}\n", DUP("events"), AT_MARK},
        {NULL, "events {\n worker_connections 1;\n worker_connections 2; #!\n}\n",
         DUP("worker_connections"), AT_MARK},
        {NULL, EV "http {}\nhttp { #!\n}\n", DUP("http"), AT_MARK},
        {NULL, LOC("   rewrite_log on;\n   rewrite_log off; #!\n"), DUP("rewrite_log"), AT_MARK},
        {NULL, HTTP(" keepalive_timeout 5;\n keepalive_timeout 6 5; #!\n"),
         DUP("keepalive_timeout"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 4 8k;\n large_client_header_buffers 2 8k; #!\n"),
         DUP("large_client_header_buffers"), AT_MARK},
        {NULL, HTTP(" default_type a/b;\n default_type c/d; #!\n"), DUP("default_type"), AT_MARK},
        {NULL, SRV("  server_tokens on;\n  server_tokens off; #!\n"), DUP("server_tokens"),
         AT_MARK},
        {NULL, LOC("   keepalive_requests 1;\n   keepalive_requests 1; #!\n"),
         DUP("keepalive_requests"), AT_MARK},
        {NULL, HTTP(" client_header_buffer_size 1k;\n client_header_buffer_size 2k; #!\n"),
         DUP("client_header_buffer_size"), AT_MARK},
        {NULL, HTTP(" send_timeout 1s;\n send_timeout 1s; #!\n"), DUP("send_timeout"), AT_MARK},
        {NULL, "thread_pool default threads=2;\nthread_pool default threads=3; #!\n" EV,
         "duplicate thread pool \"default\"", AT_MARK},
        /* -g directives come first: the file's repetition is the duplicate. */
        {"daemon off;", EV "daemon on; #!\n", DUP("daemon"), AT_MARK},
        {"master_process off;", "master_process on; #!\n" EV, DUP("master_process"), AT_MARK},
        {"worker_processes 2;", "worker_processes 4; #!\n" EV, DUP("worker_processes"), AT_MARK},
        {"pid /tmp/a.pid;", "pid b.pid; #!\n" EV, DUP("pid"), AT_MARK},
        {"user nobody;", "user nobody; #!\n" EV, DUP("user"), AT_MARK},
        {"daemon off; daemon on;", EV, DUP("daemon"), AT_CMDLINE},
    };
#undef DUP
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_values(void **state)
{
#define INV(v, d) "invalid value \"" v "\" in \"" d "\" directive"
#define FLAG(v, d) INV(v, d) ", it must be \"on\" or \"off\""
    static const struct err_case cases[] = {
        /* flags */
        {NULL, "daemon yes; #!\n" EV, FLAG("yes", "daemon"), AT_MARK},
        {NULL, "master_process 1; #!\n" EV, FLAG("1", "master_process"), AT_MARK},
        {NULL, HTTP(" tcp_nodelay maybe; #!\n"), FLAG("maybe", "tcp_nodelay"), AT_MARK},
        {NULL, HTTP(" server_tokens maybe; #!\n"), INV("maybe", "server_tokens"), AT_MARK},
        {NULL, LOC("   port_in_redirect \"\"; #!\n"), FLAG("", "port_in_redirect"), AT_MARK},
        {"daemon maybe;", EV, FLAG("maybe", "daemon"), AT_CMDLINE},
        /* numbers */
        {NULL, "worker_rlimit_nofile -1; #!\n" EV, INV("-1", "worker_rlimit_nofile"), AT_MARK},
        {NULL, "worker_rlimit_nofile 1k; #!\n" EV, INV("1k", "worker_rlimit_nofile"), AT_MARK},
        {NULL, "worker_rlimit_nofile 3000000000; #!\n" EV,
         INV("3000000000", "worker_rlimit_nofile"), AT_MARK},
        {NULL, "events {\n worker_connections many; #!\n}\n", INV("many", "worker_connections"),
         AT_MARK},
        {NULL, HTTP(" keepalive_requests 10.5; #!\n"), INV("10.5", "keepalive_requests"), AT_MARK},
        {NULL, "worker_processes 0; #!\n" EV, INV("0", "worker_processes"), AT_MARK},
        {NULL, "worker_processes -1; #!\n" EV, INV("-1", "worker_processes"), AT_MARK},
        {NULL, "worker_processes 1025; #!\n" EV, INV("1025", "worker_processes"), AT_MARK},
        {NULL, "worker_processes Auto; #!\n" EV, INV("Auto", "worker_processes"), AT_MARK},
        /* sizes */
        {NULL, HTTP(" client_header_buffer_size 1x; #!\n"), INV("1x", "client_header_buffer_size"),
         AT_MARK},
        {NULL, HTTP(" client_header_buffer_size k; #!\n"), INV("k", "client_header_buffer_size"),
         AT_MARK},
        {NULL, HTTP(" client_header_buffer_size 1.5k; #!\n"),
         INV("1.5k", "client_header_buffer_size"), AT_MARK},
        {NULL, HTTP(" client_header_buffer_size 16kb; #!\n"),
         INV("16kb", "client_header_buffer_size"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 0 8k; #!\n"),
         INV("0", "large_client_header_buffers"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 4 8x; #!\n"),
         INV("8x", "large_client_header_buffers"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 4 8; #!\n"),
         INV("8", "large_client_header_buffers"), AT_MARK},
        {NULL, HTTP(" large_client_header_buffers 4 1m; #!\n"),
         INV("1m", "large_client_header_buffers"), AT_MARK},
        /* times */
        {NULL, HTTP(" send_timeout 1x; #!\n"), INV("1x", "send_timeout"), AT_MARK},
        {NULL, HTTP(" send_timeout \"30m 1h\"; #!\n"), INV("30m 1h", "send_timeout"), AT_MARK},
        {NULL, HTTP(" send_timeout \"1s 1s\"; #!\n"), INV("1s 1s", "send_timeout"), AT_MARK},
        {NULL, HTTP(" send_timeout 500ms1s; #!\n"), INV("500ms1s", "send_timeout"), AT_MARK},
        {NULL, HTTP(" send_timeout \"\"; #!\n"), INV("", "send_timeout"), AT_MARK},
        {NULL, HTTP(" keepalive_timeout abc; #!\n"), INV("abc", "keepalive_timeout"), AT_MARK},
        {NULL, HTTP(" keepalive_timeout 75s abc; #!\n"), INV("abc", "keepalive_timeout"), AT_MARK},
        {NULL, "worker_shutdown_timeout 1q; #!\n" EV, INV("1q", "worker_shutdown_timeout"),
         AT_MARK},
        /* worker_cpu_affinity */
        {NULL, "worker_cpu_affinity 012; #!\n" EV,
         "invalid character \"012\" in \"worker_cpu_affinity\" directive", AT_MARK},
        {NULL, "worker_cpu_affinity 0000; #!\n" EV,
         "invalid character \"0000\" in \"worker_cpu_affinity\" directive", AT_MARK},
        {NULL, "worker_cpu_affinity auto x1; #!\n" EV,
         "invalid character \"x1\" in \"worker_cpu_affinity\" directive", AT_MARK},
        /* thread_pool */
        {NULL, "thread_pool io threads=4; #!\n" EV,
         "thread pool \"io\" is not supported, only \"default\"", AT_MARK},
        {NULL, "thread_pool default max_queue=5; #!\n" EV,
         "\"thread_pool\" must have \"threads\" parameter", AT_MARK},
        {NULL, "thread_pool default threads=0; #!\n" EV, "invalid parameter \"threads=0\"",
         AT_MARK},
        {NULL, "thread_pool default threads=513; #!\n" EV, "invalid parameter \"threads=513\"",
         AT_MARK},
        {NULL, "thread_pool default threads=4 foo=1; #!\n" EV, "invalid parameter \"foo=1\"",
         AT_MARK},
        {NULL, "thread_pool default threads=4 max_queue=0; #!\n" EV,
         "invalid parameter \"max_queue=0\"", AT_MARK},
        /* error_log */
        {NULL, "error_log syslog:server=127.0.0.1,facility=x; #!\n" EV,
         "unknown syslog facility \"x\"", AT_MARK},
        {NULL, "error_log memory:32m; #!\n" EV,
         "\"error_log\" destination \"memory:32m\" is not supported", AT_MARK},
        {NULL, "error_log x.log loud; #!\n" EV, "invalid log level \"loud\"", AT_MARK},
        {NULL, "error_log x.log stderr; #!\n" EV, "invalid log level \"stderr\"", AT_MARK},
        {NULL, ELOG64 "error_log stderr; #!\n" EV, "too many \"error_log\" directives", AT_MARK},
        /* after the whole file */
        {NULL, "daemon off;\n", "no \"events\" section in configuration", AT_NONE},
        {NULL, "", "no \"events\" section in configuration", AT_NONE},
        {NULL, "events {\n worker_connections 0;\n}\n", "\"worker_connections\" must be at least 1",
         AT_NONE},
    };
#undef INV
#undef FLAG
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_listen(void **state)
{
#define PORT(a) "invalid port in \"" a "\" of the \"listen\" directive"
    static const struct err_case cases[] = {
        {NULL, SRV("  listen 0; #!\n"), PORT("0"), AT_MARK},
        {NULL, SRV("  listen 65536; #!\n"), PORT("65536"), AT_MARK},
        {NULL, SRV("  listen 127.0.0.1:0; #!\n"), PORT("127.0.0.1:0"), AT_MARK},
        {NULL, SRV("  listen 127.0.0.1:http; #!\n"), PORT("127.0.0.1:http"), AT_MARK},
        {NULL, SRV("  listen 127.0.0.1:; #!\n"), PORT("127.0.0.1:"), AT_MARK},
        {NULL, SRV("  listen *:abc; #!\n"), PORT("*:abc"), AT_MARK},
        {NULL, SRV("  listen [::1; #!\n"), PORT("[::1"), AT_MARK},
        {NULL, SRV("  listen [::1]x; #!\n"), PORT("[::1]x"), AT_MARK},
        {NULL, SRV("  listen [::1]:; #!\n"), PORT("[::1]:"), AT_MARK},
        {NULL, SRV("  listen [::1]:99999; #!\n"), PORT("[::1]:99999"), AT_MARK},
        {NULL, SRV("  listen unix:; #!\n"), "no path in the unix domain socket", AT_MARK},
        {NULL, SRV("  listen unix:/tmp/x.sock;\n  listen unix:/tmp/x.sock; #!\n"),
         "a duplicate listen unix:/tmp/x.sock", AT_MARK},
        /* socket options, in nginx's words */
        {NULL, SRV("  listen [::]:80 ipv6only=maybe; #!\n"), "invalid ipv6only flags \"=maybe\"",
         AT_MARK},
        {NULL, SRV("  listen 80 so_keepalive=x; #!\n"), "invalid so_keepalive value: \"x\"",
         AT_MARK},
        {NULL, SRV("  listen 80 so_keepalive=::; #!\n"), "invalid so_keepalive value: \"::\"",
         AT_MARK},
        {NULL, SRV("  listen 80 so_keepalive=1ms::; #!\n"), "invalid so_keepalive value: \"1ms::\"",
         AT_MARK},
        {NULL, SRV("  listen 80 fastopen=x; #!\n"), "invalid fastopen \"x\"", AT_MARK},
        {NULL, SRV("  listen 80 deferred;\n }\n server {\n  listen 80 fastopen=5; #!\n"),
         "duplicate listen options for *:80", AT_MARK},
        /* parameters */
        {NULL, SRV("  listen 80 bogus; #!\n"), "invalid parameter \"bogus\"", AT_MARK},
        {NULL, SRV("  listen 80 backlog=0; #!\n"), "invalid backlog \"0\"", AT_MARK},
        {NULL, SRV("  listen 80 backlog=x; #!\n"), "invalid backlog \"x\"", AT_MARK},
        {NULL, SRV("  listen 80 backlog=; #!\n"), "invalid backlog \"\"", AT_MARK},
        {NULL, SRV("  listen 443 ssl; #!\n"),
         "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive", AT_MARK},
        {NULL, SRV("  listen 443 default_server http2; #!\n"),
         "the \"http2\" parameter of \"listen\" is not supported yet", AT_MARK},
        {NULL, SRV("  listen 80 proxy_protocol; #!\n listen 127.0.0.1:80;\n"),
         "listen 127.0.0.1:80 and listen *:80: a specific address and the wildcard of its port "
         "must agree on \"proxy_protocol\"",
         AT_NONE},
        /* duplicates in one server */
        {NULL, SRV("  listen 8080;\n  listen *:8080; #!\n"), "a duplicate listen *:8080", AT_MARK},
        {NULL, SRV("  listen 8080;\n  listen 0.0.0.0:8080; #!\n"), "a duplicate listen *:8080",
         AT_MARK},
        {NULL, SRV("  listen 127.0.0.1:81;\n  listen 127.0.0.1:81 default_server; #!\n"),
         "a duplicate listen 127.0.0.1:81", AT_MARK},
        {NULL, SRV("  listen [::1]:81;\n  listen [::1]:81; #!\n"), "a duplicate listen [::1]:81",
         AT_MARK},
        {NULL, SRV("  listen [::]:81;\n  listen [0::0]:81; #!\n"), "a duplicate listen [::]:81",
         AT_MARK},
        {NULL, SRV("  listen 127.0.0.1;\n  listen 127.0.0.1:80; #!\n"),
         "a duplicate listen 127.0.0.1:80", AT_MARK},
        /* across servers */
        {NULL,
         HTTP(" server {\n  listen 8080 default_server;\n }\n"
              " server {\n  listen 8080 default_server; #!\n }\n"),
         "a duplicate default server for *:8080", AT_MARK},
        {NULL,
         HTTP(" server {\n  listen [::1]:8080 default;\n }\n"
              " server {\n  listen [::1]:8080 default_server; #!\n }\n"),
         "a duplicate default server for [::1]:8080", AT_MARK},
        {NULL,
         HTTP(" server {\n  listen 8080 backlog=10;\n }\n"
              " server {\n  listen 8080 backlog=20; #!\n }\n"),
         "duplicate listen options for *:8080", AT_MARK},
    };
#undef PORT
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_location_server_name(void **state)
{
    static const struct err_case cases[] = {
        {NULL, SRV("  location /a {\n  }\n  location /a { #!\n  }\n"), "duplicate location \"/a\"",
         AT_MARK},
        {NULL, SRV("  location ^~ /a {\n  }\n  location /a { #!\n  }\n"),
         "duplicate location \"/a\"", AT_MARK},
        {NULL, SRV("  location = /a {\n  }\n  location =/a { #!\n  }\n"),
         "duplicate location \"/a\"", AT_MARK},
        {NULL, SRV("  location /a {\n   location /a/b {\n   }\n   location /a/b { #!\n   }\n  }\n"),
         "duplicate location \"/a/b\"", AT_MARK},
        {NULL, SRV("  location /a {\n   location /b { #!\n   }\n  }\n"),
         "location \"/b\" is outside location \"/a\"", AT_MARK},
        {NULL, SRV("  location /a/b {\n   location /a { #!\n   }\n  }\n"),
         "location \"/a\" is outside location \"/a/b\"", AT_MARK},
        {NULL, SRV("  location = /a {\n   location /a/b { #!\n   }\n  }\n"),
         "location \"/a/b\" cannot be inside the exact location \"/a\"", AT_MARK},
        {NULL, SRV("  location foo /x { #!\n  }\n"), "invalid location modifier \"foo\"", AT_MARK},
        {NULL, SRV("  location == /x { #!\n  }\n"), "invalid location modifier \"==\"", AT_MARK},
        {NULL, SRV("  server_name *; #!\n"), "server name \"*\" is invalid", AT_MARK},
        {NULL, SRV("  server_name a/b; #!\n"), "server name \"a/b\" is invalid", AT_MARK},
        {NULL, SRV("  server_name w*w.example.com; #!\n"),
         "invalid server name or wildcard \"w*w.example.com\"", AT_MARK},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_regex_named(void **state)
{
    static const struct err_case cases[] = {
        {NULL, SRV("  location ~ ( { #!\n  }\n"),
         "pcre2_compile() failed: missing closing parenthesis in \"(\" at \"\"", AT_MARK},
        {NULL, SRV("  location ~* a[ { #!\n  }\n"),
         "pcre2_compile() failed: missing terminating ] for character class in \"a[\" at \"\"",
         AT_MARK},
        {NULL, SRV("  location /a {\n   location @x { #!\n   }\n  }\n"),
         "named location \"@x\" can be on the server level only", AT_MARK},
        {NULL, SRV("  location @x {\n   location /a { #!\n   }\n  }\n"),
         "location \"/a\" cannot be inside the named location \"@x\"", AT_MARK},
        {NULL, SRV("  server_name ok.example ~^www(; #!\n"),
         "pcre2_compile() failed: missing closing parenthesis in \"^www(\" at \"\"", AT_MARK},
        {NULL, SRV("  server_name ~; #!\n"), "empty regex in server name \"~\"", AT_MARK},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

static void test_err_return(void **state)
{
    static const struct err_case cases[] = {
        {NULL, SRV("  return 200 \"a $foo b\"; #!\n"), "unknown \"foo\" variable", AT_MARK},
        {NULL, LOC("   return 301 $nosuch_var/x; #!\n"), "unknown \"nosuch_var\" variable",
         AT_MARK},
        {NULL, LOC("   return https://${bogus}/; #!\n"), "unknown \"bogus\" variable", AT_MARK},
        {NULL, SRV("  return 1000; #!\n"), "invalid return code \"1000\"", AT_MARK},
        {NULL, SRV("  return 1000 x; #!\n"), "invalid return code \"1000\"", AT_MARK},
        {NULL, SRV("  return abc; #!\n"), "invalid return code \"abc\"", AT_MARK},
        {NULL, SRV("  return -1 x; #!\n"), "invalid return code \"-1\"", AT_MARK},
        {NULL, SRV("  return 20x; #!\n"), "invalid return code \"20x\"", AT_MARK},
        {NULL, SRV("  return /path; #!\n"), "invalid return code \"/path\"", AT_MARK},
        {NULL, SRV("  return https://x/ extra; #!\n"), "invalid return code \"https://x/\"",
         AT_MARK},
    };
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

/* getpwnam()/getgrnam() run only as root, as in nginx. */
static void test_err_user(void **state)
{
    static const struct err_case cases[] = {
        {NULL, "user tp_no_such_user; #!\n" EV, "getpwnam(\"tp_no_such_user\") failed", AT_MARK},
        {NULL, "user nobody tp_no_such_group; #!\n" EV, "getgrnam(\"tp_no_such_group\") failed",
         AT_MARK},
        {"user tp_no_such_user;", EV, "getpwnam(\"tp_no_such_user\") failed", AT_CMDLINE},
    };
    if (geteuid() != 0)
        skip();
    run_err_cases(*state, cases, ARRAY_LEN(cases));
}

/* An error inside an included file names that file and its own line. */
static void test_err_in_include(void **state)
{
    struct fx *f = *state;
    char want[512];
    put(f, "sub/bad.conf", "\n\nbogus_directive on;\n");
    assert_null(try_load(f, EV "include sub/*.conf;\n"));
    snprintf(want, sizeof(want), "unknown directive \"bogus_directive\" in %ssub/bad.conf:3",
             f->conf_prefix);
    assert_string_equal(f->err, want);

    put(f, "sub/bad.conf", "server {\n  listen 80;\n  listen 80;\n}\n");
    assert_null(try_load(f, EV "http {\n include sub/bad.conf;\n}\n"));
    snprintf(want, sizeof(want), "a duplicate listen *:80 in %ssub/bad.conf:3", f->conf_prefix);
    assert_string_equal(f->err, want);
}

/* Runs a load in a child so that a sanitizer abort fails this test alone;
 * the load must fail with exactly `want` at the "#!" line. */
static void expect_err_in_child(struct fx *f, const char *text, const char *want_msg)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s in %s:%d", want_msg, f->main, mark_line(text));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct conf *c = try_load(f, text);
        if (c != NULL || strcmp(f->err, want) != 0) {
            fprintf(stderr, "  want: %s\n  got:  %s\n", want, c ? "(loaded)" : f->err);
            _exit(3);
        }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child status %#x for:\n%s", status, text);
}

/* number * size must not overflow (signed overflow is UB; in practice it
 * wraps and a huge size is accepted). */
static void test_large_header_buffers_overflow(void **state)
{
    expect_err_in_child(*state, HTTP(" large_client_header_buffers 4 4611686018427387904; #!\n"),
                        "invalid value \"4611686018427387904\" in \"large_client_header_buffers\" "
                        "directive");
    expect_err_in_child(*state, HTTP(" large_client_header_buffers 2 9223372036854775807; #!\n"),
                        "invalid value \"9223372036854775807\" in \"large_client_header_buffers\" "
                        "directive");
}

/* keepalive_timeout's second argument is in seconds: nginx parses it with
 * ngx_parse_time(.., 1), which rejects "ms". */
static void test_keepalive_header_seconds_only(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, HTTP(" keepalive_timeout 75s \"1m 5s\";\n"));
    assert_int_equal(http_main(c)->loc->keepalive_header, 65);
    assert_null(try_load(f, HTTP(" keepalive_timeout 75s 500ms;\n")));
    char want[512];
    snprintf(want, sizeof(want),
             "invalid value \"500ms\" in \"keepalive_timeout\" directive in %s:3", f->main);
    assert_string_equal(f->err, want);
}

/* ---- main-context values ------------------------------------------------------ */

static void test_main_defaults(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, EV);
    assert_int_equal(c->daemon, 1);
    assert_int_equal(c->master_process, 1);
    assert_int_equal(c->worker_processes, 1);
    assert_int_equal(c->nworkers, 1);
    assert_int_equal(c->worker_connections, 512);
    assert_int_equal(c->worker_shutdown_timeout, 0);
    assert_int_equal(c->worker_rlimit_nofile, -1);
    assert_int_equal(c->thread_pool_threads, 4);
    assert_int_equal(c->thread_pool_max_queue, 65536);
    assert_int_equal(c->events_seen, 1);
    assert_null(http_main(c));
    assert_null(c->cpu_masks);
    assert_int_equal(c->ncpu_masks, 0);
    assert_non_null(c->pid);
    assert_true(c->pid[0] == '/');
    assert_int_equal(c->nerror_logs, 1);
    assert_null(c->error_logs[0].path);
    assert_int_equal(c->error_logs[0].level, LL_ERR);
    assert_string_equal(c->paths.prefix, f->prefix);
    assert_string_equal(c->paths.conf_file, f->main);
    assert_null(c->paths.directives);
    if (geteuid() == 0) {
        assert_string_equal(c->user, "nobody");
        assert_int_equal(c->uid, 65534);
    }
}

static void test_main_values(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, "daemon OFF;\nmaster_process On;\nworker_processes 3;\n"
                             "worker_rlimit_nofile 4096;\nworker_shutdown_timeout \"1m 30s\";\n"
                             "thread_pool default threads=8 max_queue=100;\n"
                             "events {\n worker_connections 1024;\n}\n");
    assert_int_equal(c->daemon, 0);
    assert_int_equal(c->master_process, 1);
    assert_int_equal(c->worker_processes, 3);
    assert_int_equal(c->nworkers, 3);
    assert_int_equal(c->worker_rlimit_nofile, 4096);
    assert_int_equal(c->worker_shutdown_timeout, 90000);
    assert_int_equal(c->thread_pool_threads, 8);
    assert_int_equal(c->thread_pool_max_queue, 100);
    assert_int_equal(c->worker_connections, 1024);
}

static void test_worker_processes(void **state)
{
    struct fx *f = *state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct conf *c = load(f, "worker_processes auto;\n" EV);
    assert_int_equal(c->worker_processes, -1);
    assert_int_equal(c->nworkers, cpus < 1 ? 1 : cpus > 1024 ? 1024 : cpus);

    c = load(f, "master_process off;\nworker_processes 4;\n" EV);
    assert_int_equal(c->master_process, 0);
    assert_int_equal(c->worker_processes, 4);
    assert_int_equal(c->nworkers, 1);

    c = load(f, "master_process off;\nworker_processes auto;\n" EV);
    assert_int_equal(c->nworkers, 1);

    c = load(f, "worker_processes 1024;\n" EV);
    assert_int_equal(c->nworkers, 1024);
}

static void test_cpu_affinity(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, "worker_cpu_affinity auto;\n" EV);
    assert_int_equal(c->cpu_affinity_auto, 1);
    assert_int_equal(c->ncpu_masks, 0);

    c = load(f, "worker_cpu_affinity auto 0101;\n" EV);
    assert_int_equal(c->cpu_affinity_auto, 1);
    assert_int_equal(c->ncpu_masks, 1);
    assert_int_equal(c->cpu_masks[0], 0x5);

    c = load(f, "worker_processes 3;\nworker_cpu_affinity 0001 0010 1100;\n" EV);
    assert_int_equal(c->cpu_affinity_auto, 0);
    assert_int_equal(c->ncpu_masks, 3);
    assert_int_equal(c->cpu_masks[0], 0x1);
    assert_int_equal(c->cpu_masks[1], 0x2);
    assert_int_equal(c->cpu_masks[2], 0xc);
}

static void test_error_log_paths(void **state)
{
    struct fx *f = *state;
    char want[256];
    struct conf *c = load(f, "error_log logs/error.log warn;\nerror_log stderr debug;\n"
                             "error_log /var/log/tp.log;\nerror_log x.log emerg;\n" EV);
    assert_int_equal(c->nerror_logs, 4);
    snprintf(want, sizeof(want), "%slogs/error.log", f->prefix);
    assert_string_equal(c->error_logs[0].path, want);
    assert_int_equal(c->error_logs[0].level, LL_WARN);
    assert_null(c->error_logs[1].path);
    assert_int_equal(c->error_logs[1].level, LL_DEBUG);
    assert_string_equal(c->error_logs[2].path, "/var/log/tp.log");
    assert_int_equal(c->error_logs[2].level, LL_ERR);
    assert_int_equal(c->error_logs[3].level, LL_EMERG);

    /* With no error_log directive, -e (paths.error_log) is the one sink. */
    f->error_log = "logs/e.log";
    c = load(f, EV);
    assert_int_equal(c->nerror_logs, 1);
    snprintf(want, sizeof(want), "%slogs/e.log", f->prefix);
    assert_string_equal(c->error_logs[0].path, want);
    assert_int_equal(c->error_logs[0].level, LL_ERR);
    c = load(f, "error_log stderr info;\n" EV);
    assert_int_equal(c->nerror_logs, 1);
    assert_null(c->error_logs[0].path);
    assert_int_equal(c->error_logs[0].level, LL_INFO);
}

static void test_pid_path(void **state)
{
    struct fx *f = *state;
    char want[256];
    struct conf *c = load(f, "pid run/tp.pid;\n" EV);
    snprintf(want, sizeof(want), "%srun/tp.pid", f->prefix);
    assert_string_equal(c->pid, want);
    c = load(f, "pid /tmp/x.pid;\n" EV);
    assert_string_equal(c->pid, "/tmp/x.pid");
    f->g = "pid g.pid;";
    c = load(f, EV);
    snprintf(want, sizeof(want), "%sg.pid", f->prefix);
    assert_string_equal(c->pid, want);
}

static void test_user_group(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0)
        skip();
    struct conf *c = load(f, "user nobody nogroup;\n" EV);
    assert_string_equal(c->user, "nobody");
    assert_string_equal(c->group, "nogroup");
    assert_int_equal(c->uid, 65534);
    assert_int_equal(c->gid, 65534);
    c = load(f, "user root;\n" EV);
    assert_string_equal(c->user, "root");
    assert_null(c->group);
    assert_int_equal(c->uid, 0);
    assert_int_equal(c->gid, 0);
}

/* Relative include patterns resolve against the conf file's directory,
 * not the prefix. */
static void test_include_relative(void **state)
{
    struct fx *f = *state;
    put(f, "conf.d/a.conf", "worker_processes 3;\n");
    put(f, "conf.d/b.conf", "server {\n listen 8181;\n}\n");
    struct conf *c =
        load(f, "include conf.d/a.conf;\nevents {}\nhttp {\n include conf.d/b.conf;\n}\n");
    assert_int_equal(c->nworkers, 3);
    assert_int_equal(http_main(c)->nservers, 1);
    assert_int_equal(sockaddr_port(&http_main(c)->servers[0]->listens[0].addr), 8181);
}

static void test_gdirectives(void **state)
{
    struct fx *f = *state;
    f->g = "daemon off; worker_processes 2;";
    struct conf *c = load(f, "master_process off;\n" EV);
    assert_int_equal(c->daemon, 0);
    assert_int_equal(c->worker_processes, 2);
    assert_int_equal(c->master_process, 0);
    assert_string_equal(c->paths.directives, "daemon off; worker_processes 2;");
}

/* ---- time and size values through the loader ----------------------------------- */

static void test_values_through_loader(void **state)
{
    static const struct {
        const char *conf; /* directive text at http level */
        size_t off;       /* loc_conf field */
        long want;
    } cases[] = {
        {"send_timeout \"1h 30m\";", offsetof(struct loc_conf, send_timeout), 5400000},
        {"send_timeout 500ms;", offsetof(struct loc_conf, send_timeout), 500},
        {"send_timeout 90;", offsetof(struct loc_conf, send_timeout), 90000},
        {"client_body_timeout 1m30s;", offsetof(struct loc_conf, client_body_timeout), 90000},
        {"client_header_timeout 0;", offsetof(struct loc_conf, client_header_timeout), 0},
        {"client_header_buffer_size 512;", offsetof(struct loc_conf, client_header_buffer_size),
         512},
        {"client_header_buffer_size 16k;", offsetof(struct loc_conf, client_header_buffer_size),
         16384},
        {"client_header_buffer_size 2M;", offsetof(struct loc_conf, client_header_buffer_size),
         2097152},
        {"client_header_buffer_size 1g;", offsetof(struct loc_conf, client_header_buffer_size),
         1073741824},
        {"keepalive_requests 0;", offsetof(struct loc_conf, keepalive_requests), 0},
    };
    struct fx *f = *state;
    char text[256];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(text, sizeof(text), EV "http {\n %s\n}\n", cases[i].conf);
        struct conf *c = load(f, text);
        long got = *(const long *)((const char *)http_main(c)->loc + cases[i].off);
        if (got != cases[i].want)
            fail_msg("%s -> %ld, want %ld", cases[i].conf, got, cases[i].want);
    }
}

/* ---- inheritance ---------------------------------------------------------------- */

static const struct loc_conf *loc_at(const struct srv_conf *s, size_t i)
{
    assert_true(i < s->nlocs);
    return s->locs[i];
}

static void test_inherit_defaults(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  location / {\n  }\n"));
    const struct loc_conf *l = loc_at(http_main(c)->servers[0], 0);
    const struct loc_conf *levels[] = {http_main(c)->loc, http_main(c)->servers[0]->loc, l};
    for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
        const struct loc_conf *x = levels[i];
        assert_int_equal(x->keepalive_timeout, 75000);
        assert_int_equal(x->keepalive_header, -1);
        assert_int_equal(x->keepalive_requests, 1000);
        assert_int_equal(x->send_timeout, 60000);
        assert_int_equal(x->client_header_timeout, 60000);
        assert_int_equal(x->client_body_timeout, 60000);
        assert_int_equal(x->client_header_buffer_size, 1024);
        assert_int_equal(x->large_header_buffers, 4);
        assert_int_equal(x->large_header_buffer_size, 8192);
        assert_int_equal(x->server_tokens, 1);
        assert_int_equal(x->absolute_redirect, 1);
        assert_int_equal(x->port_in_redirect, 1);
        assert_string_equal(x->default_type, "text/plain");
        assert_null(RET(x));
    }
}

static void test_inherit_chain(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, EV "http {\n"
                                " keepalive_timeout 30s 20;\n"
                                " server_tokens off;\n"
                                " default_type text/html;\n"
                                " large_client_header_buffers 2 16k;\n"
                                " server {\n"
                                "  location /a {\n"
                                "   location /a/b {\n"
                                "    send_timeout 5s;\n"
                                "   }\n"
                                "  }\n"
                                " }\n"
                                " server {\n"
                                "  keepalive_timeout 10s;\n"
                                "  send_timeout 7s;\n"
                                "  location / {\n"
                                "   keepalive_timeout 3s 2s;\n"
                                "   server_tokens on;\n"
                                "  }\n"
                                "  location /x {\n"
                                "  }\n"
                                " }\n"
                                "}\n");
    const struct srv_conf *s1 = http_main(c)->servers[0], *s2 = http_main(c)->servers[1];
    const struct loc_conf *a = loc_at(s1, 0);
    assert_int_equal(a->nchildren, 1);
    const struct loc_conf *ab = a->children[0];

    /* http's settings reach every level of the first server */
    for (const struct loc_conf *const *p = (const struct loc_conf *const[]){s1->loc, a, ab, NULL};
         *p != NULL; p++) {
        assert_int_equal((*p)->keepalive_timeout, 30000);
        assert_int_equal((*p)->keepalive_header, 20);
        assert_int_equal((*p)->server_tokens, 0);
        assert_string_equal((*p)->default_type, "text/html");
        assert_int_equal((*p)->large_header_buffers, 2);
        assert_int_equal((*p)->large_header_buffer_size, 16384);
    }
    assert_int_equal(a->send_timeout, 60000);
    assert_int_equal(ab->send_timeout, 5000);

    /* the second server overrides; its header goes with its own timeout */
    assert_int_equal(s2->loc->keepalive_timeout, 10000);
    assert_int_equal(s2->loc->keepalive_header, -1);
    assert_int_equal(s2->loc->send_timeout, 7000);
    const struct loc_conf *root = loc_at(s2, 0), *x = loc_at(s2, 1);
    assert_string_equal(root->name, "/");
    assert_int_equal(root->keepalive_timeout, 3000);
    assert_int_equal(root->keepalive_header, 2);
    assert_int_equal(root->server_tokens, 1);
    assert_int_equal(root->send_timeout, 7000);
    assert_int_equal(x->keepalive_timeout, 10000);
    assert_int_equal(x->keepalive_header, -1);
    assert_int_equal(x->server_tokens, 0);

    /* http level itself is untouched by the servers */
    assert_int_equal(http_main(c)->loc->keepalive_timeout, 30000);
    assert_int_equal(http_main(c)->loc->send_timeout, 60000);
}

static void test_return_not_inherited(void **state)
{
    struct fx *f = *state;
    struct conf *c =
        load(f, SRV("  return 403;\n"
                    "  location / {\n  }\n"
                    "  location /t {\n   return 200 \"hi $uri\";\n  }\n"
                    "  location /r {\n   return https://example.com$request_uri;\n  }\n"
                    "  location /c {\n   return 444;\n"
                    "   location /c/d {\n   }\n  }\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_non_null(RET(s->loc));
    assert_int_equal(RET(s->loc)->code, 403);
    assert_false(RET(s->loc)->has_text);
    assert_null(RET(http_main(c)->loc));

    assert_null(RET(loc_at(s, 0)));

    const struct ret_conf *t = RET(loc_at(s, 1));
    assert_non_null(t);
    assert_int_equal(t->code, 200);
    assert_true(t->has_text);
    assert_string_equal(t->text.text, "hi $uri");
    assert_true(t->text.has_vars);

    const struct ret_conf *r = RET(loc_at(s, 2));
    assert_non_null(r);
    assert_int_equal(r->code, 302);
    assert_true(r->has_text);
    assert_string_equal(r->text.text, "https://example.com$request_uri");

    const struct loc_conf *cl = loc_at(s, 3);
    assert_int_equal(RET(cl)->code, 444);
    assert_null(RET(cl->children[0]));
}

static void test_locations(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  location = /a {\n  }\n"
                                 "  location /a {\n  }\n"
                                 "  location ^~ /s {\n  }\n"
                                 "  location =/e {\n  }\n"
                                 "  location / {\n   location = /x {\n   }\n  }\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_int_equal(s->nlocs, 5);
    assert_int_equal(loc_at(s, 0)->match, LM_EXACT);
    assert_string_equal(loc_at(s, 0)->name, "/a");
    assert_int_equal(loc_at(s, 0)->name_len, 2);
    assert_int_equal(loc_at(s, 1)->match, LM_PREFIX);
    assert_int_equal(loc_at(s, 2)->match, LM_PREFIX_NOREGEX);
    assert_string_equal(loc_at(s, 2)->name, "/s");
    assert_int_equal(loc_at(s, 3)->match, LM_EXACT);
    assert_string_equal(loc_at(s, 3)->name, "/e");
    assert_int_equal(loc_at(s, 4)->nchildren, 1);
    assert_int_equal(loc_at(s, 4)->children[0]->match, LM_EXACT);
    assert_int_equal(loc_at(s, 4)->line, 12);
}

static void test_server_names(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  server_name Example.COM *.wild.org .dot.net \"\";\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_int_equal(s->nnames, 4);
    assert_int_equal(s->names[0].kind, NK_EXACT);
    assert_string_equal(s->names[0].name, "example.com");
    assert_string_equal(s->names[0].text, "Example.COM");
    assert_int_equal(s->names[1].kind, NK_WILD_HEAD);
    assert_string_equal(s->names[1].name, ".wild.org");
    assert_false(s->names[1].dot_also_bare);
    assert_int_equal(s->names[2].kind, NK_WILD_HEAD);
    assert_string_equal(s->names[2].name, ".dot.net");
    assert_true(s->names[2].dot_also_bare);
    assert_int_equal(s->names[3].kind, NK_EXACT);
    assert_int_equal(s->names[3].len, 0);
}

/* nginx accepts "www.example.*"; the fixed part is "www.example.". */
static void test_server_name_tail_wildcard(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  server_name www.Tail.*;\n"));
    const struct server_name *sn = &http_main(c)->servers[0]->names[0];
    assert_int_equal(sn->kind, NK_WILD_TAIL);
    assert_int_equal(sn->len, strlen("www.tail."));
    assert_memory_equal(sn->name, "www.tail.", sn->len);
    assert_string_equal(sn->text, "www.Tail.*");
}

/* ---- regular expressions ------------------------------------------------------------ */

static bool re_match(const struct pcre2_real_code_8 *re, const char *subject)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    assert_non_null(md);
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void test_regex_locations(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  location ~ \\.php$ {\n  }\n"
                                 "  location ~* \\.JPG$ {\n  }\n"
                                 "  location /img/ {\n   location ~ ^/img/.+\\.png$ {\n   }\n  }\n"
                                 "  location @fallback {\n   return 404;\n  }\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_int_equal(s->nlocs, 3);
    const struct loc_conf *php = loc_at(s, 0), *jpg = loc_at(s, 1), *img = loc_at(s, 2);
    assert_int_equal(php->match, LM_REGEX);
    assert_string_equal(php->name, "\\.php$");
    assert_non_null(php->regex);
    assert_true(re_match(php->regex, "/a/b.php"));
    assert_false(re_match(php->regex, "/a/b.PHP"));
    assert_int_equal(jpg->match, LM_REGEX);
    assert_true(re_match(jpg->regex, "/x.jpg"));
    assert_true(re_match(jpg->regex, "/x.JPG"));
    assert_int_equal(img->nchildren, 1);
    assert_int_equal(img->children[0]->match, LM_REGEX);
    assert_true(re_match(img->children[0]->regex, "/img/a.png"));
    /* named locations live apart from the tree */
    assert_int_equal(s->nnamed, 1);
    assert_int_equal(s->named[0]->match, LM_NAMED);
    assert_string_equal(s->named[0]->name, "@fallback");
    assert_int_equal(RET(s->named[0])->code, 404);
    /* regexes inherit like any location */
    assert_int_equal(php->keepalive_timeout, 75000);
    assert_int_equal(s->named[0]->keepalive_timeout, 75000);
}

/* nginx: a one-word "~re" or "~*re" is a regex location too. */
static void test_regex_location_one_word(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  location ~/x {\n  }\n  location ~*/Y {\n  }\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_int_equal(loc_at(s, 0)->match, LM_REGEX);
    assert_string_equal(loc_at(s, 0)->name, "/x");
    assert_true(re_match(loc_at(s, 0)->regex, "/a/x"));
    assert_int_equal(loc_at(s, 1)->match, LM_REGEX);
    assert_string_equal(loc_at(s, 1)->name, "/Y");
    assert_true(re_match(loc_at(s, 1)->regex, "/y"));
}

static void test_regex_server_names(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  server_name plain.example ~^(www\\.)?re\\.example$;\n"));
    const struct srv_conf *s = http_main(c)->servers[0];
    assert_int_equal(s->nnames, 2);
    assert_int_equal(s->names[1].kind, NK_REGEX);
    assert_string_equal(s->names[1].text, "~^(www\\.)?re\\.example$");
    assert_non_null(s->names[1].regex);
    assert_true(re_match(s->names[1].regex, "www.re.example"));
    assert_true(re_match(s->names[1].regex, "re.example"));
    assert_false(re_match(s->names[1].regex, "xre.example"));
}

/* nginx compiles a server_name regex caseless when it has an upper-case
 * letter (the Host it is matched against is lower-cased). */
static void test_regex_server_name_upper_is_caseless(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  server_name ~^WWW\\.;\n"));
    assert_true(re_match(http_main(c)->servers[0]->names[0].regex, "www.example"));
}

/* ---- listen and ports ------------------------------------------------------------- */

static const struct conf_port *port_of(const struct conf *c, const char *text)
{
    for (size_t i = 0; i < http_main(c)->nports; i++)
        if (strcmp(http_main(c)->ports[i].text, text) == 0)
            return &http_main(c)->ports[i];
    fail_msg("no port \"%s\"", text);
    return NULL;
}

static void test_ports_fold(void **state)
{
    struct fx *f = *state;
    /* the specific address comes first in the file and still folds */
    struct conf *c = load(f, HTTP(" server {\n  listen 127.0.0.1:8080;\n }\n"
                                  " server {\n  listen 8080;\n  listen 9090;\n }\n"
                                  " server {\n  listen *:8080;\n }\n"));
    struct srv_conf **sv = http_main(c)->servers;
    assert_int_equal(http_main(c)->nports, 2);
    const struct conf_port *p = port_of(c, "*:8080");
    assert_true(sockaddr_is_wildcard(&p->addr));
    assert_int_equal(p->backlog, 511);
    assert_int_equal(p->naddrs, 2);
    assert_true(sockaddr_equal(&p->addrs[0].addr, &p->addr));
    assert_int_equal(p->addrs[0].nservers, 2);
    assert_ptr_equal(p->addrs[0].servers[0], sv[1]);
    assert_ptr_equal(p->addrs[0].servers[1], sv[2]);
    assert_ptr_equal(p->addrs[0].default_srv, sv[1]);
    assert_false(p->addrs[0].explicit_default);
    char text[64];
    sockaddr_text(&p->addrs[1].addr, true, text, sizeof(text));
    assert_string_equal(text, "127.0.0.1:8080");
    assert_int_equal(p->addrs[1].nservers, 1);
    assert_ptr_equal(p->addrs[1].default_srv, sv[0]);

    p = port_of(c, "*:9090");
    assert_int_equal(p->naddrs, 1);
    assert_ptr_equal(p->addrs[0].default_srv, sv[1]);
}

static void test_ports_specific_alone(void **state)
{
    struct fx *f = *state;
    struct conf *c =
        load(f, HTTP(" server {\n  listen 127.0.0.1:8080;\n  listen 127.0.0.2:8080;\n"
                     "  listen [::1]:8080;\n  listen [::]:8081;\n  listen 8081;\n }\n"));
    assert_int_equal(http_main(c)->nports, 5);
    const struct conf_port *p = port_of(c, "127.0.0.1:8080");
    assert_int_equal(p->naddrs, 1);
    assert_false(sockaddr_is_wildcard(&p->addr));
    port_of(c, "127.0.0.2:8080");
    p = port_of(c, "[::1]:8080");
    assert_int_equal(p->addr.sa.sa_family, AF_INET6);
    assert_int_equal(sockaddr_port(&p->addr), 8080);
    p = port_of(c, "[::]:8081");
    assert_true(sockaddr_is_wildcard(&p->addr));
    assert_int_equal(p->addr.sa.sa_family, AF_INET6);
    p = port_of(c, "*:8081");
    assert_int_equal(p->addr.sa.sa_family, AF_INET);
}

static void test_listen_forms(void **state)
{
    static const struct {
        const char *arg;
        const char *text;
        int family;
    } cases[] = {
        {"8080", "*:8080", AF_INET},
        {"*:8080", "*:8080", AF_INET},
        {"*", "*:80", AF_INET},
        {"0.0.0.0:81", "*:81", AF_INET},
        {"127.0.0.1", "127.0.0.1:80", AF_INET},
        {"10.1.2.3:65535", "10.1.2.3:65535", AF_INET},
        {"[::1]:8080", "[::1]:8080", AF_INET6},
        {"[::1]", "[::1]:80", AF_INET6},
        {"[::]:1", "[::]:1", AF_INET6},
        {"localhost:8082", "127.0.0.1:8082", AF_INET},
    };
    struct fx *f = *state;
    char text[256];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(text, sizeof(text), SRV("  listen %s;\n"), cases[i].arg);
        struct conf *c = load(f, text);
        const struct srv_conf *s = http_main(c)->servers[0];
        assert_true(s->nlistens >= 1);
        if (strcmp(s->listens[0].text, cases[i].text) != 0)
            fail_msg("listen %s -> %s, want %s", cases[i].arg, s->listens[0].text, cases[i].text);
        assert_int_equal(s->listens[0].addr.sa.sa_family, cases[i].family);
        assert_int_equal(s->listens[0].backlog, -1);
        assert_false(s->listens[0].default_server);
        port_of(c, cases[i].text);
    }
}

static void test_default_server(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, HTTP(" server {\n  listen 8080;\n }\n"
                                  " server {\n  listen 8080 default_server;\n }\n"
                                  " server {\n  listen 8080;\n }\n"));
    const struct conf_port *p = port_of(c, "*:8080");
    assert_int_equal(p->addrs[0].nservers, 3);
    assert_ptr_equal(p->addrs[0].default_srv, http_main(c)->servers[1]);
    assert_true(p->addrs[0].explicit_default);
    assert_true(http_main(c)->servers[1]->listens[0].default_server);

    /* `default` is the old spelling */
    c = load(f, HTTP(" server {\n  listen 8080;\n }\n server {\n  listen 8080 default;\n }\n"));
    assert_ptr_equal(port_of(c, "*:8080")->addrs[0].default_srv, http_main(c)->servers[1]);
}

static void test_server_without_listen(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, HTTP(" server {\n  server_name a;\n }\n server {\n }\n"));
    const char *want = geteuid() == 0 ? "*:80" : "*:8000";
    for (size_t i = 0; i < 2; i++) {
        const struct srv_conf *s = http_main(c)->servers[i];
        assert_int_equal(s->nlistens, 1);
        assert_string_equal(s->listens[0].text, want);
        assert_int_equal(s->listens[0].backlog, -1);
    }
    assert_int_equal(http_main(c)->nports, 1);
    const struct conf_port *p = port_of(c, want);
    assert_int_equal(p->addrs[0].nservers, 2);
    assert_ptr_equal(p->addrs[0].default_srv, http_main(c)->servers[0]);

    /* an http block with no server binds nothing */
    c = load(f, HTTP(""));
    assert_int_equal(http_main(c)->nservers, 0);
    assert_int_equal(http_main(c)->nports, 0);
}

static void test_listen_backlog(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, HTTP(" server {\n  listen 8080;\n }\n"
                                  " server {\n  listen 8080 backlog=128 reuseport;\n }\n"
                                  " server {\n  listen 8080 backlog=128;\n  listen 9090;\n"
                                  "  listen 127.0.0.1:7070 backlog=5;\n }\n"));
    assert_int_equal(http_main(c)->servers[1]->listens[0].backlog, 128);
    assert_int_equal(port_of(c, "*:8080")->backlog, 128);
    assert_int_equal(port_of(c, "*:8080")->addrs[0].backlog, 128);
    assert_int_equal(port_of(c, "*:9090")->backlog, 511);
    assert_int_equal(port_of(c, "127.0.0.1:7070")->backlog, 5);
}

/* A server listening on both a wildcard and a specific address of one port
 * is fine (nginx allows it), and is served by the wildcard socket. */
static void test_listen_wildcard_and_specific_one_server(void **state)
{
    struct fx *f = *state;
    struct conf *c = load(f, SRV("  listen 8080;\n  listen 127.0.0.1:8080;\n"));
    assert_int_equal(http_main(c)->nports, 1);
    assert_int_equal(port_of(c, "*:8080")->naddrs, 2);
}

/* Many servers and listens exercise conf_push's growth. */
static void test_many_servers(void **state)
{
    struct fx *f = *state;
    char *text = malloc(65536);
    size_t at = 0;
    assert_non_null(text);
    at += (size_t)snprintf(text + at, 65536 - at, EV "http {\n");
    for (int i = 0; i < 40; i++) {
        at += (size_t)snprintf(text + at, 65536 - at, " server {\n  listen %d;\n  listen 7000;\n",
                               10000 + i);
        for (int j = 0; j < 9; j++)
            at += (size_t)snprintf(text + at, 65536 - at, "  location /l%d {\n  }\n", j);
        at += (size_t)snprintf(text + at, 65536 - at, " }\n");
    }
    snprintf(text + at, 65536 - at, "}\n");
    struct conf *c = load(f, text);
    free(text);
    assert_int_equal(http_main(c)->nservers, 40);
    assert_int_equal(http_main(c)->nports, 41);
    const struct conf_port *p = port_of(c, "*:7000");
    assert_int_equal(p->addrs[0].nservers, 40);
    for (int i = 0; i < 40; i++) {
        assert_ptr_equal(p->addrs[0].servers[i], http_main(c)->servers[i]);
        assert_int_equal(http_main(c)->servers[i]->nlocs, 9);
        assert_string_equal(http_main(c)->servers[i]->locs[8]->name, "/l8");
    }
}

/* ---- lifetime ----------------------------------------------------------------------- */

/* srv_conf.file, loc_conf.file and listen_conf.file must stay valid for the
 * life of the conf (they are documented as "where it was defined").  Checked
 * in a child so that a use-after-free under ASan fails this test only; in
 * the plain build the child first reuses freed heap to expose stale data. */
static void test_source_locations_outlive_load(void **state)
{
    struct fx *f = *state;
    f->keep = false;
    struct conf *c = load(f, SRV("  listen 8080;\n  location /a {\n  }\n"));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 64; i++) {
            size_t sizes[] = {16384 + 64, 16384 + 32, 4096, 512};
            void *p = malloc(sizes[i % 4]);
            if (p != NULL)
                memset(p, 'X', sizes[i % 4]);
        }
        const struct srv_conf *s = http_main(c)->servers[0];
        int ok = s->file != NULL && strcmp(s->file, f->main) == 0 && s->line == 3 &&
                 strcmp(s->listens[0].file, f->main) == 0 && s->listens[0].line == 4 &&
                 strcmp(s->locs[0]->file, f->main) == 0 && s->locs[0]->line == 5;
        _exit(ok ? 0 : 3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("srv/loc/listen ->file dangle after conf_load(keep_files=false) "
                 "(child status %#x)",
                 status);
}

static void test_keep_files_dump(void **state)
{
    struct fx *f = *state;
    char *buf = NULL;
    size_t len = 0;
    f->keep = true;
    put(f, "inc.conf", "worker_processes 2;");
    struct conf *c = load(f, "include inc.conf;\n" EV);
    assert_non_null(c->files);
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    conf_dump(c, out);
    fclose(out);
    assert_non_null(strstr(buf, "# configuration file "));
    assert_non_null(strstr(buf, "inc.conf:\nworker_processes 2;\n"));
    assert_non_null(strstr(buf, "main.conf:\ninclude inc.conf;\n"));
    free(buf);
    f->keep = false;
}

/* conf_free(NULL) is a no-op; every failure path frees everything.  Under
 * ASan a recoverable LeakSanitizer pass must find nothing. */
static void test_no_leaks(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *g;
        const char *text;
    } fails[] = {
        {NULL, "events {\n"},                                            /* parse error */
        {"daemon off", EV},                                              /* -g parse error */
        {"bogus;", EV},                                                  /* -g loader error */
        {NULL, EV "include nonexistent.conf;\n"},                        /* open() in include */
        {NULL, EV "http {\n server {\n  listen 80;\n  bogus;\n }\n}\n"}, /* deep in http */
        {NULL, SRV("  return 200 \"$nope\";\n")},                        /* cval error */
        {NULL, "daemon off;\n"},                                         /* finish: no events */
        {NULL, HTTP(" server {\n  listen 80 default_server;\n }\n"
                    " server {\n  listen 80 default_server;\n }\n")},        /* ports error */
        {NULL, "user tp_no_such_user;\n" EV},                                /* getpwnam */
        {NULL, SRV("  location ~ a {\n  }\n  server_name ~b;\n  bogus;\n")}, /* after regexes */
        {NULL, SRV("  location ~ a {\n  }\n  location ~ ( {\n  }\n")},       /* bad regex */
    };
    conf_free(NULL);
    for (int round = 0; round < 2; round++) {
        f->keep = round == 1;
        for (size_t i = 0; i < ARRAY_LEN(fails); i++) {
            f->g = fails[i].g;
            if (try_load(f, fails[i].text) != NULL)
                fail_msg("case %zu loaded", i);
            assert_true(f->err[0] != '\0');
        }
        f->g = "daemon off;";
        load(f,
             SRV("  listen 80;\n  server_name ~^a;\n  location / {\n   return 200 \"$uri\";\n  }\n"
                 "  location ~* \\.css$ {\n  }\n"));
        conf_free(f->c);
        f->c = NULL;
        f->g = NULL;
    }
    /* a missing main file */
    unlink(f->main);
    assert_null(try_load(f, NULL));
    assert_non_null(strstr(f->err, "open()"));
    f->keep = false;
    assert_int_equal(LEAK_CHECK(), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_entries),
        cmocka_unit_test(test_parse_msec),
        cmocka_unit_test(test_parse_size_num_flag),
        T(test_err_unknown),
        T(test_err_context),
        T(test_err_arg_count),
        T(test_err_block_shape),
        T(test_err_duplicate),
        T(test_err_values),
        T(test_err_listen),
        T(test_err_location_server_name),
        T(test_err_regex_named),
        T(test_err_return),
        T(test_err_user),
        T(test_err_in_include),
        T(test_large_header_buffers_overflow),
        T(test_keepalive_header_seconds_only),
        T(test_main_defaults),
        T(test_main_values),
        T(test_worker_processes),
        T(test_cpu_affinity),
        T(test_error_log_paths),
        T(test_pid_path),
        T(test_user_group),
        T(test_include_relative),
        T(test_gdirectives),
        T(test_values_through_loader),
        T(test_inherit_defaults),
        T(test_inherit_chain),
        T(test_return_not_inherited),
        T(test_locations),
        T(test_server_names),
        T(test_server_name_tail_wildcard),
        T(test_regex_locations),
        T(test_regex_location_one_word),
        T(test_regex_server_names),
        T(test_regex_server_name_upper_is_caseless),
        T(test_ports_fold),
        T(test_ports_specific_alone),
        T(test_listen_forms),
        T(test_default_server),
        T(test_server_without_listen),
        T(test_listen_backlog),
        T(test_listen_wildcard_and_specific_one_server),
        T(test_many_servers),
        T(test_keep_files_dump),
        T(test_source_locations_outlive_load),
        T(test_no_leaks),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_alog.c - unit tests for the access log and the variables it logs.
 *
 * Configurations go through the real conf_load() from temporary files.
 * Requests are built by hand on a real connection/worker pair with a real
 * libev loop, and lines are checked in the files they land in.  write() is
 * wrapped to count the calls that reach the log file under test, which is
 * how the tests see that lines are buffered and never split. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/alog.h"
#include "http/alog_fmt.h"
#include "conf/conf.h"
#include "http/conn.h"
#include "http/req.h"
#include "event/reactor.h"
#include "http/core_conf.h"
#include "http/vars.h"

enum {
    MAX_WRITES = 64,     /* recorded write() calls per test */
    SAFETY_SECONDS = 10, /* longest a loop run may take before the test fails */
};

/* write() calls that reached the file being watched. */
static struct {
    dev_t dev;              /* the watched file, or ino 0 for none */
    ino_t ino;              /* its inode */
    size_t n;               /* calls recorded */
    size_t len[MAX_WRITES]; /* bytes asked for, per call */
    bool whole[MAX_WRITES]; /* the call ended at a line's end */
} writes;

/* Every write() of the program comes here; the library's calls resolve to
 * this definition at link time. */
ssize_t write(int fd, const void *buf, size_t n)
{
    struct stat st;
    if (writes.ino != 0 && fstat(fd, &st) == 0 && st.st_ino == writes.ino &&
        st.st_dev == writes.dev && writes.n < MAX_WRITES) {
        writes.len[writes.n] = n;
        writes.whole[writes.n] = n > 0 && ((const char *)buf)[n - 1] == '\n';
        writes.n++;
    }
    return syscall(SYS_write, fd, buf, n);
}

/* One test's world: a directory, a configuration, a loop and a request. */
struct fx {
    char dir[64];           /* temporary prefix directory, with no trailing "/" */
    char err[1024];         /* conf_load / alog_open message */
    struct conf *conf;      /* loaded configuration, or NULL */
    struct ev_loop *loop;   /* the "worker" loop */
    struct reactor rx;      /* worker the connection belongs to */
    struct conn c;          /* connection of the request */
    struct req r;           /* the request being logged */
    struct req_hdr hdrs[8]; /* its headers */
    bool started;           /* alog_worker_start ran */
};

/* ---- helpers ------------------------------------------------------------- */

static char *path_in(const struct fx *f, const char *name)
{
    static char buf[4][256];
    static unsigned next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
    return p;
}

/* Loads `events {} http { <http> }` from <dir>/t.conf; the http text starts
 * on line 3. */
static struct conf *load(struct fx *f, const char *http)
{
    char file[256], prefix[256];
    snprintf(file, sizeof(file), "%s/t.conf", f->dir);
    snprintf(prefix, sizeof(prefix), "%s/", f->dir);
    FILE *out = fopen(file, "w");
    assert_non_null(out);
    fprintf(out, "events {}\nhttp {\n%s\n}\n", http);
    fclose(out);
    struct conf_paths paths = {
        .prefix = prefix,
        .conf_file = file,
        .conf_prefix = prefix,
        .error_log = "stderr",
    };
    if (f->conf != NULL)
        alog_close(f->conf);
    conf_free(f->conf);
    f->conf = conf_load(&paths, false, f->err, sizeof(f->err));
    return f->conf;
}

/* The file's contents (NUL-terminated), or "" if it does not exist. */
static const char *slurp(const char *path)
{
    static char buf[16384];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void watch(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    writes.dev = st.st_dev;
    writes.ino = st.st_ino;
    writes.n = 0;
}

static unsigned count_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void add_hdr(struct fx *f, const char *name, const char *value)
{
    struct req_hdr *h = &f->hdrs[f->r.nhdrs++];
    h->name = str_make(name, strlen(name));
    h->value = str_make(value, strlen(value));
}

/* A GET /x?<args> HTTP/1.1 answered 200 with a 5-byte body, ready to log
 * with the settings of loc. */
static void req_setup(struct fx *f, const struct loc_conf *loc, const char *args)
{
    struct req *r = &f->r;
    static char target[128];
    mpool_destroy(&r->pool);
    memset(r, 0, sizeof(*r));
    mpool_init(&r->pool, 4096);
    r->c = &f->c;
    r->loc = loc;
    r->start = ev_now(f->loop);
    snprintf(target, sizeof(target), "/x%s%s", *args ? "?" : "", args);
    r->target = str_make(target, strlen(target));
    r->path = STR_LIT("/x");
    r->args = str_make(args, strlen(args));
    r->hdrs = f->hdrs;
    r->method = HTTP_GET;
    r->http_major = r->http_minor = 1;
    r->head_len = 77;
    r->request_length = 77;
    r->status = 200;
    r->out_tail = &r->out_hdrs;
    r->last_modified = -1;
    r->out.len = 5;
    r->header_len = 150;
    r->bytes_sent = 155;
    r->keepalive = true;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_alog.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->loop = ev_loop_new(EVFLAG_AUTO);
    assert_non_null(f->loop);
    f->rx.loop = f->loop;
    f->c.sk.rx = &f->rx;
    f->c.sk.id = 42;
    f->c.nrequests = 1;
    f->c.peer.sin.sin_family = AF_INET;
    inet_pton(AF_INET, "1.2.3.4", &f->c.peer.sin.sin_addr);
    f->c.peer.sin.sin_port = htons(5555);
    mpool_init(&f->r.pool, 4096);
    writes.ino = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    if (f->started)
        mod_http_log.worker_stop(&f->rx);
    if (f->conf != NULL)
        alog_close(f->conf);
    conf_free(f->conf);
    mpool_destroy(&f->r.pool);
    ev_loop_destroy(f->loop);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    writes.ino = 0;
    free(f);
    return 0;
}

static void open_and_start(struct fx *f)
{
    assert_int_equal(alog_open(f->conf, (uid_t)-1, (gid_t)-1, f->err, sizeof(f->err)), 0);
    f->rx.conf = f->conf;
    mod_http_log.worker_start(&f->rx);
    f->started = true;
}

static const struct alog_fmt *fmt_named(const struct conf *c, const char *name)
{
    const struct alog_fmt *fmt = alog_fmt_find(c, name);
    if (fmt == NULL)
        fail_msg("no format %s", name);
    return fmt;
}

/* What a draining worker does: every buffer written out. */
static void flush_all(struct fx *f)
{
    f->rx.conf = f->conf;
    mod_http_log.worker_drain(&f->rx);
}

/* The line fmt gives for the fixture's request, without its newline. */
static const char *render(struct fx *f, const struct alog_fmt *fmt)
{
    static char line[4096];
    struct str *vals;
    size_t len = alog_fmt_eval(fmt, &f->r, &vals);
    assert_true(len > 0 && len < sizeof(line));
    alog_fmt_write(fmt, vals, line);
    assert_int_equal(line[len - 1], '\n');
    line[len - 1] = '\0';
    return line;
}

/* Evaluates a value with variables for the fixture's request. */
static const char *eval(struct fx *f, const char *text)
{
    static char buf[1024];
    struct cval cv;
    struct str out;
    char err[256];
    assert_int_equal(cval_compile(&f->r.pool, text, strlen(text), &cv, err, sizeof(err)), 0);
    assert_int_equal(cval_eval(&cv, &f->r, &out), 0);
    snprintf(buf, sizeof(buf), "%.*s", (int)out.len, out.p);
    return buf;
}

static const char *escaped(enum alog_escape e, const char *v)
{
    static char buf[1024];
    struct str s = str_make(v, strlen(v));
    size_t len = alog_fmt_escaped_len(e, s);
    char *end = alog_fmt_escape(e, s, buf);
    assert_int_equal((size_t)(end - buf), len);
    *end = '\0';
    return buf;
}

/* ---- escaping -------------------------------------------------------------- */

static void test_escape_default(void **state)
{
    (void)state;
    assert_string_equal(escaped(ALOG_ESC_DEFAULT, "a\"b\\c\x01\n\x7f \xc3\xa9~"),
                        "a\\x22b\\x5Cc\\x01\\x0A\\x7F \\xC3\\xA9~");
    assert_string_equal(escaped(ALOG_ESC_DEFAULT, "plain text/?&=%"), "plain text/?&=%");
    assert_string_equal(escaped(ALOG_ESC_DEFAULT, ""), "-");
}

static void test_escape_json(void **state)
{
    (void)state;
    assert_string_equal(escaped(ALOG_ESC_JSON, "a\"b\\c\x01\n\t\r\b\f\x1f\x7f \xc3\xa9"),
                        "a\\\"b\\\\c\\u0001\\n\\t\\r\\b\\f\\u001f\x7f \xc3\xa9");
    assert_string_equal(escaped(ALOG_ESC_JSON, ""), "");
}

static void test_escape_none(void **state)
{
    (void)state;
    assert_string_equal(escaped(ALOG_ESC_NONE, "a\"b\\c\x01\n"), "a\"b\\c\x01\n");
    assert_string_equal(escaped(ALOG_ESC_NONE, ""), "");
}

/* ---- formats --------------------------------------------------------------- */

static void test_format_combined(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "access_log a.log;"));
    req_setup(f, http_main(f->conf)->loc, "a=1");
    add_hdr(f, "User-Agent", "curl/8 \"q\"");
    const char *line = render(f, fmt_named(f->conf, "combined"));
    const char *tail = "] \"GET /x?a=1 HTTP/1.1\" 200 5 \"-\" \"curl/8 \\x22q\\x22\"";
    assert_memory_equal(line, "1.2.3.4 - - [", 13);
    assert_int_equal(strlen(line), 13 + 26 + strlen(tail)); /* 26: dd/Mon/yyyy:hh:mm:ss +zzzz */
    assert_string_equal(line + 13 + 26, tail);
}

static void test_format_escape_modes(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f,
                         "log_format j escape=json '{\"a\":\"$http_x\",' '\"u\":\"$remote_user\","
                         "\"s\":$status}';\n"
                         "log_format d 'lit\"\\\\ $http_x $remote_user';\n"
                         "log_format n escape=none '[$http_x][$remote_user]';\n"
                         "log_format e escape=default '$status$http_none';"));
    req_setup(f, http_main(f->conf)->loc, "");
    add_hdr(f, "X", "q\"\x01");
    assert_string_equal(render(f, fmt_named(f->conf, "j")),
                        "{\"a\":\"q\\\"\\u0001\",\"u\":\"\",\"s\":200}");
    assert_string_equal(render(f, fmt_named(f->conf, "d")), "lit\"\\ q\\x22\\x01 -");
    assert_string_equal(render(f, fmt_named(f->conf, "n")), "[q\"\x01][]");
    assert_string_equal(render(f, fmt_named(f->conf, "e")), "200-");
}

/* Strings are compiled one by one: "$" cannot join the next string. */
static void test_format_strings_concatenate(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "log_format c '$status' ' ' \"${status}x\" '';"));
    req_setup(f, http_main(f->conf)->loc, "");
    assert_string_equal(render(f, fmt_named(f->conf, "c")), "200 200x");
    assert_null(load(f, "log_format c 'a$' 'status';"));
    assert_non_null(strstr(f->err, "invalid variable name"));
}

/* ---- variables ------------------------------------------------------------- */

static void test_vars_response(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "keepalive_timeout 75s 70s;"));
    req_setup(f, http_main(f->conf)->loc, "a=1");
    assert_string_equal(eval(f, "$status $bytes_sent $body_bytes_sent $request_length"),
                        "200 155 5 77");
    assert_string_equal(eval(f, "[$request][$remote_user]"), "[GET /x?a=1 HTTP/1.1][]");
    f->r.status = 0;
    f->r.bytes_sent = 0;
    assert_string_equal(eval(f, "$status $body_bytes_sent"), "000 0");
    f->r.target = STR_LIT("");
    assert_string_equal(eval(f, "[$request]"), "[]");
}

static void test_vars_request_time(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, ""));
    req_setup(f, http_main(f->conf)->loc, "");
    assert_string_equal(eval(f, "$request_time"), "0.000");
    f->r.start = ev_now(f->loop) - 1.5;
    const char *t = eval(f, "$request_time");
    assert_true(strcmp(t, "1.499") == 0 || strcmp(t, "1.500") == 0 || strcmp(t, "1.501") == 0);
    f->r.start = ev_now(f->loop) + 10; /* clock stepped back: never negative */
    assert_string_equal(eval(f, "$request_time"), "0.000");
}

static void test_vars_sent_http(void **state)
{
    struct fx *f = *state;
    struct resp_hdr h = {.name = STR_LIT("X-Custom-Thing"), .value = STR_LIT("v1")};
    assert_non_null(load(f, "keepalive_timeout 75s 70s;"));
    req_setup(f, http_main(f->conf)->loc, "");
    f->r.content_type = STR_LIT("text/html");
    f->r.out_hdrs = &h;
    assert_string_equal(eval(f, "$sent_http_content_type|$sent_http_content_length|"
                                "$sent_http_x_custom_thing|$sent_http_connection|"
                                "$sent_http_keep_alive|$sent_http_nope|$sent_http_last_modified"),
                        "text/html|5|v1|keep-alive|timeout=70||");
    f->r.last_modified = 784111777;
    f->r.keepalive = false;
    f->r.status = 304;
    assert_string_equal(eval(f, "$sent_http_last_modified|$sent_http_content_length|"
                                "$sent_http_connection|$sent_http_keep_alive"),
                        "Sun, 06 Nov 1994 08:49:37 GMT||close|");
}

/* ---- directives --------------------------------------------------------- */

/* conf_load must fail with msg " in <dir>/t.conf:<line>". */
static void expect_error(struct fx *f, const char *http, const char *msg, int line)
{
    char want[1024];
    assert_null(load(f, http));
    snprintf(want, sizeof(want), "%s in %s/t.conf:%d", msg, f->dir, line);
    assert_string_equal(f->err, want);
}

static void test_directive_errors(void **state)
{
    struct fx *f = *state;
    expect_error(f, "access_log a.log nope;", "unknown log format \"nope\"", 3);
    expect_error(f, "access_log a.log buffer=32k;", "unknown log format \"buffer=32k\"", 3);
    expect_error(f, "log_format x '$status';\nlog_format x '$status';",
                 "duplicate \"log_format\" name \"x\"", 4);
    expect_error(f, "log_format combined '$status';", "duplicate \"log_format\" name \"combined\"",
                 3);
    expect_error(f, "access_log a.log combined flush=5s;",
                 "no buffer is defined for access_log \"a.log\"", 3);
    expect_error(f, "access_log a.log combined buffer=0;", "invalid buffer size \"0\"", 3);
    expect_error(f, "access_log a.log combined buffer=abc;", "invalid buffer size \"abc\"", 3);
    expect_error(f, "access_log a.log combined buffer=1k flush=0;", "invalid flush time \"0\"", 3);
    expect_error(f, "access_log a.log combined buffer=1k flush=x;", "invalid flush time \"x\"", 3);
    expect_error(f, "access_log syslog:server=127.0.0.1 combined buffer=1k;",
                 "logs to syslog cannot be buffered", 3);
    expect_error(f, "access_log syslog:tag=x;", "no syslog server specified", 3);
    expect_error(f, "access_log logs/$host.log;",
                 "variables in \"access_log\" path are not supported", 3);
    expect_error(f, "access_log a.log combined gzip;",
                 "\"gzip\" in \"access_log\" is not supported", 3);
    expect_error(f, "access_log a.log combined gzip=5;",
                 "\"gzip\" in \"access_log\" is not supported", 3);
    expect_error(f, "access_log off combined;", "invalid parameter \"combined\"", 3);
    expect_error(f, "access_log a.log combined foo=1;", "invalid parameter \"foo=1\"", 3);
    expect_error(f, "access_log a.log combined if=$nope;", "unknown \"nope\" variable", 3);
    expect_error(f, "log_format x escape=xml '$status';", "unknown log format escaping \"xml\"", 3);
    expect_error(f, "log_format x;", "invalid number of arguments in \"log_format\" directive", 3);
    expect_error(f, "log_format x '$nope';", "unknown \"nope\" variable", 3);
    expect_error(f, "server {\nlog_format x '$status';\n}",
                 "\"log_format\" directive is not allowed here", 4);
}

static void test_directive_ok(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "log_format x escape=json;\n"
                            "access_log a.log x buffer=1k flush=1m if=$arg_x;\n"
                            "access_log a.log COMBINED;\n"
                            "access_log /dev/null;"));
    const struct alog_set *set = alog_set_of(http_main(f->conf)->loc);
    assert_non_null(set);
    assert_int_equal(set->n, 3);
    assert_false(set->off);
    assert_int_equal(set->logs[0].buffer, 1024);
    assert_int_equal(set->logs[0].flush_ms, 60000);
    assert_true(set->logs[0].has_cond);
    assert_ptr_equal(set->logs[0].file, set->logs[1].file); /* one file per path */
    assert_ptr_not_equal(set->logs[0].file, set->logs[2].file);
    assert_ptr_equal(set->logs[1].fmt, fmt_named(f->conf, "combined")); /* any case */
}

/* ---- inheritance and the default ---------------------------------------- */

static void test_inheritance(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "log_format s '$uri';\n"
                            "access_log h.log s;\n"
                            "server {\n listen 127.0.0.1:8001;\n access_log s.log s;\n"
                            " location /l1 { }\n"
                            " location /l2 { access_log l2.log s; access_log l2b.log s; }\n"
                            " location /l3 { access_log off; }\n"
                            "}\n"
                            "server { listen 127.0.0.1:8002; location /m { } }"));
    const struct srv_conf *s1 = http_main(f->conf)->servers[0],
                          *s2 = http_main(f->conf)->servers[1];
    assert_ptr_equal(alog_set_of(s1->locs[0]), alog_set_of(s1->loc));
    assert_int_equal(alog_set_of(s1->locs[1])->n, 2);
    assert_true(alog_set_of(s1->locs[2])->off);
    assert_ptr_equal(alog_set_of(s2->loc), alog_set_of(http_main(f->conf)->loc));
    assert_ptr_equal(alog_set_of(s2->locs[0]), alog_set_of(http_main(f->conf)->loc));

    open_and_start(f);
    const struct loc_conf *where[] = {s1->locs[0], s1->locs[1], s1->locs[2], s2->locs[0]};
    for (unsigned i = 0; i < 4; i++) {
        req_setup(f, where[i], "");
        alog_request(&f->r);
    }
    assert_string_equal(slurp(path_in(f, "s.log")), "/x\n");
    assert_string_equal(slurp(path_in(f, "l2.log")), "/x\n");
    assert_string_equal(slurp(path_in(f, "l2b.log")), "/x\n");
    assert_string_equal(slurp(path_in(f, "h.log")), "/x\n");
}

static void test_default_log(void **state)
{
    struct fx *f = *state;
    char want[512];
    /* A build configured with --localstatedir has an absolute default,
     * outside the test's directory. */
    if (TP_HTTP_LOG_PATH[0] == '/')
        skip();
    /* No logs/ directory: nginx's default makes the start fail. */
    assert_non_null(load(f, "server { listen 127.0.0.1:8001; }"));
    assert_int_equal(alog_open(f->conf, (uid_t)-1, (gid_t)-1, f->err, sizeof(f->err)), -1);
    snprintf(want, sizeof(want), "open() \"%s/logs/access.log\" failed (2: %s)", f->dir,
             strerror(ENOENT));
    assert_string_equal(f->err, want);

    assert_int_equal(mkdir(path_in(f, "logs"), 0755), 0);
    assert_non_null(load(f, "server { listen 127.0.0.1:8001; }"));
    open_and_start(f);
    req_setup(f, http_main(f->conf)->servers[0]->loc, "");
    alog_request(&f->r);
    flush_all(f);
    assert_non_null(strstr(slurp(path_in(f, "logs/access.log")), "\"GET /x HTTP/1.1\" 200 5"));
}

/* Like nginx, no default file when every server has its own log. */
static void test_default_unneeded(void **state)
{
    struct fx *f = *state;
    assert_non_null(load(f, "server { listen 127.0.0.1:8001; access_log a.log; }"));
    assert_null(alog_set_of(http_main(f->conf)->loc));
    assert_int_equal(alog_open(f->conf, (uid_t)-1, (gid_t)-1, f->err, sizeof(f->err)), 0);
    assert_non_null(load(f, "access_log off;\nserver { listen 127.0.0.1:8001; }"));
    assert_true(alog_set_of(http_main(f->conf)->servers[0]->loc)->off);
}

/* ---- buffering ------------------------------------------------------------ */

static const char *const fixed_fmt = "log_format fixed 'line-$status-$arg_n';\n"; /* 12 bytes */

static void log_n(struct fx *f, const struct loc_conf *loc, const char *n)
{
    char args[96];
    snprintf(args, sizeof(args), "n=%s", n);
    req_setup(f, loc, args);
    alog_request(&f->r);
}

static void test_buffered_whole_lines(void **state)
{
    struct fx *f = *state;
    char conf[512];
    snprintf(conf, sizeof(conf), "%saccess_log b.log fixed buffer=40;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    watch(path_in(f, "b.log"));
    const struct loc_conf *loc = http_main(f->conf)->loc;
    log_n(f, loc, "01");
    log_n(f, loc, "02");
    log_n(f, loc, "03");
    assert_int_equal(writes.n, 0); /* 36 bytes held */
    log_n(f, loc, "04");           /* would make 48: the 36 go first */
    assert_int_equal(writes.n, 1);
    assert_int_equal(writes.len[0], 36);
    log_n(f, loc, "05");
    log_n(f, loc, "06");
    assert_int_equal(writes.n, 1);
    flush_all(f);
    assert_int_equal(writes.n, 2);
    assert_int_equal(writes.len[1], 36);
    flush_all(f); /* nothing held: no empty write */
    assert_int_equal(writes.n, 2);
    for (size_t i = 0; i < writes.n; i++)
        assert_true(writes.whole[i]);
    assert_string_equal(slurp(path_in(f, "b.log")), "line-200-01\nline-200-02\nline-200-03\n"
                                                    "line-200-04\nline-200-05\nline-200-06\n");
}

/* A line longer than the buffer goes out alone, after what was held. */
static void test_buffered_long_line(void **state)
{
    struct fx *f = *state;
    char conf[512], big[64];
    snprintf(conf, sizeof(conf), "%saccess_log b.log fixed buffer=40;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    watch(path_in(f, "b.log"));
    memset(big, 'z', 50);
    big[50] = '\0';
    log_n(f, http_main(f->conf)->loc, "01");
    log_n(f, http_main(f->conf)->loc, big);
    assert_int_equal(writes.n, 2);
    assert_int_equal(writes.len[0], 12);
    assert_int_equal(writes.len[1], 60); /* "line-200-" + 50 + "\n" */
    assert_true(writes.whole[0] && writes.whole[1]);
}

/* A directive without buffer= sharing a buffered file writes through, in
 * order. */
static void test_unbuffered_shares_file(void **state)
{
    struct fx *f = *state;
    char conf[512];
    snprintf(conf, sizeof(conf),
             "%saccess_log b.log fixed buffer=4k;\n"
             "server { listen 127.0.0.1:8001; access_log b.log fixed; }",
             fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    watch(path_in(f, "b.log"));
    log_n(f, http_main(f->conf)->loc, "01");
    log_n(f, http_main(f->conf)->loc, "02");
    assert_int_equal(writes.n, 0);
    log_n(f, http_main(f->conf)->servers[0]->loc, "03");
    assert_int_equal(writes.n, 1);
    assert_int_equal(writes.len[0], 36);
    assert_string_equal(slurp(path_in(f, "b.log")), "line-200-01\nline-200-02\nline-200-03\n");
}

static void safety_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static void test_flush_timer(void **state)
{
    struct fx *f = *state;
    char conf[512];
    ev_timer safety;
    snprintf(conf, sizeof(conf),
             "%saccess_log slow.log fixed buffer=4k flush=1h;\n"
             "access_log fast.log fixed buffer=4k flush=20ms;",
             fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    watch(path_in(f, "fast.log"));
    log_n(f, http_main(f->conf)->loc, "01");
    log_n(f, http_main(f->conf)->loc, "02");
    assert_int_equal(writes.n, 0);
    ev_timer_init(&safety, safety_cb, SAFETY_SECONDS, 0.);
    ev_timer_start(f->loop, &safety);
    while (writes.n == 0 && ev_is_active(&safety))
        ev_run(f->loop, EVRUN_ONCE);
    ev_timer_stop(f->loop, &safety);
    assert_int_equal(writes.n, 1);
    assert_int_equal(writes.len[0], 24);
    assert_string_equal(slurp(path_in(f, "fast.log")), "line-200-01\nline-200-02\n");
    assert_string_equal(slurp(path_in(f, "slow.log")), ""); /* its hour is not up */
    mod_http_log.worker_stop(&f->rx);                       /* stopping writes it out */
    f->started = false;
    assert_string_equal(slurp(path_in(f, "slow.log")), "line-200-01\nline-200-02\n");
}

static void test_if_condition(void **state)
{
    struct fx *f = *state;
    char conf[512];
    snprintf(conf, sizeof(conf), "%saccess_log c.log fixed if=$arg_log;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    const char *args[] = {"n=1&log=0", "n=2", "n=3&log=1", "n=4&log=", "n=5&log=yes", "n=6&log=00"};
    for (unsigned i = 0; i < 6; i++) {
        req_setup(f, http_main(f->conf)->loc, args[i]);
        alog_request(&f->r);
    }
    assert_string_equal(slurp(path_in(f, "c.log")), "line-200-3\nline-200-5\nline-200-6\n");
}

/* ---- files ------------------------------------------------------------------ */

static void test_open_failure_cleans_up(void **state)
{
    struct fx *f = *state;
    char want[512];
    assert_non_null(load(f, "access_log a.log;\naccess_log b.log;\naccess_log nodir/c.log;"));
    unsigned before = count_fds();
    assert_int_equal(alog_open(f->conf, (uid_t)-1, (gid_t)-1, f->err, sizeof(f->err)), -1);
    snprintf(want, sizeof(want), "open() \"%s/nodir/c.log\" failed (2: %s)", f->dir,
             strerror(ENOENT));
    assert_string_equal(f->err, want);
    assert_int_equal(count_fds(), before);
    /* and it can be tried again once the cause is gone */
    assert_int_equal(mkdir(path_in(f, "nodir"), 0755), 0);
    assert_int_equal(alog_open(f->conf, (uid_t)-1, (gid_t)-1, f->err, sizeof(f->err)), 0);
    assert_int_equal(count_fds(), before + 3);
    alog_close(f->conf);
    assert_int_equal(count_fds(), before);
}

static void test_open_chowns_new_files(void **state)
{
    struct fx *f = *state;
    struct passwd *pw = getpwnam("nobody");
    struct stat st;
    if (geteuid() != 0 || pw == NULL)
        skip();
    assert_non_null(load(f, "access_log a.log;\naccess_log /dev/null;"));
    assert_int_equal(alog_open(f->conf, pw->pw_uid, pw->pw_gid, f->err, sizeof(f->err)), 0);
    assert_int_equal(stat(path_in(f, "a.log"), &st), 0);
    assert_int_equal(st.st_uid, pw->pw_uid);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_int_equal(st.st_uid, 0); /* never someone else's file */
}

/* USR1 after logrotate: the master (another process) creates the new file;
 * the worker writes what it holds to the old one, then follows the path. */
static void test_reopen_keeps_lines(void **state)
{
    struct fx *f = *state;
    char conf[512], old[256];
    snprintf(conf, sizeof(conf), "%saccess_log r.log fixed buffer=64k;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    log_n(f, http_main(f->conf)->loc, "01");
    log_n(f, http_main(f->conf)->loc, "02");
    snprintf(old, sizeof(old), "%s", path_in(f, "r.log.1"));
    assert_int_equal(rename(path_in(f, "r.log"), old), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alog_reopen_master(f->conf, (uid_t)-1, (gid_t)-1);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(access(path_in(f, "r.log"), F_OK), 0); /* the master created it */
    mod_http_log.worker_reopen(&f->rx);
    assert_string_equal(slurp(old), "line-200-01\nline-200-02\n");
    assert_string_equal(slurp(path_in(f, "r.log")), "");
    log_n(f, http_main(f->conf)->loc, "03");
    flush_all(f);
    assert_string_equal(slurp(path_in(f, "r.log")), "line-200-03\n");
    assert_string_equal(slurp(old), "line-200-01\nline-200-02\n");
}

/* The master's own descriptor follows the path too, so a worker forked
 * after the reopen (a respawn) writes to the new file. */
static void test_reopen_master_follows(void **state)
{
    struct fx *f = *state;
    char conf[512], old[256];
    snprintf(conf, sizeof(conf), "%saccess_log r.log fixed;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    snprintf(old, sizeof(old), "%s", path_in(f, "r.log.1"));
    assert_int_equal(rename(path_in(f, "r.log"), old), 0);
    alog_reopen_master(f->conf, (uid_t)-1, (gid_t)-1);
    log_n(f, http_main(f->conf)->loc, "01");
    assert_string_equal(slurp(path_in(f, "r.log")), "line-200-01\n");
    assert_string_equal(slurp(old), "");
}

/* A failing write is reported once and its lines dropped, never retried. */
static void test_write_failure(void **state)
{
    struct fx *f = *state;
    char conf[512], errfile[256];
    snprintf(conf, sizeof(conf), "%saccess_log /dev/full fixed buffer=20;", fixed_fmt);
    assert_non_null(load(f, conf));
    open_and_start(f);
    snprintf(errfile, sizeof(errfile), "%s", path_in(f, "stderr"));
    int saved = dup(STDERR_FILENO), fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    for (unsigned i = 0; i < 4; i++)
        log_n(f, http_main(f->conf)->loc, "01"); /* each line pushes out the one before */
    flush_all(f);
    dup2(saved, STDERR_FILENO);
    close(saved);
    const char *err = slurp(errfile);
    const char *first = strstr(err, "[alert] write() to \"/dev/full\" failed (28: ");
    assert_non_null(first);
    assert_null(strstr(first + 1, "[alert]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_default),
        cmocka_unit_test(test_escape_json),
        cmocka_unit_test(test_escape_none),
        cmocka_unit_test_setup_teardown(test_format_combined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_escape_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_strings_concatenate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vars_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vars_request_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vars_sent_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directive_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directive_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inheritance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_unneeded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_whole_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbuffered_shares_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_timer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_condition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_failure_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_chowns_new_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_master_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

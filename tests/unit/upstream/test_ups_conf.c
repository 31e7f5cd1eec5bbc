/* test_ups_conf.c - upstream blocks, server lines, the balancing,
 * keep-alive and resolver directives as the loader reads them, nginx's
 * errors with their file:line, and the implicit groups proxy_pass makes.
 *
 * Each test loads a real file from a mkdtemp directory; an error case
 * marks the line its message must name with "#!". */
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
#include <arpa/inet.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/conf_table.h"
#include "core/resolver.h"
#include "http/core_conf.h"
#include "proxy/upstream.h"
#include "upstream/ups_conf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
    char dir[64];    /* the test's directory */
    char prefix[80]; /* dir + "/" */
    char main[96];   /* dir/main.conf */
    struct conf *c;  /* the last good load */
    char err[1024];  /* the loader's message */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_ups_conf.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->prefix, sizeof(f->prefix), "%s/", f->dir);
    snprintf(f->main, sizeof(f->main), "%s/main.conf", f->dir);
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
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct conf *try_load(struct fx *f, const char *text)
{
    struct conf_paths p = {
        .prefix = f->prefix, .conf_file = f->main, .conf_prefix = f->prefix, .error_log = "stderr"};
    FILE *fp = fopen(f->main, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    conf_free(f->c);
    f->c = conf_load(&p, false, f->err, sizeof(f->err));
    return f->c;
}

#define HTTP(body) "events {}\nhttp {\n" body "}\n"

/* ---- what a good file gives ----------------------------------------------- */

static const struct ups_group *group(const struct conf *c, const char *name)
{
    const struct ups_groups *gs = upstream_groups_of(c);
    assert_non_null(gs);
    const struct ups_group *g = ups_group_find(gs, name);
    assert_non_null(g);
    return g;
}

static void test_servers_and_parameters(void **state)
{
    struct fx *f = *state;
    const char *text = HTTP(" upstream App {\n"
                            "  server 127.0.0.1:8001 weight=5 max_fails=3 fail_timeout=30s "
                            "max_conns=10;\n"
                            "  server [::1]:8002 backup;\n"
                            "  server unix:/tmp/app.sock down;\n"
                            "  server localhost;\n"
                            "  keepalive 16; keepalive_timeout 30s; keepalive_requests 50;\n"
                            "  keepalive_time 10m;\n"
                            "  least_conn;\n"
                            " }\n");
    if (try_load(f, text) == NULL)
        fail_msg("%s", f->err);
    const struct ups_group *g = group(f->c, "app");
    assert_int_equal(g->nservers, 4);
    assert_int_equal(g->method, UPS_LEAST_CONN);
    const struct ups_server *s = &g->servers[0];
    assert_string_equal(s->name, "127.0.0.1:8001");
    assert_int_equal(s->weight, 5);
    assert_int_equal(s->max_fails, 3);
    assert_int_equal(s->fail_timeout, 30000);
    assert_int_equal(s->max_conns, 10);
    assert_int_equal(s->naddrs, 1);
    assert_string_equal(s->addrs[0].name, "127.0.0.1:8001");
    assert_true(g->servers[1].backup);
    assert_string_equal(g->servers[1].addrs[0].name, "[::1]:8002");
    assert_true(g->servers[2].down);
    assert_string_equal(g->servers[2].addrs[0].name, "unix:/tmp/app.sock");
    /* A name's addresses, looked up at load; port 80 by default. */
    assert_true(g->servers[3].naddrs >= 1);
    assert_int_equal(g->servers[3].port, 80);
    /* Defaults where nothing was said. */
    assert_int_equal(g->servers[1].weight, 1);
    assert_int_equal(g->servers[1].max_fails, 1);
    assert_int_equal(g->servers[1].fail_timeout, 10000);
    assert_int_equal(g->keepalive, 16);
    assert_int_equal(g->keepalive_timeout, 30000);
    assert_int_equal(g->keepalive_requests, 50);
    assert_int_equal(g->keepalive_time, 600000);
    assert_int_equal(g->resolver_timeout, 30000);
}

static void test_defaults_hash_and_resolver(void **state)
{
    struct fx *f = *state;
    const char *text = HTTP(" resolver 127.0.0.1:5353 [::1] valid=5s ipv6=off;\n"
                            " resolver_timeout 3s;\n"
                            " upstream a { server 127.0.0.1:1; }\n"
                            " upstream h { hash $request_uri consistent; server 127.0.0.1:2;\n"
                            "   server app.test:8080 resolve; }\n"
                            " upstream own { resolver 127.0.0.2 ipv4=off; resolver_timeout 1s;\n"
                            "   server own.test resolve; ip_hash; }\n");
    if (try_load(f, text) == NULL)
        fail_msg("%s", f->err);
    const struct ups_group *a = group(f->c, "a");
    assert_int_equal(a->method, UPS_RR);
    assert_int_equal(a->keepalive, 0);
    assert_int_equal(a->keepalive_timeout, 60000);
    assert_int_equal(a->keepalive_requests, 1000);
    assert_int_equal(a->keepalive_time, 3600000);
    const struct ups_group *h = group(f->c, "h");
    assert_int_equal(h->method, UPS_CHASH);
    assert_non_null(h->key);
    /* A resolve server is not looked up at load; the http resolver serves it. */
    assert_true(h->servers[1].resolve);
    assert_int_equal(h->servers[1].naddrs, 0);
    assert_string_equal(h->servers[1].host, "app.test");
    assert_int_equal(h->servers[1].port, 8080);
    assert_non_null(h->resolver);
    assert_int_equal(h->resolver->naddrs, 2);
    assert_int_equal(ntohs(h->resolver->addrs[0].sin.sin_port), 5353);
    assert_int_equal(ntohs(h->resolver->addrs[1].sin6.sin6_port), 53);
    assert_int_equal(h->resolver->valid, 5000);
    assert_true(h->resolver->ipv4);
    assert_false(h->resolver->ipv6);
    assert_int_equal(h->resolver_timeout, 3000);
    const struct ups_group *own = group(f->c, "own");
    assert_ptr_not_equal(own->resolver, h->resolver);
    assert_false(own->resolver->ipv4);
    assert_int_equal(own->resolver_timeout, 1000);
    assert_int_equal(own->method, UPS_IP_HASH);
    /* The locations inherit the http level's resolver. */
    const struct upstream_loc *ul = upstream_loc(http_main(f->c)->loc);
    assert_ptr_equal(ul->resolver, h->resolver);
    assert_int_equal(ul->resolver_timeout, 3000);
}

/* ---- errors ------------------------------------------------------------------ */

struct err_case {
    const char *text; /* main.conf */
    const char *msg;  /* the message, without " in file:line" */
};

static int mark_line(const char *text)
{
    int line = 1;
    for (const char *p = text; p < strstr(text, "#!"); p++)
        line += *p == '\n';
    return line;
}

static void test_errors(void **state)
{
    static const struct err_case cases[] = {
        {HTTP(" upstream a { server 127.0.0.1:1; }\n upstream A { #!\n server 127.0.0.1:2; }\n"),
         "duplicate upstream \"A\""},
        {HTTP(" upstream a { #!\n keepalive 2; }\n"), "no servers are inside upstream"},
        {HTTP(" upstream a {\n server 127.0.0.1:1 weight=0; #!\n }\n"),
         "invalid parameter \"weight=0\""},
        {HTTP(" upstream a {\n server 127.0.0.1:1 slow_start=10s; #!\n }\n"),
         "invalid parameter \"slow_start=10s\""},
        {HTTP(" upstream a {\n server 127.0.0.1:1 fail_timeout=x; #!\n }\n"),
         "invalid parameter \"fail_timeout=x\""},
        {HTTP(" upstream a {\n server nonexistent.invalid:80; #!\n }\n"),
         "host not found in upstream \"nonexistent.invalid:80\""},
        {HTTP(" upstream a {\n server 127.0.0.1:99999; #!\n }\n"),
         "invalid port in upstream \"127.0.0.1:99999\""},
        {HTTP(" upstream a {\n server ::1; #!\n }\n"), "invalid port in upstream \"::1\""},
        {HTTP(" upstream a {\n server unix:; #!\n }\n"),
         "no path in the unix domain socket in upstream \"unix:\""},
        {HTTP(" upstream a { ip_hash;\n server 127.0.0.1:1;\n server 127.0.0.1:2 backup; #!\n }\n"),
         "balancing method does not support parameter \"backup\""},
        {HTTP(" upstream a {\n server 127.0.0.1:2 backup; #!\n hash $uri; server 127.0.0.1:1; }\n"),
         "balancing method does not support parameter \"backup\""},
        {HTTP(" upstream a { #!\n server 127.0.0.1:2 backup; }\n"), "no servers in upstream \"a\""},
        {HTTP(" upstream a { #!\n server app.test resolve; }\n"),
         "no resolver defined to resolve names at run time in upstream \"a\""},
        {HTTP(" upstream a { server 127.0.0.1:1;\n keepalive 2;\n keepalive 3; #!\n }\n"),
         "\"keepalive\" directive is duplicate"},
        {HTTP(" upstream a { server 127.0.0.1:1;\n keepalive 0; #!\n }\n"),
         "invalid value \"0\" in \"keepalive\" directive"},
        {HTTP(" upstream a { server 127.0.0.1:1;\n hash $nope; #!\n }\n"),
         "unknown \"nope\" variable"},
        {HTTP(" upstream a { server 127.0.0.1:1;\n hash $uri ketama; #!\n }\n"),
         "invalid parameter \"ketama\""},
        {HTTP(" resolver 127.0.0.1 ipv4=off ipv6=off; #!\n"),
         "\"ipv4\" and \"ipv6\" cannot both be \"off\""},
        {HTTP(" resolver 127.0.0.1 valid=soon; #!\n"), "invalid parameter \"valid=soon\""},
        {HTTP(" resolver nonexistent.invalid; #!\n"),
         "host not found in resolver \"nonexistent.invalid\""},
        {HTTP(" resolver 127.0.0.1;\n resolver 127.0.0.2; #!\n"),
         "\"resolver\" directive is duplicate"},
        {HTTP(" resolver_timeout 1s;\n resolver_timeout 2s; #!\n"),
         "\"resolver_timeout\" directive is duplicate"},
        {HTTP(" server {\n  upstream a { #!\n server 127.0.0.1:1; }\n }\n"),
         "\"upstream\" directive is not allowed here"},
        {HTTP(" upstream a {\n server; #!\n }\n"),
         "invalid number of arguments in \"server\" directive"},
        {HTTP(" upstream a {\n listen 80; #!\n }\n"), "\"listen\" directive is not allowed here"},
    };
    struct fx *f = *state;
    size_t bad = 0;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char want[1200];
        snprintf(want, sizeof(want), "%s in %s:%d", cases[i].msg, f->main,
                 mark_line(cases[i].text));
        if (try_load(f, cases[i].text) != NULL) {
            print_error("case %zu loaded; want: %s\n", i, want);
            bad++;
        } else if (strcmp(f->err, want) != 0) {
            print_error("case %zu:\n  want: %s\n  got:  %s\n", i, want, f->err);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* ---- implicit groups (what proxy_pass will make) -------------------------------- */

static struct conf_loader loader(struct fx *f)
{
    return (struct conf_loader){
        .conf = f->c, .pool = &f->c->pool, .ctx = CTX_LOC, .err = f->err, .errlen = sizeof(f->err)};
}

static void test_implicit_groups(void **state)
{
    struct fx *f = *state;
    if (try_load(f, HTTP(" upstream app { server 127.0.0.1:1; }\n")) == NULL)
        fail_msg("%s", f->err);
    struct conf_loader cl = loader(f);
    struct conf_node at = {.file = f->main, .line = 7};
    struct ups_groups *gs = upstream_groups(&cl);
    /* The name of a block is that group, and may not come with a port. */
    assert_ptr_equal(ups_group_add(&cl, &at, gs, "APP", 0, false, false), group(f->c, "app"));
    assert_null(ups_group_add(&cl, &at, gs, "app", 8080, true, false));
    f->err[0] = '\0';
    /* host:port: a group per port, resolved once the file is read. */
    struct ups_group *a = ups_group_add(&cl, &at, gs, "localhost", 9000, true, false);
    struct ups_group *b = ups_group_add(&cl, &at, gs, "localhost", 9001, true, false);
    struct ups_group *u = ups_group_add(&cl, &at, gs, "unix:/run/x.sock", 0, false, false);
    assert_non_null(a);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(ups_group_add(&cl, &at, gs, "localhost", 9000, true, false), a);
    assert_int_equal(ups_conf_finish(&cl, gs, NULL, -1), 0);
    assert_int_equal(a->nservers, 1);
    assert_int_equal(a->servers[0].max_fails, 1);
    assert_int_equal(a->servers[0].fail_timeout, 10000);
    assert_string_equal(a->servers[0].addrs[0].name, "127.0.0.1:9000");
    assert_string_equal(u->servers[0].addrs[0].name, "unix:/run/x.sock");
    /* A name nobody knows: nginx's message, at the reference. */
    assert_non_null(ups_group_add(&cl, &at, gs, "nonexistent.invalid", 80, true, false));
    assert_int_equal(ups_conf_finish(&cl, gs, NULL, -1), -1);
    char want[256];
    snprintf(want, sizeof(want), "host not found in upstream \"nonexistent.invalid\" in %s:7",
             f->main);
    assert_string_equal(f->err, want);
}

static void test_implicit_then_block_with_port(void **state)
{
    struct fx *f = *state;
    if (try_load(f, HTTP(" upstream app { server 127.0.0.1:1; }\n")) == NULL)
        fail_msg("%s", f->err);
    struct conf_loader cl = loader(f);
    struct conf_node at = {.file = f->main, .line = 3};
    struct ups_groups gs = {0};
    struct conf_node blk = {.file = f->main, .line = 9};
    /* nginx names the reference, not the block. */
    assert_non_null(ups_group_add(&cl, &at, &gs, "late", 8080, true, false));
    assert_null(ups_group_add(&cl, &blk, &gs, "late", 0, false, true));
    char want[256];
    snprintf(want, sizeof(want), "upstream \"late\" may not have port 8080 in %s:3", f->main);
    assert_string_equal(f->err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_servers_and_parameters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_defaults_hash_and_resolver, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_implicit_groups, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_implicit_then_block_with_port, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

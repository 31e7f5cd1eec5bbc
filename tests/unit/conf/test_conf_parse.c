/* test_conf_parse.c - the configuration grammar: words, quotes, escapes,
 * blocks, comments, include, the -g string, and every error with its line. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf_parse.h"

/* One test's world: a fresh directory and a tree. */
struct fx {
    char dir[64];          /* the test's temporary directory */
    char prefix[80];       /* dir with a trailing "/", the include prefix */
    char main[96];         /* dir/main.conf */
    struct conf_tree tree; /* what the parser produced */
    char err[1024];        /* the parser's error message */
    char dump[8192];       /* the tree written out by dump() */
    size_t dlen;           /* bytes used in dump */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_conf_parse.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
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

    conf_tree_free(&f->tree);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* dir/name, in one of a few rotating buffers so a test can hold several. */
static const char *path_of(const struct fx *f, const char *name)
{
    static char bufs[4][256];
    static unsigned next;
    char *p = bufs[next++ % 4];

    snprintf(p, sizeof(bufs[0]), "%s/%s", f->dir, name);
    return p;
}

static void put_len(const struct fx *f, const char *name, const char *text, size_t len)
{
    FILE *fp = fopen(path_of(f, name), "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void put(const struct fx *f, const char *name, const char *text)
{
    put_len(f, name, text, strlen(text));
}

static void mk(const struct fx *f, const char *name)
{
    assert_int_equal(mkdir(path_of(f, name), 0700), 0);
}

/* Starts over with an empty tree. */
static void reset(struct fx *f)
{
    conf_tree_free(&f->tree);
    f->err[0] = '\0';
}

static int parse_len(struct fx *f, const char *text, size_t len)
{
    reset(f);
    put_len(f, "main.conf", text, len);
    return conf_parse_file(&f->tree, f->main, f->prefix, f->err, sizeof(f->err));
}

static int parse(struct fx *f, const char *text)
{
    return parse_len(f, text, strlen(text));
}

static void dump_str(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(f->dump + f->dlen, sizeof(f->dump) - f->dlen, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(f->dump) - f->dlen);
    f->dlen += (size_t)n;
}

static void dump_arg(struct fx *f, const struct conf_arg *a)
{
    size_t i;

    assert_int_equal(a->s[a->len], '\0');
    if (a->quoted)
        dump_str(f, "\"");
    for (i = 0; i < a->len; i++) {
        unsigned char c = (unsigned char)a->s[i];
        if (c < 0x20 || c == 0x7f)
            dump_str(f, "<%02x>", c);
        else
            dump_str(f, "%c", c);
    }
    if (a->quoted)
        dump_str(f, "\"");
}

/* Writes nodes as `name arg@line;` and `name arg@line{children}`, quoted
 * words in double quotes and control bytes as <hex>. */
static void dump_nodes(struct fx *f, const struct conf_node *n)
{
    size_t i;

    for (; n != NULL; n = n->next) {
        assert_true(n->nargs > 0);
        for (i = 0; i < n->nargs; i++) {
            if (i > 0)
                dump_str(f, " ");
            dump_arg(f, &n->args[i]);
        }
        dump_str(f, "@%d", n->line);
        if (!n->block) {
            assert_null(n->child);
            dump_str(f, ";");
            continue;
        }
        dump_str(f, "{");
        dump_nodes(f, n->child);
        dump_str(f, "}");
    }
}

static const char *dump(struct fx *f)
{
    f->dlen = 0;
    f->dump[0] = '\0';
    dump_nodes(f, f->tree.root);
    return f->dump;
}

/* Parses `text` as main.conf and checks that it parses to `want`. */
static void check_ok(struct fx *f, const char *text, const char *want)
{
    int rc = parse(f, text);

    if (rc != 0)
        print_error("unexpected error: %s\n", f->err);
    assert_int_equal(rc, 0);
    assert_string_equal(dump(f), want);
}

/* Parses `text` as main.conf and checks the error "msg in file:line". */
static void check_err(struct fx *f, const char *text, const char *msg, const char *file, int line)
{
    char want[1024];

    snprintf(want, sizeof(want), "%s in %s:%d", msg, path_of(f, file), line);
    assert_int_equal(parse(f, text), -1);
    assert_string_equal(f->err, want);
}

static void test_simple(void **state)
{
    struct fx *f = *state;
    const struct conf_node *n;

    check_ok(f, "daemon off;\nworker_processes 2;\n", "daemon off@1;worker_processes 2@2;");
    n = f->tree.root;
    assert_string_equal(n->file, f->main);
    assert_int_equal(n->nargs, 2);
    assert_string_equal(n->args[0].s, "daemon");
    assert_int_equal(n->args[1].len, 3);
    assert_false(n->args[1].quoted);
    assert_false(n->block);
    assert_null(n->next->next);
}

static void test_blocks_and_lines(void **state)
{
    struct fx *f = *state;
    const struct conf_node *http, *server;

    check_ok(f,
             "events {\n"
             "    worker_connections 512;\n"
             "}\n"
             "http {\n"
             "  server {\n"
             "    listen\n"
             "      80;\n"
             "    location / { return 200; }\n"
             "    location = /x {}\n"
             "  }\n"
             "}\n",
             "events@1{worker_connections 512@2;}"
             "http@4{server@5{listen 80@7;location /@8{return 200@8;}location = /x@9{}}}");
    http = f->tree.root->next;
    assert_true(http->block);
    server = http->child;
    assert_null(server->next);
    assert_true(server->child->next->next->block);
    assert_null(server->child->next->next->child);
}

static void test_empty_inputs(void **state)
{
    struct fx *f = *state;

    check_ok(f, "", "");
    assert_non_null(f->tree.files);
    assert_int_equal(f->tree.files->len, 0);
    check_ok(f, "  \n\t\r\n# only a comment", "");
    check_ok(f, "events {}", "events@1{}");
}

static void test_crlf(void **state)
{
    struct fx *f = *state;

    check_ok(f, "a b;\r\nc {\r\n d;\r\n}\r\n", "a b@1;c@2{d@3;}");
}

static void test_comments(void **state)
{
    struct fx *f = *state;

    check_ok(f,
             "# top ; { }\n"
             "a b; # trailing ; }\n"
             "c # mid {\n"
             " d;\n"
             "e#f g#h;\n"
             "i \"#j\" '#k';\n"
             "# last, without a newline",
             "a b@2;c d@4;e#f g#h@5;i \"#j\" \"#k\"@6;");
}

static void test_quotes(void **state)
{
    struct fx *f = *state;
    const struct conf_node *n;

    check_ok(f,
             "a \"b c\" 'd e' \"\" '';\n"
             "b \"x\"{ }\n"
             "c 'y';\n"
             "if ($a = \"x\") { }\n"
             "d a\"b\" c'd';\n",
             "a \"b c\" \"d e\" \"\" \"\"@1;b \"x\"@2{}c \"y\"@3;"
             "if ($a = \"x\" )@4{}d a\"b\" c'd'@5;");
    n = f->tree.root;
    assert_true(n->args[1].quoted);
    assert_true(n->args[2].quoted);
    assert_int_equal(n->args[3].len, 0);
    assert_string_equal(n->args[3].s, "");
    assert_false(n->next->next->next->args[4].quoted); /* the ")" */
}

static void test_escapes_unquoted(void **state)
{
    struct fx *f = *state;

    check_ok(f, "a \\\"x\\' \\\\y t\\tr\\rn\\n \\.php$ \\d a\\ b c\\;d e\\{f;\n",
             "a \"x' \\y t<09>r<0d>n<0a> \\.php$ \\d a\\ b c\\;d e\\{f@1;");
}

static void test_escapes_quoted(void **state)
{
    struct fx *f = *state;

    check_ok(f,
             "a \"q\\\"x\" 'q\\'y' \"s\\\\\" \"t\\t\\r\\n\" \"re\\.php$\" 'dq\"in' \"sq'in\" "
             "\"a;b{c}#d\" \"s\\'q\" 'd\\\"q';\n",
             "a \"q\"x\" \"q'y\" \"s\\\" \"t<09><0d><0a>\" \"re\\.php$\" \"dq\"in\" \"sq'in\" "
             "\"a;b{c}#d\" \"s'q\" \"d\"q\"@1;");
}

static void test_escaped_newline(void **state)
{
    struct fx *f = *state;

    check_ok(f, "a b\\\nc;\nd \"e\\\nf\";\n", "a b\\<0a>c@2;d \"e\\<0a>f\"@4;");
}

static void test_variables(void **state)
{
    struct fx *f = *state;

    check_ok(f,
             "set $a \"${b}c\";\n"
             "return 200 ${host}x$uri;\n"
             "${x} y;\n"
             "a ${b}{ }\n"
             "b $c{ }\n"
             "c x}y z};\n"
             "d 'x${y}z' $;\n",
             "set $a \"${b}c\"@1;return 200 ${host}x$uri@2;${x} y@3;a ${b}@4{}b $c@5{}"
             "c x}y z}@6;d \"x${y}z\" $@7;");
}

static void test_nul_bytes(void **state)
{
    struct fx *f = *state;
    static const char text[] = "a\0b c;\n\0 d;";
    const struct conf_node *n;
    char want[256];

    assert_int_equal(parse_len(f, text, sizeof(text) - 1), 0);
    n = f->tree.root;
    assert_int_equal(n->args[0].len, 3);
    assert_memory_equal(n->args[0].s, "a\0b", 4);
    assert_int_equal(n->next->args[0].len, 1);
    assert_memory_equal(n->next->args[0].s, "\0", 1);
    assert_int_equal(n->next->nargs, 2);
    assert_int_equal(f->tree.files->len, sizeof(text) - 1);
    assert_memory_equal(f->tree.files->text, text, sizeof(text) - 1);

    snprintf(want, sizeof(want), "unexpected \"\\x00\" in %s:1", f->main);
    assert_int_equal(parse_len(f, "x \"y\"\0;", 7), -1);
    assert_string_equal(f->err, want);
}

static void test_long_word(void **state)
{
    struct fx *f = *state;
    size_t n = 20000;
    char *text = malloc(n + 4);

    assert_non_null(text);
    memcpy(text, "a ", 2);
    memset(text + 2, 'x', n);
    memcpy(text + 2 + n, ";", 2);
    assert_int_equal(parse(f, text), 0);
    assert_int_equal(f->tree.root->args[1].len, n);
    free(text);
}

/* Every syntax error, with the line nginx reports it on. */
static void test_errors(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *text; /* main.conf */
        const char *msg;  /* message without location */
        int line;         /* line it is reported on */
    } cases[] = {
        {"a;\n}\n", "unexpected \"}\"", 2},
        {"http {\n  a b }\n}\n", "unexpected \"}\"", 2},
        {"a \"b\"}", "unexpected \"}\"", 1},
        {"http {\n  server {\n  }\n", "unexpected end of file, expecting \"}\"", 4},
        {"http {", "unexpected end of file, expecting \"}\"", 1},
        {"a;\nb c", "unexpected end of file, expecting \";\" or \"}\"", 2},
        {"a;\nb c\n", "unexpected end of file, expecting \";\" or \"}\"", 3},
        {"a \"b;\n\n", "unexpected end of file, expecting \";\" or \"}\"", 3},
        {"a 'b;\n", "unexpected end of file, expecting \";\" or \"}\"", 2},
        {"a\\", "unexpected end of file, expecting \";\" or \"}\"", 1},
        {"a \"b\"", "unexpected end of file, expecting \";\" or \"}\"", 1},
        {"a # c;", "unexpected end of file, expecting \";\" or \"}\"", 1},
        {"a;\n{\n", "unexpected \"{\"", 2},
        {"{", "unexpected \"{\"", 1},
        {"a;\n  ;", "unexpected \";\"", 2},
        {"http {\n ;\n}", "unexpected \";\"", 2},
        {"a \"b\"c;", "unexpected \"c\"", 1},
        {"a\n'b'#c;", "unexpected \"#\"", 2},
        {"a \"b\"\"c\";", "unexpected \"\"\"", 1},
        {"a \"b\"\x01;", "unexpected \"\\x01\"", 1},
        {"include;", "invalid number of arguments in \"include\" directive", 1},
        {"http {\n include a b;\n}", "invalid number of arguments in \"include\" directive", 2},
        {"\ninclude a {}", "directive \"include\" is not terminated by \";\"", 2},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_err(f, cases[i].text, cases[i].msg, "main.conf", cases[i].line);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 5 + 1), *p = s;
    int i;

    assert_non_null(s);
    for (i = 0; i < depth; i++)
        p += sprintf(p, "a {\n");
    for (i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
    return s;
}

static void test_block_depth(void **state)
{
    struct fx *f = *state;
    char *ok = nested(64), *deep = nested(65);

    assert_int_equal(parse(f, ok), 0);
    check_err(f, deep, "too deep nesting of blocks, the limit is 64", "main.conf", 65);
    free(ok);
    free(deep);
}

static void test_main_missing(void **state)
{
    struct fx *f = *state;
    char want[512];
    int rc;

    rc = conf_parse_file(&f->tree, path_of(f, "nope.conf"), f->prefix, f->err, sizeof(f->err));
    assert_int_equal(rc, -1);
    snprintf(want, sizeof(want), "open() \"%s\" failed (%d: %s)", path_of(f, "nope.conf"), ENOENT,
             strerror(ENOENT));
    assert_string_equal(f->err, want);
    assert_null(f->tree.files);
}

static void test_include_glob(void **state)
{
    struct fx *f = *state;
    const struct conf_node *n;

    mk(f, "conf.d");
    put(f, "conf.d/b.conf", "b;");
    put(f, "conf.d/a.conf", "a1;\na2;\n");
    put(f, "conf.d/c.conf", "\n\nc;");
    put(f, "conf.d/x.txt", "x;");
    check_ok(f, "first;\ninclude conf.d/*.conf;\nlast;\n", "first@1;a1@1;a2@2;b@1;c@3;last@3;");
    n = f->tree.root->next;
    assert_string_equal(n->file, path_of(f, "conf.d/a.conf"));
    assert_string_equal(n->next->next->file, path_of(f, "conf.d/b.conf"));
    assert_string_equal(n->next->next->next->next->file, f->main);
}

static void test_include_prefix(void **state)
{
    struct fx *f = *state;
    char text[512];

    mk(f, "sub");
    put(f, "sub/x.conf", "x;\n");
    check_ok(f, "include sub/x.conf;\n", "x@1;");
    snprintf(text, sizeof(text), "include %s;\n", path_of(f, "sub/x.conf"));
    check_ok(f, text, "x@1;");
    /* A prefix is a string prefix, not a directory: nginx just concatenates. */
    reset(f);
    put(f, "main.conf", "include x.conf;\n");
    assert_int_equal(conf_parse_file(&f->tree, f->main, path_of(f, "sub/"), f->err, sizeof(f->err)),
                     0);
    assert_string_equal(dump(f), "x@1;");
}

static void test_include_missing(void **state)
{
    struct fx *f = *state;
    char msg[512];

    snprintf(msg, sizeof(msg), "open() \"%s\" failed (%d: %s)", path_of(f, "nothere.conf"), ENOENT,
             strerror(ENOENT));
    check_err(f, "a;\ninclude nothere.conf;\n", msg, "main.conf", 2);
    check_ok(f, "include none/*.conf;\ninclude nothere*.conf;\na;\n", "a@3;");
}

static void test_include_directory(void **state)
{
    struct fx *f = *state;
    char msg[512];

    mk(f, "sub");
    snprintf(msg, sizeof(msg), "pread() \"%s\" failed (%d: %s)", path_of(f, "sub"), EISDIR,
             strerror(EISDIR));
    check_err(f, "\ninclude sub;\n", msg, "main.conf", 2);
}

static void test_include_recursion(void **state)
{
    struct fx *f = *state;
    char msg[512];

    snprintf(msg, sizeof(msg), "recursive \"include\" of \"%s\"", f->main);
    check_err(f, "a;\ninclude main.conf;\n", msg, "main.conf", 2);

    put(f, "a.conf", "include b.conf;\n");
    put(f, "b.conf", "b;\ninclude *.conf;\n");
    snprintf(msg, sizeof(msg), "recursive \"include\" of \"%s\"", path_of(f, "a.conf"));
    check_err(f, "include a.conf;\n", msg, "b.conf", 2);

    /* The same file twice side by side is not recursion. */
    put(f, "c.conf", "c;\n");
    check_ok(f, "include c.conf;\ninclude c.conf;\n", "c@1;c@1;");
}

static void test_include_depth(void **state)
{
    struct fx *f = *state;
    char name[32], text[64];
    int i;

    for (i = 1; i <= 40; i++) {
        snprintf(name, sizeof(name), "f%d.conf", i);
        snprintf(text, sizeof(text), "include f%d.conf;\n", i + 1);
        put(f, name, text);
    }
    put(f, "f41.conf", "x;\n");
    check_err(f, "include f1.conf;\n", "too deep nesting of \"include\", the limit is 32 files",
              "f31.conf", 1);
    put(f, "f31.conf", "x;\n");
    check_ok(f, "include f1.conf;\n", "x@1;");
}

static void test_include_in_block(void **state)
{
    struct fx *f = *state;

    mk(f, "servers");
    put(f, "servers/one.conf", "server {\n  listen 80;\n}\n");
    /* Relative to the prefix, not to the including file, as in nginx. */
    put(f, "servers/two.conf", "server {\n  include loc.conf;\n}\n");
    put(f, "loc.conf", "# locations\nlocation / {\n  root /srv;\n}\n");
    check_ok(f, "http {\n  include servers/*.conf;\n  gzip on;\n}\n",
             "http@1{server@1{listen 80@2;}server@1{location /@2{root /srv@3;}}gzip on@3;}");
}

static void test_include_errors_inside(void **state)
{
    struct fx *f = *state;

    put(f, "close.conf", "a;\n}\n");
    check_err(f, "http {\n include close.conf;\n}\n", "unexpected \"}\"", "close.conf", 2);
    put(f, "open.conf", "a {\n");
    check_err(f, "include open.conf;\n", "unexpected end of file, expecting \"}\"", "open.conf", 2);
    put(f, "words.conf", "a b");
    check_err(f, "include words.conf;\nx;\n", "unexpected end of file, expecting \";\" or \"}\"",
              "words.conf", 1);
}

static void test_include_quoted_name(void **state)
{
    struct fx *f = *state;

    put(f, "in c.conf", "c;\n");
    check_ok(f, "\"include\" 'in c.conf';\n", "c@1;");
}

static void test_files_list(void **state)
{
    struct fx *f = *state;
    const struct conf_file *c;
    static const char main_text[] = "include a.conf;\ninclude b.conf;\ninclude a.conf;\n";

    put(f, "a.conf", "a;\n");
    put(f, "b.conf", "b;\n# b\n");
    check_ok(f, main_text, "a@1;b@1;a@1;");
    c = f->tree.files;
    assert_string_equal(c->path, f->main);
    assert_int_equal(c->len, strlen(main_text));
    assert_string_equal(c->text, main_text);
    c = c->next;
    assert_string_equal(c->path, path_of(f, "a.conf"));
    assert_string_equal(c->text, "a;\n");
    c = c->next;
    assert_string_equal(c->path, path_of(f, "b.conf"));
    assert_string_equal(c->text, "b;\n# b\n");
    assert_int_equal(c->len, 7);
    assert_null(c->next);
}

static void test_string(void **state)
{
    struct fx *f = *state;
    const struct conf_node *n;

    assert_int_equal(parse(f, "a;\nevents {}\n"), 0);
    assert_int_equal(conf_parse_string(&f->tree, "daemon off; worker_processes 2;", f->prefix,
                                       f->err, sizeof(f->err)),
                     0);
    assert_string_equal(dump(f), "a@1;events@2{}daemon off@0;worker_processes 2@0;");
    n = f->tree.root->next->next;
    assert_null(n->file);
    assert_null(f->tree.files->next); /* -g text is not a file */

    reset(f);
    put(f, "g.conf", "g;\n");
    assert_int_equal(
        conf_parse_string(&f->tree, "include g.conf;", f->prefix, f->err, sizeof(f->err)), 0);
    assert_int_equal(conf_parse_string(&f->tree, "  'x y' \"z\";", NULL, f->err, sizeof(f->err)),
                     0);
    assert_string_equal(dump(f), "g@1;\"x y\" \"z\"@0;");
    assert_string_equal(f->tree.root->file, path_of(f, "g.conf"));
}

static void check_string_err(struct fx *f, const char *text, const char *want)
{
    reset(f);
    assert_int_equal(conf_parse_string(&f->tree, text, f->prefix, f->err, sizeof(f->err)), -1);
    assert_string_equal(f->err, want);
}

static void test_string_errors(void **state)
{
    struct fx *f = *state;
    char want[512];

    check_string_err(f, "daemon off",
                     "unexpected end of parameter, expecting \";\" in command line");
    check_string_err(f, "a \"b;", "unexpected end of parameter, expecting \";\" in command line");
    check_string_err(f, "events { }",
                     "block directives are not supported in -g option in command line");
    check_string_err(f, "a; }", "unexpected \"}\" in command line");
    check_string_err(f, ";", "unexpected \";\" in command line");
    check_string_err(f, "{", "unexpected \"{\" in command line");
    check_string_err(f, "a 'b'c;", "unexpected \"c\" in command line");
    snprintf(want, sizeof(want), "open() \"%s\" failed (%d: %s) in command line",
             path_of(f, "x.conf"), ENOENT, strerror(ENOENT));
    check_string_err(f, "include x.conf;", want);
    put(f, "bad.conf", "\n}");
    snprintf(want, sizeof(want), "unexpected \"}\" in %s:2", path_of(f, "bad.conf"));
    check_string_err(f, "include bad.conf;", want);
}

static void test_small_err_buffer(void **state)
{
    struct fx *f = *state;
    char small[8];

    put(f, "main.conf", "}");
    assert_int_equal(conf_parse_file(&f->tree, f->main, f->prefix, small, sizeof(small)), -1);
    assert_string_equal(small, "unexpec");
    reset(f);
    assert_int_equal(conf_parse_file(&f->tree, f->main, f->prefix, NULL, 0), -1);
}

static void test_free_twice(void **state)
{
    struct conf_tree tree;

    (void)state;
    memset(&tree, 0, sizeof(tree));
    conf_tree_free(&tree);
    assert_int_equal(conf_parse_string(&tree, "a b;", NULL, NULL, 0), 0);
    conf_tree_free(&tree);
    assert_null(tree.root);
    assert_null(tree.priv);
    conf_tree_free(&tree);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_simple),
        T(test_blocks_and_lines),
        T(test_empty_inputs),
        T(test_crlf),
        T(test_comments),
        T(test_quotes),
        T(test_escapes_unquoted),
        T(test_escapes_quoted),
        T(test_escaped_newline),
        T(test_variables),
        T(test_nul_bytes),
        T(test_long_word),
        T(test_errors),
        T(test_block_depth),
        T(test_main_missing),
        T(test_include_glob),
        T(test_include_prefix),
        T(test_include_missing),
        T(test_include_directory),
        T(test_include_recursion),
        T(test_include_depth),
        T(test_include_in_block),
        T(test_include_errors_inside),
        T(test_include_quoted_name),
        T(test_files_list),
        T(test_string),
        T(test_string_errors),
        T(test_small_err_buffer),
        T(test_free_twice),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_autoindex.c - directory listings: escapes, sort, dates, the HTML
 * name column, the JSON layout, reading a directory, and golden pages.
 *
 * Every expectation marked "nginx" was captured from Debian's nginx 1.22.1
 * (autoindex on, autoindex_format html|json); the golden pages come from
 * the directory make_gold() rebuilds with the same sizes and mtimes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handler/autoindex_fmt.h"

/* ---- helpers ---- */

static struct autoindex_entry E(const char *name, enum autoindex_type type, long long size,
                                time_t mtime) {
    return (struct autoindex_entry){.name = (char *)name,
                                    .len = strlen(name),
                                    .type = type,
                                    .mtime = mtime,
                                    .size = (off_t)size};
}

/* Compares a buffer with a NUL-terminated expectation, printing both. */
static void
assert_buf(const struct autoindex_buf *b, const char *want)
{
    assert_false(b->failed);
    if (b->len != strlen(want) || memcmp(b->p, want, b->len) != 0) {
        print_error("got  [%.*s]\nwant [%s]\n", (int)b->len, b->p, want);
        fail();
    }
}

/* The page for "/" with one entry must have exactly this line. */
static void assert_html_entry(struct autoindex_entry e, const char *want_line)
{
    static const char head[] = "<html>\r\n<head><title>Index of /</title></head>\r\n<body>\r\n"
                               "<h1>Index of /</h1><hr><pre><a href=\"../\">../</a>\r\n";
    static const char tail[] = "</pre><hr></body>\r\n</html>\r\n";
    struct autoindex_buf b = {0};
    char *want = malloc(sizeof(head) + strlen(want_line) + sizeof(tail));
    assert_non_null(want);
    sprintf(want, "%s%s%s", head, want_line, tail);
    autoindex_html(&b, str_make("/", 1), &e, 1, NULL);
    assert_buf(&b, want);
    free(want);
    autoindex_buf_free(&b);
}

static void assert_escape(size_t (*esc)(char *, const char *, size_t), const char *in,
                          const char *want)
{
    char out[1024];
    size_t n = esc(out, in, strlen(in));
    out[n] = '\0';
    assert_string_equal(out, want);
}

/* n copies of c followed by suffix (a few calls' results stay valid). */
static char *rep(char c, size_t n, const char *suffix)
{
    static char bufs[4][320];
    static unsigned next;
    char *b = bufs[next++ % 4];
    memset(b, c, n);
    strcpy(b + n, suffix);
    return b;
}

/* ---- escapes ---- */

/* nginx: a directory holding "a<byte>b" for every byte 1..255 but "/". */
static void test_escape_uri_every_byte(void **state)
{
    (void)state;
    /* The bytes nginx left alone in hrefs; every other one became %XX. */
    const char *kept = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int c = 1; c < 256; c++) {
        char in[1] = {(char)c};
        char out[4] = {0};
        char want[4];
        size_t n = autoindex_escape_uri(out, in, 1);
        if (strchr(kept, c) != NULL) {
            assert_int_equal(n, 1);
            assert_int_equal((unsigned char)out[0], c);
            continue;
        }
        snprintf(want, sizeof(want), "%%%02X", c);
        assert_int_equal(n, 3);
        assert_memory_equal(out, want, 3);
    }
}

static void test_escape_uri_strings(void **state)
{
    (void)state;
    assert_escape(autoindex_escape_uri, "a b.txt", "a%20b.txt");                  /* nginx */
    assert_escape(autoindex_escape_uri, "#hash?q%.txt", "%23hash%3Fq%25.txt");    /* nginx */
    assert_escape(autoindex_escape_uri, "q\"&<>'.html", "q%22%26%3C%3E%27.html"); /* nginx */
    assert_escape(autoindex_escape_uri, "colon:x", "colon%3Ax");                  /* nginx */
    assert_escape(autoindex_escape_uri, "\xc3\xbc.txt", "%C3%BC.txt");            /* nginx */
    assert_escape(autoindex_escape_uri, "!$'()*+,;=@[]", "%21%24%27%28%29%2A%2B%2C%3B%3D%40%5B%5D");
    assert_escape(autoindex_escape_uri, "", "");
}

static void test_escape_html(void **state)
{
    (void)state;
    assert_escape(autoindex_escape_html, "q\"&<>'.html", "q&quot;&amp;&lt;&gt;'.html"); /* nginx */
    /* nginx: everything else, controls and UTF-8 included, stays raw */
    assert_escape(autoindex_escape_html, "a b#?%\x01\x7f\xc3\xbc", "a b#?%\x01\x7f\xc3\xbc");
    assert_escape(autoindex_escape_html, "&&", "&amp;&amp;");
}

static void test_escape_json(void **state)
{
    (void)state;
    /* nginx: the forms its JSON listing used for these bytes */
    assert_escape(autoindex_escape_json, "a\"b", "a\\\"b");
    assert_escape(autoindex_escape_json, "a\\b", "a\\\\b");
    assert_escape(autoindex_escape_json, "a\bb\tc\nd\fe\rf", "a\\bb\\tc\\nd\\fe\\rf");
    assert_escape(autoindex_escape_json,
                  "a\x01"
                  "b\x0b"
                  "c\x1f",
                  "a\\u0001b\\u000Bc\\u001F");
    assert_escape(autoindex_escape_json, "a&<>/'\x7f\xc3\xbc", "a&<>/'\x7f\xc3\xbc");
}

/* ---- sort ---- */

static void test_sort(void **state)
{
    (void)state;
    struct autoindex_entry v[] = {
        E("b.txt", AUTOINDEX_FILE, 1, 0),    E("zdir", AUTOINDEX_DIR, 0, 0),
        E("\xc3\xbc", AUTOINDEX_FILE, 1, 0), E("B.txt", AUTOINDEX_FILE, 1, 0),
        E("Adir", AUTOINDEX_DIR, 0, 0),      E("a", AUTOINDEX_OTHER, 1, 0),
        E("a.txt", AUTOINDEX_FILE, 1, 0),    E("adir", AUTOINDEX_DIR, 0, 0),
    };
    /* directories first, then strcmp: upper case before lower, UTF-8 last */
    const char *want[] = {"Adir", "adir", "zdir", "B.txt", "a", "a.txt", "b.txt", "\xc3\xbc"};
    autoindex_sort(v, sizeof(v) / sizeof(v[0]));
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        assert_string_equal(v[i].name, want[i]);
    autoindex_sort(NULL, 0);
}

/* ---- dates ---- */

static void test_html_date(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(autoindex_html_date(0, buf, sizeof(buf)), 17);
    assert_string_equal(buf, "01-Jan-1970 00:00");
    autoindex_html_date(262861, buf, sizeof(buf)); /* nginx */
    assert_string_equal(buf, "04-Jan-1970 01:01");
    autoindex_html_date(983404800, buf, sizeof(buf)); /* nginx */
    assert_string_equal(buf, "01-Mar-2001 00:00");
    autoindex_html_date(1700000000, buf, sizeof(buf)); /* nginx: seconds are dropped */
    assert_string_equal(buf, "14-Nov-2023 22:13");
    autoindex_html_date(2000000000, buf, sizeof(buf)); /* nginx */
    assert_string_equal(buf, "18-May-2033 03:33");
    autoindex_html_date(1600000000, buf, sizeof(buf)); /* nginx */
    assert_string_equal(buf, "13-Sep-2020 12:26");
}

/* ---- one HTML line: name column, date, size ---- */

static void test_html_short_names(void **state)
{
    (void)state;
    assert_html_entry(E("a b.txt", AUTOINDEX_FILE, 1234, 1700000000), /* nginx */
                      "<a href=\"a%20b.txt\">a b.txt</a>                                 "
                      "           14-Nov-2023 22:13                1234\r\n");
    assert_html_entry(E("sub", AUTOINDEX_DIR, 4096, 1700000000), /* nginx */
                      "<a href=\"sub/\">sub/</a>                                         "
                      "      14-Nov-2023 22:13                   -\r\n");
    /* nginx: padding counts the name's bytes, not its escaped form */
    assert_html_entry(E("q\"&<>'.html", AUTOINDEX_FILE, 0, 1600000000),
                      "<a href=\"q%22%26%3C%3E%27.html\">q&quot;&amp;&lt;&gt;'.html</a>"
                      "                                        13-Sep-2020 12:26       "
                      "            0\r\n");
    /* nginx: a fifo (any "other") shows its stat size */
    assert_html_entry(E("fifo", AUTOINDEX_OTHER, 0, 1400000000),
                      "<a href=\"fifo\">fifo</a>                                        "
                      "       13-May-2014 16:53                   0\r\n");
}

static void test_html_name_edges(void **state)
{
    (void)state;
    char want[512];
    /* nginx: a 50-byte file name fills the column: no padding */
    snprintf(want, sizeof(want), "<a href=\"%s\">%s</a> 13-Feb-2009 23:31                   2\r\n",
             rep('f', 50, ""), rep('f', 50, ""));
    assert_html_entry(E(rep('f', 50, ""), AUTOINDEX_FILE, 2, 1234567891), want);
    /* nginx: a 50-byte directory loses its "/" in the text, not the href */
    snprintf(want, sizeof(want), "<a href=\"%s/\">%s</a> 14-Jul-2017 02:40                   -\r\n",
             rep('x', 50, ""), rep('x', 50, ""));
    assert_html_entry(E(rep('x', 50, ""), AUTOINDEX_DIR, 0, 1500000001), want);
    /* nginx: 49 bytes plus "/" exactly fill the column */
    snprintf(want, sizeof(want),
             "<a href=\"%s/\">%s/</a> 14-Jul-2017 02:40                   -\r\n", rep('y', 49, ""),
             rep('y', 49, ""));
    assert_html_entry(E(rep('y', 49, ""), AUTOINDEX_DIR, 0, 1500000002), want);
    /* nginx: a 49-byte file gets one space of padding */
    snprintf(want, sizeof(want), "<a href=\"%s\">%s</a>  13-Feb-2009 23:31                   4\r\n",
             rep('h', 49, ""), rep('h', 49, ""));
    assert_html_entry(E(rep('h', 49, ""), AUTOINDEX_FILE, 4, 1234567893), want);
}

static void test_html_long_names(void **state)
{
    (void)state;
    char want[1024];
    /* nginx: 51 bytes are cut to 47 plus "..>" */
    snprintf(want, sizeof(want),
             "<a href=\"%s\">%s..&gt;</a> 13-Feb-2009 23:31                   3\r\n",
             rep('g', 51, ""), rep('g', 47, ""));
    assert_html_entry(E(rep('g', 51, ""), AUTOINDEX_FILE, 3, 1234567892), want);
    /* nginx: a long directory keeps its "/" only in the href */
    snprintf(want, sizeof(want),
             "<a href=\"%s/\">%s..&gt;</a> 14-Jul-2017 02:40                   -\r\n",
             rep('z', 51, ""), rep('z', 47, ""));
    assert_html_entry(E(rep('z', 51, ""), AUTOINDEX_DIR, 0, 1500000003), want);
    /* nginx: the cut comes before escaping, so "&" expands after it */
    snprintf(want, sizeof(want),
             "<a href=\"%s\">%s..&gt;</a> 13-Feb-2009 23:31                   5\r\n",
             rep('e', 45, "%26%26%26%26%26%26"), rep('e', 45, "&amp;&amp;"));
    assert_html_entry(E(rep('e', 45, "&&&&&&"), AUTOINDEX_FILE, 5, 1234567894), want);
    /* nginx: bytes, not characters: the cut may split a UTF-8 sequence */
    snprintf(want, sizeof(want),
             "<a href=\"%s\">%s..&gt;</a> 13-Feb-2009 23:31                   6\r\n",
             rep('u', 46, "%C3%BCtail"), rep('u', 46, "\xc3"));
    assert_html_entry(E(rep('u', 46, "\xc3\xbctail"), AUTOINDEX_FILE, 6, 1234567895), want);
    /* a 255-byte name, the longest file systems allow */
    snprintf(want, sizeof(want),
             "<a href=\"%s\">%s..&gt;</a> 01-Jan-1970 00:00                   1\r\n",
             rep('n', 255, ""), rep('n', 47, ""));
    assert_html_entry(E(rep('n', 255, ""), AUTOINDEX_FILE, 1, 0), want);
}

static void test_html_sizes(void **state)
{
    (void)state;
    assert_html_entry(E("big.iso", AUTOINDEX_FILE, 5368709120LL, 1111111111), /* nginx */
                      "<a href=\"big.iso\">big.iso</a>                                 "
                      "           18-Mar-2005 01:58          5368709120\r\n");
    assert_html_entry(E("max", AUTOINDEX_FILE, INT64_MAX, 0), /* fills all 19 columns */
                      "<a href=\"max\">max</a>                                         "
                      "       01-Jan-1970 00:00 9223372036854775807\r\n");
    assert_html_entry(E("empty", AUTOINDEX_FILE, 0, 0),
                      "<a href=\"empty\">empty</a>                                 "
                      "             01-Jan-1970 00:00                   0\r\n");
}

/* nginx: GET /t%26%3C%22x%3E%20%C3%BC/ of an empty directory. */
static void test_html_title(void **state)
{
    (void)state;
    struct autoindex_buf b = {0};
    const char *uri = "/t&<\"x> \xc3\xbc/";
    autoindex_html(&b, str_make(uri, strlen(uri)), NULL, 0, NULL);
    assert_buf(&b, "<html>\r\n"
                   "<head><title>Index of /t&amp;&lt;&quot;x&gt; \xc3\xbc/</title></head>\r\n"
                   "<body>\r\n"
                   "<h1>Index of /t&amp;&lt;&quot;x&gt; \xc3\xbc/</h1><hr><pre>"
                   "<a href=\"../\">../</a>\r\n"
                   "</pre><hr></body>\r\n"
                   "</html>\r\n");
    autoindex_buf_free(&b);
}

/* ---- JSON ---- */

static void test_json_empty(void **state)
{
    (void)state;
    struct autoindex_buf b = {0};
    autoindex_json(&b, NULL, 0);
    assert_buf(&b, "[\r\n]"); /* nginx: CRLF, and no final newline */
    autoindex_buf_free(&b);
}

static void test_json_types(void **state)
{
    (void)state;
    struct autoindex_entry v[] = {
        E("sub", AUTOINDEX_DIR, 4096, 1700000000),
        E("a\"b", AUTOINDEX_FILE, 1234, 1700000000),
        E("dangling", AUTOINDEX_OTHER, 7, 1500000000),
    };
    struct autoindex_buf b = {0};
    autoindex_json(&b, v, 3);
    /* nginx: sizes only for files; "other" for what is neither */
    assert_buf(&b, "[\r\n"
                   "{ \"name\":\"sub\", \"type\":\"directory\", "
                   "\"mtime\":\"Tue, 14 Nov 2023 22:13:20 GMT\" },\r\n"
                   "{ \"name\":\"a\\\"b\", \"type\":\"file\", "
                   "\"mtime\":\"Tue, 14 Nov 2023 22:13:20 GMT\", \"size\":1234 },\r\n"
                   "{ \"name\":\"dangling\", \"type\":\"other\", "
                   "\"mtime\":\"Fri, 14 Jul 2017 02:40:00 GMT\" }\r\n"
                   "]");
    autoindex_buf_free(&b);
}

/* ---- reading a directory ---- */

/* What the log callback saw. */
struct log_rec {
    int calls;            /* lines logged */
    enum log_level level; /* the last line's level */
    int err;              /* its errno */
    char call[16];        /* its call */
    char path[600];       /* its path */
};

static void rec_log(void *arg, enum log_level level, int err, const char *call, const char *path)
{
    struct log_rec *rec = arg;
    rec->calls++;
    rec->level = level;
    rec->err = err;
    snprintf(rec->call, sizeof(rec->call), "%s", call);
    snprintf(rec->path, sizeof(rec->path), "%s", path);
}

/* A file or directory of the golden layout. */
struct gold_file {
    const char *name; /* file name */
    long long size;   /* length (sparse) */
    time_t mtime;     /* modification time */
};

static const struct gold_file gold_files[] = {
    {"a b.txt", 1234, 1700000000},
    {"q\"&<>'.html", 0, 1600000000},
    {"\xc3\xbc.txt", 3, 983404800},
    {"#hash?q%.txt", 10, 262861},
    {"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL", 1, 1234567890},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffff", 2, 1234567891},
    {"ggggggggggggggggggggggggggggggggggggggggggggggggggg", 3, 1234567892},
    {"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", 4, 1234567893},
    {"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee&&&&&&", 5, 1234567894},
    {"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\xc3\xbctail", 6, 1234567895},
    {"colon:x", 5, 2000000000},
    {".hidden", 9, 1700000000},
    {"big.iso", 5368709120LL, 1111111111},
    {"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
     "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
     "kkkkkkkkkkkkkkk",
     10000, 1111111112},
};

/* Empty, so nothing created later changes their mtimes. */
static const struct gold_file gold_dirs[] = {
    {"sub", 0, 1700000000},
    {"Zdir", 0, 1600000000},
    {"dir_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0, 1500000001},
    {"dir_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 0, 1500000002},
    {"dir_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 0, 1500000003},
};

static void set_mtime(int dfd, const char *name, time_t t, int flags)
{
    struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
    assert_int_equal(utimensat(dfd, name, ts, flags), 0);
}

/* The directory nginx listed for the golden pages below. */
static void make_gold(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    for (size_t i = 0; i < sizeof(gold_files) / sizeof(gold_files[0]); i++) {
        const struct gold_file *f = &gold_files[i];
        int fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)f->size), 0);
        close(fd);
        set_mtime(dfd, f->name, f->mtime, 0);
    }
    assert_int_equal(symlinkat("a b.txt", dfd, "link"), 0);
    assert_int_equal(symlinkat("nowhere", dfd, "dangling"), 0);
    set_mtime(dfd, "dangling", 1500000000, AT_SYMLINK_NOFOLLOW);
    assert_int_equal(mkfifoat(dfd, "fifo", 0644), 0);
    set_mtime(dfd, "fifo", 1400000000, 0);
    for (size_t i = 0; i < sizeof(gold_dirs) / sizeof(gold_dirs[0]); i++) {
        assert_int_equal(mkdirat(dfd, gold_dirs[i].name, 0755), 0);
        set_mtime(dfd, gold_dirs[i].name, gold_dirs[i].mtime, 0);
    }
    close(dfd);
}

/* nginx 1.22.1: GET /gold/ of that directory. */
static const char gold_html[] =
    "<html>\r\n"
    "<head><title>Index of /gold/</title></head>\r\n"
    "<body>\r\n"
    "<h1>Index of /gold/</h1><hr><pre><a href=\"../\">../</a>\r\n"
    "<a href=\"Zdir/\">Zdir/</a>                                              13-Sep-2020 12:26    "
    "               -\r\n"
    "<a "
    "href=\"dir_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/"
    "\">dir_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</a> 14-Jul-2017 02:40                   "
    "-\r\n"
    "<a "
    "href=\"dir_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy/"
    "\">dir_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy/</a> 14-Jul-2017 02:40                   "
    "-\r\n"
    "<a "
    "href=\"dir_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz/"
    "\">dir_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz..&gt;</a> 14-Jul-2017 02:40                "
    "   -\r\n"
    "<a href=\"sub/\">sub/</a>                                               14-Nov-2023 22:13     "
    "              -\r\n"
    "<a href=\"%23hash%3Fq%25.txt\">#hash?q%.txt</a>                                       "
    "04-Jan-1970 01:01                  10\r\n"
    "<a "
    "href=\"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\">"
    "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL..&gt;</a> 13-Feb-2009 23:31                   "
    "1\r\n"
    "<a href=\"a%20b.txt\">a b.txt</a>                                            14-Nov-2023 "
    "22:13                1234\r\n"
    "<a href=\"big.iso\">big.iso</a>                                            18-Mar-2005 01:58  "
    "        5368709120\r\n"
    "<a href=\"colon%3Ax\">colon:x</a>                                            18-May-2033 "
    "03:33                   5\r\n"
    "<a href=\"dangling\">dangling</a>                                           14-Jul-2017 02:40 "
    "                  7\r\n"
    "<a "
    "href=\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee%26%26%26%26%26%26\">"
    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee&amp;&amp;..&gt;</a> 13-Feb-2009 23:31           "
    "        5\r\n"
    "<a "
    "href=\"ffffffffffffffffffffffffffffffffffffffffffffffffff\">"
    "ffffffffffffffffffffffffffffffffffffffffffffffffff</a> 13-Feb-2009 23:31                   "
    "2\r\n"
    "<a href=\"fifo\">fifo</a>                                               13-May-2014 16:53     "
    "              0\r\n"
    "<a "
    "href=\"ggggggggggggggggggggggggggggggggggggggggggggggggggg\">"
    "ggggggggggggggggggggggggggggggggggggggggggggggg..&gt;</a> 13-Feb-2009 23:31                   "
    "3\r\n"
    "<a "
    "href=\"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\">"
    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh</a>  13-Feb-2009 23:31                   "
    "4\r\n"
    "<a "
    "href="
    "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkk\">kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk..&gt;</a> 18-Mar-2005 01:58  "
    "             10000\r\n"
    "<a href=\"link\">link</a>                                               14-Nov-2023 22:13     "
    "           1234\r\n"
    "<a href=\"q%22%26%3C%3E%27.html\">q&quot;&amp;&lt;&gt;'.html</a>                              "
    "          13-Sep-2020 12:26                   0\r\n"
    "<a "
    "href=\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu%C3%BCtail\">"
    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\xc3..&gt;</a> 13-Feb-2009 23:31                "
    "   6\r\n"
    "<a href=\"%C3%BC.txt\">\xc3\xbc.txt</a>                                             "
    "01-Mar-2001 00:00                   3\r\n"
    "</pre><hr></body>\r\n"
    "</html>\r\n";

/* nginx 1.22.1: the same directory with autoindex_format json. */
static const char gold_json[] =
    "[\r\n"
    "{ \"name\":\"Zdir\", \"type\":\"directory\", \"mtime\":\"Sun, 13 Sep 2020 12:26:40 GMT\" "
    "},\r\n"
    "{ \"name\":\"dir_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"type\":\"directory\", "
    "\"mtime\":\"Fri, 14 Jul 2017 02:40:01 GMT\" },\r\n"
    "{ \"name\":\"dir_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\", \"type\":\"directory\", "
    "\"mtime\":\"Fri, 14 Jul 2017 02:40:02 GMT\" },\r\n"
    "{ \"name\":\"dir_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\", \"type\":\"directory\", "
    "\"mtime\":\"Fri, 14 Jul 2017 02:40:03 GMT\" },\r\n"
    "{ \"name\":\"sub\", \"type\":\"directory\", \"mtime\":\"Tue, 14 Nov 2023 22:13:20 GMT\" },\r\n"
    "{ \"name\":\"#hash?q%.txt\", \"type\":\"file\", \"mtime\":\"Sun, 04 Jan 1970 01:01:01 GMT\", "
    "\"size\":10 },\r\n"
    "{ \"name\":\"LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL\", "
    "\"type\":\"file\", \"mtime\":\"Fri, 13 Feb 2009 23:31:30 GMT\", \"size\":1 },\r\n"
    "{ \"name\":\"a b.txt\", \"type\":\"file\", \"mtime\":\"Tue, 14 Nov 2023 22:13:20 GMT\", "
    "\"size\":1234 },\r\n"
    "{ \"name\":\"big.iso\", \"type\":\"file\", \"mtime\":\"Fri, 18 Mar 2005 01:58:31 GMT\", "
    "\"size\":5368709120 },\r\n"
    "{ \"name\":\"colon:x\", \"type\":\"file\", \"mtime\":\"Wed, 18 May 2033 03:33:20 GMT\", "
    "\"size\":5 },\r\n"
    "{ \"name\":\"dangling\", \"type\":\"other\", \"mtime\":\"Fri, 14 Jul 2017 02:40:00 GMT\" "
    "},\r\n"
    "{ \"name\":\"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee&&&&&&\", \"type\":\"file\", "
    "\"mtime\":\"Fri, 13 Feb 2009 23:31:34 GMT\", \"size\":5 },\r\n"
    "{ \"name\":\"ffffffffffffffffffffffffffffffffffffffffffffffffff\", \"type\":\"file\", "
    "\"mtime\":\"Fri, 13 Feb 2009 23:31:31 GMT\", \"size\":2 },\r\n"
    "{ \"name\":\"fifo\", \"type\":\"other\", \"mtime\":\"Tue, 13 May 2014 16:53:20 GMT\" },\r\n"
    "{ \"name\":\"ggggggggggggggggggggggggggggggggggggggggggggggggggg\", \"type\":\"file\", "
    "\"mtime\":\"Fri, 13 Feb 2009 23:31:32 GMT\", \"size\":3 },\r\n"
    "{ \"name\":\"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\", \"type\":\"file\", "
    "\"mtime\":\"Fri, 13 Feb 2009 23:31:33 GMT\", \"size\":4 },\r\n"
    "{ "
    "\"name\":"
    "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkk\", \"type\":\"file\", \"mtime\":\"Fri, 18 Mar 2005 01:58:32 GMT\", "
    "\"size\":10000 },\r\n"
    "{ \"name\":\"link\", \"type\":\"file\", \"mtime\":\"Tue, 14 Nov 2023 22:13:20 GMT\", "
    "\"size\":1234 },\r\n"
    "{ \"name\":\"q\\\"&<>'.html\", \"type\":\"file\", \"mtime\":\"Sun, 13 Sep 2020 12:26:40 "
    "GMT\", \"size\":0 },\r\n"
    "{ \"name\":\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\xc3\xbctail\", \"type\":\"file\", "
    "\"mtime\":\"Fri, 13 Feb 2009 23:31:35 GMT\", \"size\":6 },\r\n"
    "{ \"name\":\"\xc3\xbc.txt\", \"type\":\"file\", \"mtime\":\"Thu, 01 Mar 2001 00:00:00 GMT\", "
    "\"size\":3 }\r\n"
    "]";

/* A fresh temporary directory; its path ends in "/" like a handler's. */
static int setup_tmp(void **state)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = malloc(strlen(base) + 32);
    if (path == NULL)
        return -1;
    sprintf(path, "%s/test_autoindex.XXXXXX", base);
    if (mkdtemp(path) == NULL) {
        free(path);
        return -1;
    }
    strcat(path, "/");
    *state = path;
    return 0;
}

static int teardown_tmp(void **state)
{
    char cmd[1200];
    /* chmod first: a failed test may leave a locked directory behind */
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", (char *)*state,
             (char *)*state);
    int rc = system(cmd);
    free(*state);
    return rc == 0 ? 0 : -1;
}

static void read_sorted(const char *dir, struct autoindex_list *l, struct log_rec *rec)
{
    int err = 0;
    assert_int_equal(autoindex_read(dir, l, rec_log, rec, &err), AUTOINDEX_READ_OK);
    autoindex_sort(l->v, l->n);
}

static void test_golden_html(void **state)
{
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    struct autoindex_buf b = {0};
    make_gold(*state);
    read_sorted(*state, &l, &rec);
    assert_int_equal(rec.calls, 0);
    autoindex_html(&b, str_make("/gold/", 6), l.v, l.n, NULL);
    assert_buf(&b, gold_html);
    autoindex_buf_free(&b);
    autoindex_list_free(&l);
}

static void test_golden_json(void **state)
{
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    struct autoindex_buf b = {0};
    make_gold(*state);
    read_sorted(*state, &l, &rec);
    autoindex_json(&b, l.v, l.n);
    assert_buf(&b, gold_json);
    autoindex_buf_free(&b);
    autoindex_list_free(&l);
}

/* nginx: links are followed; a dangling or looping one describes itself. */
static void test_read_symlinks(void **state)
{
    const char *dir = *state;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(mkdirat(dfd, "real", 0755), 0);
    assert_int_equal(symlinkat("real", dfd, "to-dir"), 0);
    assert_int_equal(symlinkat("loop2", dfd, "loop1"), 0);
    assert_int_equal(symlinkat("loop1", dfd, "loop2"), 0);
    assert_int_equal(symlinkat("missing-target", dfd, "dead"), 0);
    close(dfd);
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    read_sorted(dir, &l, &rec);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0].name, "real");
    assert_string_equal(l.v[1].name, "to-dir");
    assert_int_equal(l.v[1].type, AUTOINDEX_DIR);
    assert_string_equal(l.v[2].name, "dead");
    assert_int_equal(l.v[2].type, AUTOINDEX_OTHER);
    assert_int_equal(l.v[2].size, strlen("missing-target")); /* lstat's size */
    assert_string_equal(l.v[3].name, "loop1");
    assert_int_equal(l.v[3].type, AUTOINDEX_OTHER);
    assert_int_equal(rec.calls, 0);
    autoindex_list_free(&l);
}

static void test_read_empty(void **state)
{
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    read_sorted(*state, &l, &rec);
    assert_int_equal(l.n, 0);
    autoindex_list_free(&l);
}

/* Many entries: the list grows past its first allocation. */
static void test_read_many(void **state)
{
    const char *dir = *state;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    for (int i = 0; i < 300; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%03d", 299 - i);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    close(dfd);
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    read_sorted(dir, &l, &rec);
    assert_int_equal(l.n, 300);
    for (size_t i = 0; i < l.n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "f%03zu", i);
        assert_string_equal(l.v[i].name, want);
    }
    autoindex_list_free(&l);
}

/* nginx: `opendir() "<path without its slash>" failed` at [error], 404. */
static void test_read_missing(void **state)
{
    char path[600];
    snprintf(path, sizeof(path), "%snope/", (char *)*state);
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    int err = 0;
    assert_int_equal(autoindex_read(path, &l, rec_log, &rec, &err), AUTOINDEX_OPEN_FAILED);
    assert_int_equal(err, ENOENT);
    assert_int_equal(autoindex_open_status(err), 404);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.level, LL_ERR);
    assert_int_equal(rec.err, ENOENT);
    assert_string_equal(rec.call, "opendir");
    path[strlen(path) - 1] = '\0';
    assert_string_equal(rec.path, path);
    autoindex_list_free(&l);
}

static void test_read_not_dir(void **state)
{
    char path[600];
    snprintf(path, sizeof(path), "%sfile", (char *)*state);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    strcat(path, "/");
    struct autoindex_list l = {0};
    int err = 0;
    assert_int_equal(autoindex_read(path, &l, NULL, NULL, &err), AUTOINDEX_OPEN_FAILED);
    assert_int_equal(err, ENOTDIR);
    assert_int_equal(autoindex_open_status(err), 404);
}

/* An unreadable directory: 403 (root reads anything, so it skips). */
static void test_read_forbidden(void **state)
{
    if (geteuid() == 0)
        skip();
    char path[600];
    snprintf(path, sizeof(path), "%slocked/", (char *)*state);
    assert_int_equal(mkdir(path, 0), 0);
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    int err = 0;
    assert_int_equal(autoindex_read(path, &l, rec_log, &rec, &err), AUTOINDEX_OPEN_FAILED);
    assert_int_equal(autoindex_open_status(err), 403);
    assert_int_equal(rec.level, LL_ERR);
    chmod(path, 0755);
}

/* nginx: a directory readable but not searchable lists nothing; each
 * refused stat is logged at [crit] (root is never refused, so it skips). */
static void test_read_stat_refused(void **state)
{
    if (geteuid() == 0)
        skip();
    char path[600];
    snprintf(path, sizeof(path), "%sno-x/", (char *)*state);
    assert_int_equal(mkdir(path, 0755), 0);
    strcat(path, "f");
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    path[strlen(path) - 1] = '\0';
    assert_int_equal(chmod(path, 0644), 0);
    struct autoindex_list l = {0};
    struct log_rec rec = {0};
    read_sorted(path, &l, &rec);
    assert_int_equal(l.n, 0);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.level, LL_CRIT);
    assert_int_equal(rec.err, EACCES);
    assert_string_equal(rec.call, "stat");
    strcat(path, "f");
    assert_string_equal(rec.path, path);
    path[strlen(path) - 1] = '\0';
    chmod(path, 0755);
}

static void test_open_status(void **state)
{
    (void)state;
    assert_int_equal(autoindex_open_status(ENOENT), 404);
    assert_int_equal(autoindex_open_status(ENOTDIR), 404);
    assert_int_equal(autoindex_open_status(ENAMETOOLONG), 404);
    assert_int_equal(autoindex_open_status(EACCES), 403);
    assert_int_equal(autoindex_open_status(EMFILE), 500);
    assert_int_equal(autoindex_open_status(EIO), 500);
}

/* autoindex_exact_size off: nginx's rounding, at its boundaries (the
 * same sizes as the side-by-side integration test). */
static void test_rounded_sizes(void **state)
{
    static const struct {
        long long size;   /* bytes */
        const char *want; /* the column */
    } cases[] = {
        {0, "      0"},          {9999, "   9999"},       {10000, "    10K"},
        {10751, "    10K"},      {10752, "    11K"},      {1048575, "  1024K"},
        {1048576, "     1M"},    {1572863, "     1M"},    {1572864, "     2M"},
        {1073741823, "  1024M"}, {1073741824, "     1G"}, {1610612735, "     1G"},
        {1610612736, "     2G"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        size_t n = autoindex_html_size(cases[i].size, buf, sizeof(buf));
        if (n != strlen(cases[i].want) || memcmp(buf, cases[i].want, n) != 0)
            fail_msg("%lld: got [%.*s], want [%s]", cases[i].size, (int)n, buf, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounded_sizes),
        cmocka_unit_test(test_escape_uri_every_byte),
        cmocka_unit_test(test_escape_uri_strings),
        cmocka_unit_test(test_escape_html),
        cmocka_unit_test(test_escape_json),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_html_date),
        cmocka_unit_test(test_html_short_names),
        cmocka_unit_test(test_html_name_edges),
        cmocka_unit_test(test_html_long_names),
        cmocka_unit_test(test_html_sizes),
        cmocka_unit_test(test_html_title),
        cmocka_unit_test(test_json_empty),
        cmocka_unit_test(test_json_types),
        cmocka_unit_test(test_open_status),
        cmocka_unit_test_setup_teardown(test_golden_html, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_golden_json, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_symlinks, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_empty, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_many, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_missing, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_not_dir, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_forbidden, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_read_stat_refused, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_manpage.c - man/turnpike.conf.5 documents exactly the directives of
 * the table in src/the modules' tables, each with its syntax, default and context.
 *
 * Every directive has one ".SS name" heading, and no other .SS heading is
 * allowed in the page; a name that means different things in different
 * contexts has a heading for each, qualified: ".SS "server (upstream)"",
 * and the stream context's own directives are qualified "(stream)" (or
 * "(stream upstream)") whenever http has a directive of that name.  A directive's section
 * runs to the next .SS or .SH line and must carry "Syntax:", "Default:" and "Context:" lines; the
 * contexts listed must be the table's, and for the table's generic entries
 * the default shown must be the table's default.
 *
 * The source tree comes from the TP_SRCDIR macro (the build passes
 * $(abs_top_srcdir)), else from the TP_SRCDIR environment variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_table.h"

#define MP_MAX_SECTIONS 512

/* One ".SS" section of the page. */
struct mp_section {
    char name[128];    /* the heading's argument */
    int line;          /* line of the heading */
    const char *start; /* first byte after the heading line */
    const char *end;   /* first byte of the next .SS or .SH line, or the end */
};

/* The page, read once for all tests. */
struct mp_page {
    char *text;                                  /* the whole file, NUL-terminated */
    char path[4096];                             /* where it was read from */
    struct mp_section sections[MP_MAX_SECTIONS]; /* every .SS, in order */
    size_t nsections;                            /* how many */
};

static const char *mp_srcdir(void)
{
#ifdef TP_SRCDIR
    return TP_SRCDIR;
#else
    return getenv("TP_SRCDIR");
#endif
}

static char *mp_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* True if the line at p is the request `.XX` (followed by a blank or the
 * end of the line). */
static bool mp_is_request(const char *p, const char *req)
{
    size_t n = strlen(req);
    return strncmp(p, req, n) == 0 && (p[n] == ' ' || p[n] == '\t' || p[n] == '\n' || p[n] == '\0');
}

/* The heading's argument: blanks trimmed, one level of double quotes
 * removed, a trailing roff comment dropped. */
static void mp_heading_name(const char *p, char *out, size_t outlen)
{
    const char *eol = strchr(p, '\n');
    size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
    const char *comment = strstr(p, "\\\"");
    if (comment != NULL && comment < p + len)
        len = (size_t)(comment - p);
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static int mp_setup(void **state)
{
    static struct mp_page page;
    const char *dir = mp_srcdir();
    if (dir == NULL) {
        print_error("TP_SRCDIR is not set: build with -DTP_SRCDIR='\"<source tree>\"' or "
                    "export TP_SRCDIR\n");
        return -1;
    }
    snprintf(page.path, sizeof(page.path), "%s/man/turnpike.conf.5", dir);
    page.text = mp_slurp(page.path);
    if (page.text == NULL) {
        print_error("cannot read %s: %s\n", page.path, strerror(errno));
        return -1;
    }
    page.nsections = 0;
    struct mp_section *open = NULL;
    int line = 1;
    for (const char *p = page.text; *p != '\0'; line++) {
        const char *eol = strchr(p, '\n');
        const char *next = eol != NULL ? eol + 1 : p + strlen(p);
        bool ss = mp_is_request(p, ".SS"), sh = mp_is_request(p, ".SH");
        if ((ss || sh) && open != NULL) {
            open->end = p;
            open = NULL;
        }
        if (ss) {
            if (page.nsections == MP_MAX_SECTIONS) {
                print_error("%s: more than %d .SS headings\n", page.path, MP_MAX_SECTIONS);
                return -1;
            }
            open = &page.sections[page.nsections++];
            mp_heading_name(p + 3, open->name, sizeof(open->name));
            open->line = line;
            open->start = next;
        }
        p = next;
    }
    if (open != NULL)
        open->end = page.text + strlen(page.text);
    *state = &page;
    return 0;
}

static int mp_teardown(void **state)
{
    struct mp_page *page = *state;
    if (page == NULL)
        return 0; /* setup failed */
    free(page->text);
    page->text = NULL;
    return 0;
}

/* A heading's directive name: "server (upstream)" documents `server` in
 * the upstream context, for a name several contexts give different
 * meanings. */
static bool mp_names(const struct mp_section *s, const char *name)
{
    size_t n = strlen(name);
    return strncmp(s->name, name, n) == 0 && (s->name[n] == '\0' || s->name[n] == ' ');
}

static const struct mp_section *mp_find(const struct mp_page *page, const char *name)
{
    for (size_t i = 0; i < page->nsections; i++)
        if (mp_names(&page->sections[i], name))
            return &page->sections[i];
    return NULL;
}

/* ---- the two sets ---------------------------------------------------- */

/* Every directive of every module, flattened once. */
static const struct conf_cmd *all_cmds[1024];
static size_t nall_cmds;

static void all_cmds_collect(void)
{
    nall_cmds = 0;
    for (size_t i = 0; i < nmodules; i++)
        for (size_t j = 0; j < modules[i]->ncmds && nall_cmds < 1024; j++)
            all_cmds[nall_cmds++] = &modules[i]->cmds[j];
}

static const struct conf_cmd *cmd_named(const struct mp_section *s)
{
    for (size_t i = 0; i < nall_cmds; i++)
        if (mp_names(s, all_cmds[i]->name))
            return all_cmds[i];
    return NULL;
}

static void test_every_directive_is_documented(void **state)
{
    const struct mp_page *page = *state;
    size_t missing = 0;
    for (size_t i = 0; i < nall_cmds; i++) {
        if (mp_find(page, all_cmds[i]->name) != NULL)
            continue;
        print_error("%s: directive \"%s\" of the modules' tables has no \".SS %s\" heading\n",
                    page->path, all_cmds[i]->name, all_cmds[i]->name);
        missing++;
    }
    if (missing > 0)
        print_error("%zu directive(s) missing from the man page\n", missing);
    assert_int_equal(missing, 0);
}

static void test_every_heading_is_a_directive(void **state)
{
    const struct mp_page *page = *state;
    size_t extra = 0;
    for (size_t i = 0; i < page->nsections; i++) {
        const struct mp_section *s = &page->sections[i];
        if (cmd_named(s) != NULL)
            continue;
        print_error(
            "%s:%d: \".SS %s\" documents no directive of the modules' tables (only directive "
            "names may be .SS headings)\n",
            page->path, s->line, s->name);
        extra++;
    }
    if (extra > 0)
        print_error("%zu documented name(s) do not exist\n", extra);
    assert_int_equal(extra, 0);
}

static void test_each_directive_documented_once(void **state)
{
    const struct mp_page *page = *state;
    size_t dups = 0;
    for (size_t i = 0; i < page->nsections; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(page->sections[i].name, page->sections[j].name) != 0)
                continue;
            print_error("%s:%d: \".SS %s\" repeats the heading of line %d\n", page->path,
                        page->sections[i].line, page->sections[i].name, page->sections[j].line);
            dups++;
            break;
        }
    }
    assert_int_equal(dups, 0);
}

/* ---- each section's Syntax, Default and Context lines ------------------ */

/* The text of a section line without roff font and spacing escapes:
 * "\fBContext:\fR http, server" -> "Context: http, server". */
static void mp_plain(const char *p, const char *end, char *out, size_t outlen)
{
    size_t n = 0;
    while (p < end && *p != '\n' && n + 1 < outlen) {
        if (p[0] == '\\' && p + 1 < end) {
            char c = p[1];
            if (c == 'f' && p + 2 < end) {
                p += 3; /* \fB, \fR, \fI, \fP */
                continue;
            }
            if (c == '-') {
                out[n++] = '-';
                p += 2;
                continue;
            }
            if (c == '~' || c == ' ') {
                out[n++] = ' ';
                p += 2;
                continue;
            }
            if (c == ':' || c == '&') {
                p += 2;
                continue;
            }
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}

/* Finds the line of the section that contains `label` ("Context:"), and
 * returns its plain text after the label; false when there is none. */
static bool mp_field(const struct mp_section *s, const char *label, char *out, size_t outlen)
{
    for (const char *p = s->start; p < s->end;) {
        const char *eol = memchr(p, '\n', (size_t)(s->end - p));
        const char *stop = eol != NULL ? eol : s->end;
        char line[1024];
        mp_plain(p, stop, line, sizeof(line));
        const char *at = strstr(line, label);
        if (at != NULL) {
            at += strlen(label);
            while (*at == ' ')
                at++;
            snprintf(out, outlen, "%s", at);
            return true;
        }
        p = stop + (eol != NULL);
    }
    return false;
}

static void test_sections_have_syntax_default_context(void **state)
{
    const struct mp_page *page = *state;
    static const char *const labels[] = {"Syntax:", "Default:", "Context:"};
    size_t bad = 0;
    for (size_t i = 0; i < page->nsections; i++) {
        const struct mp_section *s = &page->sections[i];
        for (size_t j = 0; j < sizeof(labels) / sizeof(labels[0]); j++) {
            char value[1024];
            if (mp_field(s, labels[j], value, sizeof(value)))
                continue;
            print_error("%s:%d: section \"%s\" has no \"%s\" line\n", page->path, s->line, s->name,
                        labels[j]);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* "http, server, location" -> CTX_* bits; 0 for a word it does not know.
 * Items are separated by commas; the stream context's levels are named
 * "stream", "stream server" and "stream upstream" (its server and upstream
 * blocks), so a Context line can list http's and stream's levels side by
 * side: "http, server, stream, stream server". */
static unsigned mp_contexts(const char *text)
{
    static const struct {
        const char *item;
        unsigned bit;
    } names[] = {
        {"main", CTX_MAIN},
        {"events", CTX_EVENTS},
        {"http", CTX_HTTP},
        {"server", CTX_SRV},
        {"location", CTX_LOC},
        {"upstream", CTX_UPSTREAM},
        {"stream", CTX_STREAM},
        {"stream server", CTX_STREAM_SRV},
        {"stream upstream", CTX_STREAM_UPS},
        {"any", CTX_ANY},
        {"if", 0}, /* an if block reads its directives in the enclosing context */
    };
    char buf[1024];
    unsigned ctx = 0;
    snprintf(buf, sizeof(buf), "%s", text);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char words[128] = "";
        /* The item's words, one blank between them. */
        for (char *s2 = NULL, *w = strtok_r(item, " \t", &s2); w != NULL;
             w = strtok_r(NULL, " \t", &s2)) {
            size_t len = strlen(words);
            snprintf(words + len, sizeof(words) - len, "%s%s", len > 0 ? " " : "", w);
        }
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(words, names[i].item) != 0)
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            return 0;
        ctx |= names[i].bit;
    }
    return ctx;
}

/* The contexts of every entry named `name`: a name whose meaning is the
 * same everywhere (error_log in main and in http) has one section for all
 * the modules that take it. */
static unsigned cmd_contexts(const char *name)
{
    unsigned ctx = 0;
    for (size_t i = 0; i < nall_cmds; i++)
        if (strcmp(all_cmds[i]->name, name) == 0)
            ctx |= all_cmds[i]->ctx;
    return ctx;
}

/* The section documenting cmd: of the sections headed with its name, the
 * one whose Context line lists cmd's contexts. */
static const struct mp_section *mp_section_of(const struct mp_page *page,
                                              const struct conf_cmd *cmd)
{
    for (size_t i = 0; i < page->nsections; i++) {
        const struct mp_section *s = &page->sections[i];
        char value[1024];
        if (!mp_names(s, cmd->name) || !mp_field(s, "Context:", value, sizeof(value)))
            continue;
        unsigned ctx = mp_contexts(value);
        if (ctx == cmd->ctx || ctx == cmd_contexts(cmd->name))
            return s;
    }
    return NULL;
}

static void test_contexts_match_the_table(void **state)
{
    const struct mp_page *page = *state;
    size_t bad = 0;
    for (size_t i = 0; i < nall_cmds; i++) {
        const struct conf_cmd *cmd = all_cmds[i];
        const struct mp_section *s = mp_find(page, cmd->name);
        char value[1024];
        if (s == NULL || !mp_field(s, "Context:", value, sizeof(value)))
            continue; /* reported by the tests above */
        if (mp_section_of(page, cmd) != NULL)
            continue;
        print_error("%s:%d: \"%s\" says \"Context: %s\", which does not match the modules' tables "
                    "(mask 0x%x, page 0x%x)\n",
                    page->path, s->line, cmd->name, value, cmd->ctx, mp_contexts(value));
        bad++;
    }
    assert_int_equal(bad, 0);
}

/* For the table's generic entries: a default shows as "name value;" (or
 * "name value ..." when more values follow), and no default as a dash. */
static void test_defaults_match_the_table(void **state)
{
    const struct mp_page *page = *state;
    size_t bad = 0;
    for (size_t i = 0; i < nall_cmds; i++) {
        const struct conf_cmd *cmd = all_cmds[i];
        const struct mp_section *s = mp_section_of(page, cmd);
        char value[1024], want[256];
        if (cmd->type == CT_CUSTOM || cmd->type == CT_PARSER || s == NULL ||
            !mp_field(s, "Default:", value, sizeof(value)))
            continue;
        if (cmd->dflt == NULL) {
            if (strncmp(value, "\\(em", 4) == 0)
                continue;
            snprintf(want, sizeof(want), "\\(em");
        } else {
            snprintf(want, sizeof(want), "%s %s", cmd->name, cmd->dflt);
            size_t n = strlen(want);
            if (strncmp(value, want, n) == 0 && (value[n] == ';' || value[n] == ' '))
                continue;
        }
        print_error("%s:%d: \"%s\" says \"Default: %s\", the modules' tables says \"%s\"\n",
                    page->path, s->line, cmd->name, value, want);
        bad++;
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_directive_is_documented),
        cmocka_unit_test(test_every_heading_is_a_directive),
        cmocka_unit_test(test_each_directive_documented_once),
        cmocka_unit_test(test_sections_have_syntax_default_context),
        cmocka_unit_test(test_contexts_match_the_table),
        cmocka_unit_test(test_defaults_match_the_table),
    };
    all_cmds_collect();
    return cmocka_run_group_tests(tests, mp_setup, mp_teardown);
}

/* conf_parse.c - nginx's configuration grammar, read into a tree of directives.
 *
 * ngx_conf_parse's structure: a file is a list of directives, a directive
 * ending in "{" owns the directives up to the matching "}", and "include" is
 * replaced by the directives of the files it names.  Every node, string and
 * file text lives in one arena hanging off tree->priv, so freeing the tree is
 * freeing the arena, whatever state an error left the tree in. */
#include "conf/conf_parse.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_lex.h"

enum {
    /* Deepest "{ }" nesting, counted across included files.  nginx has no
     * limit; we recurse per block and must bound the stack. */
    CONF_PARSE_MAX_BLOCKS = 64,
    /* Longest chain of files including each other, the main file included. */
    CONF_PARSE_MAX_FILES = 32,
    /* Size of an ordinary arena chunk; larger requests get their own. */
    CONF_PARSE_CHUNK = 16384,
};

/* A piece of arena memory. */
struct conf_parse_chunk {
    struct conf_parse_chunk *next; /* older chunk */
    size_t used;                   /* bytes handed out from data */
    size_t size;                   /* bytes in data */
    max_align_t data[];            /* the memory itself */
};

/* What tree->priv points to. */
struct conf_parse_priv {
    struct conf_parse_chunk *chunks; /* the arena; the newest chunk first */
};

/* One input being read: a file or the -g text. */
struct conf_parse_src {
    struct conf_lex lex;             /* tokenizer over its text */
    const char *name;                /* path (owned by the tree); NULL for -g */
    dev_t dev;                       /* the file's device, to spot recursion */
    ino_t ino;                       /* the file's inode, to spot recursion */
    const struct conf_parse_src *up; /* the input that included it, or NULL */
};

/* One call of conf_parse_file() or conf_parse_string(). */
struct conf_parse_ctx {
    struct conf_tree *tree;       /* the tree being filled */
    struct conf_parse_priv *priv; /* its arena */
    const char *prefix;           /* prepended to relative include patterns */
    char *err;                    /* where the error message goes */
    size_t errlen;                /* size of err */
    int blocks;                   /* blocks open now */
    int files;                    /* files being read now (the include chain) */
};

/* Where the next directive goes. */
struct conf_parse_out {
    struct conf_node **link; /* the root, child or next pointer to fill */
};

static int conf_parse_items(struct conf_parse_ctx *ctx, struct conf_parse_src *src,
                            struct conf_parse_out *out, bool in_block);
static int conf_parse_path(struct conf_parse_ctx *ctx, const struct conf_parse_src *up,
                           const char *path, struct conf_parse_out *out);
static int conf_parse_error(const struct conf_parse_ctx *ctx, const struct conf_parse_src *at,
                            const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static struct conf_parse_chunk *conf_parse_chunk_new(struct conf_parse_priv *priv, size_t n)
{
    size_t size = n > CONF_PARSE_CHUNK / 4 ? n : CONF_PARSE_CHUNK;
    struct conf_parse_chunk *c;

    if (size > SIZE_MAX - sizeof(*c))
        return NULL;
    c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->used = 0;
    c->size = size;
    if (size != CONF_PARSE_CHUNK && priv->chunks != NULL) {
        /* A big block is used up at once: keep the partly used chunk on top. */
        c->next = priv->chunks->next;
        priv->chunks->next = c;
    } else {
        c->next = priv->chunks;
        priv->chunks = c;
    }
    return c;
}

static void *conf_parse_alloc(struct conf_parse_priv *priv, size_t n)
{
    const size_t align = alignof(max_align_t);
    struct conf_parse_chunk *c = priv->chunks;
    void *p;

    if (n > SIZE_MAX - align)
        return NULL;
    n = (n + align - 1) & ~(align - 1);
    if (c == NULL || c->size - c->used < n) {
        c = conf_parse_chunk_new(priv, n);
        if (c == NULL)
            return NULL;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

/* Copies `n` bytes (which may include NULs) and adds a terminating NUL. */
static char *conf_parse_memdup(struct conf_parse_priv *priv, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX)
        return NULL;
    p = conf_parse_alloc(priv, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Writes "<message> in <file>:<line>" (or "in command line", or no location
 * when `at` is NULL, as nginx does before any file is open).  Returns -1. */
static int conf_parse_error(const struct conf_parse_ctx *ctx, const struct conf_parse_src *at,
                            const char *fmt, ...)
{
    va_list ap;
    size_t used;
    int n;

    if (ctx->err == NULL || ctx->errlen == 0)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(ctx->err, ctx->errlen, fmt, ap);
    va_end(ap);
    used = n < 0 ? 0 : (size_t)n;
    if (used >= ctx->errlen || at == NULL)
        return -1;
    if (at->name == NULL)
        snprintf(ctx->err + used, ctx->errlen - used, " in command line");
    else
        snprintf(ctx->err + used, ctx->errlen - used, " in %s:%d", at->name, at->lex.line);
    return -1;
}

/* nginx's form for a failed system call: `open() "/x" failed (2: No such...)`. */
static int conf_parse_syserr(const struct conf_parse_ctx *ctx, const struct conf_parse_src *at,
                             const char *call, const char *path)
{
    int e = errno;

    return conf_parse_error(ctx, at, "%s \"%s\" failed (%d: %s)", call, path, e, strerror(e));
}

static int conf_parse_nomem(const struct conf_parse_ctx *ctx)
{
    return conf_parse_error(ctx, NULL, "out of memory");
}

/* Builds the node for the words the lexer just read. */
static struct conf_node *conf_parse_node(struct conf_parse_ctx *ctx,
                                         const struct conf_parse_src *src, bool block)
{
    const struct conf_lex *lx = &src->lex;
    struct conf_node *node;
    size_t i;

    if (lx->nwords > SIZE_MAX / sizeof(*node->args))
        return NULL;
    node = conf_parse_alloc(ctx->priv, sizeof(*node));
    if (node == NULL)
        return NULL;
    memset(node, 0, sizeof(*node));
    node->args = conf_parse_alloc(ctx->priv, lx->nwords * sizeof(*node->args));
    if (node->args == NULL)
        return NULL;
    for (i = 0; i < lx->nwords; i++) {
        node->args[i].len = lx->words[i].len;
        node->args[i].quoted = lx->words[i].quoted;
        node->args[i].s = conf_parse_memdup(ctx->priv, conf_lex_text(lx, i), lx->words[i].len);
        if (node->args[i].s == NULL)
            return NULL;
    }
    node->nargs = lx->nwords;
    node->file = src->name;
    node->line = lx->line;
    node->block = block;
    return node;
}

/* Records a file for -T.  nginx dumps a file included twice only once, so a
 * path already recorded is returned as it is. */
static const struct conf_file *conf_parse_record(struct conf_parse_ctx *ctx, const char *path,
                                                 const char *text, size_t len)
{
    struct conf_file **link = &ctx->tree->files;
    struct conf_file *f;

    for (; *link != NULL; link = &(*link)->next) {
        if (strcmp((*link)->path, path) == 0)
            return *link;
    }
    f = conf_parse_alloc(ctx->priv, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->path = conf_parse_memdup(ctx->priv, path, strlen(path));
    f->text = conf_parse_memdup(ctx->priv, text, len);
    if (f->path == NULL || f->text == NULL)
        return NULL;
    f->len = len;
    f->next = NULL;
    *link = f;
    return f;
}

/* True if the file `st` describes is already being read further up the
 * include chain: nginx would loop until it ran out of descriptors. */
static bool conf_parse_recursive(const struct conf_parse_src *up, const struct stat *st)
{
    for (; up != NULL; up = up->up) {
        if (up->name != NULL && up->dev == st->st_dev && up->ino == st->st_ino)
            return true;
    }
    return false;
}

/* Reads the file's size as fstat() gave it, like nginx: a device or a pipe
 * reads as empty instead of forever. */
static int conf_parse_slurp(const struct conf_parse_ctx *ctx, const struct conf_parse_src *up,
                            const char *path, int fd, size_t size, char **text)
{
    size_t got = 0;
    ssize_t n;

    *text = malloc(size + 1);
    if (*text == NULL)
        return conf_parse_nomem(ctx);
    while (got < size) {
        n = pread(fd, *text + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return conf_parse_syserr(ctx, up, "pread()", path);
        if (n == 0)
            return conf_parse_error(ctx, up, "pread() returned only %zu bytes instead of %zu", got,
                                    size);
        got += (size_t)n;
    }
    (*text)[size] = '\0';
    return 0;
}

/* Parses text read from `path` as one more file of the include chain. */
static int conf_parse_text(struct conf_parse_ctx *ctx, const struct conf_parse_src *up,
                           const char *path, const struct stat *st, const char *text, size_t len,
                           struct conf_parse_out *out)
{
    const struct conf_file *f;
    struct conf_parse_src src;
    int rc;

    f = conf_parse_record(ctx, path, text, len);
    if (f == NULL)
        return conf_parse_nomem(ctx);
    memset(&src, 0, sizeof(src));
    conf_lex_init(&src.lex, text, len, 1, false);
    src.name = f->path;
    src.dev = st->st_dev;
    src.ino = st->st_ino;
    src.up = up;
    ctx->files++;
    rc = conf_parse_items(ctx, &src, out, false);
    ctx->files--;
    conf_lex_free(&src.lex);
    return rc;
}

/* Opens, reads and parses one file; errors about it are reported where it
 * was included from (`up`), as nginx does. */
static int conf_parse_path(struct conf_parse_ctx *ctx, const struct conf_parse_src *up,
                           const char *path, struct conf_parse_out *out)
{
    char *text = NULL;
    struct stat st;
    int fd, rc = -1;

    if (ctx->files >= CONF_PARSE_MAX_FILES)
        return conf_parse_error(ctx, up, "too deep nesting of \"include\", the limit is %d files",
                                CONF_PARSE_MAX_FILES);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return conf_parse_syserr(ctx, up, "open()", path);
    if (fstat(fd, &st) != 0)
        conf_parse_syserr(ctx, up, "fstat()", path);
    else if (conf_parse_recursive(up, &st))
        conf_parse_error(ctx, up, "recursive \"include\" of \"%s\"", path);
    else if ((uintmax_t)st.st_size >= SIZE_MAX)
        conf_parse_nomem(ctx);
    else if (conf_parse_slurp(ctx, up, path, fd, (size_t)st.st_size, &text) == 0)
        rc = 0;
    close(fd);
    if (rc == 0)
        rc = conf_parse_text(ctx, up, path, &st, text, (size_t)st.st_size, out);
    free(text);
    return rc;
}

/* nginx's ngx_conf_full_name: a relative name is appended to the prefix. */
static char *conf_parse_full_name(const struct conf_parse_ctx *ctx, const char *name)
{
    const char *prefix = name[0] == '/' || ctx->prefix == NULL ? "" : ctx->prefix;
    size_t plen = strlen(prefix), nlen = strlen(name);
    char *full = malloc(plen + nlen + 1);

    if (full == NULL)
        return NULL;
    memcpy(full, prefix, plen);
    memcpy(full + plen, name, nlen + 1);
    return full;
}

/* A pattern that matches nothing is fine (nginx sets GLOB_NOMATCH aside);
 * glob() sorts the names, so files are read in a stable order. */
static int conf_parse_glob(struct conf_parse_ctx *ctx, const struct conf_parse_src *src,
                           const char *pattern, struct conf_parse_out *out)
{
    glob_t g;
    size_t i;
    int rc, e;

    memset(&g, 0, sizeof(g));
    errno = 0;
    rc = glob(pattern, 0, NULL, &g);
    e = errno;
    if (rc == GLOB_NOMATCH) {
        rc = 0;
    } else if (rc != 0 && e != 0) {
        rc = conf_parse_error(ctx, src, "glob() \"%s\" failed (%d: %s)", pattern, e, strerror(e));
    } else if (rc != 0) {
        rc = conf_parse_error(ctx, src, "glob() \"%s\" failed", pattern);
    } else {
        for (i = 0; i < g.gl_pathc && rc == 0; i++)
            rc = conf_parse_path(ctx, src, g.gl_pathv[i], out);
    }
    globfree(&g);
    return rc;
}

/* ngx_conf_include, with ngx_conf_handler's checks for a TAKE1 directive. */
static int conf_parse_include(struct conf_parse_ctx *ctx, const struct conf_parse_src *src,
                              struct conf_parse_out *out, bool block)
{
    char *pattern;
    int rc;

    if (block)
        return conf_parse_error(ctx, src, "directive \"include\" is not terminated by \";\"");
    if (src->lex.nwords != 2)
        return conf_parse_error(ctx, src, "invalid number of arguments in \"include\" directive");
    pattern = conf_parse_full_name(ctx, conf_lex_text(&src->lex, 1));
    if (pattern == NULL)
        return conf_parse_nomem(ctx);
    if (strpbrk(pattern, "*?[") == NULL)
        rc = conf_parse_path(ctx, src, pattern, out);
    else
        rc = conf_parse_glob(ctx, src, pattern, out);
    free(pattern);
    return rc;
}

/* nginx matches directive names by text, so a quoted "include" counts too. */
static bool conf_parse_is_include(const struct conf_lex *lx)
{
    return lx->words[0].len == 7 && memcmp(conf_lex_text(lx, 0), "include", 7) == 0;
}

static int conf_parse_block(struct conf_parse_ctx *ctx, struct conf_parse_src *src,
                            struct conf_node *node)
{
    struct conf_parse_out inner = {&node->child};
    int rc;

    if (ctx->blocks >= CONF_PARSE_MAX_BLOCKS)
        return conf_parse_error(ctx, src, "too deep nesting of blocks, the limit is %d",
                                CONF_PARSE_MAX_BLOCKS);
    ctx->blocks++;
    rc = conf_parse_items(ctx, src, &inner, true);
    ctx->blocks--;
    return rc;
}

static int conf_parse_directive(struct conf_parse_ctx *ctx, struct conf_parse_src *src,
                                struct conf_parse_out *out, bool block)
{
    struct conf_node *node;

    assert(src->lex.nwords > 0); /* the lexer reports a bare ";" or "{" */
    if (block && src->lex.param)
        return conf_parse_error(ctx, src, "block directives are not supported in -g option");
    if (conf_parse_is_include(&src->lex))
        return conf_parse_include(ctx, src, out, block);
    node = conf_parse_node(ctx, src, block);
    if (node == NULL)
        return conf_parse_nomem(ctx);
    *out->link = node;
    out->link = &node->next;
    return block ? conf_parse_block(ctx, src, node) : 0;
}

/* Reads directives until the end of the input (at file level) or the "}"
 * that closes the block (inside one). */
static int conf_parse_items(struct conf_parse_ctx *ctx, struct conf_parse_src *src,
                            struct conf_parse_out *out, bool in_block)
{
    int rc;

    for (;;) {
        rc = conf_lex_next(&src->lex);
        switch (rc) {
        case CONF_LEX_ERROR:
            return conf_parse_error(ctx, src, "%s", src->lex.msg);
        case CONF_LEX_BLOCK_DONE:
            return in_block ? 0 : conf_parse_error(ctx, src, "unexpected \"}\"");
        case CONF_LEX_FILE_DONE:
            if (in_block)
                return conf_parse_error(ctx, src, "unexpected end of file, expecting \"}\"");
            return 0;
        default:
            if (conf_parse_directive(ctx, src, out, rc == CONF_LEX_BLOCK_START) != 0)
                return -1;
        }
    }
}

/* Sets up a parse call that appends to the tree's top level. */
static int conf_parse_begin(struct conf_parse_ctx *ctx, struct conf_parse_out *out,
                            struct conf_tree *tree, const char *include_prefix, char *err,
                            size_t errlen)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->tree = tree;
    ctx->prefix = include_prefix;
    ctx->err = err;
    ctx->errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (tree->priv == NULL)
        tree->priv = calloc(1, sizeof(struct conf_parse_priv));
    if (tree->priv == NULL)
        return conf_parse_nomem(ctx);
    ctx->priv = tree->priv;
    out->link = &tree->root;
    while (*out->link != NULL)
        out->link = &(*out->link)->next;
    return 0;
}

int conf_parse_file(struct conf_tree *tree, const char *path, const char *include_prefix, char *err,
                    size_t errlen)
{
    struct conf_parse_ctx ctx;
    struct conf_parse_out out;

    if (conf_parse_begin(&ctx, &out, tree, include_prefix, err, errlen) != 0)
        return -1;
    return conf_parse_path(&ctx, NULL, path, &out);
}

int conf_parse_string(struct conf_tree *tree, const char *text, const char *include_prefix,
                      char *err, size_t errlen)
{
    struct conf_parse_ctx ctx;
    struct conf_parse_out out;
    struct conf_parse_src src;
    int rc;

    if (conf_parse_begin(&ctx, &out, tree, include_prefix, err, errlen) != 0)
        return -1;
    memset(&src, 0, sizeof(src));
    /* nginx counts -g lines from 0; no message ever shows them. */
    conf_lex_init(&src.lex, text, strlen(text), 0, true);
    rc = conf_parse_items(&ctx, &src, &out, false);
    conf_lex_free(&src.lex);
    return rc;
}

void conf_tree_free(struct conf_tree *tree)
{
    struct conf_parse_priv *priv = tree->priv;
    struct conf_parse_chunk *c, *next;

    if (priv != NULL) {
        for (c = priv->chunks; c != NULL; c = next) {
            next = c->next;
            free(c);
        }
        free(priv);
    }
    memset(tree, 0, sizeof(*tree));
}

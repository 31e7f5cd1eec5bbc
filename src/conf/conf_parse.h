/* conf_parse.h - nginx's configuration grammar, read into a tree of directives.
 *
 * The parser knows only the grammar (words, quotes, escapes, ";", "{ }", "#",
 * "include").  What a directive means is conf.c's business. */
#ifndef TP_CONF_PARSE_H
#define TP_CONF_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* One word of a directive, escapes already resolved. */
struct conf_arg {
    char *s;     /* NUL-terminated text (may also contain NUL: use len) */
    size_t len;  /* length in bytes */
    bool quoted; /* it was written in single or double quotes */
};

/* One directive: `name arg... ;` or `name arg... { children }`. */
struct conf_node {
    struct conf_arg *args;   /* args[0] is the directive name */
    size_t nargs;            /* number of words, name included */
    const char *file;        /* file it came from (owned by the tree) */
    int line;                /* line of its terminating ";" or "{" */
    bool block;              /* it opened a block with "{" */
    struct conf_node *child; /* first directive inside the block */
    struct conf_node *next;  /* next sibling */
};

/* A file read while parsing, kept for `-T`. */
struct conf_file {
    char *path;             /* full path as opened */
    char *text;             /* whole contents */
    size_t len;             /* length of text */
    struct conf_file *next; /* next file in reading order */
};

/* Everything one parse produced; owns every node, string and file. */
struct conf_tree {
    struct conf_node *root;  /* first top-level directive */
    struct conf_file *files; /* files in the order they were read */
    void *priv;              /* parser-private storage */
};

/* Parse `path` (a full path) into `tree`, which must be zeroed.  Relative
 * `include` patterns resolve against `include_prefix` (nginx's conf prefix:
 * the directory of the main file, with a trailing "/").  On error returns -1
 * and writes "<message> in <file>:<line>" to err.  The tree must be freed
 * with conf_tree_free() in either case. */
int conf_parse_file(struct conf_tree *tree, const char *path, const char *include_prefix, char *err,
                    size_t errlen);

/* Parse directives given as a string (the -g option).  They are appended
 * after any top-level directives already in `tree`.  Errors read
 * "<message> in command line". */
int conf_parse_string(struct conf_tree *tree, const char *text, const char *include_prefix,
                      char *err, size_t errlen);

void conf_tree_free(struct conf_tree *tree);

#endif

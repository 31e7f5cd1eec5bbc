/* conf_table.h - directive tables, the loader's state, and the checks that
 * directive setters share.
 *
 * Each module has a table of directives (conf/module.h).  An entry says
 * where a directive may appear, how many arguments it takes, and either a
 * generic type (with the field it sets and its default, merged by the
 * generic code) or a custom setter.  The man page's directive list is
 * checked against these tables. */
#ifndef TP_CONF_TABLE_H
#define TP_CONF_TABLE_H

#include <stdarg.h>
#include <stddef.h>

#include "conf/conf.h"
#include "conf/conf_parse.h"
#include "conf/module.h"
#include "core/str.h"

/* Contexts. */
#define CTX_MAIN (1u << 0)
#define CTX_EVENTS (1u << 1)
#define CTX_HTTP (1u << 2)
#define CTX_SRV (1u << 3)
#define CTX_LOC (1u << 4)
#define CTX_UPSTREAM (1u << 5) /* inside an http upstream block */
#define CTX_STREAM (1u << 6)     /* the stream block */
#define CTX_STREAM_SRV (1u << 7) /* a server block of stream */
#define CTX_STREAM_UPS (1u << 8) /* an upstream block of stream */
#define CTX_ANY (~0u)          /* include: wherever directives may be */

/* Argument counts (not counting the name): bit n allows n arguments. */
#define ARGS(n) (1u << (n))
#define ARGS_1MORE (0xfeu)  /* 1..7 */
#define ARGS_ANY (0xffu)    /* 0..7 */
#define ARGS_MANY (1u << 8) /* no upper limit */
#define ARGS_BLOCK (1u << 9)

enum conf_type {
    CT_CUSTOM, /* the entry's set function does all the work */
    CT_FLAG,   /* on | off          -> int */
    CT_NUM,    /* non-negative int  -> long (post: struct conf_range) */
    CT_SIZE,   /* 16k, 1m           -> long bytes */
    CT_MSEC,   /* 60s, 1m30s, 500ms -> long ms */
    CT_STR,    /* any word          -> char * */
    CT_ENUM,   /* one of a list     -> long (post: struct conf_enum[]) */
    CT_PARSER, /* handled by the grammar itself (include) */
};

enum conf_scope {
    CS_MAIN, /* struct conf */
    CS_PART, /* the module's part of the current level */
};

/* CT_NUM's bounds. */
struct conf_range {
    long min; /* smallest value accepted */
    long max; /* largest */
};

/* CT_ENUM's words, ended by a NULL name. */
struct conf_enum {
    const char *name; /* word as written */
    long value;       /* what it sets */
};

struct conf_loader;
struct conf_cmd;

typedef int (*conf_set_cb)(struct conf_loader *cl, const struct conf_node *n,
                           const struct conf_cmd *cmd);

/* One directive. */
struct conf_cmd {
    const char *name;      /* directive name */
    unsigned ctx;          /* CTX_* where it is allowed */
    unsigned args;         /* ARGS* it accepts; ARGS_BLOCK for blocks */
    enum conf_type type;   /* generic type, or CT_CUSTOM */
    enum conf_scope scope; /* which struct `offset` is in */
    size_t offset;         /* field for generic types */
    const char *dflt;      /* default as config text, or NULL */
    conf_set_cb set;       /* setter; for a generic type it overrides parsing
                              but merging and defaults stay generic */
    const void *post;      /* CT_NUM range or CT_ENUM words, or NULL */
};

/* Finds the current level's part of module m (set by the block that
 * opened the context). */
typedef void *(*conf_part_cb)(struct conf_loader *cl, const struct module *m);

/* Loader state while walking the tree. */
struct conf_loader {
    struct conf *conf;          /* being built */
    struct mpool *pool;         /* conf->pool */
    unsigned ctx;               /* current context */
    void *level;                /* the context's own state (http: struct http_level) */
    conf_part_cb part;          /* finds a module's part of the current level */
    const struct module *mod;   /* module of the directive being set */
    char *err;                  /* where errors go */
    size_t errlen;              /* its size */
    const char *last_file_src;  /* conf_file_name's one-entry cache: tree name */
    const char *last_file_copy; /* ... and its copy in the pool */
};

/* A node's file name copied into the configuration's pool. */
const char *conf_file_name(struct conf_loader *cl, const struct conf_node *n);

/* Formats "<message> in <file>:<line>" for node n; returns -1. */
int conf_err(struct conf_loader *cl, const struct conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The checks every setter makes, in nginx's words; each returns -1. */
int conf_err_dup(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd);
int conf_err_value(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd,
                   size_t arg);
int conf_err_param(struct conf_loader *cl, const struct conf_node *n, const char *param);
int conf_err_nomem(struct conf_loader *cl, const struct conf_node *n);

/* Logs "[warn] <message> in <file>:<line>" (nginx's configuration
 * warnings: on the terminal at startup and -t, in the log on reload). */
void conf_warn(const struct conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs every directive of a block's children in context ctx. */
int conf_block(struct conf_loader *cl, const struct conf_node *first, unsigned ctx);

/* Generic value parsers (also used by custom setters); -1 if invalid. */
int conf_parse_flag(const char *s, int *out);
int conf_parse_num(const char *s, long *out);
int conf_parse_size(const char *s, long *out);
int conf_parse_msec(const char *s, long *out);
/* A time in seconds (expires, so_keepalive): nginx's syntax without "ms". */
int conf_parse_sec(const char *s, long *out);
/* "name=value" with a number in [min, max]: 1 if `a` is that parameter
 * and valid, 0 if it is another parameter, -1 if it is invalid. */
int conf_param_num(const char *a, const char *name, long min, long max, long *out);

/* The directive's arguments as a list of words (index, gzip_types). */
int conf_words(struct conf_loader *cl, const struct conf_node *n, struct str **out, size_t *count);

/* Appends a zeroed element to an arena array, doubling its capacity at
 * powers of two (the arena cannot realloc, so the old copy is left). */
void *conf_push(struct mpool *p, void *arrp, size_t *n, size_t size);

/* Hands a compiled regex to the configuration, which frees it. */
int conf_regex_keep(struct conf_loader *cl, struct pcre2_real_code_8 *code);

/* The generic fields of module m's part: unset, inherited, defaulted. */
void conf_part_unset(const struct module *m, void *part);
void conf_part_inherit(const struct module *m, const void *parent, void *child);
int conf_part_defaults(struct conf_loader *cl, const struct module *m, void *part);

/* Reads `error_log file|stderr|syslog:... [level]` (n's arguments) into
 * s, for the main level and the http ones. */
int conf_log_sink(struct conf_loader *cl, const struct conf_node *n, struct log_sink *s);

/* Main-context setters of the core module (conf_main.c). */
extern struct module mod_core;
extern struct module mod_events;
extern struct module mod_compat; /* conf_compat.c: load_module, accept tuning */

#endif

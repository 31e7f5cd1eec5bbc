/* conf_table.h - the one table of directives that drives the loader.
 *
 * Each entry says where a directive may appear, how many arguments it takes,
 * and either a generic type (with the field it sets and its default, merged
 * by the loader) or a custom setter.  The man page's directive list is
 * checked against this table. */
#ifndef TP_CONF_TABLE_H
#define TP_CONF_TABLE_H

#include <stdarg.h>
#include <stddef.h>

#include "conf/conf.h"
#include "conf/conf_parse.h"

/* Contexts. */
#define CTX_MAIN (1u << 0)
#define CTX_EVENTS (1u << 1)
#define CTX_HTTP (1u << 2)
#define CTX_SRV (1u << 3)
#define CTX_LOC (1u << 4)
#define CTX_ANY (CTX_MAIN | CTX_EVENTS | CTX_HTTP | CTX_SRV | CTX_LOC)

/* Argument counts (not counting the name): bit n allows n arguments. */
#define ARGS(n) (1u << (n))
#define ARGS_1MORE (0xfeu)  /* 1..7 */
#define ARGS_ANY (0xffu)    /* 0..7 */
#define ARGS_MANY (1u << 8) /* no upper limit */
#define ARGS_BLOCK (1u << 9)

enum conf_type {
    CT_CUSTOM, /* the entry's set function does all the work */
    CT_FLAG,   /* on | off          -> int */
    CT_NUM,    /* non-negative int  -> long */
    CT_SIZE,   /* 16k, 1m           -> long bytes */
    CT_MSEC,   /* 60s, 1m30s, 500ms -> long ms */
    CT_STR,    /* any word          -> char * */
    CT_PARSER, /* handled by the grammar itself (include) */
};

enum conf_scope {
    CS_MAIN, /* struct conf */
    CS_LOC,  /* struct loc_conf of the current level */
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
};

/* Loader state while walking the tree. */
struct conf_loader {
    struct conf *conf;          /* being built */
    struct mpool *pool;         /* conf->pool */
    unsigned ctx;               /* current context */
    struct srv_conf *srv;       /* current server block, or NULL */
    struct loc_conf *loc;       /* current level's settings */
    char *err;                  /* where errors go */
    size_t errlen;              /* its size */
    const char *last_file_src;  /* conf_file_name's one-entry cache: tree name */
    const char *last_file_copy; /* ... and its copy in the pool */
};

extern const struct conf_cmd conf_cmds[];
extern const size_t conf_ncmds;

const struct conf_cmd *conf_cmd_find(const char *name);

/* A node's file name copied into the configuration's pool. */
const char *conf_file_name(struct conf_loader *cl, const struct conf_node *n);

/* Formats "<message> in <file>:<line>" for node n; returns -1. */
int conf_err(struct conf_loader *cl, const struct conf_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs every directive of a block's children in context ctx. */
int conf_block(struct conf_loader *cl, const struct conf_node *first, unsigned ctx);

/* Generic value parsers (also used by custom setters); -1 if invalid. */
int conf_parse_flag(const char *s, int *out);
int conf_parse_num(const char *s, long *out);
int conf_parse_size(const char *s, long *out);
int conf_parse_msec(const char *s, long *out);

/* Appends a zeroed element to an arena array, doubling its capacity at
 * powers of two (the arena cannot realloc, so the old copy is left). */
void *conf_push(struct mpool *p, void *arrp, size_t *n, size_t size);

/* Hands a compiled regex to the configuration, which frees it. */
int conf_regex_keep(struct conf_loader *cl, struct pcre2_real_code_8 *code);

/* Fresh settings with every inherited field unset. */
struct loc_conf *conf_loc_new(struct conf_loader *cl);
/* Fills child's unset fields from parent. */
void conf_loc_merge(const struct loc_conf *parent, struct loc_conf *child);
/* Fills unset fields with the table's defaults (http level). */
int conf_loc_defaults(struct conf_loader *cl, struct loc_conf *loc);

/* Setters living in conf_main.c and conf_http.c. */
int conf_set_user(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_worker_processes(struct conf_loader *, const struct conf_node *,
                              const struct conf_cmd *);
int conf_set_cpu_affinity(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_error_log(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_thread_pool(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_events(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_path(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_http(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_server(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_location(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_listen(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_server_name(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_return(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_large_header_buffers(struct conf_loader *, const struct conf_node *,
                                  const struct conf_cmd *);
int conf_set_keepalive_timeout(struct conf_loader *, const struct conf_node *,
                               const struct conf_cmd *);

int conf_set_root(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_alias(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_index(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_try_files(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_error_page(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_add_header(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_types(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_autoindex_format(struct conf_loader *, const struct conf_node *,
                              const struct conf_cmd *);
int conf_set_if_modified_since(struct conf_loader *, const struct conf_node *,
                               const struct conf_cmd *);
int conf_set_open_file_cache(struct conf_loader *, const struct conf_node *,
                             const struct conf_cmd *);
int conf_set_gzip_types(struct conf_loader *, const struct conf_node *, const struct conf_cmd *);
int conf_set_gzip_comp_level(struct conf_loader *, const struct conf_node *,
                             const struct conf_cmd *);

/* Post-parse checks and derived data (conf_main.c, conf_http.c). */
int conf_main_finish(struct conf_loader *cl);
int conf_http_finish(struct conf_loader *cl);

#endif

/* conf.h - one configuration generation: immutable and fully merged.
 *
 * conf_load() reads the files, runs every directive through the table in
 * conf_table.c, merges http -> server -> location once, and returns the
 * result.  Request handling only ever reads it. */
#ifndef TP_CONF_H
#define TP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/log.h"
#include "core/mpool.h"
#include "core/sockaddr.h"
#include "http/vars.h"

struct listener;
struct conf_tree;
struct alog_set;
struct alog_fmt;
struct alog_file;

/* Where relative paths resolve, as nginx decides them. */
struct conf_paths {
    const char *prefix;      /* -p, with a trailing "/" */
    const char *conf_file;   /* full path of the main file */
    const char *conf_prefix; /* its directory, with a trailing "/" (for include) */
    const char *error_log;   /* -e or the built-in default; "stderr" allowed */
    const char *directives;  /* -g text, or NULL */
};

/* `return code [text|URL]` */
struct ret_conf {
    int code;         /* status; 444 closes without a response */
    struct cval text; /* body, or Location for redirects; may be empty */
    bool has_text;    /* a text or URL was given */
};

enum loc_match {
    LM_PREFIX,         /* location /path */
    LM_EXACT,          /* location = /path */
    LM_PREFIX_NOREGEX, /* location ^~ /path */
    LM_REGEX,          /* location ~ re  and  ~* re */
    LM_NAMED,          /* location @name: only for internal redirects */
};

/* `error_page code ... [=[response]] uri` */
struct error_page {
    int code;        /* status it applies to */
    int overwrite;   /* -1: keep code; 0: "=" (the target decides); else =N */
    struct cval uri; /* where to go: a URI, a @name, or an http(s) URL */
};

/* `add_header name value [always]` */
struct add_header {
    struct str name;   /* header name */
    struct cval value; /* value; an empty result adds nothing */
    bool always;       /* also for error statuses */
};

/* One file extension and its type, from types { }. */
struct mime_type {
    char *ext;  /* lower-case extension without the dot */
    char *type; /* e.g. "text/html" */
};

/* `try_files file ... uri|=code` */
struct try_files {
    struct cval *files; /* candidates (a trailing "/" tests a directory) */
    size_t nfiles;      /* how many */
    struct cval last;   /* fallback URI, or empty when code is set */
    int code;           /* =code fallback, or 0 */
};

/* Settings that location, server and http levels share (nginx's loc conf).
 * Numbers are -1 until set, and merged from the level above. */
struct loc_conf {
    /* the location's own identity */
    enum loc_match match;            /* how `name` matches */
    char *name;                      /* path, regex source or @name */
    size_t name_len;                 /* its length */
    struct pcre2_real_code_8 *regex; /* compiled ~ / ~* pattern */
    struct loc_conf **children;      /* nested locations, in config order */
    size_t nchildren;                /* number of nested locations */
    const char *file;                /* where it was defined */
    int line;                        /* line of its "{" */
    /* directives that apply at this level only (not inherited) */
    struct ret_conf *ret;        /* `return`, or NULL */
    struct try_files *try_files; /* `try_files`, or NULL */
    /* inherited as a whole: a level with none takes its parent's */
    struct alog_set *access_logs;   /* access_log directives, or NULL */
    struct error_page *error_pages; /* error_page entries */
    size_t nerror_pages;            /* how many; 0 = inherit */
    struct add_header *add_headers; /* add_header entries */
    size_t nadd_headers;            /* how many; 0 = inherit */
    struct mime_type *types;        /* types { } map, sorted by ext */
    size_t ntypes;                  /* how many; 0 = inherit */
    bool types_set;                 /* a types block was given (even empty) */
    struct str *index;              /* index file names */
    size_t nindex;                  /* how many; 0 = inherit */
    struct str *gzip_types;         /* gzip_types (text/html is implied) */
    size_t ngzip_types;             /* how many; 0 = inherit */
    bool gzip_types_any;            /* gzip_types * */
    /* inherited field by field */
    struct cval *root;              /* root or alias path, NULL until set */
    int alias;                      /* root is an alias (-1 unset) */
    char *default_type;             /* default_type */
    long keepalive_timeout;         /* ms */
    long keepalive_header;          /* seconds for "Keep-Alive: timeout=", -1 = none */
    long keepalive_requests;        /* requests per connection */
    long send_timeout;              /* ms */
    long client_header_timeout;     /* ms (server level in nginx) */
    long client_body_timeout;       /* ms */
    long client_max_body_size;      /* bytes; 0 = no limit */
    long client_header_buffer_size; /* first read buffer for a request head */
    long large_header_buffers;      /* large_client_header_buffers number */
    long large_header_buffer_size;  /* ... size: longest request line or header */
    int server_tokens;              /* flag */
    int absolute_redirect;          /* flag */
    int port_in_redirect;           /* flag */
    int autoindex;                  /* flag */
    long autoindex_format;          /* 0 html, 1 json */
    int disable_symlinks;           /* flag */
    int sendfile;                   /* flag */
    int tcp_nopush;                 /* flag */
    int tcp_nodelay;                /* flag */
    int etag;                       /* flag */
    long if_modified_since;         /* enum cond_ims */
    long max_ranges;                /* -1 = unlimited */
    long open_file_cache_max;       /* entries; 0 = off */
    long open_file_cache_inactive;  /* ms */
    long open_file_cache_valid;     /* ms */
    int open_file_cache_errors;     /* flag: cache lookup errors too */
    int gzip;                       /* flag */
    int gzip_static;                /* flag */
    int gzip_vary;                  /* flag */
    long gzip_comp_level;           /* 1..9 */
    long gzip_min_length;           /* bytes */
};

/* A server_name entry. */
enum name_kind {
    NK_EXACT,     /* example.com */
    NK_WILD_HEAD, /* *.example.com or .example.com */
    NK_WILD_TAIL, /* www.example.* */
    NK_REGEX,     /* ~^www\.(.+)$ */
};

struct server_name {
    enum name_kind kind;             /* how to match */
    char *name;                      /* lower-cased; for wildcards, the fixed part */
    size_t len;                      /* length of name */
    bool dot_also_bare;              /* ".example.com" also matches "example.com" */
    struct pcre2_real_code_8 *regex; /* NK_REGEX: the compiled pattern */
    char *text;                      /* as written, for $server_name */
};

/* One `listen` directive. */
struct listen_conf {
    union sockaddr_any addr; /* address and port */
    char text[64];           /* "127.0.0.1:8080" */
    bool default_server;     /* default_server given */
    int backlog;             /* backlog=, or -1 */
    const char *file;        /* where written */
    int line;                /* its line */
};

/* A `server { }` block. */
struct srv_conf {
    struct listen_conf *listens; /* its listen directives */
    size_t nlistens;             /* how many */
    struct server_name *names;   /* server_name entries */
    size_t nnames;               /* how many */
    struct loc_conf *loc;        /* server-level settings, parent of its locations */
    struct loc_conf **locs;      /* top-level locations, in config order */
    size_t nlocs;                /* how many */
    struct loc_conf **named;     /* @name locations */
    size_t nnamed;               /* how many */
    const char *file;            /* where the block starts */
    int line;                    /* its line */
};

/* One listen address and the servers that share it. */
struct conf_addr {
    union sockaddr_any addr;      /* address (wildcard or specific) */
    struct srv_conf *default_srv; /* default_server, else the first */
    struct srv_conf **servers;    /* every server listening here */
    size_t nservers;              /* how many */
    int backlog;                  /* backlog= given for this address, or -1 */
    bool explicit_default;        /* a listen here said default_server */
};

/* One socket to bind: a port's wildcard, which also serves the specific
 * addresses of that port, or a specific address alone. */
struct conf_port {
    union sockaddr_any addr;   /* what to bind */
    char text[64];             /* "*:8080" */
    int backlog;               /* listen() backlog */
    struct conf_addr *addrs;   /* addresses served by this socket; [0] is addr itself */
    size_t naddrs;             /* more than 1 only when specific ones fold in */
    struct listener *listener; /* the master's bound sockets, set by listen_sync */
};

/* `http { }` */
struct http_conf {
    struct srv_conf **servers;    /* in config order */
    size_t nservers;              /* how many */
    struct loc_conf *loc;         /* http-level settings, parent of servers */
    struct conf_port *ports;      /* sockets to bind */
    size_t nports;                /* how many */
    struct alog_fmt *log_formats; /* log_format definitions (alog.c's list) */
};

/* The whole configuration of one generation. */
struct conf {
    struct mpool pool;                         /* owns every byte below */
    struct conf_paths paths;                   /* copies of the paths used to load it */
    char *user;                                /* worker user name */
    char *group;                               /* worker group name */
    uid_t uid;                                 /* resolved user */
    gid_t gid;                                 /* resolved group */
    long worker_processes;                     /* -1 = auto */
    unsigned nworkers;                         /* resolved worker count */
    int cpu_affinity_auto;                     /* worker_cpu_affinity auto */
    unsigned long *cpu_masks;                  /* explicit masks, one per worker, or NULL */
    size_t ncpu_masks;                         /* number of masks */
    long worker_rlimit_nofile;                 /* -1 = leave alone */
    long worker_shutdown_timeout;              /* ms; 0 = wait for connections forever */
    char *pid;                                 /* pid file path */
    struct log_sink error_logs[LOG_MAX_SINKS]; /* error_log sinks */
    unsigned nerror_logs;                      /* how many */
    int daemon;                                /* flag */
    int master_process;                        /* flag */
    long thread_pool_threads;                  /* threads per worker */
    long thread_pool_max_queue;                /* queued jobs per worker */
    long worker_connections;                   /* per worker */
    int events_seen;                           /* an events block was given */
    struct http_conf *http;                    /* NULL when there is no http block */
    struct conf_tree *files;                   /* parsed files, kept only for -T */
    struct alog_file *alog_files;              /* every access log file (alog.c's list) */
    long open_file_cache_max;                  /* largest open_file_cache max= anywhere */
    struct pcre2_real_code_8 **regexes;        /* compiled regexes, freed with the conf */
    size_t nregexes;                           /* how many */
};

/* Reads and checks the configuration.  On error returns NULL and writes
 * "<message> in <file>:<line>" to err.  keep_files keeps the text of every
 * file read, for conf_dump(). */
struct conf *conf_load(const struct conf_paths *paths, bool keep_files, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Prints every file read, like `nginx -T`. */
void conf_dump(const struct conf *c, FILE *out);

/* Resolves `path` against `prefix` into the conf's pool. */
char *conf_full_path(struct mpool *p, const char *prefix, const char *path);

#endif

/* core_conf.h - the http context's configuration: http, server and
 * location levels, the listen addresses, and the http core module's own
 * settings (nginx's ngx_http_core_module).
 *
 * Every level is a struct loc_conf.  The core module's settings are its
 * fields; every other http module keeps its part of the level in
 * parts[module->index] (loc_part), created, merged and defaulted by the
 * generic code from the module's descriptor. */
#ifndef TP_HTTP_CORE_CONF_H
#define TP_HTTP_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "conf/module.h"
#include "core/sockaddr.h"
#include "http/vars.h"

struct conf_arg;
struct conf_loader;
struct conf_node;
struct req;

extern struct module mod_http_core;

/* A content handler: answers the request of a location (proxy_pass sets
 * one; without, files are served). */
typedef void (*http_content_cb)(struct req *r);

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

/* One level (http, server or location).  Numbers are -1 until set, and
 * merged from the level above. */
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
    void **parts;                    /* every http module's part, by module index */
    /* not inherited */
    struct try_files *try_files; /* `try_files`, or NULL */
    bool internal;               /* `internal`: only for internal redirects */
    http_content_cb content;     /* the location's own content handler, or NULL */
    /* inherited as a whole: a level with none takes its parent's */
    struct error_page *error_pages; /* error_page entries */
    size_t nerror_pages;            /* how many; 0 = inherit */
    struct add_header *add_headers; /* add_header entries */
    size_t nadd_headers;            /* how many; 0 = inherit */
    struct mime_type *types;        /* types { } map, sorted by ext */
    size_t ntypes;                  /* how many; 0 = inherit */
    bool types_set;                 /* a types block was given (even empty) */
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
    long client_body_buffer_size;   /* bytes of a body kept in memory */
    char *client_body_temp_path;    /* where larger bodies are written */
    long client_header_buffer_size; /* first read buffer for a request head */
    long large_header_buffers;      /* large_client_header_buffers number */
    long large_header_buffer_size;  /* ... size: longest request line or header */
    long server_tokens;             /* 0 off, 1 on, 2 build */
    int absolute_redirect;          /* flag */
    int port_in_redirect;           /* flag */
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
};

/* A module's part of a level. */
static inline void *loc_part(const struct loc_conf *loc, const struct module *m)
{
    return loc->parts[m->index];
}

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
    union sockaddr_any addr; /* address and port (AF_UNIX only for a unix socket) */
    char *path;              /* a unix socket's path, or NULL */
    char text[128];          /* "127.0.0.1:8080", "unix:/run/x.sock" */
    bool default_server;     /* default_server given */
    bool ssl;                /* ssl given: TLS on this address */
    bool proxy_protocol;     /* proxy_protocol given: a PROXY header comes first */
    int backlog;             /* backlog=, or -1 */
    struct listen_opts opts; /* ipv6only=, deferred, so_keepalive=, fastopen= */
    bool opts_set;           /* one of those was given */
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
    const char *path;             /* a unix socket's path, or NULL */
    struct listen_opts opts;      /* socket options, from the listen that gave them */
    bool opts_set;                /* a listen here gave them */
    struct srv_conf *default_srv; /* default_server, else the first */
    struct srv_conf **servers;    /* every server listening here */
    size_t nservers;              /* how many */
    int backlog;                  /* backlog= given for this address, or -1 */
    bool explicit_default;        /* a listen here said default_server */
    bool ssl;                     /* a listen here said ssl: TLS for every server here */
    bool proxy_protocol;          /* a listen here said proxy_protocol */
};

/* One socket to bind: a port's wildcard, which also serves the specific
 * addresses of that port, or a specific address alone. */
struct conf_port {
    union sockaddr_any addr; /* what to bind */
    const char *path;        /* a unix socket's path, or NULL */
    char text[128];          /* "*:8080", "unix:/run/x.sock" */
    struct listen_opts opts; /* socket options */
    bool opts_set;           /* a listen of one of its addresses gave them */
    const char *scheme;      /* "http" or "https": $scheme and absolute redirects */
    unsigned default_port;   /* the scheme's port, left out of redirects */
    bool ssl;                /* TLS (its addresses all agree) */
    bool proxy_protocol;     /* a PROXY header first (its addresses all agree) */
    int backlog;             /* listen() backlog */
    struct conf_addr *addrs; /* addresses served by this socket; [0] is addr itself */
    size_t naddrs;           /* more than 1 only when specific ones fold in */
};

/* `http { }`: the http core module's main-level data. */
struct http_conf {
    struct srv_conf **servers; /* in config order */
    size_t nservers;           /* how many */
    struct loc_conf *loc;      /* http-level settings, parent of servers */
    struct conf_port *ports;   /* sockets to bind */
    size_t nports;             /* how many */
    long open_file_cache_max;  /* largest open_file_cache max= anywhere */
    char **temp_paths;         /* every client_body_temp_path, once each */
    size_t ntemp_paths;        /* how many */
};

/* The http block of a configuration, or NULL. */
static inline struct http_conf *http_main(const struct conf *c)
{
    return conf_mod(c, &mod_http_core);
}

/* Where the loader is inside the http block. */
struct http_level {
    struct srv_conf *srv; /* current server block, or NULL */
    struct loc_conf *loc; /* current level's settings */
};

/* The level a directive of the http context is read at. */
struct http_level *http_level(struct conf_loader *cl);

/* Fresh settings with every inherited field unset, every module's part
 * included; NULL when out of memory. */
struct loc_conf *conf_loc_new(struct conf_loader *cl);
/* Fills child's unset fields from parent, for every module. */
void conf_loc_merge(const struct loc_conf *parent, struct loc_conf *child);
/* Fills unset fields with the defaults (http level), for every module. */
int conf_loc_defaults(struct conf_loader *cl, struct loc_conf *loc);

/* Compiles a regex for a location, a server name or a module; nginx's
 * error text; the configuration frees it. */
int conf_regex(struct conf_loader *cl, const struct conf_node *n, const char *re, bool caseless,
               struct pcre2_real_code_8 **out);

/* Compiles a value with variables, reporting an unknown one at n. */
int conf_cval(struct conf_loader *cl, const struct conf_node *n, const struct conf_arg *a,
              struct cval *out);

/* The binding and routing derived from every server (conf_ports.c). */
int conf_ports_finish(struct conf_loader *cl);

#endif

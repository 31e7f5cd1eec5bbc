/* conf.h - one configuration generation: immutable and fully merged.
 *
 * conf_load() reads the files, runs every directive through its module's
 * table, lets each module merge and check its part once, and returns the
 * result.  Request handling only ever reads it. */
#ifndef TP_CONF_H
#define TP_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "core/log.h"
#include "core/mpool.h"
#include "core/sockaddr.h"

struct listener;
struct conf_tree;
struct module;
struct reactor;

/* Where relative paths resolve, as nginx decides them. */
struct conf_paths {
    const char *prefix;      /* -p, with a trailing "/" */
    const char *conf_file;   /* full path of the main file */
    const char *conf_prefix; /* its directory, with a trailing "/" (for include) */
    const char *error_log;   /* -e or the built-in default; "stderr" allowed */
    const char *directives;  /* -g text, or NULL */
};

/* Called by a worker for each connection accepted on a listen address:
 * the protocol module that configured the address takes it over. */
typedef void (*conf_accept_cb)(struct reactor *rx, int fd, const union sockaddr_any *peer,
                               const void *data);

/* The socket options of a listen address (nginx's listen parameters). */
struct listen_opts {
    int ipv6only;  /* IPV6_V6ONLY of an IPv6 socket: 1 (nginx's default) or 0 */
    bool deferred; /* TCP_DEFER_ACCEPT: wake the worker only once data came */
    int keepalive; /* SO_KEEPALIVE: -1 the system's, 0 off, 1 on */
    int keepidle;  /* TCP_KEEPIDLE seconds, 0 the system's */
    int keepintvl; /* TCP_KEEPINTVL seconds, 0 the system's */
    int keepcnt;   /* TCP_KEEPCNT, 0 the system's */
    int fastopen;  /* TCP_FASTOPEN queue length, -1 off */
};

/* nginx's defaults: IPv6 sockets take IPv6 only, the rest is the system's. */
static inline void listen_opts_init(struct listen_opts *o)
{
    *o = (struct listen_opts){.ipv6only = 1, .keepalive = -1, .fastopen = -1};
}

/* The same listen address: equal IP addresses and ports, or the same unix
 * path (sockaddr_equal never matches unix sockets). */
static inline bool listen_same(const union sockaddr_any *a, const char *apath,
                               const union sockaddr_any *b, const char *bpath)
{
    if (apath != NULL || bpath != NULL)
        return apath != NULL && bpath != NULL && strcmp(apath, bpath) == 0;
    return sockaddr_equal(a, b);
}

/* One socket address to bind, contributed by a protocol module. */
struct conf_listen {
    union sockaddr_any addr;   /* what to bind (only AF_UNIX for a unix socket) */
    const char *path;          /* a unix socket's path, else NULL */
    char text[128];            /* "*:8080" or "unix:/run/x.sock", for messages */
    int backlog;               /* listen() backlog */
    struct listen_opts opts;   /* socket options */
    conf_accept_cb accept;     /* who opens its connections */
    const void *data;          /* the protocol's own data for the address */
    struct listener *listener; /* the master's bound sockets, set by listen_sync */
};

/* Something a module made for a generation that the pool cannot free
 * (a TLS context, a shared memory zone). */
struct conf_cleanup {
    void (*fn)(void *data);    /* its destructor */
    void *data;                /* what it frees */
    struct conf_cleanup *next; /* the one registered before */
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
    struct conf_listen *listens;               /* every address to bind, of every protocol */
    size_t nlistens;                           /* how many */
    void **mods;                               /* modules' main-level data, by module index */
    struct conf_tree *files;                   /* parsed files, kept only for -T */
    struct pcre2_real_code_8 **regexes;        /* compiled regexes, freed with the conf */
    size_t nregexes;                           /* how many */
    struct conf_cleanup *cleanups;             /* run by conf_free, newest first */
};

/* Reads and checks the configuration.  On error returns NULL and writes
 * "<message> in <file>:<line>" to err.  keep_files keeps the text of every
 * file read, for conf_dump(). */
struct conf *conf_load(const struct conf_paths *paths, bool keep_files, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Prints every file read, like `nginx -T`. */
void conf_dump(const struct conf *c, FILE *out);

/* A module's main-level data (http's servers, say), or NULL. */
void *conf_mod(const struct conf *c, const struct module *m);
void conf_set_mod(struct conf *c, const struct module *m, void *data);

/* Adds an address to bind; NULL when out of memory. */
struct conf_listen *conf_listen_push(struct conf *c);

/* Has conf_free call fn(data); -1 (after calling it) when out of memory. */
int conf_cleanup_add(struct conf *c, void (*fn)(void *data), void *data);

/* Resolves `path` against `prefix` into the conf's pool. */
char *conf_full_path(struct mpool *p, const char *prefix, const char *path);

#endif

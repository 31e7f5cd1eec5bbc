/* ups.h - upstream groups as configured: immutable, part of a generation.
 *
 * An `upstream NAME { ... }` block, or the group nginx makes implicitly for
 * `proxy_pass http://host:port`, is a struct ups_group: its `server` lines
 * with their parameters and the addresses resolved at load time, the
 * balancing method and the keep-alive settings.  Nothing here changes
 * while the generation serves; what changes per request (weights, failure
 * counts, connection counts, idle connections) is each worker's, in
 * ups_peer.h and ups_pool.h.  This layer knows no protocol: http and,
 * later, stream configure groups through ups_conf.h. */
#ifndef TP_UPSTREAM_UPS_H
#define TP_UPSTREAM_UPS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct resolver_conf;

#define UPS_ADDR_TEXT 120 /* "unix:" and the longest unix path, or "[v6]:port" */

/* Where a backend listens: TCP over IPv4 or IPv6, or a unix socket. */
struct ups_addr {
    union {
        struct sockaddr sa;       /* family */
        struct sockaddr_in sin;   /* AF_INET */
        struct sockaddr_in6 sin6; /* AF_INET6 */
        struct sockaddr_un sun;   /* AF_UNIX */
    } u;                          /* the address */
    socklen_t len;                /* its length for connect() */
    char name[UPS_ADDR_TEXT];     /* "127.0.0.1:8080", "[::1]:80", "unix:/run/app.sock" */
};

/* How a group picks a server (nginx's balancer modules). */
enum ups_method {
    UPS_RR,         /* smooth weighted round-robin (the default) */
    UPS_LEAST_CONN, /* least_conn */
    UPS_IP_HASH,    /* ip_hash */
    UPS_HASH,       /* hash KEY */
    UPS_CHASH,      /* hash KEY consistent */
};

/* One `server` line of a group. */
struct ups_server {
    const char *name;       /* as written: "app:8080", "unix:/run/app.sock" */
    const char *host;       /* the host part, looked up at run time with resolve */
    unsigned port;          /* the port of every address */
    struct ups_addr *addrs; /* resolved at load (none for `resolve`) */
    size_t naddrs;          /* how many */
    long weight;            /* weight=, 1 */
    long max_fails;         /* max_fails=, 1; 0 never marks the server failed */
    long fail_timeout;      /* fail_timeout= in ms, 10 s */
    long max_conns;         /* max_conns=, 0 for no limit */
    bool backup;            /* used only when every primary server is unavailable */
    bool down;              /* never chosen */
    bool resolve;           /* the name is looked up again at run time */
    const char *file;       /* where the line is */
    int line;               /* its line */
};

/* An upstream group. */
struct ups_group {
    const char *name;                     /* the block's name, or the implicit host */
    struct ups_server *servers;           /* in config order */
    size_t nservers;                      /* how many */
    enum ups_method method;               /* the balancing method */
    const void *key;                      /* hash KEY, compiled by the protocol (http: cval) */
    const char *method_file;              /* where the method was set, for messages */
    int method_line;                      /* its line */
    long keepalive;                       /* idle connections kept per worker; 0: none */
    long keepalive_timeout;               /* ms an idle connection is kept */
    long keepalive_requests;              /* requests over one connection at most */
    long keepalive_time;                  /* ms a connection is reused for at most */
    const struct resolver_conf *resolver; /* for `resolve` servers (the block's, else http's) */
    long resolver_timeout;                /* ms, for those lookups */
    unsigned index;                       /* its place in the protocol's list (worker state) */
    unsigned port;                        /* an implicit group's port */
    bool has_port;                        /* the port was written (proxy_pass host:port) */
    bool defined;                         /* an `upstream` block made it, not only a reference */
    const char *file;                     /* where it was defined or first referenced */
    int line;                             /* its line */
};

/* Every group of one protocol's configuration. */
struct ups_groups {
    struct ups_group **list; /* in order of first mention */
    size_t n;                /* how many */
};

/* The group called name (case does not matter), or NULL. */
struct ups_group *ups_group_find(const struct ups_groups *gs, const char *name);

/* Sets a->name from its address. */
void ups_addr_name(struct ups_addr *a);

/* a = the IPv4 or IPv6 address sa with the given port. */
void ups_addr_inet(struct ups_addr *a, const struct sockaddr *sa, unsigned port);

/* a = the unix socket at path; -1 if the path is empty or too long. */
int ups_addr_unix(struct ups_addr *a, const char *path);

/* Same family, address and port (or path). */
bool ups_addr_equal(const struct ups_addr *a, const struct ups_addr *b);

#endif

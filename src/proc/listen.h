/* listen.h - the master's listening sockets.
 *
 * Each configured address is bound once per worker slot with SO_REUSEPORT;
 * worker i accepts only from socket i.  A unix socket is bound once and
 * every worker accepts from it, as in nginx: a path names one socket.  Its
 * file is removed when the master closes a socket it made (unless a new
 * binary took it over), and a stale one (no process listening) is removed
 * before binding.  The master keeps every socket for
 * as long as the address stays configured, so a respawned worker, a new
 * generation, or a new binary takes over the same socket and nothing in the
 * kernel's accept queue is lost. */
#ifndef TP_LISTEN_H
#define TP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "core/sockaddr.h"

struct conf;

/* One address, bound once per slot (a unix socket: once, its slots
 * sharing it). */
struct listener {
    union sockaddr_any addr; /* bound address (only AF_UNIX for a unix socket) */
    char *path;              /* a unix socket's path (malloc), or NULL */
    char text[128];          /* "127.0.0.1:8080" for messages */
    int backlog;             /* current listen() backlog */
    struct listen_opts opts; /* socket options in effect */
    bool made_path;          /* this process created the unix socket's file */
    int *fds;                /* fds[slot] */
    unsigned nfds;           /* slots bound */
    unsigned gen;            /* newest generation that configured it */
    bool fresh;              /* bound by the transaction in progress */
    bool inherited;          /* came from a previous binary or from systemd */
    unsigned committed;      /* slots in use by a committed generation */
    struct listener *next;   /* next in the set */
};

/* Every socket the master holds. */
struct listen_set {
    struct listener *head; /* all listeners */
    bool keep_paths;       /* a new binary uses the unix sockets: leave their files */
};

/* The first step of a configuration transaction: makes the set cover
 * every port of `conf` with `nslots` sockets each and points each
 * conf_port at its listener.  New addresses and slots are bound now; on
 * failure everything this call bound is closed again and err says why. */
int listen_sync(struct listen_set *ls, struct conf *conf, unsigned nslots, char *err,
                size_t errlen);

/* The transaction succeeded: `conf` is generation `gen`. */
void listen_commit(struct listen_set *ls, struct conf *conf, unsigned gen, unsigned nslots);

/* A later step of the transaction failed: closes what listen_sync bound. */
void listen_abort(struct listen_set *ls);

/* Closes listeners that generation `gen` does not use, and slots at or
 * beyond nslots.  Call once no older worker can still accept on them. */
void listen_sweep(struct listen_set *ls, unsigned gen, unsigned nslots);

/* In a worker: closes every socket except those of `slot` in generation
 * `gen` (the master keeps its own copies). */
void listen_close_others(struct listen_set *ls, unsigned gen, unsigned slot);

void listen_close_all(struct listen_set *ls);

/* A draining worker's (or single process's) copy of its slot's socket:
 * once every holder has closed it, the kernel refuses new connections
 * instead of completing handshakes nobody will accept. */
void listen_close_slot(struct listener *l, unsigned slot);

/* Takes over listening sockets handed down (binary upgrade, or systemd
 * socket activation): each fd is matched to its address by getsockname and
 * becomes the next slot of that address.  On error writes the reason. */
int listen_adopt(struct listen_set *ls, const int *fds, size_t n, char *err, size_t errlen);

/* "3;4;5;" listing every socket, for the next binary; the caller frees. */
char *listen_env_value(const struct listen_set *ls);

/* Clears close-on-exec on every socket, in the child about to exec. */
void listen_keep_on_exec(const struct listen_set *ls);

#endif

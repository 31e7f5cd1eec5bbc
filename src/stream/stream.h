/* stream.h - the stream context (nginx's ngx_stream_core_module with its
 * proxy and upstream modules, the parts a TLS terminator needs).
 *
 * `stream { upstream NAME {...} server { listen ...; proxy_pass ...; } }`:
 * each server owns its listen addresses (one server per address, as in
 * nginx), and every connection accepted there becomes a session
 * (stream_sess.c) relayed to a server of its upstream group.  The
 * upstream groups are src/upstream's, with the same balancers and passive
 * health as http's; TLS settings are the http ssl module's part
 * (http/ssl_conf.h), which the stream levels carry too. */
#ifndef TP_STREAM_STREAM_H
#define TP_STREAM_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "conf/module.h"
#include "upstream/ups.h"
#include "upstream/ups_ssl.h"

struct cidr;
struct conf_loader;
struct slog_set;
struct ssl_part;
struct svar_fmt;
struct tls_client;

extern struct module mod_stream;

/* One level of the stream context: the stream block itself, or a server.
 * The generic fields are -1 until set; the server's are merged from the
 * stream block's at load time. */
struct stream_srv {
    long connect_timeout;       /* proxy_connect_timeout, ms */
    long timeout;               /* proxy_timeout, ms (idle, both ways) */
    long buffer_size;           /* proxy_buffer_size: bytes moved at once per direction */
    int next_upstream;          /* proxy_next_upstream */
    long next_upstream_tries;   /* proxy_next_upstream_tries, 0 = no limit */
    long next_upstream_timeout; /* proxy_next_upstream_timeout, ms, 0 = no limit */
    int proxy_protocol;         /* proxy_protocol: send a PROXY header upstream */
    long pp_version;            /* proxy_protocol_version: 1 or 2 */
    int pp_crc32c;              /* proxy_protocol_crc32c: a CRC32C TLV in version 2 */
    int pp_unique_id;           /* proxy_protocol_unique_id: a UNIQUE_ID TLV in version 2 */
    long pp_timeout;            /* proxy_protocol_timeout, ms: a PROXY header must arrive */
    int splice;                 /* proxy_splice (turnpike): zero copy between plain sockets */
    int proxy_ssl;              /* proxy_ssl: TLS to the upstream servers */
    struct ups_ssl up_ssl;      /* the proxy_ssl_* settings */
    struct svar_fmt *ssl_name;  /* proxy_ssl_name, compiled, or NULL: the proxy_pass host */
    const struct tls_client *up_client; /* with proxy_ssl on: the upstream TLS configuration */
    struct cidr *real_ip_from;  /* set_real_ip_from: balancers whose PROXY header is believed */
    size_t nreal_ip_from;       /* how many; 0 = inherit */
    struct ups_group *pass;     /* proxy_pass: the group, or NULL */
    bool has_pass;              /* proxy_pass was given here */
    struct ssl_part *ssl;       /* the http ssl module's part of this level */
    struct slog_set *logs;      /* access_log at this level (stream_log.c), or NULL: inherit */
    const char *file;           /* where the block starts */
    int line;                   /* its line */
};

/* One `listen` of a stream server: one socket per worker slot. */
struct stream_port {
    union sockaddr_any addr;      /* what to bind (only AF_UNIX for a unix socket) */
    const char *path;             /* a unix socket's path, or NULL */
    char text[128];               /* "127.0.0.1:12345", for messages and $server_addr */
    int backlog;                  /* backlog=, or -1 */
    struct listen_opts opts;      /* so_keepalive=, ipv6only=, ... */
    bool ssl;                     /* ssl: TLS terminated here */
    bool proxy_protocol;          /* proxy_protocol: clients send a PROXY header first */
    const struct stream_srv *srv; /* the server it belongs to */
    const char *file;             /* where the listen is */
    int line;                     /* its line */
};

/* The stream context of a configuration. */
struct stream_conf {
    struct stream_srv *top;      /* the stream block's own settings */
    struct stream_srv **servers; /* server blocks, in order */
    size_t nservers;             /* how many */
    struct stream_port *ports;   /* every listen of every server */
    size_t nports;               /* how many */
    struct ups_groups groups;    /* upstream blocks and proxy_pass's implicit groups */
};

/* The stream context of a loaded configuration, or NULL. */
const struct stream_conf *stream_main(const struct conf *c);

/* While loading: the level being read (the stream block or a server). */
struct stream_srv *stream_level(struct conf_loader *cl);

/* In a worker: the run-time state of group g (ups_peer.h), or NULL. */
struct ups_rt *stream_rt(const struct ups_group *g);

#endif

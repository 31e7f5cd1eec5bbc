/* ups_ssl.h - TLS to upstreams as configured: the proxy_ssl_* directives,
 * shared by every protocol that proxies (http's proxy_pass https://,
 * stream's proxy_ssl on).
 *
 * A protocol keeps one struct ups_ssl in its part of each level and
 * registers the directives with UPS_SSL_CMDS(contexts, setter), where its
 * setter finds the level's struct and calls ups_ssl_set:
 *
 *     static int stream_ssl_set(struct conf_loader *cl, const struct conf_node *n,
 *                               const struct conf_cmd *cmd)
 *     {
 *         return ups_ssl_set(cl, n, cmd, &my_part(cl)->ssl);
 *     }
 *     static const struct conf_cmd stream_cmds[] = {
 *         ...,
 *         UPS_SSL_CMDS(CTX_STREAM | CTX_STREAM_SRV, stream_ssl_set),
 *     };
 *
 * Its part_init calls ups_ssl_init, its part_merge ups_ssl_merge (nginx's
 * inheritance, directive by directive), and once the whole file is read
 * (its module's finish) ups_ssl_client gives the level's TLS client
 * configuration, built once per level that has directives of its own and
 * shared by the levels below that have none, so they share sessions too.
 * Files are loaded when read (by the master, as root) into the
 * generation's store; every error carries file:line.
 *
 * At run time the protocol sets the connection up with ups_conn_secure
 * (ups_conn.h) after ups_conn_open, with the name ups_ssl_name made of
 * proxy_ssl_name (or the protocol's default) and proxy_ssl_server_name. */
#ifndef TP_UPSTREAM_UPS_SSL_H
#define TP_UPSTREAM_UPS_SSL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf_table.h"
#include "core/str.h"

struct tls_chain;
struct tls_client;
struct tls_key;

extern struct module mod_ups_ssl;

/* A file a directive named, and where. */
struct ups_ssl_file {
    void *obj;        /* struct tls_chain or struct tls_key, NULL when unset */
    const char *path; /* as resolved */
    const char *file; /* the directive's file */
    int line;         /* and line */
};

/* The proxy_ssl_* settings of one level.  Unset: -1, 0 or NULL. */
struct ups_ssl {
    int verify;                  /* proxy_ssl_verify */
    long verify_depth;           /* proxy_ssl_verify_depth */
    int server_name;             /* proxy_ssl_server_name */
    int session_reuse;           /* proxy_ssl_session_reuse */
    unsigned protocols;          /* proxy_ssl_protocols: TLS_PROTO_* bits */
    const char *ciphers;         /* proxy_ssl_ciphers */
    const char *name;            /* proxy_ssl_name as written (the protocol evaluates it) */
    struct ups_ssl_file trusted; /* proxy_ssl_trusted_certificate */
    struct ups_ssl_file cert;    /* proxy_ssl_certificate */
    struct ups_ssl_file key;     /* proxy_ssl_certificate_key */
    bool own;                    /* a directive of this level */
    const char *file;            /* where this level's first one is */
    int line;                    /* its line */
    struct ups_ssl *origin;      /* the level whose directives these are */
    struct tls_client *client;   /* built for origin (ups_ssl_client) */
};

/* The ten directives, each handled by `set`. */
#define UPS_SSL_CMD(name, ctx, args, set)                                                          \
    {                                                                                              \
        name, (ctx), (args), CT_CUSTOM, CS_MAIN, 0, NULL, (set), NULL                              \
    }
#define UPS_SSL_CMDS(ctx, set)                                                                     \
    UPS_SSL_CMD("proxy_ssl_verify", ctx, ARGS(1), set),                                            \
        UPS_SSL_CMD("proxy_ssl_verify_depth", ctx, ARGS(1), set),                                  \
        UPS_SSL_CMD("proxy_ssl_trusted_certificate", ctx, ARGS(1), set),                           \
        UPS_SSL_CMD("proxy_ssl_server_name", ctx, ARGS(1), set),                                   \
        UPS_SSL_CMD("proxy_ssl_name", ctx, ARGS(1), set),                                          \
        UPS_SSL_CMD("proxy_ssl_protocols", ctx, ARGS_1MORE, set),                                  \
        UPS_SSL_CMD("proxy_ssl_ciphers", ctx, ARGS(1), set),                                       \
        UPS_SSL_CMD("proxy_ssl_certificate", ctx, ARGS(1), set),                                   \
        UPS_SSL_CMD("proxy_ssl_certificate_key", ctx, ARGS(1), set),                               \
        UPS_SSL_CMD("proxy_ssl_session_reuse", ctx, ARGS(1), set)

/* A fresh level (everything unset). */
void ups_ssl_init(struct ups_ssl *u);

/* nginx's inheritance: what child does not set comes from parent; a
 * child with no directive of its own shares parent's configuration. */
void ups_ssl_merge(const struct ups_ssl *parent, struct ups_ssl *child);

/* Any of the directives, at n, into u. */
int ups_ssl_set(struct conf_loader *cl, const struct conf_node *n, const struct conf_cmd *cmd,
                struct ups_ssl *u);

/* The level's client configuration, built on first use (nginx's defaults
 * for what is unset); NULL after an error, reported at the level's
 * directive, or at `at` when it has none. */
struct tls_client *ups_ssl_client(struct conf_loader *cl, struct ups_ssl *u,
                                  const struct conf_node *at);

/* Whether the SNI name goes out (proxy_ssl_server_name), after merge. */
bool ups_ssl_sends_name(const struct ups_ssl *u);

/* The name to verify from `in` (proxy_ssl_name's value, or the default
 * host): a port and IPv6 brackets taken off, into buf.  *sni says whether
 * it may go as SNI: asked for, and not an address (RFC 6066).  -1 when
 * empty or too long. */
int ups_ssl_name(struct str in, bool ask_sni, char *buf, size_t len, bool *sni);

#endif

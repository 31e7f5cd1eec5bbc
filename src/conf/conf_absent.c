/* conf_absent.c - the nginx directives turnpike deliberately leaves out,
 * each with its reason (man/turnpike.conf.5, DIFFERENCES FROM NGINX). */
#include "conf/conf_absent.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A name, or a family of names when it ends in '*'. */
struct conf_absent {
    const char *name;   /* directive, or prefix* */
    const char *reason; /* why it is not there */
};

static const struct conf_absent absent[] = {
    {"proxy_cache*", "turnpike does not cache responses"},
    {"proxy_no_cache", "turnpike does not cache responses"},
    {"proxy_temp_path", "responses are never written to temporary files"},
    {"proxy_temp_file_write_size", "responses are never written to temporary files"},
    {"proxy_store*", "turnpike does not store responses"},
    {"proxy_cookie_*", "turnpike does not rewrite cookies"},
    {"proxy_bind", "upstream connections use the kernel's choice of source address"},
    {"proxy_limit_rate", "turnpike does not limit the rate of upstream reads"},
    {"proxy_set_body", "the request body goes upstream as the client sent it"},
    {"proxy_headers_hash_*", "turnpike's header tables are not sized by configuration"},
    {"proxy_socket_keepalive", "upstream sockets do not use TCP keep-alive"},
    {"proxy_force_ranges", "byte ranges of proxied responses are the upstream's"},
    {"proxy_pass_trailers", "trailers are the upstream's framing and are not passed on"},
    {"limit_except",
     "methods are not restricted per location (use \"if ($request_method ...)\" with \"return\")"},
    {"zone", "upstream groups keep their state per worker"},
    {"random", "the balancers are round-robin, least_conn, ip_hash and hash"},
    {"ntlm", "connections to upstreams are not bound to clients"},
    {"sticky*", "the balancers are round-robin, least_conn, ip_hash and hash"},
    {"health_check", "servers are checked passively (max_fails, fail_timeout)"},
};

static bool conf_absent_match(const char *pattern, const char *name)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(pattern, name, n - 1) == 0;
    return strcmp(pattern, name) == 0;
}

const char *conf_absent_reason(const char *name)
{
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        if (conf_absent_match(absent[i].name, name))
            return absent[i].reason;
    return NULL;
}

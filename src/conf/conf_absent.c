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
    {"proxy_send_lowat", "the send low-water mark is the kernel's"},
    {"proxy_ssl_crl", "upstream certificates are not checked against revocation lists"},
    {"proxy_ssl_password_file", "private keys must not be encrypted"},
    {"proxy_ssl_conf_command", "the TLS library is mbed TLS, which has no OpenSSL commands"},
    {"proxy_ssl_certificate_cache", "certificates are read once per configuration load"},
    /* Whole nginx modules turnpike does not have: a stock configuration
     * that turns one on is told which, not just "unknown directive". */
    {"mail", "turnpike has no mail proxy"},
    {"fastcgi_*", "turnpike has no FastCGI module (proxy_pass to an HTTP server instead)"},
    {"uwsgi_*", "turnpike has no uwsgi module (proxy_pass to an HTTP server instead)"},
    {"scgi_*", "turnpike has no SCGI module (proxy_pass to an HTTP server instead)"},
    {"grpc_*", "turnpike has no gRPC module (it does not speak HTTP/2)"},
    {"memcached_*", "turnpike has no memcached module"},
    {"http2", "turnpike speaks HTTP/1.1 only"},
    {"http2_*", "turnpike speaks HTTP/1.1 only"},
    {"ssi", "turnpike has no SSI module"},
    {"ssi_*", "turnpike has no SSI module"},
    {"sub_filter*", "turnpike does not rewrite response bodies"},
    {"addition_types", "turnpike does not rewrite response bodies"},
    {"add_before_body", "turnpike does not rewrite response bodies"},
    {"add_after_body", "turnpike does not rewrite response bodies"},
    {"geo", "turnpike has no geo module"},
    {"geoip_*", "turnpike has no GeoIP module"},
    {"dav_*", "turnpike has no WebDAV module"},
    {"mirror", "turnpike does not mirror requests"},
    {"mirror_request_body", "turnpike does not mirror requests"},
    {"auth_request*", "turnpike has no auth_request module"},
    {"stub_status", "turnpike has no status page"},
    {"perl*", "turnpike has no embedded Perl"},
    {"secure_link*", "turnpike has no secure_link module"},
    {"userid*", "turnpike has no userid module"},
    {"empty_gif", "turnpike has no empty_gif module"},
    {"image_filter*", "turnpike has no image filter"},
    {"xslt_*", "turnpike has no XSLT filter"},
    {"mp4*", "turnpike has no mp4 module"},
    {"flv", "turnpike has no flv module"},
    {"slice", "turnpike has no slice module"},
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

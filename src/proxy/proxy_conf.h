/* proxy_conf.h - the proxy module's configuration (nginx's
 * ngx_http_proxy_module directives) and its part of each http level. */
#ifndef TP_PROXY_CONF_H
#define TP_PROXY_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/module.h"
#include "core/str.h"
#include "http/core_conf.h"
#include "http/vars.h"
#include "proxy/proxy_uri.h"

struct pcre2_real_code_8;
struct ups_group;

extern struct module mod_proxy;

/* proxy_next_upstream's conditions (nginx's NGX_HTTP_UPSTREAM_FT_*). */
enum proxy_ft {
    PX_FT_ERROR = 1 << 0,          /* connect, send or read failed */
    PX_FT_TIMEOUT = 1 << 1,        /* ... timed out */
    PX_FT_INVALID = 1 << 2,        /* an invalid or empty response head */
    PX_FT_500 = 1 << 3,            /* http_500 */
    PX_FT_502 = 1 << 4,            /* http_502 */
    PX_FT_503 = 1 << 5,            /* http_503 */
    PX_FT_504 = 1 << 6,            /* http_504 */
    PX_FT_403 = 1 << 7,            /* http_403 */
    PX_FT_404 = 1 << 8,            /* http_404 */
    PX_FT_429 = 1 << 9,            /* http_429 */
    PX_FT_NON_IDEMPOTENT = 1 << 10 /* POST, LOCK, PATCH may go on after being sent */
};

/* proxy_ignore_headers. */
enum proxy_ign {
    PX_IGN_XA_REDIRECT = 1 << 0,   /* X-Accel-Redirect */
    PX_IGN_XA_EXPIRES = 1 << 1,    /* X-Accel-Expires */
    PX_IGN_XA_LIMIT_RATE = 1 << 2, /* X-Accel-Limit-Rate */
    PX_IGN_XA_BUFFERING = 1 << 3,  /* X-Accel-Buffering */
    PX_IGN_XA_CHARSET = 1 << 4,    /* X-Accel-Charset */
    PX_IGN_EXPIRES = 1 << 5,       /* Expires */
    PX_IGN_CACHE_CONTROL = 1 << 6, /* Cache-Control */
    PX_IGN_SET_COOKIE = 1 << 7,    /* Set-Cookie */
    PX_IGN_VARY = 1 << 8           /* Vary */
};

/* One proxy_set_header. */
struct proxy_set {
    struct str name;   /* field name */
    struct cval value; /* its value; empty sends nothing */
};

/* One proxy_redirect rule. */
struct proxy_redirect {
    struct cval from;                /* the prefix replaced (may have variables) */
    struct pcre2_real_code_8 *regex; /* "~"/"~*": a pattern instead, or NULL */
    struct cval to;                  /* the replacement; with regex, of the whole value */
};

/* A location's proxy_pass. */
struct proxy_pass {
    struct cval url;               /* as written; with variables, evaluated per request */
    bool vars;                     /* it has variables */
    struct proxy_url u;            /* without: the parsed URL */
    const struct ups_group *group; /* without: its upstream group */
    struct str host;               /* without: $proxy_host */
    struct str port;               /* without: $proxy_port */
    struct str loc;                /* the location prefix a URI part replaces, else empty */
    struct proxy_redirect dflt;    /* without: what `proxy_redirect default` means */
};

/* The module's part of each http level.  Numbers and flags are -1 until
 * set; lists are inherited whole by a level that has none. */
struct proxy_loc {
    const struct proxy_pass *pass;    /* this location's proxy_pass (not inherited) */
    struct proxy_set *set;            /* proxy_set_header lines */
    size_t nset;                      /* how many */
    struct str *hide;                 /* proxy_hide_header names */
    size_t nhide;                     /* how many */
    struct str *show;                 /* proxy_pass_header names */
    size_t nshow;                     /* how many */
    struct proxy_redirect *redirects; /* proxy_redirect rules */
    size_t nredirects;                /* how many */
    int redirect;                     /* proxy_redirect off (0), or on */
    long ignore;                      /* proxy_ignore_headers: enum proxy_ign bits */
    long next_upstream;               /* proxy_next_upstream: enum proxy_ft bits */
    const struct cval *method;        /* proxy_method, or NULL */
    long buffers_num;                 /* proxy_buffers number */
    long buffers_size;                /* ... and size */
    long http_version;                /* 10 or 11 */
    int pass_request_headers;         /* flag */
    int pass_request_body;            /* flag */
    int intercept_errors;             /* flag */
    int buffering;                    /* flag */
    int request_buffering;            /* flag */
    int ignore_client_abort;          /* flag: only off is supported */
    long connect_timeout;             /* ms */
    long read_timeout;                /* ms */
    long send_timeout;                /* ms */
    long next_upstream_tries;         /* 0: no limit */
    long next_upstream_timeout;       /* ms, 0: no limit */
    long buffer_size;                 /* proxy_buffer_size: the head, and unbuffered bodies */
    long busy_buffers_size;           /* bytes one piece to the client may hold */
    long max_temp_file_size;          /* only 0 is supported */
    int proxy_protocol;               /* flag: a PROXY header starts each connection (not nginx) */
    long pp_version;                  /* proxy_protocol_version: 1 or 2 */
    int pp_crc32c;                    /* proxy_protocol_crc32c: a CRC32C TLV in version 2 */
    int pp_unique_id;                 /* proxy_protocol_unique_id: a UNIQUE_ID TLV in version 2 */
};

static inline const struct proxy_loc *proxy_loc_of(const struct loc_conf *loc)
{
    return loc_part(loc, &mod_proxy);
}

#endif

/* modules.c - every module, in the one order that the loader, the request
 * phases and the response filters follow (nginx's ngx_modules). */
#include "conf/conf_shm.h"
#include "conf/conf_table.h"
#include "handler/access.h"
#include "handler/auth_basic.h"
#include "handler/autoindex.h"
#include "handler/charset.h"
#include "handler/expires.h"
#include "handler/gzip.h"
#include "handler/limit_conn.h"
#include "handler/limit_req.h"
#include "handler/map.h"
#include "handler/rewrite.h"
#include "handler/static.h"
#include "handler/static_vars.h"
#include "http/alog.h"
#include "http/conf_remap.h"
#include "http/conf_tuning.h"
#include "http/conn_pp.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/errlog.h"
#include "http/limit_rate.h"
#include "http/ssl_conf.h"
#include "http/vars_dyn.h"
#include "http/vars_extra.h"
#include "proc/process_conf.h"
#include "proxy/proxy_conf.h"
#include "proxy/proxy_ssl.h"
#include "proxy/realip.h"
#include "proxy/upstream.h"
#include "stream/stream.h"
#include "stream/stream_log.h"
#include "upstream/ups_ssl.h"

/* mod_http_remap precedes the http core, whose finish binds the listens
 * it moves; mod_http_tuning follows it, to check the merged levels;
 * mod_limit_req precedes mod_limit_conn in the preaccess phase, as in
 * nginx; mod_http_vars is last but mod_process (which compiles no value),
 * since no value may be compiled after its finish. realip comes before every
 * module of the rewrite, preaccess and access phases: they see the client's
 * address as the balancer in front gave it. */
struct module *const modules[] = {
    &mod_core, &mod_events, &mod_compat, &mod_conf_shm, &mod_http_remap, &mod_http_core,
    &mod_http_ssl, &mod_upstream, &mod_ups_ssl, &mod_http_tuning, &mod_http_errlog, &mod_http_log,
    &mod_realip, &mod_http_limit_rate,
    &mod_static_vars, /* before rewrite: $realpath_root is ready for its phase */
    &mod_rewrite, &mod_limit_req, &mod_limit_conn, &mod_access, &mod_auth_basic, &mod_map,
    &mod_split_clients, &mod_index, &mod_autoindex, &mod_gzip, &mod_static, &mod_proxy,
    &mod_proxy_ssl,
    /* nginx drop-in extras */
    &mod_http_extra, &mod_http_vars_extra, &mod_expires, &mod_charset,
    &mod_http_proxy_protocol, /* listen ... proxy_protocol: $proxy_protocol_* */
    &mod_http_vars,
    /* the stream context (after http, whose listens it must not repeat) */
    &mod_stream, &mod_stream_log,
    &mod_process, /* after every module's finish: pcre_jit compiles all the regexes */
};

const size_t nmodules = sizeof(modules) / sizeof(modules[0]);

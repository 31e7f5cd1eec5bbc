/* modules.c - every module, in the one order that the loader, the request
 * phases and the response filters follow (nginx's ngx_modules). */
#include "conf/conf_table.h"
#include "handler/autoindex.h"
#include "handler/gzip.h"
#include "handler/ret.h"
#include "handler/static.h"
#include "http/alog.h"
#include "http/core_conf.h"
#include "proxy/proxy_conf.h"
#include "proxy/realip.h"
#include "proxy/upstream.h"

/* realip comes before every module of the rewrite and access phases: they
 * see the client's address as the balancer in front gave it. */
struct module *const modules[] = {
    &mod_core,    &mod_events, &mod_http_core, &mod_upstream, &mod_http_log, &mod_realip,
    &mod_rewrite, &mod_index,  &mod_autoindex, &mod_gzip,     &mod_static,   &mod_proxy,
};

const size_t nmodules = sizeof(modules) / sizeof(modules[0]);

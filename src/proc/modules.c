/* modules.c - every module, in the one order that the loader, the request
 * phases and the response filters follow (nginx's ngx_modules). */
#include "conf/conf_table.h"
#include "handler/autoindex.h"
#include "handler/charset.h"
#include "handler/expires.h"
#include "handler/gzip.h"
#include "handler/ret.h"
#include "handler/static.h"
#include "handler/static_vars.h"
#include "http/alog.h"
#include "http/core_conf.h"
#include "http/core_extra.h"
#include "http/vars_extra.h"
#include "proc/process_conf.h"
#include "proxy/upstream.h"

struct module *const modules[] = {
    &mod_core, &mod_events, &mod_http_core, &mod_upstream, &mod_http_log,
    &mod_static_vars, /* before rewrite: $realpath_root is ready for its phase */
    &mod_rewrite, &mod_index, &mod_autoindex, &mod_gzip, &mod_static,
    /* nginx drop-in extras */
    &mod_http_extra, &mod_http_vars, &mod_expires, &mod_charset,
    &mod_process, /* last: pcre_jit compiles every module's regexes */
};

const size_t nmodules = sizeof(modules) / sizeof(modules[0]);

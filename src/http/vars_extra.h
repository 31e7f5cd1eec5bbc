/* vars_extra.h - the module of nginx's further variables ($request_id,
 * $server_addr, $cookie_NAME, $content_type, $content_length, $pipe,
 * $connection_time, $nginx_version). */
#ifndef TP_HTTP_VARS_EXTRA_H
#define TP_HTTP_VARS_EXTRA_H

#include "conf/module.h"

extern struct module mod_http_vars_extra;

#endif

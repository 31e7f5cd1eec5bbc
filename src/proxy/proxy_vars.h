/* proxy_vars.h - the proxy's variables: $upstream_addr, $upstream_status,
 * $upstream_response_time, $upstream_connect_time, $upstream_header_time,
 * $upstream_bytes_received, $upstream_bytes_sent,
 * $upstream_response_length, $upstream_http_NAME, $proxy_host,
 * $proxy_port and $proxy_add_x_forwarded_for.
 *
 * As nginx's, the $upstream_ ones list every server a request tried,
 * separated by ", ". */
#ifndef TP_PROXY_VARS_H
#define TP_PROXY_VARS_H

#include "http/vars.h"

#define PROXY_NVARS 12

extern const struct var_def proxy_vars[PROXY_NVARS];

#endif

/* conf_remap.h - `listen_remap`: every listen on a port binds another
 * address instead, so an unchanged configuration can run elsewhere. */
#ifndef TP_HTTP_CONF_REMAP_H
#define TP_HTTP_CONF_REMAP_H

#include "conf/module.h"

/* Listed before the http core: its finish moves the listens first. */
extern struct module mod_http_remap;

#endif

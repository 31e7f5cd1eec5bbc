/* expires.h - the expires module: Expires and Cache-Control headers. */
#ifndef TP_HANDLER_EXPIRES_H
#define TP_HANDLER_EXPIRES_H

#include "conf/module.h"

extern struct module mod_expires;

#endif

/* static_vars.h - the module of $request_filename and $realpath_root. */
#ifndef TP_HANDLER_STATIC_VARS_H
#define TP_HANDLER_STATIC_VARS_H

#include "conf/module.h"

extern struct module mod_static_vars;

#endif

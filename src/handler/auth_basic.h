/* auth_basic.h - HTTP Basic authentication against a user file in the
 * formats nginx reads (handler/passwd.h), checked in the pool. */
#ifndef TP_HANDLER_AUTH_BASIC_H
#define TP_HANDLER_AUTH_BASIC_H

#include "conf/module.h"

/* Listed after mod_access: its access hook runs after allow/deny. */
extern struct module mod_auth_basic;

#endif

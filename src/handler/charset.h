/* charset.h - the charset module: the charset parameter of Content-Type. */
#ifndef TP_HANDLER_CHARSET_H
#define TP_HANDLER_CHARSET_H

#include "conf/module.h"
#include "core/str.h"

struct req;

extern struct module mod_charset;

/* The charset r's location names ("utf-8"), or empty for none. */
struct str charset_of(struct req *r);

#endif

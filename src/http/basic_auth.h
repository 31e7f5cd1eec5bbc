/* basic_auth.h - the user and password of a request's
 * "Authorization: Basic" header, as nginx's ngx_http_auth_basic_user
 * reads them (auth_basic checks them, $remote_user names the user). */
#ifndef TP_HTTP_BASIC_AUTH_H
#define TP_HTTP_BASIC_AUTH_H

#include "core/str.h"

struct req;

/* 0 with user and password (in the request's arena; the user non-empty,
 * without ":"), or -1 when there is no such header or it is not valid
 * base64 of "user:password". */
int basic_auth_credentials(struct req *r, struct str *user, struct str *password);

#endif

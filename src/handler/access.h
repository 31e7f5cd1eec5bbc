/* access.h - the access module: allow and deny (addresses, CIDR, all,
 * IPv6, unix:), `satisfy`, and `internal`, with nginx's meaning.
 *
 * The access checks of a location (allow/deny here, auth_basic in
 * handler/auth_basic.c) each grant, refuse or say nothing.  With `satisfy
 * all` (the default) any refusal answers at once and every check must
 * pass; with `satisfy any` one grant is enough, and the request is refused
 * only when none granted: with 401 if a password check failed, else 403.
 * access_grant and access_refuse turn a check's verdict into what the
 * access phase does next. */
#ifndef TP_HANDLER_ACCESS_H
#define TP_HANDLER_ACCESS_H

#include "conf/module.h"
#include "http/phases.h"

struct req;

extern struct module mod_access;

/* A check granted access: under satisfy any the phase is decided
 * (PHASE_DONE), under satisfy all the next check runs (PHASE_DECLINED). */
enum phase_rc access_grant(struct req *r);

/* A check refused with status (403 or 401): under satisfy all the request
 * is answered (PHASE_TAKEN); under satisfy any the refusal is kept for the
 * end of the phase and the next check runs (PHASE_DECLINED). */
enum phase_rc access_refuse(struct req *r, int status);

#endif

/* conf_absent.h - nginx directives turnpike leaves out on purpose: the
 * loader names the reason instead of calling them unknown, so a config
 * brought over from nginx fails with an honest [emerg]. */
#ifndef TP_CONF_ABSENT_H
#define TP_CONF_ABSENT_H

/* Why the nginx directive `name` is not in turnpike, or NULL when it is
 * not one of those left out.  Asked only for names no module knows. */
const char *conf_absent_reason(const char *name);

#endif

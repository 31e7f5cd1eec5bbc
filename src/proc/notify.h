/* notify.h - telling systemd (Type=notify) what the master is doing.
 * Without libsystemd, or outside systemd, these do nothing. */
#ifndef TP_NOTIFY_H
#define TP_NOTIFY_H

#include <stdbool.h>

/* READY=1 with a STATUS line naming the generation.  A master started by
 * a binary upgrade also says MAINPID=, so systemd follows it (this needs
 * NotifyAccess=all, as the shipped unit has). */
void notify_ready(unsigned gen, const char *last_error, bool mainpid);
/* RELOADING=1 with MONOTONIC_USEC, as systemd's reload protocol wants. */
void notify_reloading(void);
/* STOPPING=1 */
void notify_stopping(void);

#endif

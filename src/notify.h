/* notify.h - telling systemd (Type=notify) what the master is doing.
 * Without libsystemd, or outside systemd, these do nothing. */
#ifndef TP_NOTIFY_H
#define TP_NOTIFY_H

/* READY=1 with a STATUS line naming the generation. */
void notify_ready(unsigned gen, const char *last_error);
/* RELOADING=1 with MONOTONIC_USEC, as systemd's reload protocol wants. */
void notify_reloading(void);
/* STOPPING=1 */
void notify_stopping(void);

#endif

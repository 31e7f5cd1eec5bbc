/* signals.h - signals arrive through a signalfd, never a handler.
 *
 * The master blocks the signals it cares about before anything else and
 * reads them synchronously; workers inherit the blocked mask, so a signal is
 * never delivered to a pool thread or between fork and setup. */
#ifndef TP_SIGNALS_H
#define TP_SIGNALS_H

#include <signal.h>

/* Blocks HUP QUIT TERM INT USR1 USR2 WINCH CHLD and ignores PIPE. */
void signals_block(void);
/* A non-blocking signalfd for the blocked set; -1 on error. */
int signals_fd(void);
/* Reads one signal from the fd: its number, or 0 when none is pending. */
int signals_read(int fd);

#endif

/* daemon.h - `daemon on`: going to the background without failing silently.
 *
 * The process the operator started forks the master and waits on a pipe
 * until the master reports that every worker accepts (it then exits 0) or
 * the pipe closes without that report because the master died (exit 1).
 * Until then master and workers keep the terminal's stderr, so every
 * startup error, theirs included, reaches the operator, as nginx's do. */
#ifndef TP_PROC_DAEMON_H
#define TP_PROC_DAEMON_H

#include <stdbool.h>

/* Forks: returns 0 in the new master (a session leader with stdin and
 * stdout on /dev/null), -1 if fork failed, and never in the parent. */
int daemon_start(void);

/* True in a master whose starting process still waits for its report. */
bool daemon_waiting(void);

/* The master serves: stderr goes to the error log and the starting
 * process exits 0.  Does nothing when nobody waits. */
void daemon_ready(void);

/* In a worker: drops its copy of the pipe, so that only the master's end
 * can keep the starting process waiting. */
void daemon_forget(void);

/* In a worker about to accept, when daemonized: stderr goes to the error
 * log, and startup lines stop echoing to the terminal. */
void daemon_detach_stderr(void);

#endif

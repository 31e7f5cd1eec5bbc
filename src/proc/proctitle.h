/* proctitle.h - process titles as nginx shows them in ps(1):
 * "turnpike: master process /usr/sbin/turnpike -c ...", "turnpike: worker
 * process", "turnpike: worker process is shutting down".
 *
 * Linux has no setproctitle(3): like nginx, the title is written over the
 * argv strings and, past them, over the environment's, which the kernel
 * shows in /proc/PID/cmdline. */
#ifndef TP_PROC_PROCTITLE_H
#define TP_PROC_PROCTITLE_H

/* Call first thing in main.  Moves the environment strings to the heap
 * (environ stays usable: getenv, setenv, and the exec of a binary
 * upgrade) and returns a copy of argv that later titles do not overwrite,
 * for parsing and for re-executing the binary; NULL if out of memory. */
char **proctitle_init(int argc, char **argv);

/* Makes env (pointing into the strings moved to the heap, or into other
 * strings that live as long as the process) the environment, as a
 * worker's `env` list does; the array environ had is freed. */
void proctitle_environ(char **env);

/* Sets the title to "turnpike: " and text, cut to the room there is. */
void proctitle_set(const char *text);

/* "master process" and the command line, as nginx's master shows it. */
void proctitle_master(void);

#endif

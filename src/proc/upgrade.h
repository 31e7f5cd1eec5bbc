/* upgrade.h - nginx's binary upgrade: USR2 starts the new binary with the
 * listening sockets (named in the TURNPIKE environment variable), and a
 * new master adopts them; systemd's socket activation hands sockets over
 * the same way (LISTEN_FDS). */
#ifndef TP_UPGRADE_H
#define TP_UPGRADE_H

#include <stddef.h>
#include <sys/types.h>

struct listen_set;

#define UPGRADE_ENV "TURNPIKE"

/* Adopts sockets from a previous binary (TURNPIKE=3;4;) or from systemd
 * (LISTEN_PID/LISTEN_FDS), then removes the variables.  Returns the number
 * adopted, or -1 with err set. */
int upgrade_inherit(struct listen_set *ls, char *err, size_t errlen);

/* Forks and execs argv (the command line this master was started with)
 * with every listening socket inherited.  Returns the new master's pid. */
pid_t upgrade_exec(const struct listen_set *ls, char *const argv[]);

#endif

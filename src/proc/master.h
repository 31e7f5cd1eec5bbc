/* master.h - the master process: owns the sockets, runs the workers,
 * turns signals into reloads, respawns, upgrades and stops. */
#ifndef TP_MASTER_H
#define TP_MASTER_H

struct conf;

/* Binds (or adopts sockets from an old binary or systemd), daemonizes (if
 * configured), writes the pid file and supervises workers until stopped.
 * Takes ownership of conf; argv is kept for a binary upgrade.  Returns the
 * exit code. */
int master_run(struct conf *conf, char *const argv[]);

#endif

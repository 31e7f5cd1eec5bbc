/* master.h - the master process: owns the sockets, runs the workers,
 * turns signals into reloads, respawns and stops. */
#ifndef TP_MASTER_H
#define TP_MASTER_H

struct conf;

/* Binds, daemonizes (if configured), writes the pid file and supervises
 * workers until stopped.  Takes ownership of conf.  Returns the exit code. */
int master_run(struct conf *conf);

#endif

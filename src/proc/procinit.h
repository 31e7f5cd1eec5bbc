/* procinit.h - what a freshly forked worker does before its loop runs:
 * its environment (env), priority, file limit, CPU pinning, dropping to
 * the configured user, then its working directory. */
#ifndef TP_PROCINIT_H
#define TP_PROCINIT_H

struct conf;

/* The process's environment becomes the `env` list (the workers', and a
 * single process's with master_process off). */
void procinit_environment(const struct conf *c);

/* Exits the process (status 2) if it cannot drop privileges. */
void procinit_worker(const struct conf *c, unsigned slot);

#endif

/* pidfile.h - the pid file nginx-style tools and `-s` rely on. */
#ifndef TP_PIDFILE_H
#define TP_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes "<pid>\n".  On error writes nginx's message to err. */
int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);
/* Reads the pid; errors are nginx's messages. */
int pidfile_read(const char *path, pid_t *pid, char *err, size_t errlen);
void pidfile_remove(const char *path);

#endif

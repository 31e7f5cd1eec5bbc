/* syslog.h - nginx's `syslog:` log destinations: RFC 3164 messages in
 * UDP (or unix datagram) packets, for error_log and access_log.
 *
 *   syslog:server=address[,facility=f][,severity=s][,tag=t][,nohostname]
 *
 * A message is `<PRI>Mmm dd hh:mm:ss hostname tag: text`, as nginx sends
 * it, without a trailing newline. */
#ifndef TP_SYSLOG_H
#define TP_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define SYSLOG_TAG_MAX 32

/* One destination, parsed from the text after "syslog:". */
struct syslog_dest {
    struct sockaddr_storage addr; /* server=: IPv4, IPv6 or a unix socket */
    socklen_t addrlen;            /* its length */
    int facility;                 /* facility=, 0..23; local7 (23) by default */
    int severity;                 /* severity= of access log lines; info (6) by default */
    char tag[SYSLOG_TAG_MAX + 1]; /* tag=; "turnpike" by default */
    bool nohostname;              /* the HOSTNAME field is left out */
    int fd;                       /* the datagram socket, or -1 until syslog_open */
};

/* Parses `spec` (what follows "syslog:") with nginx's rules and messages;
 * a host name in server= is resolved now.  -1 with err set if invalid. */
int syslog_parse(const char *spec, struct syslog_dest *d, char *err, size_t errlen);

/* Opens the socket (in the master: every process it forks sends through
 * it).  -1 with err set on failure. */
int syslog_open(struct syslog_dest *d, char *err, size_t errlen);
void syslog_close(struct syslog_dest *d);

/* Sends msg (no newline) with the header for `severity` (0 emerg .. 7
 * debug).  Never blocks; a message the socket cannot take is dropped, as
 * nginx drops it.  Safe from any thread. */
void syslog_send(const struct syslog_dest *d, int severity, const char *msg, size_t len);

/* Writes the header for `severity` into buf; returns its length. */
size_t syslog_header(const struct syslog_dest *d, int severity, char *buf, size_t cap);

#endif

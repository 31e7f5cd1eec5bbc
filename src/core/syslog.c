/* syslog.c - syslog destinations (see syslog.h). */
#include "core/syslog.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_DEFAULT_PORT "514"
/* nginx's longest message: its error line plus the header. */
#define SYSLOG_MAX_MSG 4096

static const char *const syslog_facilities[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "intern", "lpr",    "news",
    "uucp",   "clock",  "authpriv", "ftp",    "ntp",    "audit",  "alert",  "cron",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7",
};

/* nginx's level names, not syslog's "err" and "warning". */
static const char *const syslog_severities[] = {
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
};

static int syslog_word(const char *const *words, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(words[i], s) == 0)
            return (int)i;
    return -1;
}

static int syslog_unix(const char *path, struct syslog_dest *d, char *err, size_t errlen)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&d->addr;
    if (strlen(path) >= sizeof(un->sun_path)) {
        snprintf(err, errlen,
                 "too long path in the unix domain socket in syslog server \"unix:%s\"", path);
        return -1;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    d->addrlen = sizeof(*un);
    return 0;
}

/* Splits "host:port", "[v6]:port" or "host" in place. */
static int syslog_split(char *s, char **host, char **port)
{
    char *colon;
    *port = NULL;
    if (s[0] == '[') {
        char *end = strchr(s, ']');
        if (end == NULL || (end[1] != '\0' && end[1] != ':'))
            return -1;
        *end = '\0';
        *host = s + 1;
        *port = end[1] == ':' ? end + 2 : NULL;
        return 0;
    }
    *host = s;
    colon = strchr(s, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        *colon = '\0';
        *port = colon + 1;
    }
    return 0;
}

static int syslog_port_ok(const char *port)
{
    long v;
    char *end;
    if (port == NULL)
        return 1;
    v = strtol(port, &end, 10);
    return *port != '\0' && *end == '\0' && v >= 1 && v <= 65535;
}

/* server=: nginx's ngx_parse_url with 514 as the default port; a name
 * is resolved at once and its first address used. */
static int syslog_server(const char *value, struct syslog_dest *d, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
    char buf[256], *host, *port;
    if (strncmp(value, "unix:", 5) == 0)
        return syslog_unix(value + 5, d, err, errlen);
    snprintf(buf, sizeof(buf), "%s", value);
    if (syslog_split(buf, &host, &port) < 0 || !syslog_port_ok(port) || host[0] == '\0') {
        snprintf(err, errlen, "invalid port in syslog server \"%s\"", value);
        return -1;
    }
    if (getaddrinfo(host, port ? port : SYSLOG_DEFAULT_PORT, &hints, &res) != 0) {
        snprintf(err, errlen, "host not found in syslog server \"%s\"", value);
        return -1;
    }
    memcpy(&d->addr, res->ai_addr, res->ai_addrlen);
    d->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* RFC 3164: the TAG is at most 32 alphanumeric characters (nginx also
 * allows "_"). */
static int syslog_tag(const char *value, struct syslog_dest *d, char *err, size_t errlen)
{
    size_t len = strlen(value);
    if (len > SYSLOG_TAG_MAX) {
        snprintf(err, errlen, "syslog tag length exceeds %d", SYSLOG_TAG_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)value[i]) && value[i] != '_') {
            snprintf(err, errlen,
                     "syslog \"tag\" only allows alphanumeric characters and underscore");
            return -1;
        }
    }
    memcpy(d->tag, value, len + 1);
    return 0;
}

/* facility= or severity=: one of nginx's names, given once. */
static int syslog_named(const char *what, const char *const *names, size_t n, const char *v,
                        int *out, char *err, size_t errlen)
{
    int i = syslog_word(names, n, v);
    if (*out != -1)
        return snprintf(err, errlen, "duplicate syslog \"%s\"", what), -1;
    if (i < 0)
        return snprintf(err, errlen, "unknown syslog %s \"%s\"", what, v), -1;
    *out = i;
    return 0;
}

static int syslog_param(char *p, struct syslog_dest *d, bool *seen_server, char *err, size_t errlen)
{
    if (strncmp(p, "server=", 7) == 0) {
        if (*seen_server)
            return snprintf(err, errlen, "duplicate syslog \"server\""), -1;
        *seen_server = true;
        return syslog_server(p + 7, d, err, errlen);
    }
    if (strncmp(p, "facility=", 9) == 0)
        return syslog_named("facility", syslog_facilities, 24, p + 9, &d->facility, err, errlen);
    if (strncmp(p, "severity=", 9) == 0)
        return syslog_named("severity", syslog_severities, 8, p + 9, &d->severity, err, errlen);
    if (strncmp(p, "tag=", 4) == 0) {
        if (d->tag[0] != '\0')
            return snprintf(err, errlen, "duplicate syslog \"tag\""), -1;
        return syslog_tag(p + 4, d, err, errlen);
    }
    if (strcmp(p, "nohostname") == 0) {
        d->nohostname = true;
        return 0;
    }
    snprintf(err, errlen, "unknown syslog parameter \"%s\"", p);
    return -1;
}

int syslog_parse(const char *spec, struct syslog_dest *d, char *err, size_t errlen)
{
    char buf[1024], *save = NULL;
    bool seen_server = false;
    memset(d, 0, sizeof(*d));
    d->facility = d->severity = d->fd = -1;
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
        if (syslog_param(p, d, &seen_server, err, errlen) < 0)
            return -1;
    if (!seen_server) {
        snprintf(err, errlen, "no syslog server specified");
        return -1;
    }
    if (d->facility == -1)
        d->facility = 23; /* local7 */
    if (d->severity == -1)
        d->severity = 6; /* info */
    if (d->tag[0] == '\0')
        snprintf(d->tag, sizeof(d->tag), "turnpike");
    return 0;
}

static const char *syslog_hostname(void);

int syslog_open(struct syslog_dest *d, char *err, size_t errlen)
{
    if (d->fd >= 0)
        return 0;
    (void)syslog_hostname(); /* found now, before any pool thread runs */
    d->fd = socket(d->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0) {
        snprintf(err, errlen, "socket() for syslog failed (%d: %s)", errno, strerror(errno));
        return -1;
    }
    return 0;
}

void syslog_close(struct syslog_dest *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* The host name as nginx sends it: lower-cased, found once per process. */
static const char *syslog_hostname(void)
{
    static char name[256];
    static bool done;
    if (!done) {
        if (gethostname(name, sizeof(name)) < 0)
            snprintf(name, sizeof(name), "localhost");
        name[sizeof(name) - 1] = '\0';
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        done = true;
    }
    return name;
}

size_t syslog_header(const struct syslog_dest *d, int severity, char *buf, size_t cap)
{
    static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    int n;
    localtime_r(&now, &tm);
    n = snprintf(buf, cap, "<%d>%s %2d %02d:%02d:%02d %s%s%s: ", d->facility * 8 + severity,
                 months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 d->nohostname ? "" : syslog_hostname(), d->nohostname ? "" : " ", d->tag);
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

void syslog_send(const struct syslog_dest *d, int severity, const char *msg, size_t len)
{
    char buf[SYSLOG_MAX_MSG];
    if (d->fd < 0)
        return;
    size_t head = syslog_header(d, severity, buf, sizeof(buf));
    if (len > sizeof(buf) - head)
        len = sizeof(buf) - head;
    memcpy(buf + head, msg, len);
    (void)!sendto(d->fd, buf, head + len, MSG_DONTWAIT | MSG_NOSIGNAL,
                  (const struct sockaddr *)&d->addr, d->addrlen);
}

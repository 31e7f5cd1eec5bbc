/* listen.c - binding and keeping the listening sockets. */
#include "proc/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"

/* The options a live socket can take (and a reload applies again); a
 * failure is logged and ignored, as nginx does. */
static void listen_set_opts(int fd, const struct listen_opts *o, const char *text)
{
    const struct {
        int level, name;  /* setsockopt's option */
        int value;        /* what to set */
        bool wanted;      /* whether the configuration asks for it */
        const char *what; /* for the log line */
    } opts[] = {
        {IPPROTO_TCP, TCP_DEFER_ACCEPT, o->deferred ? 1 : 0, true, "TCP_DEFER_ACCEPT"},
        {SOL_SOCKET, SO_KEEPALIVE, o->keepalive == 1, o->keepalive >= 0, "SO_KEEPALIVE"},
        {IPPROTO_TCP, TCP_KEEPIDLE, o->keepidle, o->keepidle > 0, "TCP_KEEPIDLE"},
        {IPPROTO_TCP, TCP_KEEPINTVL, o->keepintvl, o->keepintvl > 0, "TCP_KEEPINTVL"},
        {IPPROTO_TCP, TCP_KEEPCNT, o->keepcnt, o->keepcnt > 0, "TCP_KEEPCNT"},
        {IPPROTO_TCP, TCP_FASTOPEN, o->fastopen, o->fastopen >= 0, "TCP_FASTOPEN"},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (opts[i].wanted &&
            setsockopt(fd, opts[i].level, opts[i].name, &opts[i].value, sizeof(int)) < 0)
            log_msg(LL_ALERT, 0, errno, "setsockopt(%s) %s failed, ignored", opts[i].what, text);
}

/* backlog 0: bound only, for the probe below. */
static int listen_socket(const union sockaddr_any *a, const struct listen_opts *o, bool reuseport,
                         int backlog)
{
    int one = 1;
    int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        goto fail;
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    /* [::] must not also claim IPv4 (unless ipv6only=off), or it would
     * collide with 0.0.0.0. */
    if (a->sa.sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &o->ipv6only, sizeof(o->ipv6only)) < 0)
        goto fail;
    if (bind(fd, &a->sa, sockaddr_len(a)) < 0)
        goto fail;
    if (backlog > 0 && listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* ---- unix sockets ----------------------------------------------------------- */

static void listen_unix_addr(const char *path, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
}

/* A socket file that nobody listens on any more (left by a crash or a
 * kill -9) would make every start fail, as it does nginx's: one that
 * refuses a connection is removed.  A file that is not a socket, or a
 * socket someone accepts on, stays, and the bind fails with EADDRINUSE. */
static int listen_unix_stale(const char *path)
{
    struct sockaddr_un sun;
    struct stat st;
    listen_unix_addr(path, &sun);
    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return errno = EADDRINUSE, -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    bool refused = rc < 0 && errno == ECONNREFUSED;
    close(fd);
    if (!refused)
        return errno = EADDRINUSE, -1;
    if (unlink(path) < 0)
        return -1;
    log_msg(LL_NOTICE, 0, 0, "removed the stale unix socket \"%s\"", path);
    return 0;
}

/* Bound, readable and writable by every user (nginx's mode 0666), and
 * listening. */
static int listen_unix_socket(const char *path, int backlog)
{
    struct sockaddr_un sun;
    listen_unix_addr(path, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (rc < 0 && errno == EADDRINUSE && listen_unix_stale(path) == 0)
        rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (rc < 0 || chmod(path, 0666) < 0 || listen(fd, backlog) < 0) {
        int saved = errno;
        if (rc == 0)
            unlink(path);
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Slot 0 binds; the other slots share its socket. */
static int listen_unix_slot(struct listener *l, unsigned slot)
{
    if (slot > 0)
        return fcntl(l->fds[0], F_DUPFD_CLOEXEC, 3);
    int fd = listen_unix_socket(l->path, l->backlog);
    l->made_path = fd >= 0;
    return fd;
}

/* SO_REUSEPORT would let a second server started by the same user share
 * the port silently; a plain bind first proves nobody else holds it. */
static int listen_probe(const union sockaddr_any *a, const struct listen_opts *o)
{
    int fd = listen_socket(a, o, false, 0);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static struct listener *listen_find(struct listen_set *ls, const union sockaddr_any *a,
                                    const char *path)
{
    for (struct listener *l = ls->head; l != NULL; l = l->next)
        if (listen_same(&l->addr, l->path, a, path))
            return l;
    return NULL;
}

/* An adopted socket without SO_REUSEPORT (a systemd .socket without
 * ReusePort=yes) cannot get siblings: the slots then share it. */
static int listen_share(struct listener *l, unsigned slot)
{
    if (slot == 1)
        log_msg(LL_WARN, 0, 0,
                "%s cannot be bound once per worker, workers share one socket; "
                "set ReusePort=yes in the socket unit",
                l->text);
    l->fds[slot] = fcntl(l->fds[0], F_DUPFD_CLOEXEC, 3);
    return l->fds[slot];
}

static int listen_grow(struct listener *l, unsigned nslots, char *err, size_t errlen)
{
    if (l->nfds >= nslots)
        return 0;
    int *fds = realloc(l->fds, sizeof(int) * nslots);
    if (fds == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fds = fds;
    for (unsigned i = l->nfds; i < nslots; i++) {
        fds[i] = l->path != NULL ? listen_unix_slot(l, i)
                                 : listen_socket(&l->addr, &l->opts, true, l->backlog);
        if (fds[i] >= 0 && l->path == NULL)
            listen_set_opts(fds[i], &l->opts, l->text);
        if (fds[i] < 0 && errno == EADDRINUSE && l->inherited && i > 0)
            fds[i] = listen_share(l, i);
        if (fds[i] < 0) {
            snprintf(err, errlen, "bind() to %s failed (%d: %s)", l->text, errno, strerror(errno));
            return -1;
        }
        l->nfds = i + 1;
    }
    return 0;
}

/* Our own sockets on the port would fail the probe; and if we hold the
 * port, nobody else can. */
static bool listen_same_port(struct listen_set *ls, const union sockaddr_any *a)
{
    for (struct listener *l = ls->head; l != NULL; l = l->next)
        if (l->path == NULL && l->addr.sa.sa_family == a->sa.sa_family &&
            sockaddr_port(&l->addr) == sockaddr_port(a))
            return true;
    return false;
}

static struct listener *listen_new(struct listen_set *ls, const struct conf_listen *p, char *err,
                                   size_t errlen)
{
    struct listener *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->addr = p->addr;
    snprintf(l->text, sizeof(l->text), "%s", p->text);
    l->backlog = p->backlog;
    l->opts = p->opts;
    l->fresh = true;
    /* Before l joins the set; a unix path is checked when it is bound
     * (a stale file goes then). */
    bool ours = p->path != NULL || listen_same_port(ls, &l->addr);
    l->next = ls->head;
    ls->head = l;
    if (p->path != NULL && (l->path = strdup(p->path)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!ours && listen_probe(&l->addr, &l->opts) < 0) {
        snprintf(err, errlen, "bind() to %s failed (%d: %s)", l->text, errno, strerror(errno));
        return NULL;
    }
    return l;
}

/* A unix socket's file goes with the socket this process made, unless a
 * new binary took the socket over (keep_paths), as nginx does. */
static void listen_free(struct listen_set *ls, struct listener *l)
{
    for (unsigned i = 0; i < l->nfds; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    if (l->path != NULL && l->made_path && !ls->keep_paths)
        unlink(l->path);
    free(l->path);
    free(l->fds);
    free(l);
}

/* Undo: drop listeners this transaction created, and slots it added to
 * existing ones: a bound socket nobody accepts on would take its share of
 * connections and leave them hanging. */
void listen_abort(struct listen_set *ls)
{
    struct listener **pp = &ls->head;
    while (*pp != NULL) {
        struct listener *l = *pp;
        if (l->fresh) {
            *pp = l->next;
            listen_free(ls, l);
            continue;
        }
        while (l->nfds > l->committed)
            close(l->fds[--l->nfds]);
        pp = &l->next;
    }
}

/* A changed backlog applies to the same socket: listen() again updates it. */
static void listen_set_backlog(struct listener *l, int backlog)
{
    if (l->backlog == backlog)
        return;
    l->backlog = backlog;
    for (unsigned i = 0; i < l->nfds; i++)
        (void)listen(l->fds[i], backlog);
}

/* Changed options apply to the same sockets too, but ipv6only, which
 * only a new bind could change (it keeps the old value). */
static void listen_update_opts(struct listener *l, const struct listen_opts *o)
{
    struct listen_opts want = *o;
    want.ipv6only = l->opts.ipv6only;
    if (l->path != NULL || memcmp(&want, &l->opts, sizeof(want)) == 0)
        return;
    l->opts = want;
    for (unsigned i = 0; i < l->nfds; i++)
        if (l->fds[i] >= 0)
            listen_set_opts(l->fds[i], &want, l->text);
}

int listen_sync(struct listen_set *ls, struct conf *conf, unsigned nslots, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->nlistens; i++) {
        struct conf_listen *p = &conf->listens[i];
        struct listener *l = listen_find(ls, &p->addr, p->path);
        if (l == NULL && (l = listen_new(ls, p, err, errlen)) == NULL)
            goto fail;
        if (listen_grow(l, nslots, err, errlen) < 0)
            goto fail;
        p->listener = l;
    }
    return 0;
fail:
    listen_abort(ls);
    return -1;
}

void listen_commit(struct listen_set *ls, struct conf *conf, unsigned gen, unsigned nslots)
{
    for (size_t i = 0; i < conf->nlistens; i++) {
        struct listener *l = conf->listens[i].listener;
        l->fresh = false;
        l->gen = gen;
        if (l->committed < nslots)
            l->committed = nslots;
        listen_set_backlog(l, conf->listens[i].backlog);
        listen_update_opts(l, &conf->listens[i].opts);
    }
    (void)ls;
}

void listen_sweep(struct listen_set *ls, unsigned gen, unsigned nslots)
{
    struct listener **pp = &ls->head;
    while (*pp != NULL) {
        struct listener *l = *pp;
        if (l->gen != gen) {
            *pp = l->next;
            listen_free(ls, l);
            continue;
        }
        while (l->nfds > nslots)
            close(l->fds[--l->nfds]);
        l->committed = l->nfds;
        pp = &l->next;
    }
}

void listen_close_others(struct listen_set *ls, unsigned gen, unsigned slot)
{
    for (struct listener *l = ls->head; l != NULL; l = l->next) {
        for (unsigned i = 0; i < l->nfds; i++) {
            if (l->gen == gen && i == slot)
                continue;
            close(l->fds[i]);
            l->fds[i] = -1;
        }
    }
}

void listen_close_slot(struct listener *l, unsigned slot)
{
    if (slot >= l->nfds || l->fds[slot] < 0)
        return;
    close(l->fds[slot]);
    l->fds[slot] = -1;
}

void listen_close_all(struct listen_set *ls)
{
    while (ls->head != NULL) {
        struct listener *l = ls->head;
        ls->head = l->next;
        listen_free(ls, l);
    }
}

/* The address of an inherited socket: a TCP one, or a unix one's path
 * (*path malloc'd).  -1 for anything else. */
static int listen_adopt_addr(int fd, union sockaddr_any *a, char **path)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int listening = 0;
    socklen_t olen = sizeof(listening);
    memset(&ss, 0, sizeof(ss));
    *path = NULL;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0 || !listening)
        return -1;
    memset(a, 0, sizeof(*a));
    if (ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
        a->sa.sa_family = AF_UNIX;
        return sun->sun_path[0] != '\0' && (*path = strdup(sun->sun_path)) != NULL ? 0 : -1;
    }
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
        return -1;
    memcpy(a, &ss, ss.ss_family == AF_INET6 ? sizeof(a->sin6) : sizeof(a->sin));
    return 0;
}

static struct listener *listen_adopt_new(struct listen_set *ls, const union sockaddr_any *a,
                                         char *path)
{
    struct listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->addr = *a;
    l->path = path;
    if (path != NULL)
        snprintf(l->text, sizeof(l->text), "unix:%s", path);
    else
        sockaddr_text(a, true, l->text, sizeof(l->text));
    l->backlog = -1; /* unknown: the configuration's is applied */
    listen_opts_init(&l->opts);
    l->inherited = true;
    l->next = ls->head;
    ls->head = l;
    return l;
}

static int listen_adopt_one(struct listen_set *ls, int fd, char *err, size_t errlen)
{
    union sockaddr_any a;
    char *path;
    if (listen_adopt_addr(fd, &a, &path) < 0) {
        snprintf(err, errlen, "inherited descriptor %d is not a listening TCP or unix socket", fd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct listener *l = listen_find(ls, &a, path);
    if (l != NULL)
        free(path);
    else if ((l = listen_adopt_new(ls, &a, path)) == NULL)
        return free(path), snprintf(err, errlen, "out of memory"), -1;
    int *fds = realloc(l->fds, sizeof(int) * (l->nfds + 1));
    if (fds == NULL)
        return snprintf(err, errlen, "out of memory"), -1;
    l->fds = fds;
    l->fds[l->nfds++] = fd;
    return 0;
}

int listen_adopt(struct listen_set *ls, const int *fds, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (listen_adopt_one(ls, fds[i], err, errlen) < 0)
            return -1;
    return 0;
}

char *listen_env_value(const struct listen_set *ls)
{
    size_t cap = 1, len = 0;
    for (const struct listener *l = ls->head; l != NULL; l = l->next)
        cap += 12 * l->nfds;
    char *v = malloc(cap);
    if (v == NULL)
        return NULL;
    v[0] = '\0';
    /* Reverse list order is creation order reversed; keep slots in order
     * within each address, which is what the next binary relies on. */
    for (const struct listener *l = ls->head; l != NULL; l = l->next)
        for (unsigned i = 0; i < l->nfds; i++)
            if (l->fds[i] >= 0)
                len += (size_t)snprintf(v + len, cap - len, "%d;", l->fds[i]);
    return v;
}

void listen_keep_on_exec(const struct listen_set *ls)
{
    for (const struct listener *l = ls->head; l != NULL; l = l->next)
        for (unsigned i = 0; i < l->nfds; i++)
            if (l->fds[i] >= 0)
                fcntl(l->fds[i], F_SETFD, 0);
}

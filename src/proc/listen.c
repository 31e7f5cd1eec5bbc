/* listen.c - binding and keeping the listening sockets. */
#include "proc/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/log.h"

static int listen_socket(const union sockaddr_any *a, bool reuseport, int backlog)
{
    int one = 1;
    int fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        goto fail;
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        goto fail;
    /* [::] must not also claim IPv4, or it would collide with 0.0.0.0. */
    if (a->sa.sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
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

/* SO_REUSEPORT would let a second server started by the same user share
 * the port silently; a plain bind first proves nobody else holds it. */
static int listen_probe(const union sockaddr_any *a)
{
    int fd = listen_socket(a, false, 0);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static struct listener *listen_find(struct listen_set *ls, const union sockaddr_any *a)
{
    for (struct listener *l = ls->head; l != NULL; l = l->next)
        if (sockaddr_equal(&l->addr, a))
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
        fds[i] = listen_socket(&l->addr, true, l->backlog);
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

static struct listener *listen_find(struct listen_set *ls, const union sockaddr_any *a);

/* Our own sockets on the port would fail the probe; and if we hold the
 * port, nobody else can. */
static bool listen_same_port(struct listen_set *ls, const union sockaddr_any *a)
{
    for (struct listener *l = ls->head; l != NULL; l = l->next)
        if (l->addr.sa.sa_family == a->sa.sa_family && sockaddr_port(&l->addr) == sockaddr_port(a))
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
    l->fresh = true;
    bool ours = listen_same_port(ls, &l->addr);
    l->next = ls->head;
    ls->head = l;
    if (!ours && listen_probe(&l->addr) < 0) {
        snprintf(err, errlen, "bind() to %s failed (%d: %s)", l->text, errno, strerror(errno));
        return NULL;
    }
    return l;
}

static void listen_free(struct listener *l)
{
    for (unsigned i = 0; i < l->nfds; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
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
            listen_free(l);
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

int listen_sync(struct listen_set *ls, struct conf *conf, unsigned nslots, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->nlistens; i++) {
        struct conf_listen *p = &conf->listens[i];
        struct listener *l = listen_find(ls, &p->addr);
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
            listen_free(l);
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
        listen_free(l);
    }
}

static int listen_adopt_one(struct listen_set *ls, int fd, char *err, size_t errlen)
{
    union sockaddr_any a;
    socklen_t len = sizeof(a);
    int listening = 0;
    socklen_t olen = sizeof(listening);
    memset(&a, 0, sizeof(a));
    if (getsockname(fd, &a.sa, &len) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0 || !listening ||
        (a.sa.sa_family != AF_INET && a.sa.sa_family != AF_INET6)) {
        snprintf(err, errlen, "inherited descriptor %d is not a listening TCP socket", fd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct listener *l = listen_find(ls, &a);
    if (l == NULL) {
        if ((l = calloc(1, sizeof(*l))) == NULL)
            return snprintf(err, errlen, "out of memory"), -1;
        l->addr = a;
        sockaddr_text(&a, true, l->text, sizeof(l->text));
        l->backlog = -1; /* unknown: the configuration's is applied */
        l->inherited = true;
        l->next = ls->head;
        ls->head = l;
    }
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

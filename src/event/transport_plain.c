/* transport_plain.c - plain TCP (or a unix socket): the kernel's calls. */
#include "event/transport.h"

#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event/sock.h"

static ssize_t plain_read(struct sock *s, void *buf, size_t len)
{
    ssize_t n = read(sock_fd(s), buf, len);
    if (n < 0 && errno == EAGAIN)
        s->want = EV_READ;
    return n;
}

static ssize_t plain_readv(struct sock *s, const struct iovec *iov, int n)
{
    ssize_t r = readv(sock_fd(s), iov, n);
    if (r < 0 && errno == EAGAIN)
        s->want = EV_READ;
    return r;
}

static ssize_t plain_writev(struct sock *s, const struct iovec *iov, int n, bool more)
{
    struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(sock_fd(s), &msg, more ? MSG_MORE | MSG_NOSIGNAL : MSG_NOSIGNAL);
    if (w < 0 && errno == EAGAIN)
        s->want = EV_WRITE;
    return w;
}

static ssize_t plain_sendfile(struct sock *s, int fd, off_t *off, size_t len)
{
    ssize_t w = sendfile(sock_fd(s), fd, off, len);
    if (w < 0 && errno == EAGAIN)
        s->want = EV_WRITE;
    return w;
}

static int plain_shutdown(struct sock *s)
{
    return shutdown(sock_fd(s), SHUT_WR);
}

/* nginx's ngx_http_test_reading: a peek tells a close from pending data
 * without taking the data from whoever reads it later. */
static enum probe_rc plain_probe(struct sock *s)
{
    char byte;
    ssize_t n = recv(sock_fd(s), &byte, 1, MSG_PEEK);
    if (n > 0)
        return PROBE_DATA;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return PROBE_NOTHING;
    return PROBE_CLOSED;
}

static void plain_free(struct sock *s)
{
    (void)s;
}

const struct transport transport_plain = {
    .name = "plain",
    .read = plain_read,
    .readv = plain_readv,
    .writev = plain_writev,
    .sendfile = plain_sendfile,
    .shutdown = plain_shutdown,
    .probe = plain_probe,
    .free = plain_free,
};

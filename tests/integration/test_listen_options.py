"""listen parameters of nginx configs: ipv6only=, deferred, so_keepalive=,
fastopen=, and unix: sockets.

The options are read back from the master's own listening sockets
(pidfd_getfd hands the test a copy), so the test sees what the kernel was
told, not what the config says.  A unix socket is one socket every worker
accepts from (nginx's); its file is made mode 0666, removed when the master
stops or a reload drops it, kept across a binary upgrade, and a stale one
left by a killed master is removed at the next start."""

import ctypes
import os
import signal
import socket
import stat

import pytest

from helpers import TIMEOUT, parse_head, wait_for
from http_helpers import http_block, read_all, start

SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
TCP_DEFER_ACCEPT = 9
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_FASTOPEN = 23

libc = ctypes.CDLL(None, use_errno=True)


def steal_fd(pid, fd):
    """A copy of another process's descriptor (we are root)."""
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    assert pidfd >= 0, os.strerror(ctypes.get_errno())
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        assert copy >= 0, os.strerror(ctypes.get_errno())
        return copy
    finally:
        os.close(pidfd)


def listening_socket(pid, family, port):
    """The master's listening socket for (family, port), as a socket."""
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            copy = steal_fd(pid, int(name))
        except AssertionError:
            continue
        try:
            s = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            continue
        try:
            if (s.family == family and s.type == socket.SOCK_STREAM
                    and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                    and s.getsockname()[1] == port):
                return s
        except OSError:
            pass
        s.close()
    raise AssertionError("no listening socket for port %d" % port)


def opt(s, level, name):
    return s.getsockopt(level, name)


# ---- TCP options --------------------------------------------------------------------

def test_tcp_options_reach_the_sockets(server):
    start(server, http_block("""
server { listen 127.0.0.1:%d deferred so_keepalive=30m:10:5 fastopen=64; return 200; }
server { listen 127.0.0.1:%d so_keepalive=on; return 200; }
server { listen 127.0.0.1:%d; return 200; }
server { listen [::1]:%d ipv6only=on; return 200; }
""" % (server.port("a"), server.port("b"), server.port("c"), server.port("v6"))))
    pid = server.master_pid
    a = listening_socket(pid, socket.AF_INET, server.port("a"))
    assert opt(a, socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0
    assert opt(a, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert opt(a, socket.IPPROTO_TCP, TCP_KEEPIDLE) == 1800
    assert opt(a, socket.IPPROTO_TCP, TCP_KEEPINTVL) == 10
    assert opt(a, socket.IPPROTO_TCP, TCP_KEEPCNT) == 5
    assert opt(a, socket.IPPROTO_TCP, TCP_FASTOPEN) == 64
    b = listening_socket(pid, socket.AF_INET, server.port("b"))
    assert opt(b, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert opt(b, socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) == 0
    c = listening_socket(pid, socket.AF_INET, server.port("c"))
    assert opt(c, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    assert opt(c, socket.IPPROTO_TCP, TCP_FASTOPEN) == 0
    v6 = listening_socket(pid, socket.AF_INET6, server.port("v6"))
    assert opt(v6, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    for s in (a, b, c, v6):
        s.close()
    # a deferred socket still answers a client that sends at once
    with socket.create_connection(("127.0.0.1", server.port("a"))) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 200")


def test_ipv6only_off_takes_ipv4_too(server):
    start(server, http_block("""
server { listen [::]:%d ipv6only=off; return 200 "dual\\n"; }
""" % server.port()))
    v6 = listening_socket(server.master_pid, socket.AF_INET6, server.port())
    assert opt(v6, socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
    v6.close()
    with socket.create_connection(("127.0.0.1", server.port())) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert s.recv(1000).endswith(b"dual\n")


def test_options_change_on_reload(server):
    conf = """server { listen 127.0.0.1:%d %s; return 200; }"""
    start(server, http_block(conf % (server.port(), "so_keepalive=on")))
    s = listening_socket(server.master_pid, socket.AF_INET, server.port())
    assert opt(s, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    server.write(http=http_block(conf % (server.port(), "so_keepalive=off deferred")))
    server.reload()
    assert opt(s, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0, "the same socket, changed"
    assert opt(s, socket.IPPROTO_TCP, TCP_DEFER_ACCEPT) > 0
    s.close()


@pytest.mark.parametrize("param,message", [
    ("ipv6only=maybe", 'invalid ipv6only flags "=maybe"'),
    ("so_keepalive=never", 'invalid so_keepalive value: "never"'),
    ("so_keepalive=::", 'invalid so_keepalive value: "::"'),
    ("fastopen=-1", 'invalid fastopen "-1"'),
])
def test_option_errors(server, param, message):
    server.write(http="server { listen 127.0.0.1:%d %s; }" % (server.port(), param))
    r = server.cli("-t")
    assert r.returncode == 1 and message in r.stderr, r.stderr


# ---- unix sockets -----------------------------------------------------------------------

def unix_get(path, target="/", data=None):
    """One request over a unix socket; (status, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        s.sendall(data or ("GET %s HTTP/1.0\r\nHost: u\r\n\r\n" % target).encode())
        out = read_all(s)
    head, _, body = out.partition(b"\r\n\r\n")
    return parse_head(head).status, body


def unix_http(path, tcp_port):
    return http_block("""
server {
    listen unix:%s;
    listen 127.0.0.1:%d;
    location / { return 200 "$remote_addr $server_port $request_uri\\n"; }
    location /redir/ { return 301 /elsewhere; }
}""" % (path, tcp_port))


def test_unix_socket_trusted_by_realip(server):
    """set_real_ip_from unix: trusts every connection on a unix socket, as
    nginx; a TCP client's header is still ignored."""
    path = os.path.join(server.dir, "web.sock")
    start(server, http_block("""
server {
    listen unix:%s;
    listen 127.0.0.1:%d;
    set_real_ip_from unix:;
    location / { return 200 "$remote_addr $realip_remote_addr\n"; }
}""" % (path, server.port())))
    real = b"GET / HTTP/1.0\r\nHost: u\r\nX-Real-IP: 192.0.2.9\r\n\r\n"
    assert unix_get(path, data=real) == (200, b"192.0.2.9 unix:\n")
    with socket.create_connection(("127.0.0.1", server.port()), timeout=TIMEOUT) as s:
        s.sendall(real)
        out = read_all(s)
    assert out.endswith(b"\r\n\r\n127.0.0.1 127.0.0.1\n"), out


def test_unix_socket_serves_and_goes_away(server):
    path = os.path.join(server.dir, "web.sock")
    start(server, unix_http(path, server.port()))
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666
    assert unix_get(path, "/x") == (200, b"unix:  /x\n")
    status, body = unix_get(path, data=b"GET /redir/ HTTP/1.0\r\nHost: u\r\n\r\n")
    assert status == 301
    # one socket, shared by the workers: every one of many requests answers
    for i in range(50):
        assert unix_get(path, "/n%d" % i)[0] == 200
    server.stop()
    assert not os.path.exists(path), "the master removes the socket it made"


def test_unix_socket_kept_across_reload_and_dropped_when_unconfigured(server):
    path = os.path.join(server.dir, "web.sock")
    start(server, unix_http(path, server.port()))
    inode = os.stat(path).st_ino
    server.reload()
    assert os.stat(path).st_ino == inode, "the same socket file"
    assert unix_get(path)[0] == 200
    server.write(http=http_block("server { listen 127.0.0.1:%d; return 200; }" % server.port()))
    server.reload()
    wait_for(lambda: not os.path.exists(path), what="the dropped socket's file to go")


def make_stale(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.close()  # the file stays, nobody listens: what a killed master leaves


def test_stale_socket_file_is_removed(server):
    path = os.path.join(server.dir, "web.sock")
    make_stale(path)
    start(server, unix_http(path, server.port()))
    assert unix_get(path)[0] == 200
    server.wait_log(r'removed the stale unix socket "%s"' % path)


def test_socket_in_use_or_not_a_socket_is_left_alone(server):
    path = os.path.join(server.dir, "web.sock")
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(path)
    other.listen(1)
    try:
        server.write(http=unix_http(path, server.port()))
        server.expect_log(r"bind\(\) to unix:.* failed \(98: Address already in use\)")
        r = server.cli()
        assert r.returncode == 1
        assert "bind() to unix:%s failed (98: Address already in use)" % path in r.stderr
        assert os.path.exists(path)
    finally:
        other.close()
    os.unlink(path)
    with open(path, "w") as f:
        f.write("data\n")
    r = server.cli()
    assert r.returncode == 1 and "Address already in use" in r.stderr
    with open(path) as f:
        assert f.read() == "data\n", "a regular file is never removed"


def test_unix_socket_survives_binary_upgrade(server):
    path = os.path.join(server.dir, "web.sock")
    start(server, unix_http(path, server.port()))
    old = server.master_pid
    inode = os.stat(path).st_ino
    server.kill(signal.SIGUSR2)
    new = wait_for(lambda: server.read_pid() not in (None, old) and server.read_pid(),
                   what="the new master")
    server.seen.setdefault(new, None)
    wait_for(lambda: len([p for p in os.listdir("/proc") if p.isdigit()
                          and _ppid(int(p)) == new]) == 2, what="the new workers")
    os.kill(old, signal.SIGQUIT)
    wait_for(lambda: not os.path.exists("/proc/%d" % old) or _zombie(old), what="old master gone")
    assert os.stat(path).st_ino == inode, "the old master left the new one's socket"
    assert unix_get(path)[0] == 200
    server.master_pid = new
    server.proc = None


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return None


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_unix_path_errors(server):
    server.write(http="server { listen unix:%s; }" % ("/tmp/" + "x" * 120))
    r = server.cli("-t")
    assert r.returncode == 1 and "too long path in the unix domain socket" in r.stderr

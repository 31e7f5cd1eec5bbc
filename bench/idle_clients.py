"""Helper of bench/run's idle-connection scenario: holds N keep-alive
connections open, each after one complete request, so the server has them
in its keep-alive idle state.

    /usr/bin/python3 idle_clients.py PORT PATH N [--tls]

With --tls the connections are TLS (the server's certificate unchecked):
bench/run's scenario m.

Prints "ready N" once every connection has had its response.  Then it reads
commands on stdin: "check" prints "closed K", the number of connections the
server has closed since (it should be 0: keepalive_timeout is 65 s); end of
input closes everything and exits.

One process holds at most a few thousand sockets because the per-process fd
limit (20,000 here) is shared with nothing else, but the parent spreads the
load over several helpers anyway so each stays small and fast.
"""

import resource
import socket
import ssl
import sys


def read_response(sock):
    """Reads one response with a Content-Length body; returns the status."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return int(lines[0].split()[1])


def open_idle(port, path, n, tls=False):
    """One request per connection, sequentially: the server accepts each
    before the next, so no listen backlog overflows and no SYN is retried."""
    request = ("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            s = ctx.wrap_socket(s, server_hostname="bench.test")
        s.sendall(request)
        status = read_response(s)
        if status != 200:
            raise RuntimeError("status %d" % status)
        socks.append(s)
    return socks


def count_closed(socks):
    """Connections where the server has sent EOF, a reset or stray bytes."""
    closed = 0
    for s in socks:
        s.setblocking(False)
        raw = socket.socket(fileno=s.fileno()) if isinstance(s, ssl.SSLSocket) else s
        try:
            if raw.recv(1, socket.MSG_PEEK) is not None:
                closed += 1  # b"" (EOF) or unexpected data
        except BlockingIOError:
            pass  # still open and silent, as an idle connection should be
        except OSError:
            closed += 1
        finally:
            if raw is not s:
                raw.detach()
    return closed


def main():
    port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    tls = "--tls" in sys.argv[4:]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks = open_idle(port, path, n, tls)
    print("ready %d" % len(socks), flush=True)
    for line in sys.stdin:
        if line.strip() == "check":
            print("closed %d" % count_closed(socks), flush=True)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()

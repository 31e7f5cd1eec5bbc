"""Upstream responses judged before the client sees them: malformed heads
give 502 with nginx's log lines, bytes beyond Content-Length are dropped
and their connection not reused, and an upstream that stops early leaves
the client a response that is visibly incomplete.  Bodies pass in any
framing, slowly or in many pieces."""

import re
import socket
import threading

import pytest

from helpers import Closed, Conn
from http_helpers import read_all
from proxy_helpers import (Client, backend, fetch, make_backend,  # noqa: F401 (fixtures)
                           pattern, start_proxy)


def proxied(server, backend, extra=""):
    return start_proxy(server, """
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            %s
        }""" % extra, http_extra="upstream up { server %s; keepalive 4; }" % backend.address)


@pytest.mark.parametrize("kind,log", [
    ("status", "upstream sent no valid HTTP/1.0 header"),
    ("garbage", "upstream sent no valid HTTP/1.0 header"),
    ("cl-te", 'upstream sent "Content-Length" and "Transfer-Encoding" headers at the same time'),
    ("dup-cl", 'upstream sent duplicate header line: "Content-Length: 6", previous value: '
               '"Content-Length: 5"'),
    ("bad-cl", 'upstream sent invalid "Content-Length" header: "Content-Length: abc"'),
    ("no-colon", 'upstream sent invalid header: "Broken header line"'),
])
def test_malformed_heads_are_502(server, backend, kind, log):
    proxied(server, backend)
    assert fetch(server.port(), "/malformed/" + kind).status == 502
    server.wait_log(r"\[error\] .*%s while reading response header from upstream, "
                    r"client: 127\.0\.0\.1, .*upstream: \"http://%s/malformed/%s\""
                    % (re.escape(log), re.escape(backend.address), kind))


def test_bare_lf_head_is_accepted(server, backend):
    proxied(server, backend)
    r = fetch(server.port(), "/malformed/lf")
    assert r.status == 200 and r.body == b"ok"


def test_too_big_header(server, backend):
    proxied(server, backend, "proxy_buffer_size 1k;")
    assert fetch(server.port(), "/big-header?size=2000").status == 502
    server.wait_log("upstream sent too big header while reading response header from upstream")
    assert fetch(server.port(), "/big-header?size=200").status == 200


def test_extra_bytes_dropped_and_connection_not_reused(server, backend):
    proxied(server, backend)
    with Client(server.port()) as c:
        r = c.get("/malformed/extra")
        assert r.body == b"hello"
        r = c.get("/")  # the same client connection goes on
        assert r.status == 200
    server.wait_log('upstream sent more data than specified in "Content-Length" header while '
                    'reading upstream')
    # The backend closed its side after the extra bytes; what matters is
    # that the next request went over a new connection.
    assert int(r.header("X-Request-No")) == 1


def test_early_close_is_visibly_incomplete(server, backend):
    proxied(server, backend)
    # Content-Length known: fewer bytes, then the close.
    with Conn(server.port()) as c:
        c.request("/close-early?length=100&send=10")
        with pytest.raises(Closed):
            c.read_response()
    # Chunked: no last chunk.
    with Client(server.port()) as c:
        c.request("/chunked-truncated?n=2")
        with pytest.raises(Closed):
            c.response()
    # Delimited by the close, to an HTTP/1.0 client: a reset, not a close.
    s = socket.create_connection(("127.0.0.1", server.port()))
    s.sendall(b"GET /chunked-truncated?n=2 HTTP/1.0\r\nHost: x\r\n\r\n")
    with pytest.raises(ConnectionResetError):
        while s.recv(65536):
            pass
    s.close()
    server.wait_log("upstream prematurely closed connection while reading upstream")


def test_delimited_by_close_is_complete(server, backend):
    """A body that the upstream ends by closing is complete: the client
    gets it chunked (HTTP/1.1) or by a close (HTTP/1.0)."""
    proxied(server, backend)
    with Client(server.port()) as c:
        r = c.get("/no-length")
        assert r.header("Transfer-Encoding") == "chunked" and r.body == b"until the end\n"
        assert c.get("/").status == 200
    data = read_all(_raw(server, b"GET /no-length HTTP/1.0\r\nHost: x\r\n\r\n"))
    assert data.endswith(b"\r\n\r\nuntil the end\n")


def _raw(server, data):
    s = socket.create_connection(("127.0.0.1", server.port()))
    s.sendall(data)
    return s


def test_bodies_in_any_framing(server, backend):
    proxied(server, backend)
    with Client(server.port()) as c:
        r = c.get("/chunked?n=50&size=100&trailer=1")
        assert r.body == b"".join((b"%d" % (i % 10)) * 100 for i in range(50))
        assert r.trailers == []  # trailers are the upstream's framing, not passed on
        r = c.get("/bytes/3000000")
        assert r.header("Content-Length") == "3000000" and r.body == pattern(3000000)
        r = c.get("/stream?size=5000&chunk=1000&interval=20")
        assert r.body == pattern(1000) * 5
        r = c.get("/status/204")
        assert r.status == 204 and r.body == b""
        r = c.get("/status/304")
        assert r.status == 304


class OneShot:
    """A backend that answers one connection with fixed bytes, then closes."""

    def __init__(self, answer):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(answer,), daemon=True)
        self.thread.start()

    def _serve(self, answer):
        conn, _ = self.sock.accept()
        conn.recv(65536)
        conn.sendall(answer)
        conn.close()
        self.sock.close()


def test_invalid_chunked_body_cuts(server):
    """A bad chunk after the head went is a cut response."""
    up = OneShot(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")
    start_proxy(server, "location /x { proxy_pass http://%s; }" % up.address)
    with Client(server.port()) as c:
        c.request("/x")
        with pytest.raises(Closed):
            c.response()
    up.thread.join(5)
    server.wait_log("upstream sent invalid chunked response while reading upstream")

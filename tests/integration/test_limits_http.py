"""Limits with nginx's names: header buffers, body size, the timeouts,
keepalive_timeout/keepalive_requests and server_tokens."""

import os
import re
import socket
import time

import pytest

from helpers import Conn, get
from http_helpers import assert_alive, closed_within, docroot, http_block, read_all, req, start


@pytest.fixture(scope="module")
def srv(module_servers):
    """Default buffers (1k, 4 x 8k) on the main port, small ones on "small",
    short timeouts on "timeouts"."""
    s = module_servers("limits")
    size = 12 * 1024 * 1024
    root = docroot(s, {"a.txt": "aaa\n", "big.bin": os.urandom(1024) * (size // 1024)})
    start(s, http_block("""
server {
    listen 127.0.0.1:%(main)d;
    root %(root)s;
    location /echo { return 200 "echo\\n"; }
    location /unlimited { client_max_body_size 0; return 200 "unlimited\\n"; }
    location /limited { client_max_body_size 100; return 200 "limited\\n"; }
}
server {
    listen 127.0.0.1:%(small)d;
    client_header_buffer_size 256;
    large_client_header_buffers 2 1k;
    root %(root)s;
}
server {
    listen 127.0.0.1:%(timeouts)d;
    root %(root)s;
    client_header_timeout 2s;
    keepalive_timeout 60s;
    location /bodyfast { client_body_timeout 1s; return 200 "fast\\n"; }
    location /bodyslow { client_body_timeout 60s; return 200 "slow\\n"; }
    location /sendfast { send_timeout 1s; alias %(root)s/big.bin; }
    location /sendslow { send_timeout 60s; alias %(root)s/big.bin; }
}
""" % {"main": s.port(), "small": s.port("small"), "timeouts": s.port("timeouts"),
       "root": root}), events="worker_connections 512;")
    s.big_size = size
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def bad_then_closed(port, raw, statuses):
    with Conn(port) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status in statuses, r
        assert r.header("Connection") == "close"
        assert c.wait_closed()
    return r


# ---- client_header_buffer_size / large_client_header_buffers -------------------------

def test_long_request_line_is_414(srv):
    r = bad_then_closed(srv.port(), req("/" + "a" * 9000), (414,))
    assert "<title>414 Request-URI Too Large</title>" in r.text


def test_request_line_within_large_buffer_is_served(srv):
    r = get(srv.port(), "/a.txt?" + "q" * 7000)
    assert (r.status, r.text) == (200, "aaa\n")
    r = get(srv.port(), "/" + "n" * 7000)
    assert r.status == 404


def test_long_header_is_431_or_400(srv):
    bad_then_closed(srv.port(), req("/a.txt", headers=[("X-Long", "v" * 9000)]), (400, 431))


def test_head_that_needs_growth_but_fits(srv):
    """Three 6k headers: more than the 1k first buffer, each within one 8k
    large buffer, all within 4 x 8k."""
    hdrs = [("X-H%d" % i, chr(ord("a") + i) * 6000) for i in range(3)]
    with Conn(srv.port()) as c:
        r = c.get("/a.txt", headers=hdrs)
        assert (r.status, r.text) == (200, "aaa\n")
        assert r.header("Connection") == "keep-alive"
        # And again on the same connection, pipelined after a small one.
        c.send(req("/a.txt") + req("/a.txt", headers=hdrs))
        assert c.read_response().text == "aaa\n"
        assert c.read_response().text == "aaa\n"


def test_head_larger_than_all_buffers(srv):
    hdrs = [("X-H%d" % i, "z" * 7000) for i in range(6)]  # 42k > 4 x 8k
    bad_then_closed(srv.port(), req("/a.txt", headers=hdrs), (400, 431))


def test_small_buffers(srv):
    p = srv.port("small")
    assert get(p, "/a.txt?" + "q" * 900).text == "aaa\n"
    bad_then_closed(p, req("/a.txt?" + "q" * 1100), (414,))
    assert get(p, "/a.txt", headers=[("X-A", "a" * 900)]).text == "aaa\n"
    bad_then_closed(p, req("/a.txt", headers=[("X-A", "a" * 1100)]), (400, 431))
    bad_then_closed(p, req("/a.txt", headers=[("X-%d" % i, "b" * 700) for i in range(4)]),
                    (400, 431))


# ---- client_max_body_size ---------------------------------------------------------------

def test_client_max_body_size(srv):
    p = srv.port()
    # Default 1m.
    bad_then_closed(p, req("/echo", method="POST", headers=[("Content-Length", "1048577")]),
                    (413,))
    with Conn(p) as c:
        c.send(req("/echo", method="POST", headers=[("Content-Length", "1048576")],
                   body=b"x" * 1048576))
        assert c.read_response().status == 200
    bad_then_closed(p, req("/limited", method="POST", headers=[("Content-Length", "101")]),
                    (413,))
    with Conn(p) as c:
        c.send(req("/limited", method="POST", headers=[("Content-Length", "100")],
                   body=b"x" * 100))
        assert c.read_response().text == "limited\n"


def test_client_max_body_size_zero_is_unlimited(srv):
    n = 64 * 1024 * 1024 * 1024
    with Conn(srv.port()) as c:
        c.send(req("/unlimited", method="POST", headers=[("Content-Length", str(n))],
                   body=b"x" * 100000))
        r = c.read_response()
        assert (r.status, r.text) == (200, "unlimited\n")


# ---- client_header_timeout --------------------------------------------------------------

def test_client_header_timeout_partial_head(srv):
    with Conn(srv.port("timeouts")) as c:
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
        assert closed_within(c, 12), "a stalled head was never closed"
        # Either closed silently or with a 408.
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 408 ")


def test_client_header_timeout_is_a_total_deadline(srv):
    """Dribbling a byte every 0.25 s does not extend the 2 s deadline."""
    with Conn(srv.port("timeouts")) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200
        deadline = time.monotonic() + 15
        closed = False
        for b in raw:
            if time.monotonic() > deadline:
                break
            try:
                c.send(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_within(c, 0.25):
                closed = True
                break
        assert closed, "a dribbling head was never closed"
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 408 ")


def test_client_header_timeout_on_keepalive_request(srv):
    """The next request's head on a keep-alive connection has the header
    deadline (2 s here), not keepalive_timeout (60 s)."""
    with Conn(srv.port("timeouts")) as c:
        assert c.get("/a.txt").text == "aaa\n"
        c.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
        assert closed_within(c, 12), "a stalled second head was never closed"
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 408 ")


def test_client_header_timeout_idle_new_connection(srv):
    with Conn(srv.port("timeouts")) as c:
        assert closed_within(c, 12), "a connection that never sends is never closed"
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 408 ")


# ---- client_body_timeout ------------------------------------------------------------------

def test_client_body_timeout(srv):
    p = srv.port("timeouts")
    with Conn(p) as fast, Conn(p) as slow:
        for c, path in ((fast, "/bodyfast"), (slow, "/bodyslow")):
            c.send(req(path, method="POST", headers=[("Content-Length", "1000")],
                       body=b"x" * 10))
        assert fast.read_response().text == "fast\n"
        r = slow.read_response()
        assert r.text == "slow\n"
        assert closed_within(fast, 12), "a stalled body outlived client_body_timeout 1s"
        # The 60 s location keeps waiting for the rest of its body.
        if r.header("Connection") == "keep-alive":
            assert slow.nothing_within(1.0)
            slow.send(b"y" * 990)
            assert slow.get("/a.txt").text == "aaa\n"


# ---- send_timeout --------------------------------------------------------------------------

def stalled_download(port, path, rcvbuf=4096):
    """A client that asks for a large file and does not read (a small
    receive buffer, so the server's writes block soon)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.sendall(req(path))
    return s


def test_send_timeout(srv):
    p = srv.port("timeouts")
    mark = srv.log_size()
    s = stalled_download(p, "/sendfast")
    ctl = stalled_download(p, "/sendslow", rcvbuf=65536)
    try:
        srv.wait_log(r"\[info\] \d+#0: \*\d+ client timed out \(110: Connection timed out\)"
                     r".*GET /sendfast", since=mark)
        got = read_all(s, timeout=15)
        assert len(got) < srv.big_size, "the stalled client got the whole response anyway"
        # The control, with 60 s, still gets every byte.
        got = read_all_until(ctl, srv.big_size)
        head, _, body = got.partition(b"\r\n\r\n")
        assert len(body) == srv.big_size
    finally:
        s.close()
        ctl.close()


def test_send_timeout_is_between_writes(srv):
    """A client that reads slowly but keeps reading (pauses of 0.4 s under
    send_timeout 1s) gets everything: the timeout is per write, not total."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(("127.0.0.1", srv.port("timeouts")))
    try:
        s.sendall(req("/sendfast"))
        s.settimeout(15)
        data = b""
        want = None
        while want is None or len(data) < want:
            chunk = b""
            target = 1500000 if want is None else min(1500000, want - len(data))
            while len(chunk) < target:
                d = s.recv(min(1 << 20, target - len(chunk)))
                assert d, "closed after %d bytes" % (len(data) + len(chunk))
                chunk += d
            data += chunk
            if want is None and b"\r\n\r\n" in data:
                want = data.index(b"\r\n\r\n") + 4 + srv.big_size
            time.sleep(0.4)
        assert len(data) == want
    finally:
        s.close()


def test_client_abort_mid_response(srv):
    """Clients that leave in the middle of a large response (FIN, or RST
    with unread data) cost nothing but their connection."""
    p = srv.port()
    for linger_rst in (False, True):
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", p))
            s.sendall(req("/big.bin"))
            s.recv(65536)
            if linger_rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
    with Conn(p) as c:
        r = c.get("/big.bin")
        assert len(r.body) == srv.big_size
        assert c.get("/a.txt").text == "aaa\n"


def read_all_until(s, size):
    s.settimeout(15)
    data = b""
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        data += d
        if b"\r\n\r\n" in data and len(data.partition(b"\r\n\r\n")[2]) >= size:
            break
    return data


# ---- keepalive_timeout / keepalive_requests / server_tokens ---------------------------------

def test_keepalive_timeout_with_header(server):
    start(server, http_block("keepalive_timeout 1s 7;\nserver { listen 127.0.0.1:%d; "
                             "location / { return 200 \"ok\\n\"; } }" % server.port()))
    with Conn(server.port()) as c:
        r = c.get()
        assert r.header("Connection") == "keep-alive"
        assert r.header("Keep-Alive") == "timeout=7"
        assert closed_within(c, 10), "idle connection outlived keepalive_timeout 1s"
        assert c.buf == b""


def test_keepalive_requests(server):
    start(server, http_block("keepalive_requests 3;\nserver { listen 127.0.0.1:%d; "
                             "location / { return 200 \"ok\\n\"; } }" % server.port()))
    with Conn(server.port()) as c:
        conns = [c.get().header("Connection") for _ in range(3)]
        assert conns == ["keep-alive", "keep-alive", "close"]
        assert c.wait_closed()


@pytest.mark.parametrize("tokens", ["on", "off"])
def test_server_tokens(server, tokens):
    start(server, http_block("server_tokens %s;\nserver { listen 127.0.0.1:%d; "
                             "location / { return 200 \"ok\\n\"; } location /e { return 404; } }"
                             % (tokens, server.port())))
    for path in ("/", "/e"):
        r = get(server.port(), path)
        if tokens == "on":
            assert re.fullmatch(r"turnpike/\d+\.\d+\.\d+\S*", r.header("Server")), r
        else:
            assert r.header("Server") == "turnpike"
    r = get(server.port(), "/e")
    sig = "<hr><center>%s</center>" % r.header("Server")
    assert sig in r.text
    # A parse error answered before any server is chosen follows the
    # default server's setting too.
    with Conn(server.port()) as c:
        c.send(b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        assert r.status == 400 and sig in r.text

"""keepalive_timeout, keepalive_requests, server_tokens, worker_connections."""

import re

from helpers import Conn, get, tcp_socket_inode, wait_for


def block(port, extra="", loc_extra=""):
    return ('server {\n  listen 127.0.0.1:%d;\n%s\n  location / { %s return 200 "ok\\n"; }\n'
            '  location /inner { keepalive_requests 2; return 200 "inner\\n"; }\n}'
            % (port, extra, loc_extra))


def test_keepalive_timeout_closes_idle(server):
    server.write(http="keepalive_timeout 1;\n" + block(server.port()))
    server.start()
    with Conn(server.port()) as c:
        r = c.get()
        assert r.header("Connection") == "keep-alive"
        assert r.header("Keep-Alive") is None
        assert c.wait_closed(), "idle keep-alive connection closed after keepalive_timeout"
    # A connection in use is not closed by that timer.
    with Conn(server.port()) as c:
        for _ in range(6):
            assert c.get().status == 200
            assert c.nothing_within(0.25)


def test_keepalive_timeout_zero_disables(server):
    server.write(http="keepalive_timeout 0;\n" + block(server.port()))
    server.start()
    with Conn(server.port()) as c:
        r = c.get()
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_keepalive_header_timeout(server):
    server.write(http=block(server.port(), "keepalive_timeout 75s 60s;"))
    server.start()
    r = get(server.port())
    assert r.header("Connection") == "keep-alive"
    assert r.header("Keep-Alive") == "timeout=60"
    # Not on a response that closes.
    r = get(server.port(), headers=[("Connection", "close")])
    assert r.header("Connection") == "close"
    assert r.header("Keep-Alive") is None


def test_keepalive_requests(server):
    server.write(http="keepalive_requests 3;\n" + block(server.port()))
    server.start()
    with Conn(server.port()) as c:
        assert [c.get().header("Connection") for _ in range(3)] == ["keep-alive"] * 2 + ["close"]
        assert c.wait_closed()
    # Inherited into the location that overrides it with 2.
    with Conn(server.port()) as c:
        assert [c.get("/inner").header("Connection") for _ in range(2)] == ["keep-alive",
                                                                           "close"]
        assert c.wait_closed()


def test_keepalive_requests_pipelined(server):
    server.write(http="keepalive_requests 2;\n" + block(server.port()))
    server.start()
    with Conn(server.port()) as c:
        c.send(b"".join(c.request(send=False) for _ in range(3)))
        assert c.read_response().header("Connection") == "keep-alive"
        assert c.read_response().header("Connection") == "close"
        assert c.wait_closed(), "the third request is not answered"


def test_server_tokens(server):
    server.write(http="server_tokens off;\n" + block(server.port()) + "\n" +
                 'server { listen 127.0.0.1:%d; server_tokens on; return 404; }'
                 % server.port("on"))
    server.start()
    r = get(server.port())
    assert r.header("Server") == "turnpike"
    r = get(server.port(), "/x/../..")
    assert r.status == 400
    assert "<hr><center>turnpike</center>" in r.text
    r = get(server.port("on"))
    assert re.fullmatch(r"turnpike/\d+\.\d+\.\d+\S*", r.header("Server"))
    assert "<hr><center>%s</center>" % r.header("Server") in r.text


def test_worker_connections_limit(server):
    server.write(http=block(server.port()), events="worker_connections 4;", workers=1)
    server.start()
    held = [Conn(server.port()) for _ in range(4)]
    for c in held:
        assert c.get().status == 200
    fifth = Conn(server.port())  # the kernel accepts it into the backlog
    fifth.request()
    assert fifth.nothing_within(1.0), "the 5th connection waits, neither served nor closed"
    server.wait_log(r"\[warn\] \d+#0: 4 worker_connections are not enough\n")
    held.pop().close()
    r = fifth.read_response()
    assert r.status == 200
    # The freed slot went to the 5th: still 4 in use, so a 6th waits again.
    sixth = Conn(server.port())
    sixth.request()
    assert sixth.nothing_within(0.5)
    fifth.close()
    assert sixth.read_response().status == 200
    for c in held + [sixth]:
        c.close()
    # All slots free again.
    conns = [Conn(server.port()) for _ in range(4)]
    for c in conns:
        assert c.get().status == 200
        c.close()


def test_close_response_really_closes(server):
    """After a complete request answered with Connection: close there is
    nothing left to read, so the worker closes the socket right away (nginx
    lingers only when unread data may follow) instead of holding it, and a
    worker_connections slot, for its 5 s lingering timeout."""
    server.write(http=block(server.port()))
    server.start()
    for version, headers in (("1.0", ()), ("1.1", [("Connection", "close")])):
        with Conn(server.port()) as c:
            r = c.get(version=version, headers=headers)
            assert (r.status, r.header("Connection")) == (200, "close")
            assert c.wait_closed()
            # The client keeps its end open; the server must let go of its own.
            mine = c.sock.getsockname()[1]
            wait_for(lambda: tcp_socket_inode(server.port(), mine) in ("0", None), timeout=2.5,
                     what="HTTP/%s: worker to close its socket (not linger)" % version)

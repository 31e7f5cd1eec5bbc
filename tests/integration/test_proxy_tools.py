"""Self-tests of the proxy tests' tools: the scripted backend (backend.py)
and the DNS server (dnsserver.py), exercised directly, without turnpike."""

import json
import os
import queue
import socket
import threading

import pytest

from backend import ws_frame
from dnsserver import TYPE_A, TYPE_AAAA, TYPE_CNAME, query
from helpers import Closed
from proxy_helpers import (  # noqa: F401 (fixtures)
    Client, WSClient, backend, backend_process, dns_server, fetch, make_backend, pattern)


# ---- the backend ----------------------------------------------------------------

def test_echo_and_default(backend):
    r = fetch(backend.port, "/some/where?x=1")
    assert r.status == 200
    assert r.body == b"backend GET /some/where?x=1\n"
    assert r.header("X-Backend") == "backend"
    with Client(backend.port) as c:
        doc = c.json("/echo?q=2", method="POST", body="hello",
                     headers=[("X-One", "1"), ("x-two", "2")])
        assert doc["method"] == "POST" and doc["target"] == "/echo?q=2"
        assert doc["body"] == "hello" and doc["body_length"] == 5
        assert ["X-One", "1"] in doc["headers"] and ["x-two", "2"] in doc["headers"]
        # A chunked request body is decoded.
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        doc = json.loads(c.response().body)
        assert doc["body"] == "abcde" and doc["request"] == 2


def test_keepalive_and_counts(backend):
    with Client(backend.port) as c:
        a = c.get("/")
        b = c.get("/")
        assert a.header("X-Conn") == b.header("X-Conn")
        assert b.header("X-Request-No") == "2"
        last = c.get("/", headers=[("Connection", "close")])
        assert last.header("Connection") == "close"
        with pytest.raises(Closed):
            c._fill()
    stats = json.loads(fetch(backend.port, "/_stats").body)
    assert stats["connections"] == 2
    assert stats["requests"] == 4
    assert backend.connections == 2


def test_delays_answer_in_their_own_order(backend):
    """The seed's picture, against the backend alone: 600, 200 and 400 ms
    finish in the order 2, 3, 1."""
    done = queue.Queue()

    def one(i, ms):
        r = fetch(backend.port, "/delay/%d" % ms)
        assert r.body == b"delayed %d\n" % ms
        done.put(i)
    threads = [threading.Thread(target=one, args=(i, ms))
               for i, ms in ((1, 600), (2, 200), (3, 400))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [done.get() for _ in range(3)] == [2, 3, 1]


def test_status_header_bytes_stream(backend):
    r = fetch(backend.port, "/status/503")
    assert r.status == 503 and r.body == b"status 503\n"
    r = fetch(backend.port, "/header?Location=/there&X-A=b")
    assert r.header("Location") == "/there" and r.header("X-A") == "b"
    r = fetch(backend.port, "/bytes/200000")
    assert len(r.body) == 200000 and r.body == pattern(200000)
    r = fetch(backend.port, "/stream?size=500&chunk=100&interval=10")
    assert len(r.body) == 500
    r = fetch(backend.port, "/bytes/10", method="HEAD")
    assert r.header("Content-Length") == "10" and r.body == b""


def test_chunked_framings(backend):
    r = fetch(backend.port, "/chunked?n=3&size=4&trailer=1")
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.body == b"000011112222"
    assert r.trailers == [("X-Trailer", "done")]
    with pytest.raises(Closed):
        fetch(backend.port, "/chunked-truncated?n=2")
    r = fetch(backend.port, "/no-length")
    assert r.header("Content-Length") is None and r.body == b"until the end\n"


def test_closes_and_resets(backend):
    with pytest.raises(Closed):
        fetch(backend.port, "/close")
    with Client(backend.port) as c:
        c.request("/close-early?length=100&send=10")
        head = c._head()
        assert head.header("Content-Length") == "100"
        assert c._until_close() == b"x" * 10
    with pytest.raises(ConnectionResetError):
        fetch(backend.port, "/reset")
    with Client(backend.port) as c:
        c.request("/reset-mid?length=1000&send=10")
        assert c._head().status == 200
        with pytest.raises((ConnectionResetError, Closed)):
            c._exact(1000)


@pytest.mark.parametrize("kind", ["status", "garbage", "cl-te", "dup-cl", "bad-cl", "no-colon",
                                  "extra", "lf"])
def test_malformed(backend, kind):
    with socket.create_connection(("127.0.0.1", backend.port), timeout=5) as s:
        s.sendall(b"GET /malformed/%s HTTP/1.1\r\nHost: x\r\n\r\n" % kind.encode())
        data = b""
        while True:
            part = s.recv(4096)
            if not part:
                break
            data += part
    assert data == backend.MALFORMED[kind]


def test_big_header_and_interim(backend):
    r = fetch(backend.port, "/big-header?size=70000")
    assert len(r.header("X-Big")) == 70000
    r = fetch(backend.port, "/1xx?codes=100,103")
    assert [i.status for i in r.interim] == [100, 103]
    assert r.interim[1].header("Link") == "</style.css>; rel=preload"
    assert r.status == 200 and r.body == b"after interim\n"
    r = fetch(backend.port, "/101")
    assert r.status == 101


def test_slow_read(backend):
    with Client(backend.port) as c:
        doc = c.json("/slow-read?chunk=1000&interval=5", method="POST", body="z" * 20000)
    assert doc == {"received": 20000}


def test_websocket_echo(backend):
    ws = WSClient(backend.port)
    ws.send("hello")
    assert ws.recv() == (1, b"hello")
    ws.send(b"\x00\x01" * 40000)
    assert ws.recv() == (2, b"\x00\x01" * 40000)
    ws.ping(b"are you there")
    assert ws.recv() == (10, b"are you there")
    # A message in two fragments comes back whole.
    ws.http.send(ws_frame(1, b"frag", os.urandom(4), fin=False))
    ws.http.send(ws_frame(0, b"ment", os.urandom(4)))
    assert ws.recv() == (1, b"fragment")
    assert ws.close(1000) == (8, b"\x03\xe8")
    assert backend.ws_messages == 3


def test_backend_in_its_own_process(backend_process):
    port, proc = backend_process("far")
    r = fetch(port, "/")
    assert r.body == b"far GET /\n"
    assert json.loads(fetch(port, "/_stats").body)["connections"] == 2


# ---- the DNS server ----------------------------------------------------------------

def test_dns_answers(dns_server):
    srv = ("127.0.0.1", dns_server.port)
    dns_server.set("app.test", ["10.0.0.1", "10.0.0.2", "fd00::5"], ttl=30)
    dns_server.cname("www.test", "app.test", ttl=5)
    rcode, rrs, tc = query(srv, "App.Test")
    assert rcode == 0 and not tc
    assert rrs == [(TYPE_A, 30, "10.0.0.1"), (TYPE_A, 30, "10.0.0.2")]
    assert query(srv, "app.test", TYPE_AAAA)[1] == [(TYPE_AAAA, 30, "fd00::5")]
    assert query(srv, "www.test")[1] == [(TYPE_CNAME, 5, "app.test"), (TYPE_A, 30, "10.0.0.1"),
                                         (TYPE_A, 30, "10.0.0.2")]
    assert query(srv, "nobody.test") == (0, [], False)
    dns_server.nxdomain("gone.test")
    assert query(srv, "gone.test")[0] == 3
    dns_server.rcode("sick.test", 2)
    assert query(srv, "sick.test")[0] == 2
    assert dns_server.queries("app.test") == 2


def test_dns_silence_and_tcp(dns_server):
    srv = ("127.0.0.1", dns_server.port)
    dns_server.set("app.test", ["10.0.0.1"])
    dns_server.hold("app.test")
    assert query(srv, "app.test", timeout=0.3) is None
    dns_server.set("other.test", ["10.0.0.9"])
    assert query(srv, "other.test")[1] == [(TYPE_A, 60, "10.0.0.9")]
    dns_server.release("app.test")
    dns_server.silent = True
    assert query(srv, "other.test", timeout=0.3) is None
    dns_server.silent = False
    dns_server.truncate = True
    rcode, rrs, tc = query(srv, "app.test")
    assert tc and rrs == []
    assert query(srv, "app.test", tcp=True)[1] == [(TYPE_A, 60, "10.0.0.1")]
    assert dns_server.queries("app.test") == 3

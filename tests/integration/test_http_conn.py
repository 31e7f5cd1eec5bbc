"""HTTP/1.x connections: keep-alive, pipelining, HTTP/1.0, Expect,
request bodies (Content-Length and chunked) and lingering close."""

import socket
import threading
import time

import pytest

from helpers import Closed, Conn, get
from http_helpers import (assert_alive, docroot, http_block, parse_responses, read_all, req,
                          start)

BIG = bytes(range(256)) * 800  # 204800 bytes


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("conn")
    files = {"f%d.txt" % i: "file number %d\n" % i for i in range(10)}
    files["big.bin"] = BIG
    root = docroot(s, files)
    start(s, http_block("""
server {
    listen 127.0.0.1:%d;
    root %s;
    client_max_body_size 1k;
    location /echo { client_max_body_size 10m; return 200 "echo $request_method $uri\\n"; }
    location /small { return 200 "small\\n"; }
}
""" % (s.port(), root)))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def test_keepalive_reuse(srv):
    with Conn(srv.port()) as c:
        local = c.sock.getsockname()
        for i in range(10):
            r = c.get("/f%d.txt" % i)
            assert (r.status, r.text) == (200, "file number %d\n" % i)
            assert r.header("Connection") == "keep-alive"
        r = c.get("/big.bin")
        assert r.body == BIG
        assert c.get("/f0.txt").text == "file number 0\n"
        assert c.sock.getsockname() == local


def test_pipelining_many(srv):
    """Many requests in one send: answered in order, bodies intact."""
    reqs, expect, methods = [], [], []
    for i in range(60):
        k = i % 10
        if i % 7 == 3:
            reqs.append(req("/f%d.txt" % k, method="HEAD"))
            expect.append((200, b""))
            methods.append("HEAD")
        elif i % 11 == 5:
            reqs.append(req("/missing%d" % i))
            expect.append((404, None))
            methods.append("GET")
        elif i % 13 == 6:
            reqs.append(req("/big.bin"))
            expect.append((200, BIG))
            methods.append("GET")
        else:
            reqs.append(req("/f%d.txt" % k))
            expect.append((200, b"file number %d\n" % k))
            methods.append("GET")
    reqs.append(req("/small", headers=[("Connection", "close")]))
    expect.append((200, b"small\n"))
    methods.append("GET")
    with Conn(srv.port()) as c:
        c.send(b"".join(reqs))
        data = read_all(c.sock)
    resps, rest = parse_responses(data, methods)
    assert rest == b""
    assert len(resps) == len(reqs)
    for i, (r, (status, body)) in enumerate(zip(resps, expect)):
        assert r.status == status, (i, r)
        if body is not None:
            assert r.body == body, i
    assert resps[-1].header("Connection") == "close"
    assert all(r.header("Connection") == "keep-alive" for r in resps[:-1])


def test_pipeline_larger_than_header_buffers(srv):
    """200 pipelined requests of ~330 bytes (66 KB, more than 4 x 8k at once):
    each is parsed from what is left in the buffer, in order."""
    n = 200
    data = b"".join(req("/f%d.txt" % (i % 10), headers=[("X-Pad", "p" * 300)])
                    for i in range(n)) + req("/small", headers=[("Connection", "close")])
    resps, rest = parse_responses(exchange_raw(srv.port(), data))
    assert rest == b"" and len(resps) == n + 1
    assert [r.text for r in resps[:n]] == ["file number %d\n" % (i % 10) for i in range(n)]
    assert resps[-1].text == "small\n"


def test_pipelining_with_bodies(srv):
    """Requests with bodies between others in one send: the bodies are
    consumed, never taken for requests."""
    smuggle = b"GET /f9.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (req("/echo/1", method="POST", headers=[("Content-Length", str(len(smuggle)))],
                body=smuggle) +
            req("/f1.txt") +
            req("/echo/2", method="POST", headers=[("Transfer-Encoding", "chunked")],
                body=b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggle), smuggle)) +
            req("/f2.txt", headers=[("Connection", "close")]))
    resps, rest = parse_responses(exchange_raw(srv.port(), data))
    assert [r.text for r in resps] == ["echo POST /echo/1\n", "file number 1\n",
                                      "echo POST /echo/2\n", "file number 2\n"]
    assert rest == b""


def exchange_raw(port, data):
    with Conn(port) as c:
        c.send(data)
        return read_all(c.sock)


def test_http10_default_close(srv):
    with Conn(srv.port()) as c:
        r = c.get("/f3.txt", version="1.0", host=None)
        assert (r.status, r.text, r.version) == (200, "file number 3\n", "1.1")
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_http10_keepalive_on_request(srv):
    with Conn(srv.port()) as c:
        for i in range(3):
            r = c.get("/f%d.txt" % i, version="1.0", headers=[("Connection", "keep-alive")])
            assert r.text == "file number %d\n" % i
            assert r.header("Connection") == "keep-alive"
        r = c.get("/big.bin", version="1.0", headers=[("Connection", "Keep-Alive")])
        assert r.body == BIG and r.header("Connection") == "keep-alive"
        r = c.get("/f4.txt", version="1.0")
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_http11_connection_close_token_list(srv):
    with Conn(srv.port()) as c:
        r = c.get("/f1.txt", headers=[("Connection", "foo, close")])
        assert r.header("Connection") == "close"
        assert c.wait_closed()


# ---- Expect --------------------------------------------------------------------

def test_expect_100_continue_waiting_client(srv):
    """A client that waits for 100 before sending its body: either it gets
    "100 Continue" and then the final response, or a final response that
    closes the connection (it cannot be kept alive: the body was never
    sent)."""
    body = b"0123456789"
    with Conn(srv.port()) as c:
        c.send(req("/echo/x", method="POST",
                   headers=[("Content-Length", "10"), ("Expect", "100-continue")]))
        c.sock.settimeout(10)
        while b"\r\n\r\n" not in c.buf:
            d = c.sock.recv(65536)
            assert d, "closed without any response"
            c.buf += d
        if c.buf.startswith(b"HTTP/1.1 100 Continue\r\n"):
            c.buf = c.buf.partition(b"\r\n\r\n")[2]
            c.send(body)
            r = c.read_response()
            assert (r.status, r.text) == (200, "echo POST /echo/x\n")
            assert r.header("Connection") == "keep-alive"
            assert c.get("/f5.txt").text == "file number 5\n"
        else:
            r = c.read_response()
            assert (r.status, r.text) == (200, "echo POST /echo/x\n")
            assert r.header("Connection") == "close"
            assert c.wait_closed()


def test_expect_100_continue_body_sent_at_once(srv):
    """A client that does not wait: the body is consumed and a request
    after it is answered (or, if the server closes, nothing is answered)."""
    smuggle = b"GET /f6.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (req("/echo/y", method="POST",
                headers=[("Content-Length", str(len(smuggle))), ("Expect", "100-continue")],
                body=smuggle) + req("/f7.txt", headers=[("Connection", "close")]))
    out = exchange_raw(srv.port(), data)
    if out.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        out = out[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
    resps, rest = parse_responses(out)
    assert rest == b""
    assert resps[0].text == "echo POST /echo/y\n"
    assert b"file number 6" not in out, "the body was taken for a request"
    if resps[0].header("Connection") == "keep-alive":
        assert [r.text for r in resps[1:]] == ["file number 7\n"]
    else:
        assert len(resps) == 1


def test_expect_other_is_417(srv):
    with Conn(srv.port()) as c:
        r = c.get("/f1.txt", headers=[("Expect", "something-else")])
        assert r.status == 417
        assert "<title>417 Expectation Failed</title>" in r.text


def test_expect_case_insensitive_and_http10(srv):
    with Conn(srv.port()) as c:
        r = c.get("/f1.txt", headers=[("Expect", "100-Continue")])
        assert (r.status, r.text) == (200, "file number 1\n")
    # HTTP/1.0 has no 100 Continue: never a 100 response.
    out = exchange_raw(srv.port(), req("/echo/z", method="POST", version="1.0",
                                       headers=[("Content-Length", "3"),
                                                ("Expect", "100-continue")], body=b"abc"))
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.endswith(b"echo POST /echo/z\n")


# ---- request bodies ------------------------------------------------------------------

def test_content_length_body_discarded(srv):
    with Conn(srv.port()) as c:
        for n in (1, 1000, 300000):
            c.send(req("/echo/cl", method="POST", headers=[("Content-Length", str(n))],
                       body=b"G" * n))
            r = c.read_response()
            assert r.text == "echo POST /echo/cl\n"
            assert r.header("Connection") == "keep-alive"
            assert c.get("/f2.txt").text == "file number 2\n"


def test_body_in_slow_pieces(srv):
    with Conn(srv.port()) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(req("/echo/slow", method="POST", headers=[("Content-Length", "30")]))
        r = c.read_response()  # the handler does not wait for the body
        assert r.text == "echo POST /echo/slow\n"
        if r.header("Connection") == "close":
            return
        body = b"GET /f1.txt HTTP/1.1\r\nHost: ab"  # 30 bytes that look like a request
        for i in range(3):
            time.sleep(0.1)
            c.send(body[i * 10:(i + 1) * 10])
        assert c.get("/f8.txt").text == "file number 8\n"


def chunked(data, size, ext=b"", trailers=b""):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x%s\r\n%s\r\n" % (len(part), ext, part)
    return out + b"0\r\n" + trailers + b"\r\n"


@pytest.mark.parametrize("body", [
    chunked(b"hello world", 4),
    chunked(b"x" * 100000, 10000),
    chunked(b"abc", 1, ext=b";name=value"),
    chunked(b"abc", 2, trailers=b"X-Trailer: yes\r\nX-Other: 1\r\n"),
    b"0\r\n\r\n",
    b"000A\r\n0123456789\r\n0\r\n\r\n",
])
def test_chunked_body_discarded(srv, body):
    with Conn(srv.port()) as c:
        c.send(req("/echo/ch", method="POST", headers=[("Transfer-Encoding", "chunked")],
                   body=body) + req("/f3.txt"))
        r = c.read_response()
        assert r.text == "echo POST /echo/ch\n"
        assert c.read_response().text == "file number 3\n"
        assert c.get("/f4.txt").text == "file number 4\n"


def test_chunked_body_split_across_reads(srv):
    body = chunked(b"0123456789" * 50, 7, trailers=b"T: x\r\n")
    with Conn(srv.port()) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(req("/echo/split", method="POST", headers=[("Transfer-Encoding", "chunked")]))
        for i in range(0, len(body), 97):
            c.send(body[i:i + 97])
            time.sleep(0.01)
        c.send(req("/f5.txt"))
        r = c.read_response()
        assert r.text == "echo POST /echo/split\n"
        if r.header("Connection") == "keep-alive":
            assert c.read_response().text == "file number 5\n"


# ---- lingering close --------------------------------------------------------------------

LINGER_BODY = 96 << 20  # more than the kernel buffers (32 MB rmem + 4 MB wmem) absorb


def send_body_and_read(port, head, body_len):
    """Sends head, then body_len bytes, then reads the response.  A server
    that closes without lingering resets the connection while the body is
    still coming: the send fails (and the response may be lost)."""
    c = Conn(port)
    err = []

    def sender():
        chunk = b"B" * (1 << 20)
        try:
            c.sock.sendall(head)
            time.sleep(0.2)  # the error response is out before the body comes
            for _ in range(body_len >> 20):
                c.sock.sendall(chunk)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender)
    t.start()
    t.join(20)
    try:
        r = c.read_response()
        closed = c.wait_closed()
    finally:
        c.close()
    return r, (err[0] if err else None), closed


def test_lingering_close_after_413(srv):
    head = req("/f1.txt", method="POST", headers=[("Content-Length", str(LINGER_BODY))])
    r, err, closed = send_body_and_read(srv.port(), head, LINGER_BODY)
    assert err is None, "the server reset the connection while the body came: %r" % err
    assert r.status == 413
    assert "<title>413 Request Entity Too Large</title>" in r.text
    assert r.header("Connection") == "close"
    assert closed
    srv.wait_log(r"client intended to send too large body: %d bytes" % LINGER_BODY)


def test_lingering_close_after_400(srv):
    head = req("/bad%zz", method="POST", headers=[("Content-Length", str(LINGER_BODY))])
    r, err, closed = send_body_and_read(srv.port(), head, LINGER_BODY)
    assert err is None, "the server reset the connection while the body came: %r" % err
    assert r.status == 400
    assert r.header("Connection") == "close"
    assert closed


def test_client_max_body_size_boundaries(srv):
    with Conn(srv.port()) as c:
        # Exactly the limit is fine.
        c.send(req("/small", method="POST", headers=[("Content-Length", "1024")],
                   body=b"x" * 1024))
        r = c.read_response()
        assert r.status == 200
        if r.header("Connection") == "keep-alive":
            assert c.get("/f1.txt").status == 200
    r = get(srv.port(), "/small", method="POST", headers=[("Content-Length", "1025")])
    assert r.status == 413 and r.header("Connection") == "close"
    # The limit is the location's: /echo allows 10m.
    with Conn(srv.port()) as c:
        c.send(req("/echo/big", method="POST", headers=[("Content-Length", "2000000")],
                   body=b"y" * 2000000))
        assert c.read_response().status == 200


def test_client_closing_mid_body_is_harmless(srv):
    with Conn(srv.port()) as c:
        c.send(req("/echo/gone", method="POST", headers=[("Content-Length", "100000")],
                   body=b"z" * 500))
        assert c.read_response().status == 200
    try:
        assert get(srv.port(), "/f0.txt").text == "file number 0\n"
    except Closed:
        pytest.fail("server stopped answering")

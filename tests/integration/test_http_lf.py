"""The strictness table end to end, with CRLF and with bare LF line ends.

The table lives in tests/unit/http/test_req_check.c, where each row runs
through the checks in process; `test_req_check --rows` prints it.  Here
every row goes to a real server twice, as written and with every CRLF
written as a bare LF (what scripts and monitoring checks that write plain
"\\n" send, and what nginx accepts, RFC 9112 2.2).  A row the checks refuse
gets its status and a closed connection, and the request pipelined after
it is never answered; a row they accept is answered, and on a kept-alive
connection the request after it is answered too.  A bare CR stays a bare
CR in the LF variant, so every row refused for one is refused still."""

import os
import subprocess

import pytest

from helpers import TURNPIKE, Conn
from http_helpers import assert_alive, http_block, start

NEXT = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"

# Rows the checks accept but routing refuses: "*" names no resource.
ROUTED_ELSEWHERE = {"OPTIONS *": 400}


def unit_binary():
    """test_req_check from the build the server binary comes from."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(TURNPIKE)))
    return os.path.join(build, "tests", "unit", "http", "test_req_check")


def load_rows():
    binary = unit_binary()
    if not os.access(binary, os.X_OK):
        return None
    out = subprocess.run([binary, "--rows"], capture_output=True, check=True).stdout
    rows = []
    for line in out.decode("latin-1").splitlines():
        status, name, raw = line.split("\t")
        rows.append((name, int(status), bytes.fromhex(raw)))
    return rows


ROWS = load_rows()


def lf_variant(raw):
    return raw.replace(b"\r\n", b"\n")


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("lf")
    start(s, http_block("""
server {
    listen 127.0.0.1:%d;
    location / { return 200 "ok $request_method\\n"; }
    location = /next { return 200 "next\\n"; }
}
""" % s.port()))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def method_of(raw):
    return raw.lstrip(b"\r\n").split(b" ", 1)[0].decode("latin-1")


def check_row(srv, name, status, raw):
    """Responses are read by their framing, and the end of a refused
    connection by EOF: nothing here waits for a silence."""
    with Conn(srv.port()) as c:
        c.send(raw + NEXT)
        first = c.read_response(method_of(raw))
        if status != 0:
            assert first.status == status, "%s: got %d, want %d" % (name, first.status, status)
            assert first.header("Connection") == "close", name
            assert c.wait_closed(), "%s: the connection stayed open" % name
            return
        want = next((v for k, v in ROUTED_ELSEWHERE.items() if raw.startswith(k.encode())), 200)
        assert first.status == want, "%s: got %d, want %d" % (name, first.status, want)
        if first.header("Connection") == "keep-alive":
            assert c.read_response().text == "next\n", name
        else:
            assert c.wait_closed(), name


def exchange(port, data):
    """Responses to data on a fresh connection, and whether it closed."""
    with Conn(port) as c:
        c.send(data)
        resps = [c.read_response()]
        while resps[-1].header("Connection") == "keep-alive" and len(resps) < 2:
            resps.append(c.read_response())
        return resps, resps[-1].header("Connection") == "close" and c.wait_closed()


@pytest.mark.skipif(ROWS is None, reason="test_req_check is not built next to the binary")
@pytest.mark.parametrize("ending", ["crlf", "lf"])
def test_every_row(srv, ending):
    assert len(ROWS) >= 100
    for name, status, raw in ROWS:
        check_row(srv, name, status, raw if ending == "crlf" else lf_variant(raw))


def test_bare_lf_request_as_scripts_send_it(srv):
    """printf 'GET / HTTP/1.0\\n\\n' | nc: the issue's own example."""
    resps, closed = exchange(srv.port(), b"GET / HTTP/1.0\n\n")
    assert [(r.status, r.text) for r in resps] == [(200, "ok GET\n")]
    assert closed


def test_bare_lf_chunked_body_is_decoded(srv):
    """A chunked body framed with bare LF is read to its end: the request
    after it is answered, not taken for part of the body."""
    body = b"5\nhello\n6;ext=1\n world\n0\nTrailer: x\n\n"
    req = (b"POST /up HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n" + body)
    resps, _ = exchange(srv.port(), req + NEXT)
    assert [(r.status, r.text) for r in resps] == [(200, "ok POST\n"), (200, "next\n")]


def test_bare_cr_is_refused(srv):
    for raw in (b"GET / HTTP/1.1\rHost: a\r\n\r\n",
                b"GET / HTTP/1.1\nHost: a\rX: y\n\n",
                b"POST /up HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\rhello\n0\n\n"):
        resps, closed = exchange(srv.port(), raw + NEXT)
        assert [r.status for r in resps] == [400], raw
        assert closed

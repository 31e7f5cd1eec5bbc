"""Strictness beyond http-parser, end to end: each ambiguous request is
answered 400 (501 for an unknown transfer coding, 505 for a version) and
the connection closed, the bytes after it are never acted on (a smuggled
request gets no response of its own), and the error log names the cause in
nginx's words."""

import pytest

from helpers import Conn, get
from http_helpers import assert_alive, http_block, parse_responses, read_until_quiet, start

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("strict")
    start(s, http_block("""
server {
    listen 127.0.0.1:%d;
    location / { return 200 "ok $request_method $uri\\n"; }
    location /smuggled { return 200 "SMUGGLED\\n"; }
}
""" % s.port()))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def post(headers, body=b"", version="1.1", host=b"Host: a\r\n"):
    return (b"POST /x HTTP/" + version.encode() + b"\r\n" + host + headers + b"\r\n" + body)


CHUNKED = b"Transfer-Encoding: chunked\r\n"

# nginx's words for each refusal in the error log (ngx_http_request.c).
INVALID_TE = 'client sent invalid "Transfer-Encoding"'
HEADER_LINE = "client sent invalid header line"
INVALID_HOST = "client sent invalid host header"

CASES = [
    # Transfer-Encoding
    ("te-duplicate", post(CHUNKED + CHUNKED, b"0\r\n\r\n"), (400,),
     "client sent duplicate header line"),
    ("te-list-not-ending-in-chunked", post(b"Transfer-Encoding: chunked, gzip\r\n",
                                           b"0\r\n\r\n"), (400,), INVALID_TE),
    ("te-chunked-twice-in-list", post(b"Transfer-Encoding: chunked, chunked\r\n",
                                      b"0\r\n\r\n"), (400,), INVALID_TE),
    ("te-unknown-coding", post(b"Transfer-Encoding: x-custom\r\n", b"0\r\n\r\n"), (400,),
     INVALID_TE),
    ("te-unknown-coding-before-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n",
                                              b"0\r\n\r\n"), (501,),
     'client sent unknown "Transfer-Encoding"'),
    ("te-in-http10", post(CHUNKED, b"0\r\n\r\n", version="1.0", host=b""), (400,),
     'client sent HTTP/1.0 request with "Transfer-Encoding" header'),
    ("te-and-content-length", post(b"Content-Length: 5\r\n" + CHUNKED, b"0\r\n\r\n"), (400,),
     'client sent "Content-Length" and "Transfer-Encoding" headers at the same time'),
    ("content-length-twice-differing", post(b"Content-Length: 1\r\nContent-Length: 2\r\n",
                                            b"xx"), (400,), "client sent duplicate header line"),
    ("content-length-list", post(b"Content-Length: 1, 1\r\n", b"x"), (400,),
     'client sent invalid "Content-Length" header'),
    ("content-length-signed", post(b"Content-Length: +1\r\n", b"x"), (400,),
     'client sent invalid "Content-Length" header'),
    # chunk framing
    ("chunk-ext-bare-cr", post(CHUNKED, b"3;a=b\rabc\r\n0\r\n\r\n"), (400,),
     "client sent invalid chunked body"),
    ("chunk-ext-control-byte", post(CHUNKED, b"3;a=\x01\r\nabc\r\n0\r\n\r\n"), (400,),
     "client sent invalid chunked body"),
    ("chunk-data-bare-cr", post(CHUNKED, b"3\r\nabc\r0\r\n\r\n"), (400,),
     "client sent invalid chunked body"),
    ("chunk-size-bare-cr", post(CHUNKED, b"3\rabc\r\n0\r\n\r\n"), (400,),
     "client sent invalid chunked body"),
    # the head's lines
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", (400,), HEADER_LINE),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", (400,), HEADER_LINE),
    ("whitespace-before-first-header", b"GET / HTTP/1.1\r\n X-A: b\r\nHost: a\r\n\r\n", (400,),
     HEADER_LINE),
    ("nul-in-header", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n", (400,), HEADER_LINE),
    ("bare-cr-in-header", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", (400,),
     HEADER_LINE),
    ("control-byte-in-header", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x07c\r\n\r\n", (400,),
     HEADER_LINE),
    ("bare-cr-line-ending", b"GET / HTTP/1.1\rHost: a\r\n\r\n", (400,),
     "client sent invalid request"),
    ("bare-cr-ending-the-head", b"GET / HTTP/1.1\nHost: a\n\rX", (400,), HEADER_LINE),
    ("too-long-header-line", b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + b"x" * 9000 +
     b"\r\n\r\n", (431,), "client sent too long header line"),
    ("too-large-request", b"GET / HTTP/1.1\r\nHost: a\r\n" +
     b"".join(b"X-H%d: %s\r\n" % (i, b"y" * 1000) for i in range(40)) + b"\r\n", (431,),
     "client sent too large request"),
    # request line and version
    ("http09", b"GET /\r\n\r\n", (400,), "client sent invalid request"),
    ("version-1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", (505,), "client sent invalid version"),
    ("version-2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", (505,), "client sent invalid version"),
    ("double-space-in-request-line", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid request"),
    ("star-target-for-get", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid request"),
    ("authority-form-for-get", b"GET a.test:80 HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid request"),
    ("invalid-method", b"foo / HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid method"),
    ("method-with-a-digit", b"FO0 / HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid method"),
    ("too-long-uri", b"GET /" + b"u" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", (414,),
     "client sent too long URI"),
    ("bad-host-in-request-line", b"GET http://a..b/ HTTP/1.1\r\nHost: a\r\n\r\n", (400,),
     "client sent invalid host in request line"),
    ("unknown-expectation", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", (417,),
     'client sent unknown "Expect" header'),
    # Host
    ("host-missing", b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n", (400,),
     'client sent HTTP/1.1 request without "Host" header'),
    ("host-empty", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", (400,), INVALID_HOST),
    ("host-duplicate", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", (400,),
     "client sent duplicate host header"),
    ("host-malformed-space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", (400,), INVALID_HOST),
    ("host-malformed-userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", (400,), INVALID_HOST),
]


@pytest.mark.parametrize("name,raw,statuses,reason", CASES, ids=[c[0] for c in CASES])
def test_refused_and_closed(srv, name, raw, statuses, reason):
    mark = srv.log_size()
    with Conn(srv.port()) as c:
        c.send(raw + SMUGGLED)
        data, closed = read_until_quiet(c.sock)
    assert b"SMUGGLED" not in data, "the bytes after the bad request were acted on"
    assert data, "closed without a response"
    resps, rest = parse_responses(data)
    assert len(resps) == 1, "more than one response: %r" % data[:1000]
    r = resps[0]
    assert r.status in statuses, "%s: got %d, want %s" % (name, r.status, statuses)
    assert r.header("Connection") == "close"
    assert closed, "the connection stayed open"
    assert rest == b""
    # The error log names the cause, as nginx's does, once.
    line = srv.wait_log(r"\[info\] \d+#0: \*\d+ (.*), client: 127\.0\.0\.1", since=mark)
    assert line.group(1) == reason
    assert srv.log_since(mark).count(", client: 127.0.0.1") == 1, srv.log_since(mark)


def test_valid_requests_still_pass(srv):
    """The checks refuse only what is ambiguous."""
    ok = [
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET /x?y=%20 HTTP/1.1\r\nHost: A.Example:8080\r\n\r\n",
        b"GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
        post(CHUNKED, b"3;name=value\r\nabc\r\n3;q=\"x y\"\r\ndef\r\n0\r\nT: v\r\n\r\n"),
        post(b"Content-Length: 3\r\n", b"abc"),
        post(b"Transfer-Encoding: Chunked\r\n", b"0\r\n\r\n"),
        # bare LF line ends, as nginx takes them (RFC 9112 2.2)
        b"GET / HTTP/1.1\nHost: a\n\n",
        b"GET / HTTP/1.0\n\n",
        b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        post(CHUNKED, b"3;a=b\nabc\r\n0\r\n\r\n"),
        post(CHUNKED, b"3\r\nabc\n0\r\n\r\n"),
        b"POST /x HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\nT: v\n\n",
        # a method nginx reads but http-parser does not know
        b"FOO /x HTTP/1.1\r\nHost: a\r\n\r\n",
    ]
    with Conn(srv.port()) as c:
        for raw in ok:
            c.send(raw)
            r = c.read_response()
            assert r.status == 200, raw
            if r.header("Connection") == "close":
                break


def test_pipelined_after_refusal_not_served(srv):
    """Three requests in one send, the middle one bad: the first is
    answered, the second refused, the third never answered."""
    data = (b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n" +
            b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n" + SMUGGLED)
    with Conn(srv.port()) as c:
        c.send(data)
        out, closed = read_until_quiet(c.sock)
    assert closed
    resps, _ = parse_responses(out)
    assert [r.status for r in resps] == [200, 400]
    assert resps[0].text == "ok GET /first\n"
    assert b"SMUGGLED" not in out
    assert get(srv.port(), "/after").text == "ok GET /after\n"

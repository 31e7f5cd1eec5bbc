"""Requests nginx accepts and the headers it sends, checked against
Debian's nginx serving the same files with the same http block: methods
http-parser does not know, Expect: 100-continue on files, Location
escaping, HEAD with gzip, and the validators on error responses.  Where
turnpike keeps its own way on purpose (man page, DIFFERENCES FROM NGINX),
the test says so and checks turnpike's way."""

import gzip
import os

import pytest

from helpers import Conn, get
from http_helpers import docroot, http_block, start
from nginx_helpers import header_view, needs_nginx, nginx  # noqa: F401 (fixture)

BIG = b"".join(b"line %05d of a text file that compresses well\n" % i for i in range(200))

FILES = {
    "f.txt": "a file\n",
    "big.txt": BIG,
    "gs/pre.txt": BIG,
    "gs/pre.txt.gz": gzip.compress(BIG, mtime=0),
    "404.html": "custom 404\n",
    "dir with space/index.html": "in a dir\n",
    "q?x/index.html": "q\n",
    "p%x/index.html": "p\n",
    "h#x/index.html": "h\n",
    "u\u20acx/index.html": "u\n",
    'a"b<c>/index.html': "a\n",
    "g[]x/index.html": "g\n",
    "s'()*+,;=:@!$&x/index.html": "s\n",
}

# One http block for both servers (%(port)d is each one's port, %(root)s
# the shared files).
HTTP = """
root %(root)s;
gzip on; gzip_min_length 1; gzip_types text/plain; gzip_vary on;
server {
    listen 127.0.0.1:%(port)d;
    location / { }
    location /gs/ { gzip_static on; gzip off; }
    location /ret/ { return 200 "method $request_method\\n"; }
    location /ep/ { error_page 404 /404.html; }
}
"""


@pytest.fixture(scope="module")
def root(module_servers):
    s = module_servers("accept-files")
    path = docroot(s, FILES)
    os.utime(os.path.join(path, "gs/pre.txt.gz"), (1700000000, 1700000000))
    return path


@pytest.fixture(scope="module")
def srv(module_servers, root):
    s = module_servers("accept")
    start(s, http_block(HTTP.replace("%(port)d", str(s.port())).replace("%(root)s", root)))
    return s


@pytest.fixture
def ngx(nginx, root):  # noqa: F811
    return nginx(HTTP.replace("%(root)s", root))


def raw_exchange(port, data, method="GET", count=1):
    """Sends data and reads `count` responses, keeping any interim 100."""
    with Conn(port) as c:
        c.send(data)
        out = [c.read_response(method) for _ in range(count)]
        return out, c


def ask(port, path, method="GET", headers=()):
    with Conn(port) as c:
        return c.get(path, method=method, headers=headers)


def same_headers(srv_port, ngx_port, path, method="GET", headers=(), ignore=()):
    """Both servers answer alike: status, header names and values, except
    Content-Length's value (the built-in pages name the server)."""
    a = ask(srv_port, path, method, headers)
    b = ask(ngx_port, path, method, headers)
    va, vb = header_view(a, ("content-length",) + tuple(ignore)), \
        header_view(b, ("content-length",) + tuple(ignore))
    assert va == vb, "%s %s:\n turnpike %r\n nginx    %r" % (method, path, va, vb)
    assert (a.header("Content-Length") is None) == (b.header("Content-Length") is None)
    return a, b


# ---- methods ---------------------------------------------------------------------

def test_unknown_method_on_files_is_405_and_keeps_alive(srv):
    for path in ("/f.txt", "/missing", "/"):
        with Conn(srv.port()) as c:
            r = c.get(path, method="FOO")
            assert r.status == 405, path
            assert "<title>405 Not Allowed</title>" in r.text
            assert r.header("Connection") == "keep-alive"
            assert c.get("/f.txt").text == "a file\n"


def test_unknown_method_reaches_handlers_and_logs(srv):
    assert ask(srv.port(), "/ret/x", method="PURGE-ALL").text == "method PURGE-ALL\n"
    assert ask(srv.port(), "/ret/x", method="GETX").text == "method GETX\n"
    mark = srv.log_size()
    assert ask(srv.port(), "/missing-x", method="GET").status == 404
    srv.wait_log(r'request: "GET /missing-x HTTP/1\.1"', since=mark)


def test_methods_nginx_refuses_stay_400(srv):
    for m in ("foo", "F0O", "FOO\t"):
        with Conn(srv.port()) as c:
            c.send(m.encode() + b" /f.txt HTTP/1.1\r\nHost: a\r\n\r\n")
            r = c.read_response()
            assert r.status == 400, m
            assert c.wait_closed()


@needs_nginx
def test_unknown_method_like_nginx(srv, ngx):
    for path in ("/f.txt", "/missing", "/ret/x"):
        same_headers(srv.port(), ngx.port, path, method="FOO")


# ---- Expect: 100-continue on files ------------------------------------------------

POST_EXPECT = (b"POST %s HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
               b"Content-Length: 5\r\n\r\n")


def expect_then_body(port, path):
    """A client that waits for 100 Continue: what comes first, then what
    comes once it sends its body and another request anyway."""
    with Conn(port) as c:
        c.send(POST_EXPECT % path.encode())
        first = c.read_response()
        interim = first.status == 100
        final = c.read_response() if interim else first
        c.send(b"hello" + b"GET /f.txt HTTP/1.1\r\nHost: a\r\n\r\n")
        return interim, final, c.read_response()


def test_post_expect_to_a_file_is_405_without_100_and_keeps_alive(srv):
    interim, final, after = expect_then_body(srv.port(), "/f.txt")
    assert not interim, "no 100 Continue before an error (nginx)"
    assert final.status == 405
    assert final.header("Connection") == "keep-alive"
    assert (after.status, after.text) == (200, "a file\n"), "the body was discarded"


def test_expect_before_a_response_that_discards_the_body(srv):
    """nginx answers 100 Continue before a final 200 that does not read the
    body, so the client sends it and the connection stays usable."""
    interim, final, after = expect_then_body(srv.port(), "/ret/x")
    assert interim
    assert (final.status, final.text) == (200, "method POST\n")
    assert final.header("Connection") == "keep-alive"
    assert after.text == "a file\n"


@needs_nginx
def test_expect_like_nginx(srv, ngx):
    for path in ("/f.txt", "/ret/x", "/missing"):
        ours = expect_then_body(srv.port(), path)
        theirs = expect_then_body(ngx.port, path)
        assert ours[0] == theirs[0], path
        assert header_view(ours[1], ("content-length",)) == \
            header_view(theirs[1], ("content-length",)), path
        assert (ours[2].status, ours[2].body) == (theirs[2].status, theirs[2].body), path


# ---- Location --------------------------------------------------------------------

ESCAPED = [
    ("/dir%20with%20space", "/dir%20with%20space/"),
    ("/dir%20with%20space?a=b%20c", "/dir%20with%20space/?a=b%20c"),
    ("/q%3Fx", "/q%3Fx/"),
    ("/p%25x", "/p%25x/"),
    ("/h%23x", "/h%23x/"),
    ("/u%E2%82%ACx", "/u%E2%82%ACx/"),
    ("/a%22b%3Cc%3E", "/a%22b%3Cc%3E/"),
    ("/g[]x", "/g[]x/"),
    ("/s'()*+,;=:@!$&x", "/s'()*+,;=:@!$&x/"),
]


def test_directory_redirect_is_percent_encoded(srv):
    for path, want in ESCAPED:
        r = ask(srv.port(), path)
        assert r.status == 301, path
        assert r.header("Location") == "http://localhost:%d%s" % (srv.port(), want), path
        assert ask(srv.port(), want).status == 200, want


@needs_nginx
def test_location_like_nginx(srv, ngx):
    for path, _ in ESCAPED:
        a, b = ask(srv.port(), path), ask(ngx.port, path)
        assert a.header("Location").replace(str(srv.port()), "P") == \
            b.header("Location").replace(str(ngx.port), "P"), path


# ---- HEAD with gzip ----------------------------------------------------------------

AE = [("Accept-Encoding", "gzip")]


def test_head_with_gzip_has_encoding_and_no_length(srv):
    head = ask(srv.port(), "/big.txt", method="HEAD", headers=AE)
    body = ask(srv.port(), "/big.txt", headers=AE)
    assert head.header("Content-Encoding") == "gzip"
    assert head.header("Content-Length") is None
    assert head.header("Transfer-Encoding") is None
    assert head.header("ETag", "").startswith('W/"')
    assert head.header("ETag") == body.header("ETag")
    assert head.header("Vary") == body.header("Vary") == "Accept-Encoding"
    assert head.header("Connection") == "keep-alive"
    assert gzip.decompress(body.body) == BIG
    # without gzip, HEAD has the length as before
    plain = ask(srv.port(), "/big.txt", method="HEAD")
    assert plain.header("Content-Length") == str(len(BIG))


@needs_nginx
def test_head_with_gzip_like_nginx(srv, ngx):
    same_headers(srv.port(), ngx.port, "/big.txt", method="HEAD", headers=AE)
    same_headers(srv.port(), ngx.port, "/big.txt", method="HEAD")


# ---- validators on error responses -------------------------------------------------

def test_error_page_from_a_file_has_no_last_modified(srv):
    r = ask(srv.port(), "/ep/missing")
    assert (r.status, r.text) == (404, "custom 404\n")
    assert r.header("Last-Modified") is None
    assert r.header("ETag") is not None  # nginx keeps the file's tag


def test_412_and_416_carry_no_validators(srv):
    r = ask(srv.port(), "/f.txt", headers=[("If-Match", '"nope"')])
    assert r.status == 412
    assert r.header("ETag") is None and r.header("Last-Modified") is None
    r = ask(srv.port(), "/f.txt", headers=[("Range", "bytes=1000-")])
    assert r.status == 416
    assert r.header("ETag") is None and r.header("Accept-Ranges") is None
    assert r.header("Content-Range") == "bytes */7"
    # a gzip_static file's encoding is not the built-in page's
    r = ask(srv.port(), "/gs/pre.txt", headers=[("If-Match", '"nope"')] + AE)
    assert r.status == 412 and r.header("Content-Encoding") is None
    assert "<title>412 Precondition Failed</title>" in r.text


@needs_nginx
def test_error_headers_like_nginx(srv, ngx):
    cases = [
        ("/ep/missing", ()),
        ("/missing", ()),
        ("/f.txt", [("If-Match", '"nope"')]),
        ("/f.txt", [("Range", "bytes=1000-")]),
        ("/big.txt", [("Range", "bytes=100000-")]),
        ("/gs/pre.txt", [("If-Match", '"nope"')] + AE),
        ("/f.txt", [("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT")]),
    ]
    for path, headers in cases:
        same_headers(srv.port(), ngx.port, path, headers=headers)


def test_304_carries_vary(srv):
    """turnpike's way: RFC 9110 15.4.5 wants the Vary of the 200 on a 304;
    nginx's gzip filter never sees a 304 and leaves it out."""
    first = ask(srv.port(), "/big.txt", headers=AE)
    r = ask(srv.port(), "/big.txt", headers=[("If-None-Match", first.header("ETag")
                                              .replace("W/", ""))] + AE)
    assert r.status == 304
    assert r.header("Vary") == "Accept-Encoding"
    assert r.header("Content-Encoding") is None


@needs_nginx
def test_304_like_nginx_but_vary(srv, ngx):
    etag = ask(srv.port(), "/big.txt").header("ETag")
    a, b = same_headers(srv.port(), ngx.port, "/big.txt",
                        headers=[("If-None-Match", etag)] + AE, ignore=("vary",))
    assert a.header("Vary") == "Accept-Encoding" and b.header("Vary") is None
    same_headers(srv.port(), ngx.port, "/gs/pre.txt",
                 headers=[("If-Modified-Since", "Tue, 14 Nov 2023 22:13:20 GMT")] + AE)


def test_range_over_gzip_static(srv):
    """turnpike's way: ranges of the .gz are served (nginx sends it whole)."""
    gz = gzip.compress(BIG, mtime=0)
    r = ask(srv.port(), "/gs/pre.txt", headers=[("Range", "bytes=0-9")] + AE)
    assert r.status == 206
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Content-Range") == "bytes 0-9/%d" % len(gz)
    assert r.body == gz[:10]


@needs_nginx
def test_range_over_gzip_static_differs_from_nginx(srv, ngx):
    theirs = ask(ngx.port, "/gs/pre.txt", headers=[("Range", "bytes=0-9")] + AE)
    assert theirs.status == 200 and theirs.header("Accept-Ranges") is None
    ours = ask(srv.port(), "/gs/pre.txt", headers=AE)
    assert ours.header("Accept-Ranges") == "bytes"
    assert get(srv.port(), "/gs/pre.txt", headers=AE).body == theirs.body

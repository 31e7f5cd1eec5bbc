"""gzip on the fly: gzip, gzip_types, gzip_min_length, gzip_comp_level,
gzip_vary; large bodies (compressed in the pool)."""

import gzip
import os
import zlib

import pytest

from helpers import Conn
from http_helpers import assert_alive, docroot, http_block, read_response_any, req, start

PAGE = b"<html><body>" + b"<p>hello compressible world</p>\n" * 300 + b"</body></html>\n"
TEXT = b"plain text line, repeated\n" * 40
SMALL = b"tiny\n"
JSON = b'{"k": "' + b"v" * 500 + b'"}\n'
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 600
HUGE = b"".join(b"line %08d of a large compressible file\n" % i for i in range(120000))


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("gzip")
    root = docroot(s, {"page.html": PAGE, "text.txt": TEXT, "small.txt": SMALL,
                       "data.json": JSON, "img.png": PNG, "huge.txt": HUGE})
    s.root_dir = root
    start(s, http_block("""
types { text/html html; text/plain txt; application/json json; image/png png; }
gzip on;
gzip_types text/plain application/json;
gzip_min_length 100;
gzip_comp_level 6;
gzip_vary on;
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    location /off/ { alias %(root)s/; gzip off; }
    location /l1/ { alias %(root)s/; gzip_comp_level 1; }
    location /l9/ { alias %(root)s/; gzip_comp_level 9; }
    location /e404/ { return 404; }
}
""" % {"p": s.port(), "root": root}))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def fetch(srv, path, ae="gzip", version="1.1", headers=(), method="GET"):
    h = list(headers) + ([("Accept-Encoding", ae)] if ae else [])
    with Conn(srv.port()) as c:
        c.send(req(path, version=version, headers=h, method=method))
        r = read_response_any(c, method)
        if r.header("Connection") == "keep-alive":
            # The framing was right: the connection carries on.
            c.send(req("/small.txt"))
            assert read_response_any(c).body == SMALL
    return r


@pytest.mark.parametrize("path,orig", [
    ("/page.html", PAGE),      # text/html is always in gzip_types
    ("/text.txt", TEXT),
    ("/data.json", JSON),
], ids=["html", "text", "json"])
def test_compressed(srv, path, orig):
    r = fetch(srv, path)
    assert r.status == 200
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Vary") == "Accept-Encoding"
    assert gzip.decompress(r.body) == orig
    assert len(r.body) < len(orig)
    if not r.chunked:
        assert r.header("Content-Length") == str(len(r.body))
    etag = r.header("ETag")
    assert etag is None or etag.startswith("W/"), "a compressed body has only a weak ETag"


@pytest.mark.parametrize("path,ae,version,why", [
    ("/page.html", None, "1.1", "no Accept-Encoding"),
    ("/page.html", "gzip;q=0", "1.1", "gzip refused"),
    ("/page.html", "deflate, br", "1.1", "gzip not listed"),
    ("/page.html", "gzip", "1.0", "gzip_http_version 1.1"),
    ("/small.txt", "gzip", "1.1", "below gzip_min_length"),
    ("/img.png", "gzip", "1.1", "type not in gzip_types"),
    ("/off/page.html", "gzip", "1.1", "gzip off"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_not_compressed(srv, path, ae, version, why):
    r = fetch(srv, path, ae=ae, version=version,
              headers=[("Connection", "close")] if version == "1.0" else [])
    assert r.status == 200
    assert r.header("Content-Encoding") is None, why
    name = path.rsplit("/", 1)[1]
    with open(os.path.join(srv.root_dir, name), "rb") as f:
        assert r.body == f.read(), why


def test_accept_encoding_variants(srv):
    for ae in ("GZIP", "deflate, gzip;q=0.5", "*", "x-gzip"):
        r = fetch(srv, "/text.txt", ae=ae)
        if ae in ("*", "x-gzip"):
            # nginx does not take these as gzip; either way the body is right.
            body = gzip.decompress(r.body) if r.header("Content-Encoding") else r.body
        else:
            assert r.header("Content-Encoding") == "gzip", ae
            body = gzip.decompress(r.body)
        assert body == TEXT, ae


def test_large_body_compressed(srv):
    r = fetch(srv, "/huge.txt")
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == HUGE


def test_concurrent_large_bodies(srv):
    conns = [Conn(srv.port()) for _ in range(6)]
    try:
        for c in conns:
            c.send(req("/huge.txt", headers=[("Accept-Encoding", "gzip")]) + req("/text.txt"))
        for c in conns:
            assert gzip.decompress(read_response_any(c).body) == HUGE
            assert read_response_any(c).body == TEXT
    finally:
        for c in conns:
            c.close()


def test_range_ignored_when_compressing(srv):
    r = fetch(srv, "/text.txt", headers=[("Range", "bytes=0-9")])
    assert r.status == 200
    assert r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == TEXT


@pytest.mark.parametrize("prefix,xfl", [("/l1/", 4), ("/l9/", 2), ("/", 0)])
def test_comp_level(srv, prefix, xfl):
    """zlib writes the level class into the gzip header's XFL byte:
    4 for level 1, 2 for level 9, 0 in between."""
    r = fetch(srv, prefix + "page.html")
    assert r.body[:3] == b"\x1f\x8b\x08"
    assert r.body[8] == xfl, prefix
    assert zlib.decompress(r.body, 16 + zlib.MAX_WBITS) == PAGE


def test_error_page_compressed(srv):
    r = fetch(srv, "/e404/x")
    assert r.status == 404
    body = gzip.decompress(r.body) if r.header("Content-Encoding") == "gzip" else r.body
    assert b"<title>404 Not Found</title>" in body


def test_head(srv):
    r = fetch(srv, "/page.html", method="HEAD")
    assert r.status == 200 and r.body == b""

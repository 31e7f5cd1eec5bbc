"""Static files: GET/HEAD, validators and conditional requests, ranges,
directories, path normalization and escapes, non-regular files,
sendfile/tcp_nopush, gzip_static."""

import email.utils
import gzip
import os
import re
import stat

import pytest

from helpers import Conn, get
from http_helpers import assert_alive, docroot, http_block, parse_head, start

TEXT = b"0123456789" * 10  # 100 bytes
BIG = os.urandom(1 << 20)
PAGE = b"<html>" + b"compressible page " * 200 + b"</html>\n"


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("static")
    root = docroot(s, {
        "text.txt": TEXT,
        "big.bin": BIG,
        "empty.txt": b"",
        "dir/index.html": "dir index\n",
        "dir2/x.txt": "x\n",
        "gz/page.html": PAGE,
        "gz/page.html.gz": gzip.compress(PAGE),
        "gz/nogz.html": "no gz variant\n",
    })
    os.mkfifo(os.path.join(root, "fifo"), 0o666)
    os.chmod(os.path.join(root, "fifo"), 0o666)
    try:
        os.mknod(os.path.join(root, "zero"), 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    except PermissionError:
        os.symlink("/dev/zero", os.path.join(root, "zero"))
    s.root = root
    start(s, http_block("""
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    location /sf-on/ { alias %(root)s/; sendfile on; tcp_nopush on; }
    location /sf-off/ { alias %(root)s/; sendfile off; }
    location /mr1/ { alias %(root)s/; max_ranges 1; }
    location /mr0/ { alias %(root)s/; max_ranges 0; }
    location /noetag/ { alias %(root)s/; etag off; }
    location /before/ { alias %(root)s/; if_modified_since before; }
    location /imsoff/ { alias %(root)s/; if_modified_since off; }
    location /gzs/ { alias %(root)s/gz/; gzip_static on; gzip_vary on; }
}
""" % {"p": s.port(), "root": root}))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def g(srv, path, **kw):
    return get(srv.port(), path, **kw)


def validators(srv, name="text.txt"):
    st = os.stat(os.path.join(srv.root, name))
    etag = '"%x-%x"' % (int(st.st_mtime), st.st_size)
    lm = email.utils.formatdate(int(st.st_mtime), usegmt=True)
    return etag, lm, int(st.st_mtime)


# ---- GET / HEAD / validators ------------------------------------------------------------

def test_get_and_head(srv):
    etag, lm, _ = validators(srv)
    r = g(srv, "/text.txt")
    assert (r.status, r.body) == (200, TEXT)
    assert r.header("Content-Type") == "text/plain"
    assert r.header("Content-Length") == "100"
    assert r.header("ETag") == etag
    assert r.header("Last-Modified") == lm
    assert r.header("Accept-Ranges") == "bytes"
    with Conn(srv.port()) as c:
        h = c.get("/text.txt", method="HEAD")
        assert h.status == 200
        drop = {"date"}
        assert [(k, v) for k, v in h.headers if k.lower() not in drop] == \
            [(k, v) for k, v in r.headers if k.lower() not in drop]
        # No body was sent: the next response follows at once.
        assert c.get("/empty.txt").body == b""
        assert c.buf == b""


def test_empty_file(srv):
    r = g(srv, "/empty.txt")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", "0")
    r = g(srv, "/empty.txt", headers=[("Range", "bytes=0-10")])
    assert r.status in (200, 416)


def test_etag_off(srv):
    r = g(srv, "/noetag/text.txt")
    assert r.header("ETag") is None and r.header("Last-Modified") is not None


def test_post_to_file_is_405(srv):
    r = g(srv, "/text.txt", method="POST", headers=[("Content-Length", "0")])
    assert r.status == 405


# ---- conditionals -------------------------------------------------------------------------

def test_if_none_match(srv):
    etag, lm, _ = validators(srv)
    for value in (etag, "*", '"x", ' + etag, "W/" + etag):
        r = g(srv, "/text.txt", headers=[("If-None-Match", value)])
        assert r.status == 304, value
        assert r.body == b""
        assert r.header("ETag") == etag
        assert r.header("Last-Modified") == lm
    r = g(srv, "/text.txt", headers=[("If-None-Match", '"other"')])
    assert (r.status, r.body) == (200, TEXT)
    # If-None-Match wins over If-Modified-Since.
    r = g(srv, "/text.txt", headers=[("If-None-Match", '"other"'), ("If-Modified-Since", lm)])
    assert r.status == 200


def test_if_modified_since(srv):
    _, lm, mtime = validators(srv)
    older = email.utils.formatdate(mtime - 3600, usegmt=True)
    newer = email.utils.formatdate(mtime + 3600, usegmt=True)
    assert g(srv, "/text.txt", headers=[("If-Modified-Since", lm)]).status == 304
    assert g(srv, "/text.txt", headers=[("If-Modified-Since", older)]).status == 200
    # nginx's default "exact": a different date is a change.
    assert g(srv, "/text.txt", headers=[("If-Modified-Since", newer)]).status == 200
    assert g(srv, "/before/text.txt", headers=[("If-Modified-Since", newer)]).status == 304
    assert g(srv, "/imsoff/text.txt", headers=[("If-Modified-Since", lm)]).status == 200
    assert g(srv, "/text.txt", headers=[("If-Modified-Since", "garbage")]).status == 200
    with Conn(srv.port()) as c:
        r = c.get("/text.txt", method="HEAD", headers=[("If-Modified-Since", lm)])
        assert r.status == 304
        assert c.get("/text.txt").body == TEXT


def test_if_match_and_if_unmodified_since(srv):
    etag, lm, mtime = validators(srv)
    older = email.utils.formatdate(mtime - 3600, usegmt=True)
    for value in ('"nope"', "W/" + etag):
        r = g(srv, "/text.txt", headers=[("If-Match", value)])
        assert r.status == 412, value
        assert "<title>412 Precondition Failed</title>" in r.text
    for value in (etag, "*", '"a", ' + etag):
        assert g(srv, "/text.txt", headers=[("If-Match", value)]).status == 200, value
    r = g(srv, "/text.txt", headers=[("If-Unmodified-Since", older)])
    assert r.status == 412
    assert g(srv, "/text.txt", headers=[("If-Unmodified-Since", lm)]).status == 200
    # Keep-alive survives a 412 and a 304.
    with Conn(srv.port()) as c:
        assert c.get("/text.txt", headers=[("If-Match", '"nope"')]).status == 412
        assert c.get("/text.txt", headers=[("If-None-Match", etag)]).status == 304
        assert c.get("/text.txt").body == TEXT


# ---- ranges ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,start,end", [
    ("bytes=0-9", 0, 9),
    ("bytes=90-", 90, 99),
    ("bytes=-5", 95, 99),
    ("bytes=95-200", 95, 99),
    ("bytes=-500", 0, 99),
    ("bytes=42-42", 42, 42),
])
def test_single_range(srv, spec, start, end):
    r = g(srv, "/text.txt", headers=[("Range", spec)])
    assert r.status == 206, spec
    assert r.header("Content-Range") == "bytes %d-%d/100" % (start, end)
    assert r.body == TEXT[start:end + 1]
    assert r.header("Content-Length") == str(end - start + 1)
    assert r.header("Content-Type") == "text/plain"


def parse_multipart(r):
    m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.header("Content-Type"))
    assert m, r.header("Content-Type")
    b = m.group(1).encode()
    assert r.body.startswith(b"\r\n--" + b + b"\r\n")
    assert r.body.endswith(b"\r\n--" + b + b"--\r\n")
    inner = r.body[len(b"\r\n--" + b + b"\r\n"):-len(b"\r\n--" + b + b"--\r\n")]
    parts = []
    for chunk in inner.split(b"\r\n--" + b + b"\r\n"):
        head, _, data = chunk.partition(b"\r\n\r\n")
        hdrs = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((hdrs, data))
    return parts


def test_multiple_ranges(srv):
    r = g(srv, "/text.txt", headers=[("Range", "bytes=0-4,10-14,-3")])
    assert r.status == 206
    assert r.header("Content-Range") is None
    assert int(r.header("Content-Length")) == len(r.body)
    parts = parse_multipart(r)
    assert [(h["Content-Type"], h["Content-Range"], d) for h, d in parts] == [
        ("text/plain", "bytes 0-4/100", TEXT[0:5]),
        ("text/plain", "bytes 10-14/100", TEXT[10:15]),
        ("text/plain", "bytes 97-99/100", TEXT[97:100]),
    ]


def test_multiple_ranges_large_file_sendfile_off(srv):
    r = g(srv, "/sf-off/big.bin", headers=[("Range", "bytes=1-2,500000-600000,-1")])
    parts = parse_multipart(r)
    assert [d for _, d in parts] == [BIG[1:3], BIG[500000:600001], BIG[-1:]]


@pytest.mark.parametrize("spec", ["bytes=100-", "bytes=200-300", "bytes=abc", "bytes=5-1x"])
def test_unsatisfiable_range_is_416(srv, spec):
    with Conn(srv.port()) as c:
        r = c.get("/text.txt", headers=[("Range", spec)])
        assert r.status == 416, spec
        assert r.header("Content-Range") == "bytes */100"
        assert r.header("Connection") == "keep-alive"
        assert c.get("/text.txt").body == TEXT


def test_range_ignored(srv):
    # Another unit, an empty set, and overlapping ranges adding up to more
    # than the file (nginx serves the whole file rather than amplify).
    for spec in ("items=0-1", "bytes=", "bytes=0-99,0-99", "bytes=0-60,40-99"):
        r = g(srv, "/text.txt", headers=[("Range", spec)])
        assert (r.status, r.body) == (200, TEXT), spec


def test_if_range(srv):
    etag, lm, mtime = validators(srv)
    rng = ("Range", "bytes=0-1")
    r = g(srv, "/text.txt", headers=[rng, ("If-Range", etag)])
    assert (r.status, r.body) == (206, TEXT[:2])
    r = g(srv, "/text.txt", headers=[rng, ("If-Range", '"stale"')])
    assert (r.status, r.body) == (200, TEXT)
    r = g(srv, "/text.txt", headers=[rng, ("If-Range", lm)])
    assert (r.status, r.body) == (206, TEXT[:2])
    r = g(srv, "/text.txt", headers=[rng, ("If-Range", email.utils.formatdate(mtime - 10,
                                                                               usegmt=True))])
    assert (r.status, r.body) == (200, TEXT)


def test_max_ranges(srv):
    r = g(srv, "/mr1/text.txt", headers=[("Range", "bytes=0-1,5-6")])
    assert (r.status, r.body) == (200, TEXT)
    r = g(srv, "/mr1/text.txt", headers=[("Range", "bytes=5-6")])
    assert (r.status, r.body) == (206, TEXT[5:7])
    r = g(srv, "/mr0/text.txt", headers=[("Range", "bytes=5-6")])
    assert (r.status, r.body) == (200, TEXT)
    assert r.header("Accept-Ranges") is None


def test_head_with_range(srv):
    with Conn(srv.port()) as c:
        r = c.get("/text.txt", method="HEAD", headers=[("Range", "bytes=0-9")])
        assert r.status == 206
        assert r.header("Content-Length") == "10"
        assert c.get("/text.txt").body == TEXT


# ---- directories, normalization, escapes ----------------------------------------------------

def test_directory_without_slash_is_301(srv):
    p = srv.port()
    r = g(srv, "/dir")
    assert r.status == 301
    assert r.header("Location") == "http://localhost:%d/dir/" % p
    r = g(srv, "/dir?a=1&b=2", host="Example.Test")
    assert r.header("Location") == "http://example.test:%d/dir/?a=1&b=2" % p
    assert g(srv, "/dir/").text == "dir index\n"
    assert g(srv, "/dir2/").status == 403


@pytest.mark.parametrize("path", [
    "/dir/../text.txt", "//text.txt", "/./text.txt", "/dir/%2e%2e/text.txt",
    "/dir/%2E%2E/text.txt", "/%74ext.txt", "/dir/./../dir2/../text.txt", "///dir//..//text.txt",
])
def test_path_normalization(srv, path):
    r = g(srv, path)
    assert (r.status, r.body) == (200, TEXT), path


def test_encoded_nul_in_args_is_fine(srv):
    r = g(srv, "/text.txt?x=%00&y=%zz")
    assert (r.status, r.body) == (200, TEXT)


@pytest.mark.parametrize("path", ["/text.txt/", "/text.txt/x", "/dir/index.html/"])
def test_file_as_directory_is_404(srv, path):
    assert g(srv, path).status == 404, path


@pytest.mark.parametrize("path", [
    "/text.txt%00", "/text.txt%00.html", "/%00", "/dir/%00/../text.txt",
])
def test_encoded_nul_is_400(srv, path):
    with Conn(srv.port()) as c:
        r = c.get(path)
        assert r.status == 400, path
        assert c.wait_closed()


@pytest.mark.parametrize("path", [
    "/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/dir/../../etc/passwd",
    "/..%2f..%2fetc%2fpasswd", "/dir/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E",
])
def test_climbing_above_root_is_400(srv, path):
    r = g(srv, path)
    assert r.status == 400, path
    assert b"root:" not in r.body


@pytest.mark.parametrize("name", ["fifo", "zero"])
def test_non_regular_files_never_hang(srv, name):
    with Conn(srv.port(), timeout=10) as c:
        for method in ("GET", "HEAD"):
            r = c.get("/" + name, method=method)
            assert r.status in (403, 404), (name, method)
            if r.header("Connection") == "close":
                return
        assert c.get("/text.txt").body == TEXT
    r = g(srv, "/sf-off/" + name, headers=[("Range", "bytes=0-10")])
    assert r.status in (403, 404)


# ---- sendfile / tcp_nopush -----------------------------------------------------------------

def test_sendfile_on_and_off_identical(srv):
    with Conn(srv.port()) as c:
        for prefix in ("/sf-on/", "/sf-off/", "/"):
            r = c.get(prefix + "big.bin")
            assert r.status == 200
            assert r.header("Content-Length") == str(len(BIG))
            assert r.body == BIG, prefix
            r = c.get(prefix + "big.bin", headers=[("Range", "bytes=123456-654321")])
            assert r.body == BIG[123456:654322], prefix
            assert c.get(prefix + "text.txt").body == TEXT


def test_tcp_nopush_many_responses(srv):
    """With tcp_nopush the head goes out with the file: every response on a
    keep-alive connection still arrives whole and promptly."""
    with Conn(srv.port(), timeout=10) as c:
        for i in range(20):
            assert c.get("/sf-on/text.txt").body == TEXT
            assert c.get("/sf-on/empty.txt").body == b""
        c.send(b"".join(c.request("/sf-on/big.bin", send=False) for _ in range(3)))
        for _ in range(3):
            assert c.read_response().body == BIG


# ---- gzip_static ----------------------------------------------------------------------------

def test_gzip_static(srv):
    gz = gzip.compress(PAGE)
    with open(os.path.join(srv.root, "gz/page.html.gz"), "rb") as f:
        gz = f.read()
    r = g(srv, "/gzs/page.html", headers=[("Accept-Encoding", "gzip, deflate")])
    assert r.status == 200
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Content-Type") == "text/html"
    assert r.header("Vary") == "Accept-Encoding"
    assert r.body == gz and gzip.decompress(r.body) == PAGE
    assert r.header("Content-Length") == str(len(gz))
    etag, _, _ = validators(srv, "gz/page.html.gz")
    assert r.header("ETag") == etag
    for ae in (None, "deflate", "gzip;q=0"):
        r = g(srv, "/gzs/page.html", headers=[("Accept-Encoding", ae)] if ae else [])
        assert r.header("Content-Encoding") is None, ae
        assert r.body == PAGE, ae
    r = g(srv, "/gzs/nogz.html", headers=[("Accept-Encoding", "gzip")])
    assert (r.header("Content-Encoding"), r.text) == (None, "no gz variant\n")
    with Conn(srv.port()) as c:
        h = c.get("/gzs/page.html", method="HEAD", headers=[("Accept-Encoding", "gzip")])
        assert h.header("Content-Encoding") == "gzip"
        assert h.header("Content-Length") == str(len(gz))
        r = c.get("/gzs/page.html", headers=[("Accept-Encoding", "gzip"),
                                              ("Range", "bytes=0-9")])
        assert (r.status, r.body) == (206, gz[:10])


def test_curl_compressed(srv):
    from http_helpers import curl
    r = curl("--compressed", "-D", "-", "http://127.0.0.1:%d/gzs/page.html" % srv.port())
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert parse_head(head).header("Content-Encoding") == "gzip"
    assert body == PAGE

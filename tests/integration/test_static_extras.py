"""Static-site directives of nginx's stock and example configs: expires,
charset, gzip_proxied, gzip_disable, gzip_http_version, gzip_buffers.
Where the answer does not depend on the clock, it is compared with
Debian's nginx serving the same http block; where it does, each server's
Expires is checked against its own Date."""

import calendar
import email.utils
import gzip
import os
import time

import pytest

from helpers import Conn
from http_helpers import docroot, http_block, read_response_any, start
from nginx_helpers import needs_nginx, nginx  # noqa: F401 (fixture)

TEXT = "".join("line %04d of a plain text file\n" % i for i in range(100))
LM = 1700000000  # Tue, 14 Nov 2023 22:13:20 GMT

FILES = {"f.txt": TEXT, "index.html": "<p>hi</p>\n", "img.png": b"\x89PNG....", "d": None}

HTTP = """
root %(root)s;
types { text/plain txt; text/html html; image/png png; }
gzip_vary on;
server {
    listen 127.0.0.1:%(port)d;
    location /e1/ { alias %(root)s/; expires 1h; }
    location /e2/ { alias %(root)s/; expires modified 2d; }
    location /e3/ { alias %(root)s/; expires -1; }
    location /e4/ { alias %(root)s/; expires epoch; }
    location /e5/ { alias %(root)s/; expires max; }
    location /e6/ { alias %(root)s/; expires @15h30m; }
    location /e7/ { alias %(root)s/; expires 0; }
    location /e8/ { alias %(root)s/; expires modified -1d; }
    location /e9/ { alias %(root)s/; expires $arg_e; add_header Cache-Control private; }
    location /e10/ { alias %(root)s/; expires "1y 2M"; location /e10/in/ { expires off; } }
    location /c1/ { alias %(root)s/; charset utf-8; }
    location /c2/ { alias %(root)s/; charset koi8-r; charset_types text/css;
                    location /c2/off/ { charset off; } }
    location /c3/ { alias %(root)s/; charset $arg_cs; charset_types *; }
    location /g1/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1; }
    location /g2/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_proxied any; }
    location /g3/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_proxied expired; expires -1; }
    location /g4/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_proxied no-cache; add_header Cache-Control no-cache; }
    location /g5/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_proxied no_last_modified auth; }
    location /g6/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_disable msie6 "Bad[Bb]ot"; }
    location /g8/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_proxied no_etag; }
    location /g7/ { alias %(root)s/; gzip on; gzip_types text/plain; gzip_min_length 1;
                    gzip_http_version 1.0; gzip_buffers 16 8k; }
}
"""


@pytest.fixture(scope="module")
def root(module_servers):
    s = module_servers("extras-files")
    path = docroot(s, FILES)
    for name in ("f.txt", "index.html", "img.png"):
        os.utime(os.path.join(path, name), (LM, LM))
    return path


def fill(http, root, port):
    return http.replace("%(root)s", root).replace("%(port)d", str(port))


@pytest.fixture(scope="module")
def srv(module_servers, root):
    s = module_servers("extras")
    start(s, http_block(fill(HTTP, root, s.port())))
    return s


@pytest.fixture
def ngx(nginx, root):  # noqa: F811
    return nginx(HTTP.replace("%(root)s", root))


def ask(port, path, headers=(), method="GET", version="1.1"):
    """One exchange; nginx's compressed bodies come chunked."""
    with Conn(port) as c:
        c.request(path, headers=headers, method=method, version=version)
        return read_response_any(c, method)


def http_time(value):
    return calendar.timegm(email.utils.parsedate(value))


def expires_offset(r):
    """Expires minus Date, and the max-age Cache-Control gives."""
    cc = r.header("Cache-Control")
    age = int(cc.split("=")[1]) if cc.startswith("max-age=") else None
    return http_time(r.header("Expires")) - http_time(r.header("Date")), age


# ---- expires --------------------------------------------------------------------

def test_expires_after_the_request(srv):
    r = ask(srv.port(), "/e1/f.txt")
    assert expires_offset(r) == (3600, 3600)
    r = ask(srv.port(), "/e10/f.txt")
    assert expires_offset(r) == (365 * 86400 + 60 * 86400,) * 2
    assert ask(srv.port(), "/e10/in/f.txt").header("Expires") is None


def test_expires_after_last_modified(srv):
    r = ask(srv.port(), "/e2/f.txt")
    assert http_time(r.header("Expires")) == LM + 2 * 86400
    assert r.header("Cache-Control") == "no-cache"  # that moment is long past
    r = ask(srv.port(), "/e8/f.txt")
    assert http_time(r.header("Expires")) == LM - 86400
    assert r.header("Cache-Control") == "no-cache"


def test_expires_negative_zero_epoch_max(srv):
    r = ask(srv.port(), "/e3/f.txt")
    assert expires_offset(r) == (-1, None) and r.header("Cache-Control") == "no-cache"
    r = ask(srv.port(), "/e7/f.txt")
    assert r.header("Expires") == r.header("Date")
    assert r.header("Cache-Control") == "max-age=0"
    r = ask(srv.port(), "/e4/f.txt")
    assert (r.header("Expires"), r.header("Cache-Control")) == \
        ("Thu, 01 Jan 1970 00:00:01 GMT", "no-cache")
    r = ask(srv.port(), "/e5/f.txt")
    assert (r.header("Expires"), r.header("Cache-Control")) == \
        ("Thu, 31 Dec 2037 23:55:55 GMT", "max-age=315360000")


def test_expires_time_of_day(srv):
    """@15h30m: the next 15:30 in the server's local time."""
    r = ask(srv.port(), "/e6/f.txt")
    date = http_time(r.header("Date"))
    local = time.localtime(date)
    today = time.mktime(local[:3] + (15, 30, 0, 0, 0, -1))
    want = today if today > date else time.mktime(local[:2] + (local[2] + 1, 15, 30, 0, 0, 0,
                                                                 -1))
    assert http_time(r.header("Expires")) == int(want)
    assert expires_offset(r)[1] == int(want) - date


def test_expires_from_a_variable_then_add_header(srv):
    r = ask(srv.port(), "/e9/f.txt?e=3h")
    assert expires_offset(r) == (10800, 10800)
    assert r.header_all("Cache-Control") == ["max-age=10800", "private"]
    r = ask(srv.port(), "/e9/f.txt?e=epoch")
    assert r.header("Expires") == "Thu, 01 Jan 1970 00:00:01 GMT"
    r = ask(srv.port(), "/e9/f.txt?e=nonsense")
    assert r.header("Expires") is None and r.header_all("Cache-Control") == ["private"]


def test_expires_only_on_cacheable_statuses(srv):
    assert ask(srv.port(), "/e1/missing").header("Expires") is None
    r = ask(srv.port(), "/e1/d")
    assert r.status == 301 and expires_offset(r) == (3600, 3600)
    r = ask(srv.port(), "/e1/f.txt", headers=[("If-Modified-Since",
                                              "Tue, 14 Nov 2023 22:13:20 GMT")])
    assert r.status == 304 and expires_offset(r) == (3600, 3600)
    r = ask(srv.port(), "/e1/f.txt", headers=[("Range", "bytes=0-3")])
    assert r.status == 206 and expires_offset(r) == (3600, 3600)
    r = ask(srv.port(), "/e1/f.txt", headers=[("If-Match", '"x"')])
    assert r.status == 412 and r.header("Expires") is None


@needs_nginx
def test_expires_like_nginx(srv, ngx):
    paths = ["/e1/f.txt", "/e2/f.txt", "/e3/f.txt", "/e4/f.txt", "/e5/f.txt", "/e7/f.txt",
             "/e8/f.txt", "/e9/f.txt?e=3h", "/e9/f.txt?e=-1", "/e9/f.txt?e=x", "/e10/f.txt",
             "/e10/in/f.txt", "/e1/d", "/e1/missing"]
    for path in paths:
        a, b = ask(srv.port(), path), ask(ngx.port, path)
        assert a.header_all("Cache-Control") == b.header_all("Cache-Control"), path
        assert (a.header("Expires") is None) == (b.header("Expires") is None), path
        if a.header("Expires") and "max-age=0" not in a.header_all("Cache-Control"):
            assert http_time(a.header("Expires")) - http_time(a.header("Date")) == \
                http_time(b.header("Expires")) - http_time(b.header("Date")) or \
                a.header("Expires") == b.header("Expires"), path


def test_expires_and_charset_in_if(server):
    root = docroot(server, {"f.txt": "x\n"})
    start(server, http_block("""
server { listen 127.0.0.1:%d; root %s;
         location / { if ($arg_cache) { expires 1h; charset utf-8; } } }
""" % (server.port(), root)))
    r = ask(server.port(), "/f.txt?cache=1")
    assert expires_offset(r) == (3600, 3600)
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    r = ask(server.port(), "/f.txt")
    assert r.header("Expires") is None and r.header("Content-Type") == "text/plain"


BAD_EXPIRES = [
    ("expires abc;", 'invalid value "abc"'),
    ("expires modified @1h;", 'daily time cannot be used with "modified" parameter'),
    ("expires @25h;", "daily time value must be less than 24 hours"),
    ("expires later 1h;", 'invalid value "later"'),
    ("expires 500ms;", 'invalid value "500ms"'),
    ("expires 1h; expires 2h;", '"expires" directive is duplicate'),
]


def refused(server, http, message):
    """`-t` of an http block fails with message; returns stderr."""
    server.write(http=http)
    r = server.cli("-t")
    assert r.returncode == 1
    assert message in r.stderr, r.stderr
    return r.stderr


@pytest.mark.parametrize("line,message", BAD_EXPIRES)
def test_expires_errors(server, line, message):
    refused(server, "server { listen 127.0.0.1:%d; location / { %s } }" % (server.port(), line),
            message)


# ---- charset ------------------------------------------------------------------------

def ctype(port, path):
    return ask(port, path).header("Content-Type")


def test_charset_names_the_charset(srv):
    assert ctype(srv.port(), "/c1/f.txt") == "text/plain; charset=utf-8"
    assert ctype(srv.port(), "/c1/index.html") == "text/html; charset=utf-8"
    assert ctype(srv.port(), "/c1/img.png") == "image/png"
    assert ctype(srv.port(), "/c1/missing") == "text/html; charset=utf-8"
    assert ctype(srv.port(), "/c1/d") == "text/html"  # a 301: as nginx
    assert ctype(srv.port(), "/c2/index.html") == "text/html; charset=koi8-r"
    assert ctype(srv.port(), "/c2/f.txt") == "text/plain"
    assert ctype(srv.port(), "/c2/off/index.html") == "text/html"
    assert ctype(srv.port(), "/c3/img.png?cs=windows-1251") == "image/png; charset=windows-1251"


@needs_nginx
def test_charset_like_nginx(srv, ngx):
    for path in ("/c1/f.txt", "/c1/index.html", "/c1/img.png", "/c1/missing", "/c1/d",
                 "/c2/index.html", "/c2/f.txt", "/c2/off/index.html",
                 "/c3/img.png?cs=windows-1251"):
        assert ctype(srv.port(), path) == ctype(ngx.port, path), path
    # An empty charset from a variable: turnpike names none; nginx 1.22
    # closes the connection without an answer.
    assert ctype(srv.port(), "/c3/img.png") == "image/png"


BAD_CHARSET = [
    ("source_charset koi8-r;", '"source_charset" is not supported'),
    ("charset_map koi8-r utf-8 { C0 D0B0; }", '"charset_map" is not supported'),
    ("override_charset on;", '"override_charset" is not supported'),
    ("override_charset maybe;", 'invalid value "maybe"'),
    ("charset utf-8; charset koi8-r;", '"charset" directive is duplicate'),
]


@pytest.mark.parametrize("line,message", BAD_CHARSET)
def test_charset_conversion_refused(server, line, message):
    err = refused(server, "%s server { listen 127.0.0.1:%d; }" % (line, server.port()), message)
    if "not supported" in message:
        assert "does not convert between charsets" in err


def test_override_charset_off_accepted(server):
    server.write(http="override_charset off; server { listen 127.0.0.1:%d; }" % server.port())
    assert server.cli("-t").returncode == 0


# ---- gzip_proxied, gzip_disable, gzip_http_version --------------------------------------

AE = ("Accept-Encoding", "gzip")
VIA = ("Via", "1.1 cache.example")


def encoding(port, path, *headers, version="1.1"):
    r = ask(port, path, headers=[AE] + list(headers), version=version)
    if r.header("Content-Encoding") == "gzip":
        assert gzip.decompress(r.body).decode() == TEXT
        return "gzip"
    return None


GZIP_CASES = [
    ("/g1/f.txt", (), "gzip"),
    ("/g1/f.txt", (VIA,), None),  # gzip_proxied off: nothing through proxies
    ("/g2/f.txt", (VIA,), "gzip"),
    ("/g3/f.txt", (VIA,), "gzip"),  # expires -1 gives a past Expires
    ("/g4/f.txt", (VIA,), "gzip"),  # add_header's Cache-Control counts
    # a file's own time is no Last-Modified header to nginx's test
    ("/g5/f.txt", (VIA,), "gzip"),
    ("/g5/f.txt", (VIA, ("Authorization", "Basic eDp5")), "gzip"),
    ("/g8/f.txt", (VIA,), None),  # no_etag, and a file has one
    ("/g6/f.txt", (("User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0)"),), None),
    ("/g6/f.txt", (("User-Agent", "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"),),
     "gzip"),
    ("/g6/f.txt", (("User-Agent", "a BadBot/1"),), None),
    ("/g6/f.txt", (("User-Agent", "a GoodBot/1"),), "gzip"),
]


def test_gzip_who_gets_it(srv):
    for path, headers, want in GZIP_CASES:
        assert encoding(srv.port(), path, *headers) == want, (path, headers)
    assert encoding(srv.port(), "/g1/f.txt", version="1.0") is None
    assert encoding(srv.port(), "/g7/f.txt", version="1.0") == "gzip"


@needs_nginx
def test_gzip_decisions_like_nginx(srv, ngx):
    for path, headers, _ in GZIP_CASES:
        a = ask(srv.port(), path, headers=[AE] + list(headers))
        b = ask(ngx.port, path, headers=[AE] + list(headers))
        assert a.header("Content-Encoding") == b.header("Content-Encoding"), (path, headers)
        assert a.header("Vary") == b.header("Vary"), (path, headers)


BAD_GZIP = [
    ("gzip_proxied sometimes;", 'invalid value "sometimes"'),
    ("gzip_proxied any any;", 'invalid value "any"'),
    ("gzip_http_version 2.0;", 'invalid value "2.0"'),
    ("gzip_buffers 0 4k;", 'invalid value "0 4k"'),
    ("gzip_buffers 16 x;", 'invalid value "16 x"'),
    ("gzip_disable degradation;", '"degradation" in "gzip_disable" is not supported'),
    ("gzip_disable \"(\";", "pcre2_compile() failed"),
]


@pytest.mark.parametrize("line,message", BAD_GZIP)
def test_gzip_errors(server, line, message):
    refused(server, "%s server { listen 127.0.0.1:%d; }" % (line, server.port()), message)

"""Directives: return, error_page, add_header, root, alias, index,
autoindex, try_files, default_type, types / include mime.types and
disable_symlinks."""

import json
import os
import re
import shutil

import pytest

from helpers import Conn, get
from http_helpers import MIME_TYPES, assert_alive, docroot, http_block, make_tree, start

HOST = "d.test"


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("directives")
    p = s.port()
    root = docroot(s, {
        "index.html": "root index\n",
        "a.txt": "a text\n",
        "b.html": "<b>html</b>\n",
        "c.foo": "foo\n",
        "d.unknownext": "unknown\n",
        "UPPER.TXT": "upper\n",
        "x.css": "css\n",
        "img.png": b"\x89PNG",
        "noext": "noext\n",
        "err/404.html": "custom 404 page\n",
        "err/403.html": "custom 403 page\n",
        "err/50x.html": "custom 50x page\n",
        "try-fallback.html": "try fallback\n",
        "moved.html": "moved page\n",
        "try/f.txt": "try file\n",
        "try/dir/index.html": "try dir index\n",
        "ah/f.txt": "ah\n",
        "idx/one/second.html": "second\n",
        "idx/both/first.html": "first\n",
        "idx/both/second.html": "second\n",
        "idx/none/other.txt": "other\n",
        "auto/file1.txt": "12345",
        "auto/sub": None,
        "auto/.hidden": "hidden",
        "auto/a<b&c.txt": "special",
        "auto/zz.bin": "zz",
        "autoidx/index.html": "index wins\n",
        "types/c.foo": "typed foo\n",
        "types/b.html": "typed html\n",
        "syms/real.txt": "real\n",
        "syms/subdir/in.txt": "in\n",
    })
    os.symlink("real.txt", os.path.join(root, "syms/link.txt"))
    os.symlink("subdir", os.path.join(root, "syms/dirlink"))
    other = make_tree(os.path.join(s.dir, "other"), {
        "x.txt": "other x\n", "deep/y.txt": "other deep y\n", "idx/index.html": "alias index\n"})
    other2 = make_tree(os.path.join(s.dir, "other2"), {"rootloc/y.txt": "rootloc y\n"})
    shutil.copy(MIME_TYPES, os.path.join(s.dir, "mime.types"))
    start(s, http_block("""
include mime.types;
default_type application/octet-stream;
server {
    listen 127.0.0.1:%(p)d;
    server_name %(host)s;
    root %(root)s;
    add_header X-Server-Level yes;

    location = /ret/code { return 403; }
    location = /ret/text { return 201 "created $uri\\n"; }
    location = /ret/redir { return 301 /elsewhere; }
    location = /ret/url { return https://example.test/x?$args; }
    location = /ret/307 { return 307 http://e.test/; }
    location = /ret/204 { return 204; }
    location = /ret/444 { return 444; }

    location /ep/plain/ { error_page 404 /err/404.html; }
    location /ep/code/ { error_page 404 =200 /err/404.html; }
    location /ep/eq/ { error_page 404 = @eq; }
    location /ep/named/ { error_page 404 @named; }
    location /ep/url/ { error_page 404 http://example.test/nf; }
    location /ep/url301/ { error_page 404 =301 http://example.test/moved; }
    location /ep/rel301/ { error_page 404 =301 /moved.html; }
    location /ep/keep/ { error_page 403 /err/403.html; return 403; }
    location /ep/chain/ { error_page 404 /missing-too.html; }
    location /ep/multi/ { error_page 500 502 503 504 /err/50x.html; return 503; }
    location /ep/ahalways/ { error_page 404 /err/404.html; }
    location @eq { return 202 "eq target\\n"; }
    location @named { return 200 "named page\\n"; }

    location /ah/ { add_header X-A "a $uri"; add_header X-Always yes always; }

    location /al/ { alias %(other)s/; }
    location /alfile { alias %(other)s/x.txt; }
    location ~ ^/realias/x\\.txt$ { alias %(other)s/x.txt; }
    location ~ ^/recap/(.+)$ { alias %(other)s/$1; }
    location /rootloc/ { root %(other2)s; }

    location /idx/ { index first.html second.html; }
    location /alidx/ { alias %(other)s/idx/; }

    location /auto/ { autoindex on; }
    location /autojson/ { alias %(root)s/auto/; autoindex on; autoindex_format json; }
    location /autoidx/ { autoindex on; }

    location /try/ { try_files $uri $uri/ /try-fallback.html; }
    location /try404/ { try_files $uri =404; }
    location /try410/ { try_files /nope /nope2 =410; }

    location /types/ { types { text/x-foo foo; } default_type application/x-default; }

    location /symon/ { alias %(root)s/syms/; disable_symlinks on; }
    location /symoff/ { alias %(root)s/syms/; disable_symlinks off; }
}
""" % {"p": p, "host": HOST, "root": root, "other": other, "other2": other2}))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def g(srv, path, **kw):
    return get(srv.port(), path, host=HOST, **kw)


# ---- return ------------------------------------------------------------------------

@pytest.mark.parametrize("path,status,body,location", [
    ("/ret/code", 403, "<title>403 Forbidden</title>", None),
    ("/ret/text", 201, "created /ret/text\n", None),
    ("/ret/redir", 301, "<title>301 Moved Permanently</title>", "http://d.test:{p}/elsewhere"),
    ("/ret/url?a=1", 302, "<title>302 Moved Temporarily</title>", "https://example.test/x?a=1"),
    ("/ret/307", 307, "<title>307 Temporary Redirect</title>", "http://e.test/"),
    ("/ret/204", 204, "", None),
])
def test_return(srv, path, status, body, location):
    r = g(srv, path)
    assert r.status == status
    assert body in r.text if body else r.body == b""
    if location:
        assert r.header("Location") == location.format(p=srv.port())


def test_return_444_closes(srv):
    with Conn(srv.port()) as c:
        c.request("/ret/444", host=HOST)
        assert c.wait_closed() and c.buf == b""


# ---- error_page --------------------------------------------------------------------

def test_error_page_plain(srv):
    r = g(srv, "/ep/plain/missing")
    assert (r.status, r.text) == (404, "custom 404 page\n")
    assert r.header("Content-Type") == "text/html"


def test_error_page_with_code(srv):
    r = g(srv, "/ep/code/missing")
    assert (r.status, r.text) == (200, "custom 404 page\n")


def test_error_page_equals_takes_target_status(srv):
    r = g(srv, "/ep/eq/missing")
    assert (r.status, r.text) == (202, "eq target\n")


def test_error_page_named_keeps_status(srv):
    r = g(srv, "/ep/named/missing")
    assert (r.status, r.text) == (404, "named page\n")


def test_error_page_absolute_url_is_302(srv):
    r = g(srv, "/ep/url/missing")
    assert r.status == 302
    assert r.header("Location") == "http://example.test/nf"
    r = g(srv, "/ep/url301/missing")
    assert r.status == 301
    assert r.header("Location") == "http://example.test/moved"


def test_error_page_redirect_code_with_local_uri(srv):
    """error_page 404 =301 /moved.html: nginx (ngx_http_send_error_page)
    redirects internally for any URI starting with "/", whatever the code;
    only a URL gets a Location.  The status is the =code."""
    r = g(srv, "/ep/rel301/missing")
    assert r.status == 301
    assert r.text == "moved page\n"


def test_error_page_internal_redirect_keeps_status(srv):
    r = g(srv, "/ep/keep/x")
    assert (r.status, r.text) == (403, "custom 403 page\n")
    r = g(srv, "/ep/multi/x")
    assert (r.status, r.text) == (503, "custom 50x page\n")


def test_error_page_target_missing_gives_builtin_page(srv):
    r = g(srv, "/ep/chain/missing")
    assert r.status == 404
    assert "<title>404 Not Found</title>" in r.text


def test_error_page_head(srv):
    with Conn(srv.port()) as c:
        r = c.get("/ep/plain/missing", host=HOST, method="HEAD")
        assert r.status == 404
        assert r.header("Content-Length") == str(len("custom 404 page\n"))
        assert c.get("/a.txt", host=HOST).text == "a text\n"


# ---- add_header ----------------------------------------------------------------------

def test_add_header(srv):
    r = g(srv, "/ah/f.txt")
    assert r.status == 200
    assert r.header("X-A") == "a /ah/f.txt"
    assert r.header("X-Always") == "yes"
    assert r.header("X-Server-Level") is None, "a level with add_header replaces the parent's"
    r = g(srv, "/ah/missing")
    assert r.status == 404
    assert r.header("X-A") is None, "without always, not on 404"
    assert r.header("X-Always") == "yes"
    r = g(srv, "/a.txt")
    assert r.header("X-Server-Level") == "yes"
    r = g(srv, "/missing")
    assert r.header("X-Server-Level") is None
    # On a 304 and a 206 it applies.
    r = g(srv, "/a.txt", headers=[("Range", "bytes=0-0")])
    assert (r.status, r.header("X-Server-Level")) == (206, "yes")


# ---- root / alias ------------------------------------------------------------------

@pytest.mark.parametrize("path,body", [
    ("/a.txt", "a text\n"),
    ("/", "root index\n"),
    ("/al/x.txt", "other x\n"),
    ("/al/deep/y.txt", "other deep y\n"),
    ("/alfile", "other x\n"),
    ("/realias/x.txt", "other x\n"),
    ("/recap/deep/y.txt", "other deep y\n"),
    ("/rootloc/y.txt", "rootloc y\n"),
    ("/alidx/", "alias index\n"),
])
def test_root_and_alias(srv, path, body):
    r = g(srv, path)
    assert (r.status, r.text) == (200, body), path


def test_alias_does_not_leak(srv):
    assert g(srv, "/al/../a.txt").text == "a text\n"  # normalized first, then mapped
    assert g(srv, "/al/missing").status == 404
    assert g(srv, "/alfilex").status == 404
    r = g(srv, "/al/deep")
    assert r.status == 301
    assert r.header("Location") == "http://d.test:%d/al/deep/" % srv.port()


# ---- index ---------------------------------------------------------------------------

def test_index(srv):
    assert g(srv, "/idx/one/").text == "second\n"
    assert g(srv, "/idx/both/").text == "first\n"
    r = g(srv, "/idx/none/")
    assert r.status == 403
    assert g(srv, "/idx/nodir/").status == 404
    r = g(srv, "/idx/one/?q=1")
    assert r.text == "second\n"


# ---- autoindex -------------------------------------------------------------------------

def test_autoindex_html(srv):
    r = g(srv, "/auto/")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html"
    t = r.text
    assert "<title>Index of /auto/</title>" in t
    assert "<h1>Index of /auto/</h1>" in t
    assert '<a href="../">../</a>' in t
    assert '<a href="sub/">sub/</a>' in t
    assert '<a href="file1.txt">file1.txt</a>' in t
    assert ".hidden" not in t
    assert "a&lt;b&amp;c.txt</a>" in t
    assert "<b&" not in t
    assert re.search(r'href="a(%3C|&lt;)b(%26|&amp;)c\.txt"', t)
    # Directories first, then files by name.
    assert t.index('href="sub/"') < t.index('href="a') < t.index('href="file1.txt"') \
        < t.index('href="zz.bin"')
    m = re.search(r'<a href="file1.txt">file1.txt</a>\s+(\d\d-\w{3}-\d{4} \d\d:\d\d)\s+5\r?\n', t)
    assert m, t


def test_autoindex_json(srv):
    r = g(srv, "/autojson/")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    entries = json.loads(r.text)
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == {"sub", "file1.txt", "a<b&c.txt", "zz.bin"}
    assert by_name["sub"]["type"] == "directory" and "size" not in by_name["sub"]
    assert by_name["file1.txt"]["type"] == "file" and by_name["file1.txt"]["size"] == 5
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT",
                        by_name["file1.txt"]["mtime"])


def test_autoindex_details(srv):
    assert g(srv, "/autoidx/").text == "index wins\n"
    r = g(srv, "/auto")
    assert r.status == 301 and r.header("Location").endswith("/auto/")
    with Conn(srv.port()) as c:
        h = c.get("/auto/", host=HOST, method="HEAD")
        assert h.status == 200 and h.header("Content-Length") == \
            c.get("/auto/", host=HOST).header("Content-Length")


# ---- try_files ---------------------------------------------------------------------------

@pytest.mark.parametrize("path,status,body", [
    ("/try/f.txt", 200, "try file\n"),
    ("/try/dir", 200, "try dir index\n"),     # $uri/ then index
    ("/try/missing", 200, "try fallback\n"),  # the fallback URI
    ("/try404/missing", 404, "<title>404 Not Found</title>"),
    ("/try410/anything", 410, "<title>410 Gone</title>"),
])
def test_try_files(srv, path, status, body):
    r = g(srv, path)
    assert r.status == status, path
    assert body in r.text


# ---- types / default_type -----------------------------------------------------------------

@pytest.mark.parametrize("path,ctype", [
    ("/a.txt", "text/plain"),
    ("/b.html", "text/html"),
    ("/x.css", "text/css"),
    ("/img.png", "image/png"),
    ("/UPPER.TXT", "text/plain"),
    ("/d.unknownext", "application/octet-stream"),
    ("/noext", "application/octet-stream"),
    ("/c.foo", "application/octet-stream"),
    ("/types/c.foo", "text/x-foo"),
    ("/types/b.html", "application/x-default"),
])
def test_types(srv, path, ctype):
    r = g(srv, path)
    assert r.status == 200
    assert r.header("Content-Type") == ctype, path


# ---- disable_symlinks -------------------------------------------------------------------

@pytest.mark.parametrize("path,status", [
    ("/symon/real.txt", 200),
    ("/symon/link.txt", 403),
    ("/symon/dirlink/in.txt", 403),
    ("/symon/subdir/in.txt", 200),
    ("/symoff/link.txt", 200),
    ("/symoff/dirlink/in.txt", 200),
])
def test_disable_symlinks(srv, path, status):
    assert g(srv, path).status == status, path

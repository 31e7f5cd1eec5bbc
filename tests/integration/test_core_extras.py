"""http core directives of nginx configs beyond the first set: log_not_found,
server_name_in_redirect, merge_slashes, recursive_error_pages, the open
file cache's errors and min_uses, sendfile_max_chunk,
reset_timedout_connection, aio, server_tokens build, variables in index,
and autoindex_exact_size / autoindex_localtime.  Answers that nginx gives
the same way are compared with Debian's nginx on the same files."""

import datetime
import os
import socket
import zoneinfo

import pytest

from helpers import Conn, child_env, run_tp
from http_helpers import docroot, http_block, read_response_any, start
from nginx_helpers import needs_nginx, nginx  # noqa: F401 (fixture)

FILES = {
    "f.txt": "a file\n",
    "d/index.html": "index of d\n",
    "multi/index.en.html": "english\n",
    "multi/index.html": "default\n",
    "fb/x": "x\n",
    "fallback.html": "fallback\n",
    "err403.html": "custom 403\n",
    "list/small": "12345",
    "list/big": b"\0" * 20000,
    "list/sub": None,
    "list/" + "\u00e9" * 60: "",
}

HTTP = """
root %(root)s;
server {
    listen 127.0.0.1:%(port)d;
    server_name main.example .second.example;
    location /quiet/ { alias %(root)s/; log_not_found off; }
    location /named/ { alias %(root)s/; server_name_in_redirect on; }
    location /multi/ { index index.$arg_lang.html index.html; }
    location /fb/ { index nothing.html /fallback.html; }
    location /rec/ { recursive_error_pages on; error_page 404 /rec404; }
    location /norec/ { error_page 404 /rec404; }
    location = /rec404 { return 403; }
    error_page 403 /err403.html;
    location /list/ { autoindex on; autoindex_exact_size off; autoindex_localtime on;
                      charset utf-8; }
    location /echo/ { return 200 "$uri\\n"; }
}
server {
    listen 127.0.0.1:%(port2)d;
    merge_slashes off;
    location / { return 200 "$uri\\n"; }
}
"""


@pytest.fixture(scope="module")
def root(module_servers):
    s = module_servers("core-extras-files")
    path = docroot(s, FILES)
    for dirpath, dirs, files in os.walk(os.path.join(path, "list")):
        for name in dirs + files:
            os.utime(os.path.join(dirpath, name), (1686832440, 1686832440))
    return path


def fill(http, root, port, port2):
    return http.replace("%(root)s", root).replace("%(port)d", str(port)).replace(
        "%(port2)d", str(port2))


BERLIN = child_env(TZ="Europe/Berlin")


@pytest.fixture(scope="module")
def srv(module_servers, root):
    s = module_servers("core-extras")
    s.write(http=http_block(fill(HTTP, root, s.port(), s.port("second"))))
    assert s.cli("-t").returncode == 0
    s.start(env=BERLIN)
    return s


@pytest.fixture
def ngx(nginx, root):  # noqa: F811
    http = HTTP.replace("%(root)s", root).replace("%(port2)d", "%(port)d").replace(
        "listen 127.0.0.1:%(port)d;\n    merge_slashes", "listen 127.0.0.2:%(port)d;\n    merge_slashes")
    return nginx(http, env=BERLIN)


def ask(port, path, headers=(), host="localhost"):
    with Conn(port) as c:
        c.request(path, headers=headers, host=host)
        return read_response_any(c)


# ---- log_not_found -----------------------------------------------------------------

def test_log_not_found(srv):
    mark = srv.log_size()
    assert ask(srv.port(), "/quiet/missing-q").status == 404
    assert ask(srv.port(), "/missing-loud").status == 404
    assert ask(srv.port(), "/quiet/nodir/").status == 404
    assert ask(srv.port(), "/nodir-loud/").status == 404
    srv.wait_log(r'"[^"]*/nodir-loud/index\.html" is not found', since=mark)
    log = srv.log_since(mark)
    assert 'open() "%s' % "" in log and "missing-loud" in log
    assert "missing-q" not in log and "quiet/nodir" not in log


# ---- redirects ------------------------------------------------------------------------

def test_server_name_in_redirect(srv):
    r = ask(srv.port(), "/named/d", host="other.example")
    assert r.header("Location") == "http://main.example:%d/named/d/" % srv.port()
    r = ask(srv.port(), "/d", host="other.example")
    assert r.header("Location") == "http://other.example:%d/d/" % srv.port()


@needs_nginx
def test_redirects_like_nginx(srv, ngx):
    for path in ("/named/d", "/d"):
        a = ask(srv.port(), path, host="other.example").header("Location")
        b = ask(ngx.port, path, host="other.example").header("Location")
        assert a.replace(str(srv.port()), "P") == b.replace(str(ngx.port), "P")


def test_merge_slashes(srv):
    assert ask(srv.port(), "//echo//a///b").text == "/echo/a/b\n"
    assert ask(srv.port("second"), "//a//b/").text == "//a//b/\n"
    assert ask(srv.port("second"), "/a//../b").text == "/a/b\n"


# ---- error pages ----------------------------------------------------------------------

def test_recursive_error_pages(srv):
    r = ask(srv.port(), "/rec/missing")
    assert (r.status, r.text) == (403, "custom 403\n")
    r = ask(srv.port(), "/norec/missing")
    assert r.status == 403 and "<title>403 Forbidden</title>" in r.text


def test_recursive_error_pages_loop_ends(server):
    server.write(http=http_block("""
server {
    listen 127.0.0.1:%d;
    recursive_error_pages on;
    error_page 404 /loop;
    location = /loop { return 404; }
}""" % server.port()))
    server.start()
    r = ask(server.port(), "/x")
    assert r.status == 500
    server.wait_log("rewrite or internal redirection cycle")


@needs_nginx
def test_error_pages_like_nginx(srv, ngx):
    for path in ("/rec/missing", "/norec/missing"):
        a, b = ask(srv.port(), path), ask(ngx.port, path)
        assert a.status == b.status, path
        assert (a.text == "custom 403\n") == (b.text == "custom 403\n"), path


# ---- index with variables, autoindex --------------------------------------------------

def test_index_with_variables_and_fallback(srv):
    assert ask(srv.port(), "/multi/?lang=en").text == "english\n"
    assert ask(srv.port(), "/multi/?lang=fr").text == "default\n"
    assert ask(srv.port(), "/fb/").text == "fallback\n"


@needs_nginx
def test_index_like_nginx(srv, ngx):
    for path in ("/multi/?lang=en", "/multi/?lang=fr", "/multi/", "/fb/"):
        assert ask(srv.port(), path).body == ask(ngx.port, path).body, path


def test_autoindex_rounded_local_utf8(srv):
    page = ask(srv.port(), "/list/").text
    assert "    20K\r\n" in page and "      5\r\n" in page
    assert '<a href="sub/">sub/</a>' in page and "       -\r\n" in page
    # 12:34 UTC in June, shown with Berlin's offset of this moment (as nginx)
    offset = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Berlin")).utcoffset()
    shown = datetime.datetime(2023, 6, 15, 12, 34) + offset
    assert shown.strftime("15-Jun-2023 %H:%M") in page
    # 60 two-byte characters: cut at 47 characters, not 47 bytes
    name = "\u00e9" * 47
    assert name.encode().decode("latin-1") + "..&gt;</a>" in page


@needs_nginx
def test_autoindex_like_nginx(srv, ngx):
    assert ask(srv.port(), "/list/").body == ask(ngx.port, "/list/").body


# ---- the open file cache ----------------------------------------------------------------

CACHE = """
root %s;
open_file_cache max=100 inactive=60s;
open_file_cache_valid 60s;
server {
    listen 127.0.0.1:%d;
    location /errors/ { alias %s/; open_file_cache_errors on; }
    location /noerrors/ { alias %s/; }
    location /twice/ { alias %s/; open_file_cache_min_uses 2; }
    location /once/ { alias %s/; }
}
"""


@pytest.fixture
def cache_srv(server):
    root = docroot(server, {"keep": ""})
    start(server, http_block(CACHE % ((root, server.port()) + (root,) * 4)), workers=1)
    return server, root


def replace_file(root, name, text):
    tmp = os.path.join(root, ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(root, name))


def test_open_file_cache_errors(cache_srv):
    srv, root = cache_srv
    assert ask(srv.port(), "/errors/late.txt").status == 404
    assert ask(srv.port(), "/noerrors/late2.txt").status == 404
    replace_file(root, "late.txt", "now here\n")
    replace_file(root, "late2.txt", "now here\n")
    assert ask(srv.port(), "/errors/late.txt").status == 404, "the error is remembered"
    assert ask(srv.port(), "/noerrors/late2.txt").text == "now here\n"


def test_open_file_cache_min_uses(cache_srv):
    srv, root = cache_srv
    replace_file(root, "a.txt", "one\n")
    replace_file(root, "b.txt", "one\n")
    assert ask(srv.port(), "/once/a.txt").text == "one\n"  # kept
    assert ask(srv.port(), "/twice/b.txt").text == "one\n"  # counted only
    replace_file(root, "a.txt", "two\n")
    replace_file(root, "b.txt", "two\n")
    assert ask(srv.port(), "/once/a.txt").text == "one\n", "served from the kept descriptor"
    assert ask(srv.port(), "/twice/b.txt").text == "two\n", "opened again, now kept"
    replace_file(root, "b.txt", "three\n")
    assert ask(srv.port(), "/twice/b.txt").text == "two\n"


# ---- sending, timeouts ----------------------------------------------------------------

def test_sendfile_max_chunk_sends_everything(server):
    big = bytes(range(256)) * 20000  # 5 MB
    root = docroot(server, {"big.bin": big})
    start(server, http_block("""
sendfile on;
server { listen 127.0.0.1:%d; root %s; sendfile_max_chunk 64k;
         location /nolimit/ { alias %s/; sendfile_max_chunk 0; } }
""" % (server.port(), root, root)))
    assert ask(server.port(), "/big.bin").body == big
    assert ask(server.port(), "/nolimit/big.bin").body == big


def timed_out_end(port, data):
    """What a client sees when the server gives up on its request: EOF or
    a reset."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(data)
        s.settimeout(15)
        try:
            return "eof" if s.recv(65536) == b"" else "data"
        except ConnectionResetError:
            return "reset"
    finally:
        s.close()


def test_reset_timedout_connection(server):
    start(server, http_block("""
client_header_timeout 1s;
server { listen 127.0.0.1:%d; reset_timedout_connection on;
         location = /444 { return 444; } }
server { listen 127.0.0.1:%d; location = /444 { return 444; } }
""" % (server.port(), server.port("plain"))))
    partial = b"GET / HTTP/1.1\r\nHost: a\r\n"
    assert timed_out_end(server.port(), partial) == "reset"
    assert timed_out_end(server.port("plain"), partial) == "eof"
    assert timed_out_end(server.port(), b"GET /444 HTTP/1.1\r\nHost: a\r\n\r\n") == "reset"
    assert timed_out_end(server.port("plain"), b"GET /444 HTTP/1.1\r\nHost: a\r\n\r\n") == "eof"


# ---- aio, server_tokens build ------------------------------------------------------------

@pytest.mark.parametrize("value,ok,message", [
    ("threads", True, None),
    ("threads=default", True, None),
    ("off", True, None),
    ("on", False, '"aio on" is not supported'),
    ("threads=io", False, 'thread pool "io" is not supported'),
    ("sometimes", False, 'invalid value "sometimes"'),
])
def test_aio(server, value, ok, message):
    server.write(http="aio %s; server { listen 127.0.0.1:%d; }" % (value, server.port()))
    r = server.cli("-t")
    assert (r.returncode == 0) == ok, r.stderr
    if message:
        assert message in r.stderr


def test_server_tokens_build(server):
    version = run_tp(["-v"]).stderr.split("turnpike version: ")[1].strip()
    start(server, http_block("""
server { listen 127.0.0.1:%d; server_tokens build; location /x { return 404; } }
""" % server.port()))
    r = ask(server.port(), "/x")
    assert r.header("Server") == version
    assert "<hr><center>%s</center>" % version in r.text

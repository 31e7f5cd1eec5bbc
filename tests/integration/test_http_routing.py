"""Routing: server selection by Host (exact, *.x, x.*, regex,
default_server), location selection (=, longest prefix, ^~, ~ and ~* in
config order, nesting, named locations) and regex captures."""

import pytest

from helpers import Conn, get
from http_helpers import assert_alive, docroot, http_block, start


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("routing")
    p = s.port()
    root = docroot(s, {"tf/exists.txt": "exists\n", "tfdir/sub/index.html": "sub index\n"})
    start(s, http_block("""
server { listen 127.0.0.1:%(p)d; server_name first.test; return 200 "first\\n"; }
server { listen 127.0.0.1:%(p)d default_server; server_name dflt.test; return 200 "default\\n"; }
server { listen 127.0.0.1:%(p)d; server_name exact.example.com; return 200 "exact\\n"; }
server { listen 127.0.0.1:%(p)d; server_name *.example.com; return 200 "head wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name www.example.*; return 200 "tail wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name ~^re(\\d+)\\.example\\.org$; return 200 "regex 1\\n"; }
server { listen 127.0.0.1:%(p)d; server_name ~^re\\d+\\.example\\.(org|net)$; return 200 "regex 2\\n"; }
server { listen 127.0.0.1:%(p)d; server_name ~^www\\.example\\.;  return 200 "regex loses to tail\\n"; }
server { listen 127.0.0.1:%(p)d; server_name ~^CI\\.regex\\.test$; return 200 "regex ci\\n"; }

server {
    listen 127.0.0.1:%(p)d;
    server_name loc.test;
    root %(root)s;
    location = / { return 200 "exact root\\n"; }
    location / { return 200 "root prefix\\n"; }
    location = /a { return 200 "exact a\\n"; }
    location /a { return 200 "prefix a\\n"; }
    location /a/b { return 200 "prefix a/b\\n"; }
    location ^~ /static/ { return 200 "noregex static\\n"; }
    location /plain/ { return 200 "plain prefix\\n"; }
    location ~ \\.php$ { return 200 "regex php\\n"; }
    location ~* \\.(PHP|inc)$ { return 200 "regex ci php/inc\\n"; }
    location ~ ^/order/ { return 200 "regex order 1\\n"; }
    location ~ ^/order/x { return 200 "regex order 2\\n"; }
    location /n/ {
        location /n/deeper/ { return 200 "nested prefix\\n"; }
        location ~ \\.txt$ { return 200 "nested regex\\n"; }
        location = /n/exact { return 200 "nested exact\\n"; }
        return 200 "outer n\\n";
    }
    location /nreg/ {
        location ~ \\.gif$ { return 200 "nested gif\\n"; }
        return 200 "outer nreg\\n";
    }
    location ~ \\.gif$ { return 200 "top gif\\n"; }
    location /ep/ { error_page 404 @fallback; }
    location /tf/ { try_files $uri @fallback; }
    location /tfd/ { alias %(root)s/tfdir/; try_files $uri $uri/ @fallback; }
    location @fallback { return 200 "named fallback $uri\\n"; }
}
""" % {"p": p, "root": root}))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


@pytest.mark.parametrize("host,expected", [
    ("first.test", "first\n"),
    ("unknown.test", "default\n"),
    ("exact.example.com", "exact\n"),
    ("EXACT.Example.COM", "exact\n"),
    ("exact.example.com.", "exact\n"),
    ("exact.example.com:8080", "exact\n"),
    ("Exact.Example.Com.:8080", "exact\n"),
    ("a.example.com", "head wildcard\n"),
    ("a.b.example.com", "head wildcard\n"),
    ("example.com", "default\n"),
    ("www.example.org", "tail wildcard\n"),
    ("www.example.co.uk", "tail wildcard\n"),
    ("www.example.com", "head wildcard\n"),  # *.example.com beats www.example.*
    ("re42.example.org", "regex 1\n"),
    ("re42.example.net", "regex 2\n"),
    ("rex.example.org", "default\n"),
    ("ci.REGEX.test", "regex ci\n"),
])
def test_server_selection(srv, host, expected):
    r = get(srv.port(), "/", host=host)
    assert (r.status, r.text) == (200, expected), host


def test_http10_without_host_gets_default_server(srv):
    r = get(srv.port(), "/", host=None, version="1.0")
    assert r.text == "default\n"


def test_absolute_form_target_selects_server(srv):
    r = get(srv.port(), "http://exact.example.com/x", host="first.test")
    assert r.text == "exact\n"
    r = get(srv.port(), "http://LOC.test:99/a", host="exact.example.com")
    assert r.text == "exact a\n"
    with Conn(srv.port()) as c:
        r = c.get("http://re7.example.org/", host="first.test")
        assert r.text == "regex 1\n"
        assert c.get("/", host="first.test").text == "first\n"


@pytest.mark.parametrize("path,expected", [
    ("/", "exact root\n"),
    ("/x", "root prefix\n"),
    ("/a", "exact a\n"),
    ("/a?q=1", "exact a\n"),
    ("/ab", "prefix a\n"),
    ("/a/", "prefix a\n"),
    ("/a/b", "prefix a/b\n"),
    ("/a/bc/d", "prefix a/b\n"),
    ("/x.php", "regex php\n"),
    ("/a/b/x.php", "regex php\n"),     # a regex beats the longest prefix
    ("/plain/x.php", "regex php\n"),
    ("/static/x.php", "noregex static\n"),  # ^~ stops the regex search
    ("/x.PHP", "regex ci php/inc\n"),
    ("/x.inc", "regex ci php/inc\n"),
    ("/x.INC", "regex ci php/inc\n"),
    ("/x.Php", "regex ci php/inc\n"),
    ("/order/x", "regex order 1\n"),   # regexes in config order
    ("/n/", "outer n\n"),
    ("/n/deeper/y", "nested prefix\n"),
    ("/n/a.txt", "nested regex\n"),
    ("/n/deeper/a.txt", "nested regex\n"),
    ("/n/exact", "nested exact\n"),
    ("/n/x.php", "regex php\n"),
    ("/nreg/a.gif", "nested gif\n"),   # nested regexes before the outer level's
    ("/other/a.gif", "top gif\n"),
    ("/a/%62", "prefix a/b\n"),        # matched after decoding
    ("/x/../a", "exact a\n"),
])
def test_location_selection(srv, path, expected):
    r = get(srv.port(), path, host="loc.test")
    assert (r.status, r.text) == (200, expected), path


def test_named_location_via_error_page(srv):
    r = get(srv.port(), "/ep/missing", host="loc.test")
    # error_page without "=": the original status stays.
    assert r.status == 404
    assert r.text == "named fallback /ep/missing\n"


def test_named_location_via_try_files(srv):
    r = get(srv.port(), "/tf/exists.txt", host="loc.test")
    assert (r.status, r.text) == (200, "exists\n")
    r = get(srv.port(), "/tf/missing.txt?x=1", host="loc.test")
    assert (r.status, r.text) == (200, "named fallback /tf/missing.txt\n")
    r = get(srv.port(), "/tfd/sub/", host="loc.test")
    assert (r.status, r.text) == (200, "sub index\n")
    r = get(srv.port(), "/tfd/nosub/", host="loc.test")
    assert (r.status, r.text) == (200, "named fallback /tfd/nosub/\n")


def test_named_location_not_reachable_directly(srv):
    r = get(srv.port(), "/@fallback", host="loc.test")
    assert r.text == "root prefix\n"


def test_regex_captures(server):
    """$1.. from a regex location in return, and alias with captures."""
    root = docroot(server, {"files/one.txt": "one\n"})
    start(server, http_block("""
server {
    listen 127.0.0.1:%d;
    location ~ ^/cap/(\\w+)/(\\d+)$ { return 200 "$1-$2\\n"; }
    location ~ ^/al/(.+\\.txt)$ { alias %s/files/$1; }
}
""" % (server.port(), root)))
    assert get(server.port(), "/cap/abc/42").text == "abc-42\n"
    r = get(server.port(), "/al/one.txt")
    assert (r.status, r.text) == (200, "one\n")
    assert get(server.port(), "/al/two.txt").status == 404

"""Variables of nginx configs: $request_id, $realpath_root,
$request_filename, $server_addr, $server_protocol, $cookie_NAME,
$content_type, $content_length, $is_args, $query_string, $document_uri,
$pipe, $gzip_ratio, $connection_time, $nginx_version and $hostname.
Those whose value does not depend on the server are compared with
Debian's nginx answering the same request."""

import gzip
import os
import re
import socket

import pytest

from helpers import Conn, run_tp
from http_helpers import docroot, http_block, read_response_any, start
from nginx_helpers import needs_nginx, nginx  # noqa: F401 (fixture)

SHOW = ("server_protocol=$server_protocol cookie=[$cookie_session_id] ct=[$content_type] "
        "cl=[$content_length] is_args=[$is_args] qs=[$query_string] doc=[$document_uri] "
        "uri=[$uri] file=[$request_filename] addr=[$server_addr]")

HTTP = """
root %(root)s;
server {
    listen 127.0.0.1:%(port)d;
    location /show/ { return 200 "%(show)s\\n"; }
    location /alias/ { alias %(root)s/sub/; return 200 "$request_filename\\n"; }
    location /real/ { root %(root)s/link; return 200 "$realpath_root $document_root\\n"; }
    location /gz/ { gzip on; gzip_types text/plain; gzip_min_length 1; alias %(root)s/; }
    location /id/ { return 200 "$request_id\\n"; }
    location /pipe/ { return 200 "$pipe $connection_time\\n"; }
    location /version/ { return 200 "$nginx_version $hostname\\n"; }
    location /ep/ { error_page 404 /id/again; }
}
"""


def fill(text, **kw):
    for k, v in kw.items():
        text = text.replace("%%(%s)s" % k, str(v)).replace("%%(%s)d" % k, str(v))
    return text


@pytest.fixture(scope="module")
def root(module_servers):
    s = module_servers("vars-files")
    path = docroot(s, {"sub/a.txt": "a\n", "real1/x": "1\n", "real2/x": "2\n",
                       "big.txt": "".join("line %d of text\n" % i for i in range(500))})
    os.symlink(os.path.join(path, "real1"), os.path.join(path, "link"))
    return path


@pytest.fixture(scope="module")
def srv(module_servers, root):
    s = module_servers("vars")
    start(s, http_block(fill(HTTP, root=root, port=s.port(), show=SHOW)), workers=1)
    return s


@pytest.fixture
def ngx(nginx, root):  # noqa: F811
    return nginx(fill(HTTP, root=root, show=SHOW))


def ask(port, path, headers=(), method="GET", body=b""):
    with Conn(port) as c:
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: h"] + ["%s: %s" % kv for kv in headers]
        c.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return read_response_any(c, method)


SHOW_CASES = [
    ("/show/a", [("Cookie", "x=1; session_id=abc123; y=2")]),
    ("/show/a?x=1&y=2", [("Cookie", "Session_Id = spaced ;z=1")]),
    ("/show/%61%62", [("Cookie", "session_idx=no, session_id=yes")]),
    ("/show/", [("Content-Type", "text/x; charset=utf-8"), ("Content-Length", "3")]),
]


def test_request_variables(srv, root):
    r = ask(srv.port(), "/show/a?x=1", [("Cookie", "a=1; session_id=abc; b=2")])
    assert r.text == ("server_protocol=HTTP/1.1 cookie=[abc] ct=[] cl=[] is_args=[?] qs=[x=1] "
                      "doc=[/show/a] uri=[/show/a] file=[%s/show/a] addr=[127.0.0.1]\n" % root)
    r = ask(srv.port(), "/show/", [("Content-Type", "a/b"), ("Content-Length", "3")],
            method="POST", body=b"xyz")
    assert "ct=[a/b] cl=[3] is_args=[] qs=[]" in r.text


@needs_nginx
def test_request_variables_like_nginx(srv, ngx):
    for path, headers in SHOW_CASES:
        method, body = ("POST", b"xyz") if any(k == "Content-Length" for k, _ in headers) \
            else ("GET", b"")
        assert ask(srv.port(), path, headers, method, body).text == \
            ask(ngx.port, path, headers, method, body).text, path


def test_request_filename_with_alias(srv, root):
    assert ask(srv.port(), "/alias/a.txt").text == "%s/sub/a.txt\n" % root


@needs_nginx
def test_request_filename_like_nginx(srv, ngx):
    assert ask(srv.port(), "/alias/a.txt").text == ask(ngx.port, "/alias/a.txt").text


def test_realpath_root_follows_the_link(srv, root):
    link = os.path.join(root, "link")
    assert ask(srv.port(), "/real/").text == "%s/real1 %s\n" % (root, link)
    tmp = link + ".new"
    os.symlink(os.path.join(root, "real2"), tmp)
    os.rename(tmp, link)  # a deploy switching releases
    assert ask(srv.port(), "/real/").text == "%s/real2 %s\n" % (root, link)


@needs_nginx
def test_realpath_root_like_nginx(srv, ngx):
    assert ask(srv.port(), "/real/").text == ask(ngx.port, "/real/").text


def test_request_id(srv):
    ids = [ask(srv.port(), "/id/").text.strip() for _ in range(20)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 20
    # an internal redirect keeps the request's id
    assert re.fullmatch(r"[0-9a-f]{32}\n", ask(srv.port(), "/ep/missing").text)


def test_pipe_and_connection_time(srv):
    with Conn(srv.port()) as c:
        c.send(b"GET /pipe/ HTTP/1.1\r\nHost: h\r\n\r\n")
        first = c.read_response()
        c.send(b"GET /pipe/ HTTP/1.1\r\nHost: h\r\n\r\nGET /pipe/ HTTP/1.1\r\nHost: h\r\n\r\n")
        second, third = c.read_response(), c.read_response()
    kinds = [r.text.split()[0] for r in (first, second, third)]
    assert kinds == [".", ".", "p"]
    times = [float(r.text.split()[1]) for r in (first, second, third)]
    assert all(re.fullmatch(r"\d+\.\d{3}", r.text.split()[1]) for r in (first, second, third))
    assert times == sorted(times)


def test_nginx_version_and_hostname(srv):
    version = run_tp(["-v"]).stderr.split("turnpike version: turnpike/")[1].split()[0]
    assert ask(srv.port(), "/version/").text == "%s %s\n" % (version,
                                                           socket.gethostname().lower())


def test_gzip_ratio(server):
    root = docroot(server, {"big.txt": "".join("line %d of text\n" % i for i in range(500))})
    server.write(http=http_block("""
log_format ratio "$request_uri $gzip_ratio";
server { listen 127.0.0.1:%d; root %s; access_log %s/ratio.log ratio;
         gzip on; gzip_types text/plain; gzip_min_length 1; }
""" % (server.port(), root, server.dir)))
    server.start()
    r = ask(server.port(), "/big.txt", [("Accept-Encoding", "gzip")])
    plain = gzip.decompress(r.body)
    ask(server.port(), "/big.txt?plain")
    server.stop()
    with open(os.path.join(server.dir, "ratio.log")) as f:
        lines = dict(line.split() for line in f.read().splitlines())  # two workers: any order
    assert lines["/big.txt?plain"] == "-"
    ratio = float(lines["/big.txt"])
    assert abs(ratio - len(plain) / len(r.body)) < 0.006

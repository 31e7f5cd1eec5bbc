"""`return` answers, routing, normalization and HTTP/1.x connection
handling, against one server shared by the module."""

import socket

import pytest

from helpers import Conn, get, proc_alive

VARS = ("uri=$uri request_uri=$request_uri args=$args a=$arg_a host=$host "
        "ua=$http_user_agent xfoo=$http_x_foo remote=$remote_addr port=$server_port "
        "scheme=$scheme method=$request_method proto=$server_protocol "
        "is_args=$is_args nreq=$connection_requests\\n")


def http_conf(p, q):
    return """
server {
    listen 127.0.0.1:%(p)d;
    server_name main.test;

    location = / { return 200 "root\\n"; }
    location / { return 200 "catchall $uri\\n"; }
    location = /exact { return 200 "exact\\n"; }
    location =/nospace { return 200 "exact, no space\\n"; }
    location /exact { return 200 "prefix /exact\\n"; }
    location /pre { return 200 "prefix /pre\\n"; }
    location /pre/longer { return 200 "prefix /pre/longer\\n"; }
    location ^~ /nore { return 200 "noregex /nore\\n"; }
    location /nore/deeper { return 200 "prefix /nore/deeper\\n"; }
    location /nest {
        return 200 "nest outer\\n";
        location /nest/inner { return 200 "nest inner\\n"; }
        location = /nest/exact { return 200 "nest exact\\n"; }
        location /nest/noreturn { }
    }
    location /vars { return 200 "%(vars)s"; }
    location /braces { return 200 "[${uri}]${args}\\n"; }
    location /r301 { return 301 /target; }
    location /r302 { return 302 /t2?$args; }
    location /r303 { return 303 http://elsewhere.test/x; }
    location /r307 { return 307 /t307; }
    location /r308 { return 308 https://secure.test/y; }
    location /bare-url { return http://bare.test/$uri; }
    location /c204 { return 204; }
    location /c403 { return 403; }
    location /c404text { return 404 "custom not found\\n"; }
    location /c410 { return 410; }
    location /c418 { return 418 "teapot\\n"; }
    location /c500 { return 500; }
    location /c503 { return 503; }
    location /c444 { return 444; }
    location /c200empty { return 200 ""; }
}

server {
    listen 127.0.0.1:%(p)d default_server;
    server_name dflt.test;
    return 200 "default server\\n";
}
server { listen 127.0.0.1:%(p)d; server_name exact.test alias.test; return 200 "exact server\\n"; }
server { listen 127.0.0.1:%(p)d; server_name *.wild.test; return 200 "head wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name *.sub.wild.test; return 200 "longer head wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name .dot.test; return 200 "dot wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name exact.wild.test; return 200 "exact beats wildcard\\n"; }
server {
    listen 127.0.0.1:%(p)d;
    server_name none.test;
    location /only { return 200 "only\\n"; }
}

server {
    listen 127.0.0.1:%(q)d;
    location / { return 301 /moved; }
}
""" % {"p": p, "q": q, "vars": VARS}


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("return")
    p = s.port()
    q = s.port("noname")
    s.write(http=http_conf(p, q))
    s.start()
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    """Each test leaves the master and its workers running."""
    workers = srv.workers()
    yield
    assert srv.alive(), "master died:\n" + srv.stderr()
    assert all(proc_alive(w) for w in workers), "a worker died:\n" + srv.log()[-3000:]
    for marker in ("ERROR: AddressSanitizer", "runtime error:"):
        assert marker not in srv.stderr() and marker not in srv.log()


def body(srv, path, host="main.test", **kw):
    r = get(srv.port(), path, host=host, **kw)
    assert r.status == 200, r
    return r.text


# ---- codes, text, variables --------------------------------------------------------

def test_text_and_headers(srv):
    r = get(srv.port(), "/exact", host="main.test")
    assert (r.status, r.reason, r.version) == (200, "OK", "1.1")
    assert r.text == "exact\n"
    assert r.header("Content-Type") == "text/plain"
    assert r.header("Content-Length") == "6"
    assert r.header("Connection") == "keep-alive"
    assert r.header("Server").startswith("turnpike/")
    assert r.header("Date").endswith(" GMT")


def test_variables(srv):
    r = get(srv.port(), "/vars/x/../y%20z?a=1&b=2&A=3", host="Main.Test:8080",
            headers=[("User-Agent", "tp-test/1"), ("X-Foo", "bar baz")])
    assert r.status == 200
    assert r.text == (
        "uri=/vars/y z request_uri=/vars/x/../y%20z?a=1&b=2&A=3 args=a=1&b=2&A=3 a=1 "
        "host=main.test ua=tp-test/1 xfoo=bar baz remote=127.0.0.1 port=" + str(srv.port()) +
        " scheme=http method=GET proto=HTTP/1.1 is_args=? nreq=1\n")


def test_variables_empty(srv):
    r = get(srv.port(), "/vars", host="main.test", method="POST",
            headers=[("Content-Length", "0")])
    assert r.status == 200
    assert r.text == (
        "uri=/vars request_uri=/vars args= a= host=main.test ua= xfoo= remote=127.0.0.1 "
        "port=%d scheme=http method=POST proto=HTTP/1.1 is_args= nreq=1\n" % srv.port())


def test_braced_variables(srv):
    assert body(srv, "/braces?q=1") == "[/braces]q=1\n"


def test_empty_text(srv):
    r = get(srv.port(), "/c200empty", host="main.test")
    assert (r.status, r.body, r.header("Content-Length")) == (200, b"", "0")


@pytest.mark.parametrize("path,code,location", [
    ("/r301", 301, "http://main.test:{p}/target"),
    ("/r302?x=1&y=2", 302, "http://main.test:{p}/t2?x=1&y=2"),
    ("/r303", 303, "http://elsewhere.test/x"),
    ("/r307", 307, "http://main.test:{p}/t307"),
    ("/r308", 308, "https://secure.test/y"),
    ("/bare-url", 302, "http://bare.test//bare-url"),
])
def test_redirects(srv, path, code, location):
    r = get(srv.port(), path, host="main.test")
    assert r.status == code
    assert r.header("Location") == location.format(p=srv.port())
    assert r.header("Content-Type") == "text/html"
    assert "<title>%d %s</title>" % (code, r.reason) in r.text
    assert r.header("Content-Length") == str(len(r.body))
    assert r.header("Connection") == "keep-alive"


def test_redirect_host_from_header_port_stripped(srv):
    q = srv.port("noname")
    r = get(q, "/x", host="Other.Example:1234")
    assert r.header("Location") == "http://other.example:%d/moved" % q


def test_redirect_without_host_uses_local_address(srv):
    """HTTP/1.0 without Host, server without server_name: nginx puts the
    local address in the absolute Location."""
    q = srv.port("noname")
    r = get(q, "/x", host=None, version="1.0")
    assert r.status == 301
    assert r.header("Location") == "http://127.0.0.1:%d/moved" % q


@pytest.mark.parametrize("path,code,reason,closes", [
    ("/c403", 403, "Forbidden", False),
    ("/c410", 410, "Gone", False),
    ("/c500", 500, "Internal Server Error", True),
    ("/c503", 503, "Service Temporarily Unavailable", False),
])
def test_builtin_error_pages(srv, path, code, reason, closes):
    with Conn(srv.port()) as c:
        r = c.get(path, host="main.test")
        assert (r.status, r.reason) == (code, reason)
        assert r.header("Content-Type") == "text/html"
        assert r.text == ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                          "<center><h1>%d %s</h1></center>\r\n<hr><center>%s</center>\r\n"
                          "</body>\r\n</html>\r\n" % (code, reason, code, reason,
                                                      r.header("Server")))
        assert r.header("Content-Length") == str(len(r.body))
        if closes:
            assert r.header("Connection") == "close"
            assert c.wait_closed()
        else:
            assert r.header("Connection") == "keep-alive"
            assert c.get("/exact", host="main.test").text == "exact\n"


def test_custom_text_error_code(srv):
    r = get(srv.port(), "/c404text", host="main.test")
    assert (r.status, r.text, r.header("Content-Type")) == (404, "custom not found\n",
                                                           "text/plain")
    r = get(srv.port(), "/c418", host="main.test")
    assert (r.status, r.text) == (418, "teapot\n")


def test_204_has_no_body(srv):
    with Conn(srv.port()) as c:
        r = c.get("/c204", host="main.test")
        assert r.status == 204
        assert r.header("Content-Length") is None
        # Nothing but the head was sent: the next response parses cleanly.
        assert c.get("/exact", host="main.test").text == "exact\n"


def test_444_closes_without_response(srv):
    with Conn(srv.port()) as c:
        c.request("/c444", host="main.test")
        assert c.wait_closed()
        assert c.buf == b""


def test_404_when_nothing_applies(srv):
    with Conn(srv.port()) as c:
        r = c.get("/other", host="none.test")
        assert (r.status, r.reason) == (404, "Not Found")
        assert "<title>404 Not Found</title>" in r.text
        assert r.header("Connection") == "keep-alive"
        assert c.get("/only", host="none.test").text == "only\n"
        # A location without return also ends in 404.
        assert c.get("/nest/noreturn", host="main.test").status == 404


# ---- HEAD, HTTP/1.0, keep-alive, pipelining -------------------------------------------------

def test_head(srv):
    g = get(srv.port(), "/exact", host="main.test")
    with Conn(srv.port()) as c:
        h = c.get("/exact", host="main.test", method="HEAD")
        assert h.status == 200
        assert h.header("Content-Length") == g.header("Content-Length") == "6"
        assert h.header("Content-Type") == "text/plain"
        h = c.get("/c403", host="main.test", method="HEAD")
        assert h.status == 403
        assert h.header("Content-Length") == get(srv.port(), "/c403",
                                                 host="main.test").header("Content-Length")
        # No body bytes were sent for either HEAD.
        assert c.get("/exact", host="main.test").text == "exact\n"
        assert c.buf == b""


def test_http10_closes(srv):
    with Conn(srv.port()) as c:
        r = c.get("/exact", host="main.test", version="1.0")
        assert (r.status, r.text) == (200, "exact\n")
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_http10_keepalive_on_request(srv):
    with Conn(srv.port()) as c:
        for _ in range(3):
            r = c.get("/exact", host="main.test", version="1.0",
                      headers=[("Connection", "keep-alive")])
            assert r.text == "exact\n"
            assert r.header("Connection") == "keep-alive"
        r = c.get("/exact", host="main.test", version="1.0")
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_http11_connection_close(srv):
    with Conn(srv.port()) as c:
        r = c.get("/exact", host="main.test", headers=[("Connection", "close")])
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_keepalive_reuses_connection(srv):
    with Conn(srv.port()) as c:
        local = c.sock.getsockname()
        for i in range(1, 6):
            r = c.get("/vars?a=%d" % i, host="main.test")
            assert r.header("Connection") == "keep-alive"
            assert " a=%d " % i in r.text
            assert r.text.endswith("nreq=%d\n" % i)
        assert c.sock.getsockname() == local


def test_pipelining(srv):
    with Conn(srv.port()) as c:
        raw = b"".join([
            c.request("/exact", host="main.test", send=False),
            c.request("/pre/x", host="main.test", send=False),
            c.request("/c403", host="main.test", send=False),
            c.request("/exact", host="main.test", method="HEAD", send=False),
            c.request("/vars?a=5", host="main.test", send=False),
            c.request("/nest/inner", host="main.test", send=False,
                      headers=[("Connection", "close")]),
        ])
        c.send(raw)
        assert c.read_response().text == "exact\n"
        assert c.read_response().text == "prefix /pre\n"
        assert c.read_response().status == 403
        assert c.read_response("HEAD").header("Content-Length") == "6"
        r = c.read_response()
        assert " a=5 " in r.text and r.text.endswith("nreq=5\n")
        r = c.read_response()
        assert (r.text, r.header("Connection")) == ("nest inner\n", "close")
        assert c.wait_closed()
        assert c.buf == b""


def test_pipelining_byte_by_byte(srv):
    with Conn(srv.port()) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw = (c.request("/exact", host="main.test", send=False) +
               c.request("/pre", host="main.test", send=False))
        for i in range(len(raw)):
            c.send(raw[i:i + 1])
        assert c.read_response().text == "exact\n"
        assert c.read_response().text == "prefix /pre\n"


# ---- server selection ---------------------------------------------------------------

@pytest.mark.parametrize("host,expected", [
    ("main.test", "root\n"),
    ("exact.test", "exact server\n"),
    ("EXACT.Test", "exact server\n"),
    ("exact.test:9999", "exact server\n"),
    ("exact.test.", "exact server\n"),
    ("alias.test", "exact server\n"),
    ("a.wild.test", "head wildcard\n"),
    ("a.b.c.wild.test", "head wildcard\n"),
    ("wild.test", "default server\n"),
    ("x.sub.wild.test", "longer head wildcard\n"),
    ("exact.wild.test", "exact beats wildcard\n"),
    ("dot.test", "dot wildcard\n"),
    ("www.dot.test", "dot wildcard\n"),
    ("xdot.test", "default server\n"),
    ("unknown.test", "default server\n"),
    ("", None),
])
def test_server_name(srv, host, expected):
    r = get(srv.port(), "/", host=host)
    if expected is None:
        # An empty Host in HTTP/1.1 is refused, as nginx does.
        assert r.status == 400
    else:
        assert (r.status, r.text) == (200, expected)


def test_tail_wildcard_server_name(make_server):
    """`www.example.*` names (own server: a config error here would hide
    every other test of the module)."""
    s = make_server("tail")
    p = s.port()
    s.write(http="""
server { listen 127.0.0.1:%(p)d; server_name main.test; return 200 "default\\n"; }
server { listen 127.0.0.1:%(p)d; server_name www.tail.*; return 200 "tail wildcard\\n"; }
server { listen 127.0.0.1:%(p)d; server_name *.both.test; return 200 "both head\\n"; }
server { listen 127.0.0.1:%(p)d; server_name www.both.*; return 200 "both tail\\n"; }
server { listen 127.0.0.1:%(p)d; server_name www.long.tail.* www.long.*; return 200 "long\\n"; }
""" % {"p": p})
    r = s.cli("-t")
    assert r.returncode == 0, r.stderr
    s.start()
    for host, expected in [
        ("www.tail.org", "tail wildcard\n"),
        ("www.tail.co.uk", "tail wildcard\n"),
        ("www.tail", "default\n"),
        ("www.both.test", "both head\n"),
        ("www.both.org", "both tail\n"),
        ("www.long.tail.x", "long\n"),
    ]:
        r = get(p, "/", host=host)
        assert (host, r.text) == (host, expected)


def test_http10_without_host_goes_to_default(srv):
    r = get(srv.port(), "/", host=None, version="1.0")
    assert r.text == "default server\n"


def test_absolute_uri_wins_over_host(srv):
    r = get(srv.port(), "http://exact.test/", host="main.test")
    assert r.text == "exact server\n"
    r = get(srv.port(), "http://main.test/pre/abc?a=1", host="exact.test")
    assert r.text == "prefix /pre\n"


# ---- location selection ---------------------------------------------------------------

@pytest.mark.parametrize("path,expected", [
    ("/", "root\n"),
    ("/exact", "exact\n"),
    ("/exact?x=1", "exact\n"),
    ("/exact/", "prefix /exact\n"),
    ("/exactly", "prefix /exact\n"),
    ("/pre", "prefix /pre\n"),
    ("/prefix", "prefix /pre\n"),
    ("/pre/longe", "prefix /pre\n"),
    ("/pre/longer", "prefix /pre/longer\n"),
    ("/pre/longer/more", "prefix /pre/longer\n"),
    ("/nore/x", "noregex /nore\n"),
    ("/nore/deeper/x", "prefix /nore/deeper\n"),
    ("/nest", "nest outer\n"),
    ("/nest/other", "nest outer\n"),
    ("/nest/inner", "nest inner\n"),
    ("/nest/inner/deep", "nest inner\n"),
    ("/nest/exact", "nest exact\n"),
    ("/nest/exact/x", "nest outer\n"),
    ("/nospace", "exact, no space\n"),
    ("/nospace/", "catchall /nospace/\n"),
    ("/Exact", "catchall /Exact\n"),
    ("/elsewhere", "catchall /elsewhere\n"),
])
def test_location(srv, path, expected):
    assert body(srv, path) == expected


# ---- normalization and bad requests ------------------------------------------------

@pytest.mark.parametrize("path,uri", [
    ("/a/../b", "/b"),
    ("/a/./b", "/a/b"),
    ("//x//y", "/x/y"),
    ("/a/%2e%2e/b", "/b"),
    ("/a/%2E%2e/%2e/b", "/b"),
    ("/a/b/..", "/a/"),
    ("/a/b/.", "/a/b/"),
    ("/%41%42c", "/ABc"),
    ("/a%2fb", "/a/b"),
    ("/a/b/../../c", "/c"),
    ("/..a/b..", "/..a/b.."),
])
def test_normalization(srv, path, uri):
    assert body(srv, path) == "catchall %s\n" % uri


def test_normalized_path_selects_location(srv):
    assert body(srv, "/x/../exact") == "exact\n"
    assert body(srv, "/x/..//pre/%6conger") == "prefix /pre/longer\n"


@pytest.mark.parametrize("path", ["/..", "/../x", "/a/../../x", "/%2e%2e/x", "/a/%2E%2E/%2e%2e/b"])
def test_above_root_is_400(srv, path):
    with Conn(srv.port()) as c:
        r = c.get(path, host="main.test")
        assert (r.status, r.reason) == (400, "Bad Request")
        assert "<title>400 Bad Request</title>" in r.text
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_http11_without_host_is_400(srv):
    with Conn(srv.port()) as c:
        r = c.get("/exact", host=None)
        assert r.status == 400
        assert r.header("Connection") == "close"
        assert c.wait_closed()


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nBad Header Line\r\n\r\n",
    b"GET nopath HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: bad/host\r\n\r\n",
])
def test_bad_requests_are_400(srv, raw):
    with Conn(srv.port()) as c:
        c.send(raw)
        r = c.read_response()
        assert r.status == 400
        assert r.header("Connection") == "close"
        assert c.wait_closed()


def test_client_closing_early_is_harmless(srv):
    for data in (b"", b"GET /exa", b"GET /exact HTTP/1.1\r\nHost: main.test\r\n"):
        with Conn(srv.port()) as c:
            if data:
                c.send(data)
    with Conn(srv.port()) as c:
        c.request("/exact", host="main.test")
        c.sock.shutdown(socket.SHUT_WR)
        assert c.read_response().text == "exact\n"
    assert body(srv, "/exact") == "exact\n"

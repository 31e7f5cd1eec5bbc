"""The reverse proxy's requests and responses, against the scripted backend
(tests/integration/backend.py, whose /echo returns the request it got):
nginx's URI rules, proxy_set_header and its defaults, hop-by-hop headers,
the request re-framed canonically, response headers (hidden, passed,
redirected), HEAD, interim responses, X-Accel-Redirect,
proxy_intercept_errors, the variables, and the configuration errors."""

import json
import os
import re

from proxy_helpers import (Client, backend, fetch, make_backend,  # noqa: F401 (fixtures)
                           proxy_http, start_proxy)


def echo(port, path="/echo", **kw):
    r = fetch(port, path, **kw)
    assert r.status == 200, r
    return json.loads(r.body)


def hdr(doc, name):
    """The values of one header in the request the backend got."""
    return [v for k, v in doc["headers"] if k.lower() == name.lower()]


# ---- URIs -----------------------------------------------------------------------

def target(port, path, **kw):
    """The request-target the backend's default endpoint saw."""
    r = fetch(port, path, **kw)
    assert r.status == 200, r
    return r.body.decode("latin-1").split(" ", 2)[2].rstrip("\n")


def test_uri_rules(server, backend):
    """nginx's rules: without a URI part the URI goes as sent; with one it
    replaces the location's prefix; regex locations pass the URI whole."""
    b = backend.address
    start_proxy(server, """
        location / { proxy_pass http://%s; }
        location /name/ { proxy_pass http://%s/remote/; }
        location = /exact { proxy_pass http://%s/other; }
        location ~ ^/re(/.*)$ { proxy_pass http://%s; }
        location /slash/ { proxy_pass http://%s/; }
    """ % (b, b, b, b, b))
    p = server.port()
    assert target(p, "/a/%7Eb//c?x=1&y=%20") == "/a/%7Eb//c?x=1&y=%20"
    assert target(p, "/name/x%20y/z?k=v") == "/remote/x%20y/z?k=v"
    assert target(p, "/exact") == "/other"
    assert target(p, "/re/x") == "/re/x"
    assert target(p, "/slash/x?q") == "/x?q"


def test_uri_after_internal_redirect(server, backend):
    """After error_page the proxied URI is the new $uri (escaped) and its
    arguments, in a named location too."""
    start_proxy(server, """
        location /missing { return 404; }
        error_page 404 /echo/handled%%20page?from=404;
        location /echo/ { proxy_pass http://%s; }
        location /named { error_page 418 = @up; return 418; }
        location @up { proxy_pass http://%s; }
    """ % (backend.address, backend.address))
    r = fetch(server.port(), "/missing")
    assert r.status == 404
    assert r.body == b"backend GET /echo/handled%20page?from=404\n"
    r = fetch(server.port(), "/named?a=b")
    assert r.status == 200
    assert r.body.decode().startswith("backend GET /named?a=b")


def test_variables_in_proxy_pass(server, make_backend):
    """A variable naming an upstream group uses it; an address is used as
    is; a URI part given with variables is sent exactly."""
    b1, b2 = make_backend("b1"), make_backend("b2")
    start_proxy(server, """
        location /group { proxy_pass http://$arg_to; }
        location /addr { proxy_pass http://127.0.0.1:$arg_port; }
        location /full { proxy_pass http://%s/echo?fixed=$arg_v; }
    """ % b2.address, http_extra="upstream pool1 { server %s; }" % b1.address)
    assert fetch(server.port(), "/group?to=pool1").header("X-Backend") == "b1"
    assert fetch(server.port(), "/addr?port=%d" % b2.port).header("X-Backend") == "b2"
    assert echo(server.port(), "/full/x?v=7")["target"] == "/echo?fixed=7"
    r = fetch(server.port(), "/group?to=unknownname")
    assert r.status == 502  # a name, and no resolver to look it up
    assert "no resolver defined to resolve unknownname" in server.log()


# ---- request headers --------------------------------------------------------------

def test_default_headers_and_hop_by_hop(server, backend):
    start_proxy(server, "location / { proxy_pass http://%s; }" % backend.address)
    doc = echo(server.port(), headers=[
        ("Connection", "keep-alive, X-Hop"), ("X-Hop", "secret"), ("Keep-Alive", "timeout=5"),
        ("Proxy-Connection", "keep-alive"), ("TE", "trailers"), ("Upgrade", "websocket"),
        ("Expect", "100-continue"), ("X-Pass", "1"), ("Cookie", "a=1"), ("Cookie", "b=2")])
    names = [k.lower() for k, _ in doc["headers"]]
    assert doc["version"] == "HTTP/1.0"
    assert doc["headers"][0] == ["Host", backend.address]
    assert doc["headers"][1] == ["Connection", "close"]
    for gone in ("x-hop", "keep-alive", "proxy-connection", "te", "upgrade", "expect"):
        assert gone not in names, doc["headers"]
    assert hdr(doc, "X-Pass") == ["1"] and hdr(doc, "Cookie") == ["a=1", "b=2"]


def test_proxy_set_header(server, backend):
    """Set headers come first, an empty value removes, a level with its own
    list does not inherit the parent's."""
    start_proxy(server, """
        proxy_set_header X-Server-Level yes;
        location / {
            proxy_pass http://%s;
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header User-Agent "";
            proxy_set_header X-Port $proxy_port;
        }
        location /inherit { proxy_pass http://%s/echo; }
    """ % (backend.address, backend.address))
    doc = echo(server.port(), headers=[("User-Agent", "ua"), ("X-Forwarded-For", "10.0.0.1")],
               host="front.example")
    assert doc["headers"][:3] == [["Host", "front.example:%d" % server.port()],
                                  ["X-Real-IP", "127.0.0.1"],
                                  ["X-Forwarded-For", "10.0.0.1, 127.0.0.1"]]
    assert hdr(doc, "User-Agent") == [] and hdr(doc, "X-Server-Level") == []
    assert hdr(doc, "X-Port") == [str(backend.port)]
    doc = echo(server.port(), "/inherit")
    assert hdr(doc, "X-Server-Level") == ["yes"]


def test_pass_request_headers_and_body_off(server, backend):
    start_proxy(server, """
        location / {
            proxy_pass http://%s;
            proxy_pass_request_headers off;
            proxy_pass_request_body off;
            proxy_method PUT;
        }
    """ % backend.address)
    doc = echo(server.port(), method="POST", body="ignored", headers=[("X-Client", "1")])
    assert doc["method"] == "PUT"
    assert [k for k, _ in doc["headers"]] == ["Host", "Connection"]
    assert doc["body_length"] == 0


def test_request_reframed(server, backend):
    """A chunked body arrives upstream with turnpike's framing: read first,
    with a Content-Length; streamed to HTTP/1.1, chunked again, canonical."""
    start_proxy(server, """
        location / { proxy_pass http://%s; }
        location /stream/ {
            proxy_pass http://%s/;
            proxy_http_version 1.1;
            proxy_request_buffering off;
        }
    """ % (backend.address, backend.address))
    raw = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n0002\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n")
    for path, framing in ((b"/echo", "content-length"), (b"/stream/echo", "transfer-encoding")):
        with Client(server.port()) as c:
            c.send(raw.replace(b"/echo", path, 1))
            doc = json.loads(c.response().body)
        assert doc["body"] == "abcde"
        names = [k.lower() for k, _ in doc["headers"]]
        assert framing in names
        assert "x-trailer" not in names
        if framing == "content-length":
            assert hdr(doc, "Content-Length") == ["5"]


# ---- responses ------------------------------------------------------------------------

def test_response_headers(server, backend):
    """Date and Server are turnpike's unless passed; X-Accel-* and hidden
    headers go; the reason phrase and Set-Cookie lines are the upstream's."""
    start_proxy(server, """
        location / { proxy_pass http://%s; proxy_hide_header X-Secret; }
        location /pass/ {
            proxy_pass http://%s/;
            proxy_pass_header Server;
            proxy_pass_header X-Accel-Charset;
        }
    """ % (backend.address, backend.address))
    q = ("Server=upstream&Date=Mon,%%2001%%20Jan%%202001%%2000:00:00%%20GMT&X-Secret=1"
         "&X-Accel-Charset=utf-8&X-Pad=x&Set-Cookie=a%%3D1&Connection=X-Drop&X-Drop=1"
         "&Keep-Alive=timeout%%3D1&Content-Type=text/x-test")
    r = fetch(server.port(), "/header?" + q)
    assert r.header("Server").startswith("turnpike")
    assert r.header("Date") != "Mon, 01 Jan 2001 00:00:00 GMT"
    assert r.header("Content-Type") == "text/x-test"
    for gone in ("X-Secret", "X-Accel-Charset", "X-Pad", "X-Drop", "Keep-Alive"):
        assert r.header(gone) is None, r.headers
    assert r.header("Connection") == "keep-alive"
    r = fetch(server.port(), "/pass/header?" + q)
    assert r.header("Server") == "upstream" and len(r.header_all("Server")) == 1
    assert r.header("X-Accel-Charset") == "utf-8"
    r = fetch(server.port(), "/status/299")
    assert r.status == 299 and r.reason == "Status"


def test_head_never_has_a_body(server, backend):
    start_proxy(server, "location / { proxy_pass http://%s; }" % backend.address)
    with Client(server.port()) as c:
        c.request("/bytes/1000", method="HEAD")
        r = c.response(method="HEAD")
        assert r.status == 200 and r.header("Content-Length") == "1000"
        r = c.get("/echo")  # the next response follows at once
        assert json.loads(r.body)["method"] == "GET"


def test_interim_responses_and_101(server, backend):
    """1xx are dropped; a 101 to a client that did not ask to upgrade is
    invalid."""
    start_proxy(server, "location / { proxy_pass http://%s; }" % backend.address)
    r = fetch(server.port(), "/1xx?codes=100,103,102")
    assert r.status == 200 and r.body == b"after interim\n" and r.interim == []
    assert fetch(server.port(), "/101").status == 502
    assert ('upstream sent "101 Switching Protocols" to a request without "Upgrade" while '
            'reading response header from upstream') in server.log()


def test_proxy_redirect(server, backend):
    b = backend.address
    start_proxy(server, """
        location /one/ { proxy_pass http://%s/; }
        location /two/ {
            proxy_pass http://%s/;
            proxy_redirect http://elsewhere/ http://$host/moved/;
            proxy_redirect ~^http://re\\.example(/.*)$ https://front$1;
        }
        location /off/ { proxy_pass http://%s/; proxy_redirect off; }
    """ % (b, b, b))
    p = server.port()
    r = fetch(p, "/one/header?Location=http://%s/x" % b, host="h")
    assert r.header("Location") == "http://h:%d/one/x" % p
    r = fetch(p, "/one/header?Refresh=5;%%20url=http://%s/y" % b, host="h")
    assert r.header("Refresh") == "5; url=/one/y"
    r = fetch(p, "/two/header?Location=http://elsewhere/a", host="h")
    assert r.header("Location") == "http://h/moved/a"
    r = fetch(p, "/two/header?Location=http://re.example/b/c", host="h")
    assert r.header("Location") == "https://front/b/c"
    r = fetch(p, "/off/header?Location=http://%s/z" % b)
    assert r.header("Location") == "http://%s/z" % b


def test_x_accel_redirect(server, backend):
    start_proxy(server, """
        location / { proxy_pass http://%s; }
        location /ignored/ { proxy_pass http://%s/; proxy_ignore_headers X-Accel-Redirect; }
        location /internal/ { return 200 "internal $uri $args\\n"; }
    """ % (backend.address, backend.address))
    r = fetch(server.port(), "/header?X-Accel-Redirect=/internal/x%3Fa%3D1", method="POST",
              body="")
    assert r.status == 200 and r.body == b"internal /internal/x a=1\n"
    r = fetch(server.port(), "/ignored/header?X-Accel-Redirect=/internal/x")
    assert r.body == b"headers\n" and r.header("X-Accel-Redirect") is None


def test_intercept_errors(server, backend):
    start_proxy(server, """
        location / {
            proxy_pass http://%s;
            proxy_intercept_errors on;
            error_page 404 /nf;
        }
        location = /nf { return 200 "our page\\n"; }
    """ % backend.address, log=True, http_extra=(
        "log_format up '$status $upstream_status $upstream_addr';"
        "access_log %s/up.log up;" % server.dir))
    r = fetch(server.port(), "/status/404")
    assert r.status == 404 and r.body == b"our page\n"
    r = fetch(server.port(), "/status/500")  # no error_page for it: as it came
    assert r.status == 500 and r.body == b"status 500\n"
    with open(os.path.join(server.dir, "up.log")) as f:
        lines = f.read().splitlines()
    assert "404 404 %s" % backend.address in lines


def test_upstream_variables(server, backend):
    fmt = ("'$upstream_addr|$upstream_status|$upstream_connect_time|$upstream_header_time|"
           "$upstream_response_time|$upstream_bytes_received|$upstream_bytes_sent|"
           "$upstream_response_length|$upstream_http_x_backend|$proxy_host|$proxy_port'")
    start_proxy(server, "location / { proxy_pass http://up; }", log=True, http_extra=(
        "upstream up { server 127.0.0.1:1; server %s; }\n"
        "log_format up %s; access_log %s/up.log up;" % (backend.address, fmt, server.dir)))
    server.expect_log(r"connect\(\) failed")
    assert fetch(server.port(), "/bytes/1000").status == 200
    server.stop()
    with open(os.path.join(server.dir, "up.log")) as f:
        fields = f.read().splitlines()[-1].split("|")
    addr, status, ct, ht, rt, rcv, snt, rlen, xb, host, port = fields
    assert addr in ("127.0.0.1:1, %s" % backend.address, backend.address)
    tried = addr.count(",") + 1
    assert status.split(", ")[-1] == "200" and len(status.split(", ")) == tried
    if tried == 2:
        assert ct.split(", ")[0] == "-" and status.split(", ")[0] == "502"
    for t in (ct.split(", ")[-1], ht.split(", ")[-1], rt.split(", ")[-1]):
        assert re.match(r"^\d+\.\d{3}$", t), fields
    assert int(rcv.split(", ")[-1]) > 1000 and int(snt.split(", ")[-1]) > 0
    assert rlen == "1000" and xb == "backend" and host == "up" and port == "80"


# ---- real client addresses --------------------------------------------------------------

def test_real_ip(server, backend):
    start_proxy(server, """
        set_real_ip_from 127.0.0.0/8;
        location / {
            proxy_pass http://%s;
            proxy_set_header X-Client $remote_addr;
            proxy_set_header X-Peer $realip_remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }
        location /xff/ {
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
            set_real_ip_from 127.0.0.1;
            set_real_ip_from 10.0.0.0/8;
            proxy_pass http://%s/;
            proxy_set_header X-Client $remote_addr;
        }
    """ % (backend.address, backend.address))
    doc = echo(server.port(), headers=[("X-Real-IP", "192.0.2.7")])
    assert hdr(doc, "X-Client") == ["192.0.2.7"] and hdr(doc, "X-Peer") == ["127.0.0.1"]
    assert hdr(doc, "X-Forwarded-For") == ["192.0.2.7"]
    doc = echo(server.port(), "/xff/echo",
               headers=[("X-Forwarded-For", "198.51.100.1, 203.0.113.9"),
                        ("X-Forwarded-For", "10.1.1.1, 10.2.2.2")])
    assert hdr(doc, "X-Client") == ["203.0.113.9"]
    doc = echo(server.port(), headers=[("X-Real-IP", "not an address")])
    assert hdr(doc, "X-Client") == ["127.0.0.1"]


# ---- configuration ------------------------------------------------------------------------

def config_error(server, body, http_extra=""):
    text = server.write(http=proxy_http(server, body, http_extra))
    r = server.cli("-t")
    assert r.returncode == 1, "accepted:\n%s" % text
    return r.stderr, text[:text.index("#!")].count("\n") + 1


def test_config_errors(server):
    cases = [
        ("location / { proxy_pass backend; #!\n}", 'invalid URL prefix in "backend"'),
        ("location / { proxy_pass https://h:99999; #!\n}", 'invalid port in upstream "h:99999"'),
        ("location / { proxy_pass http://h:99999; #!\n}", 'invalid port in upstream "h:99999"'),
        ("location / { proxy_pass http://nonexistent.invalid; #!\n}",
         'host not found in upstream "nonexistent.invalid"'),
        ("location ~ /x { proxy_pass http://127.0.0.1/u; #!\n}",
         '"proxy_pass" cannot have URI part in location given by regular expression'),
        ("location / { proxy_pass http://127.0.0.1; proxy_pass http://127.0.0.1; #!\n}",
         '"proxy_pass" directive is duplicate'),
        ("location / { proxy_redirect default; #!\n}",
         '"proxy_redirect default" should be placed after the "proxy_pass" directive'),
        ("location / { proxy_pass http://$host; proxy_redirect default; #!\n}",
         '"proxy_redirect default" cannot be used with "proxy_pass" directive with variables'),
        ("location / { proxy_next_upstream error sometimes; #!\n}", 'invalid value "sometimes"'),
        ("location / { proxy_buffers 1 4k; #!\n}", 'there must be at least 2 "proxy_buffers"'),
        ("location / { proxy_busy_buffers_size 64k; #!\n}",
         '"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus '
         'one buffer'),
        ("proxy_max_temp_file_size 1m; #!", '"proxy_max_temp_file_size 1m" is not supported'),
        ("proxy_ignore_client_abort on; #!", '"proxy_ignore_client_abort on" is not supported'),
        ("proxy_set_header Content-Length 5; #!", '"proxy_set_header Content-Length" can only be '
         'empty'),
        ("set_real_ip_from unix:/x; #!", 'invalid parameter "unix:/x"'),
        ("proxy_http_version 2; #!", 'invalid value "2" in "proxy_http_version" directive'),
        # Left out on purpose: refused with the reason, not as unknown.
        ("proxy_cache_path /tmp/c keys_zone=c:1m; #!",
         '"proxy_cache_path" is not supported: turnpike does not cache responses'),
        ("location / { proxy_cache c; #!\n}",
         '"proxy_cache" is not supported: turnpike does not cache responses'),
        ("proxy_temp_path /tmp; #!",
         '"proxy_temp_path" is not supported: responses are never written to temporary files'),
        ("proxy_cookie_domain a b; #!", '"proxy_cookie_domain" is not supported'),
        ("proxy_bind 127.0.0.1; #!", '"proxy_bind" is not supported'),
        ("location / { proxy_set_body x; #!\n}", '"proxy_set_body" is not supported'),
        ("proxy_ssl_crl crl.pem; #!", '"proxy_ssl_crl" is not supported'),
        # A module turnpike does not have is named, not just unknown.
        ("location ~ \\.php$ { fastcgi_pass unix:/run/php.sock; #!\n}",
         '"fastcgi_pass" is not supported: turnpike has no FastCGI module'),
        ("location /s { stub_status; #!\n}", '"stub_status" is not supported'),
    ]
    for body, msg in cases:
        err, line = config_error(server, body)
        where = "" if "busy" in msg or "at least 2" in msg else " in %s:%d" % (server.conf_path,
                                                                            line)
        assert msg in err and where in err, (body, err)

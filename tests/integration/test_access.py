"""allow/deny (addresses, CIDR, all, IPv6, unix:), satisfy and internal,
with nginx 1.22's answers and log lines."""

import socket

import pytest

from helpers import Conn, get
from http_helpers import config_refused, docroot, http_block, start

CONF = """
server {
    listen 127.0.0.1:%(p)d;
    listen [::1]:%(p)d;
    root %(root)s;
    error_page 418 = /only-internal;
    location /denyall/ { deny all; alias %(root)s/; }
    location /allowme/ { allow 127.0.0.1; deny all; alias %(root)s/; }
    location /cidr/ { deny 127.0.0.0/8; allow all; alias %(root)s/; }
    location /cidr2/ { deny 10.0.0.0/8; alias %(root)s/; }
    location /v6only/ { allow ::1; deny all; alias %(root)s/; }
    location /v6net/ { allow 2001:db8::/32; deny ::/0; alias %(root)s/; }
    location /unix/ { deny unix:; alias %(root)s/; }
    location /anyd/ { satisfy any; deny all; alias %(root)s/; }
    location /anya/ { satisfy any; allow 127.0.0.1; deny all; alias %(root)s/; }
    location /inh/ { deny all; alias %(root)s/; location /inh/own/ { allow all; alias %(root)s/; } }
    location /low/ { allow 127.0.0.5/8; deny all; alias %(root)s/; }
    location /retfirst/ { deny all; return 200 "return before access\\n"; }
    location /only-internal { internal; return 200 "internal $uri\\n"; }
    location /teapot { return 418; }
}
"""


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("access")
    root = docroot(s, {"f.txt": "file\n"})
    start(s, http_block(CONF % {"p": s.port(), "root": root}))
    return s


def get6(port, path):
    sock = socket.create_connection(("::1", port), timeout=10)
    try:
        sock.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("path,status", [
    ("/denyall/f.txt", 403),
    ("/allowme/f.txt", 200),
    ("/cidr/f.txt", 403),
    ("/cidr2/f.txt", 200),
    ("/v6only/f.txt", 403),  # an IPv4 client matches no IPv6 rule
    ("/v6net/f.txt", 200),
    ("/unix/f.txt", 200),  # a TCP client is no unix: client
    ("/anyd/f.txt", 403),
    ("/anya/f.txt", 200),
    ("/inh/f.txt", 403),
    ("/inh/own/f.txt", 200),  # a level's own rules replace its parent's
    ("/low/f.txt", 200),  # 127.0.0.5/8 is 127.0.0.0/8
    ("/retfirst/", 200),  # return runs in the rewrite phase, before access
])
def test_rules_ipv4_client(srv, path, status):
    assert get(srv.port(), path).status == status


@pytest.mark.parametrize("path,status", [
    ("/v6only/f.txt", 200),
    ("/v6net/f.txt", 403),
    ("/allowme/f.txt", 403),
    ("/denyall/f.txt", 403),
])
def test_rules_ipv6_client(srv, path, status):
    assert get6(srv.port(), path) == status


def test_forbidden_is_logged(srv):
    mark = srv.log_size()
    assert get(srv.port(), "/anyd/f.txt").status == 403  # satisfy any: said after the checks
    srv.wait_log(r'\[error\] \d+#0: \*\d+ access forbidden by rule, client: 127.0.0.1, '
                 r'request: "GET /anyd/f.txt HTTP/1.1"', since=mark)
    assert get(srv.port(), "/denyall/f.txt").status == 403
    srv.wait_log(r'access forbidden by rule, client: 127.0.0.1, request: "GET /denyall/', since=mark)


def test_internal_location(srv):
    assert get(srv.port(), "/only-internal").status == 404
    r = get(srv.port(), "/teapot")
    assert (r.status, r.body) == (200, b"internal /only-internal\n")


def test_low_bits_warned(server):
    server.write(http=http_block("server { listen 127.0.0.1:%d; allow 10.1.2.3/8; }" % server.port()))
    r = server.cli("-t")
    assert r.returncode == 0
    assert ("[warn] low address bits of 10.1.2.3/8 are meaningless in %s:" % server.conf_path) in r.stderr


@pytest.mark.parametrize("rule,message", [
    ("allow 300.1.1.1;", 'invalid parameter "300.1.1.1"'),
    ("deny 10.0.0.0/33;", 'invalid parameter "10.0.0.0/33"'),
    ("deny ::1/129;", 'invalid parameter "::1/129"'),
    ("allow everyone;", 'invalid parameter "everyone"'),
    ("satisfy some;", 'invalid value "some" in "satisfy" directive'),
    ("allow 1.2.3.4 5.6.7.8;", 'invalid number of arguments in "allow" directive'),
])
def test_bad_rules(server, rule, message):
    assert message in config_refused(
        server, http_block("server { listen 127.0.0.1:%d; location / { %s } }" % (server.port(), rule)))

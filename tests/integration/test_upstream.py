"""Upstream groups and the run-time resolver in the real binary: nginx's
configuration errors with file:line (names in upstream servers are looked
up when the configuration is loaded), and `server ... resolve` looked up
by every worker through the configured DNS server (tests/integration/
dnsserver.py), again after valid=, with nginx's log line on failure, and
without holding up any other request while the DNS server is silent."""

import re

from helpers import get
from http_helpers import http_block, start
from proxy_helpers import dns_server  # noqa: F401 (fixture)


def site(server, extra="", location="return 200 \"ok\\n\";"):
    return http_block("%s\nserver {\n listen 127.0.0.1:%d;\n location / { %s }\n}"
                      % (extra, server.port(), location))


def line_of(text, needle):
    return text[:text.index(needle)].count("\n") + 1


def config_error(server, extra):
    """Writes the config, runs -t and returns (stderr, the line of the
    `#!` mark in the file)."""
    text = server.write(http=site(server, extra))
    r = server.cli("-t")
    assert r.returncode == 1, "accepted:\n%s" % text
    return r.stderr, line_of(text, "#!")


def test_good_groups_pass_t(server):
    server.write(http=site(server, """
        resolver 127.0.0.1:5353 valid=10s ipv6=off;
        resolver_timeout 5s;
        upstream app {
            server 127.0.0.1:8001 weight=3 max_fails=2 fail_timeout=5s max_conns=100;
            server localhost:8002;
            server unix:/run/app.sock backup;
            server app.test:8003 resolve;
            keepalive 32; keepalive_timeout 30s; keepalive_requests 500; keepalive_time 1h;
            least_conn;
        }
        upstream sticky { ip_hash; server 127.0.0.1:8004; server 127.0.0.1:8005 down; }
        upstream cache { hash $request_uri consistent; server 127.0.0.1:8006; }"""))
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr


def test_errors_name_file_and_line(server):
    cases = [
        ("upstream a {\n server nonexistent.invalid:80; #!\n}",
         'host not found in upstream "nonexistent.invalid:80"'),
        ("upstream a { server 127.0.0.1:1; }\nupstream a { #!\n server 127.0.0.1:2; }",
         'duplicate upstream "a"'),
        ("upstream a { #!\n server app.test resolve; }",
         'no resolver defined to resolve names at run time in upstream "a"'),
        ("upstream a { hash $uri;\n server 127.0.0.1:1;\n server 127.0.0.1:2 backup; #!\n}",
         'balancing method does not support parameter "backup"'),
        ("upstream a {\n server 127.0.0.1:1 weight=0; #!\n}", 'invalid parameter "weight=0"'),
        ("resolver 127.0.0.1 ipv4=off ipv6=off; #!", '"ipv4" and "ipv6" cannot both be "off"'),
        ("upstream a {\n zone a 64k; #!\n server 127.0.0.1:1; }",
         '"zone" is not supported: upstream groups keep their state per worker'),
        ("upstream a {\n random two; #!\n server 127.0.0.1:1; }",
         '"random" is not supported: the balancers are round-robin, least_conn, ip_hash '
         'and hash'),
    ]
    for extra, msg in cases:
        stderr, line = config_error(server, extra)
        assert "[emerg] %s in %s:%d" % (msg, server.conf_path, line) in stderr, stderr


def resolving(server, dns, extra="", valid="1s", timeout="30s", workers=1):
    return start(server, site(server, """
        resolver %s valid=%s ipv6=off;
        resolver_timeout %s;
        upstream app { server app.test:8080 resolve; %s }""" % (dns.address, valid, timeout,
                                                               extra)), workers=workers)


def test_resolve_asks_each_worker_and_again_after_valid(server, dns_server):
    """Every worker looks the name up when it starts, and again when
    valid= (plus nginx's second) has passed; the TTL is ignored then."""
    dns_server.set("app.test", ["127.0.0.1"], ttl=3600)
    resolving(server, dns_server, workers=2)
    dns_server.wait_queries("app.test", 2)
    dns_server.wait_queries("app.test", 4)
    dns_server.set("app.test", ["127.0.0.2"], ttl=3600)
    seen = dns_server.queries("app.test")
    dns_server.wait_queries("app.test", seen + 2)
    assert "could not be resolved" not in server.log()


def test_resolve_failures_logged_like_nginx(server, dns_server):
    dns_server.nxdomain("app.test")
    resolving(server, dns_server)
    server.wait_log(r"\[error\] \d+#\d+: app\.test could not be resolved \(3: Host not found\)")
    dns_server.remove("app.test")
    dns_server.rcode("app.test", 2)
    server.wait_log(r"app\.test could not be resolved \(2: Server failure\)")


def test_silent_dns_times_out(server, dns_server):
    dns_server.hold("app.test")
    resolving(server, dns_server, timeout="1s")
    server.wait_log(r"app\.test could not be resolved \(110: Operation timed out\)")


def test_silent_dns_holds_up_no_other_request(server, dns_server):
    """One worker; its lookup waits on a DNS server that does not answer
    (resolver_timeout 30s), and meanwhile it serves every request."""
    dns_server.hold("app.test")
    resolving(server, dns_server, timeout="30s")
    dns_server.wait_queries("app.test", 1)
    for _ in range(20):
        assert get(server.port()).status == 200
    # All of that happened while the lookup was still waiting.
    assert "could not be resolved" not in server.log()


def test_stop_does_not_wait_for_silent_dns(server, dns_server):
    """A worker that stops while its lookup waits on a silent DNS server
    exits at once (the lookup is told to give up), not after 30 s: the
    fixture's stop would fail otherwise."""
    dns_server.hold("app.test")
    resolving(server, dns_server, timeout="30s", workers=2)
    dns_server.wait_queries("app.test", 2)
    server.stop()
    assert not server.alive()
    assert not re.search(r"\[(alert|emerg)\]", server.log())


def test_reload_with_resolve(server, dns_server):
    """A reload's new workers look the name up through the new resolver
    settings; the old ones stop asking."""
    dns_server.set("app.test", ["127.0.0.1"])
    resolving(server, dns_server, workers=1)
    dns_server.wait_queries("app.test", 1)
    server.write(http=site(server, """
        resolver %s valid=1s ipv6=off;
        upstream app { server app.test:8080 resolve; server other.test:8080 resolve; }"""
                           % dns_server.address), workers=1)
    dns_server.set("other.test", ["127.0.0.2"])
    server.reload()
    dns_server.wait_queries("other.test", 1)
    assert get(server.port()).status == 200

"""Names looked up at run time by the proxy, through the DNS server the
test controls (tests/integration/dnsserver.py): proxy_pass with variables
and upstream servers marked `resolve` pick up a changed record after
valid=, a failed lookup is a 502 with nginx's log line, and a DNS server
that does not answer delays no other request on the same worker."""

import threading

import pytest

from backend import Backend
from helpers import wait_for
from proxy_helpers import dns_server, fetch, start_proxy  # noqa: F401 (fixtures)


@pytest.fixture
def two_addresses():
    """Backends b1 on 127.0.0.1:P and b2 on 127.0.0.2:P (one port, two
    addresses: a record that changes moves the proxy from one to the
    other)."""
    b1 = Backend("b1").start()
    b2 = Backend("b2", host="127.0.0.2", port=b1.port).start()
    yield b1, b2
    b1.stop()
    b2.stop()


def which(port, path):
    r = fetch(port, path)
    assert r.status == 200, r
    return r.header("X-Backend")


def test_variable_name_follows_the_record(server, dns_server, two_addresses):
    b1, b2 = two_addresses
    dns_server.set("app.test", ["127.0.0.1"], ttl=3600)
    start_proxy(server, """
        resolver %s valid=3s ipv6=off;
        location / { proxy_pass http://$arg_h:%d; }""" % (dns_server.address, b1.port))
    path = "/?h=app.test"
    assert [which(server.port(), path) for _ in range(5)] == ["b1"] * 5
    # The cache answered most of those (valid= holds, the TTL is ignored).
    assert dns_server.queries("app.test") < 5
    seen = dns_server.queries("app.test")
    dns_server.set("app.test", ["127.0.0.2"], ttl=3600)
    wait_for(lambda: which(server.port(), path) == "b2", timeout=30, interval=0.2,
             what="the new record in use")
    assert dns_server.queries("app.test") > seen


def test_upstream_server_resolve_follows_the_record(server, dns_server, two_addresses):
    b1, b2 = two_addresses
    dns_server.set("app.test", ["127.0.0.1"])
    start_proxy(server, "location / { proxy_pass http://app; }", http_extra="""
        resolver %s valid=1s ipv6=off;
        upstream app { server app.test:%d resolve; }""" % (dns_server.address,
                                                                        b1.port))
    wait_for(lambda: which(server.port(), "/") == "b1", timeout=30, interval=0.1,
             what="the first lookup")
    dns_server.set("app.test", ["127.0.0.2"])
    wait_for(lambda: which(server.port(), "/") == "b2", timeout=30, interval=0.2,
             what="the new record in use")


def test_failed_lookup_is_502(server, dns_server, two_addresses):
    b1, _ = two_addresses
    dns_server.nxdomain("gone.test")
    start_proxy(server, """
        resolver %s ipv6=off;
        location / { proxy_pass http://$arg_h:%d; }""" % (dns_server.address, b1.port))
    assert fetch(server.port(), "/?h=gone.test").status == 502
    server.wait_log(r"\[error\] .*gone\.test could not be resolved \(3: Host not found\)")


def test_silent_dns_delays_no_other_request(server, dns_server, two_addresses):
    """One worker: a request waits on a lookup the DNS server never
    answers; meanwhile the worker serves other proxied requests."""
    b1, _ = two_addresses
    dns_server.hold("slow.test")
    start_proxy(server, """
        resolver %s ipv6=off;
        resolver_timeout 10s;
        location / { proxy_pass http://$arg_h:%d; }
        location /direct { proxy_pass http://127.0.0.1:%d; }""" % (dns_server.address, b1.port,
                                                                   b1.port))
    server.expect_log(r"could not be resolved")
    result = []
    waiting = threading.Thread(target=lambda: result.append(fetch(server.port(), "/?h=slow.test")))
    waiting.start()
    dns_server.wait_queries("slow.test", 1)
    for _ in range(20):
        assert which(server.port(), "/direct") == "b1"
    # All of that while the lookup still waited.
    assert waiting.is_alive() and not result
    waiting.join(60)
    assert result[0].status == 502
    server.wait_log(r"slow\.test could not be resolved \(110: Operation timed out\)")

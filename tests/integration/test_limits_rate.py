"""limit_rate, limit_rate_after and $limit_rate.

nginx lets a response send `rate` bytes for every second since its request
began, plus one second's worth at once.  So N bytes (head included) past
limit_rate_after cannot all arrive before N / rate - 1 seconds: each test
asserts that lower bound, which a slow machine only makes easier to meet.
Nothing asserts an upper bound."""

import hashlib
import time

import pytest

from helpers import Conn, get, wait_for
from http_helpers import assert_alive, docroot, http_block, start
from tls_helpers import TlsConn, cert_lines

K = 1024
BIG = bytes(range(256)) * (256 * K // 256)  # 256 KB


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("limit-rate")
    root = docroot(s, {"big.bin": BIG, "a.txt": "aaa\n"})
    start(s, http_block("""
log_format rate "$uri $limit_rate $status";
server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    access_log %(dir)s/rate.log rate;
    location /plain/ { alias %(root)s/; limit_rate 128k; }
    location /nosendfile/ { alias %(root)s/; limit_rate 128k; sendfile off; }
    location /after/ { alias %(root)s/; limit_rate 64k; limit_rate_after 128k; }
    location /set/ { alias %(root)s/; limit_rate 10m; set $limit_rate 128k; }
    location /setbad/ { alias %(root)s/; set $limit_rate 12x; }
    location /var/ { alias %(root)s/; limit_rate $arg_rate; }
    location /if/ { alias %(root)s/; if ($arg_slow) { limit_rate 128k; } }
    location /none/ { alias %(root)s/; }
}
server {
    listen 127.0.0.1:%(tls)d ssl;
    server_name a.test;
    %(certs)s
    location /tls/ { alias %(root)s/; limit_rate 128k; }
}
""" % {"port": s.port(), "root": root, "dir": s.dir, "tls": s.port("tls"),
       "certs": cert_lines("a-rsa")}))
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def timed_get(srv, path):
    """The response to path and the seconds from sending to its last byte."""
    with Conn(srv.port()) as c:
        t0 = time.monotonic()
        r = c.get(path)
        return r, time.monotonic() - t0


def sent(r):
    """Bytes of the response: its head (with the CRLF CRLF) and body."""
    return len(r.head) + 4 + len(r.body)


def assert_paced(r, took, rate, after=0):
    assert r.status == 200
    assert hashlib.sha1(r.body).digest() == hashlib.sha1(BIG).digest()
    floor = (sent(r) - after) / rate - 1
    assert took >= floor - 0.05, "%d bytes at %d/s took only %.2f s" % (sent(r), rate, took)


@pytest.mark.parametrize("where", ["plain", "nosendfile"])
def test_limit_rate_paces_the_response(srv, where):
    r, took = timed_get(srv, "/%s/big.bin" % where)
    assert_paced(r, took, 128 * K)


def test_limit_rate_paces_a_tls_response(srv):
    """Over TLS (no sendfile; the file through the buffer, encrypted): the
    same plaintext bytes a second as on a plain connection."""
    with TlsConn(srv.port("tls")) as c:
        t0 = time.monotonic()
        r = c.get("/tls/big.bin")
        took = time.monotonic() - t0
    assert_paced(r, took, 128 * K)


def test_limit_rate_after(srv):
    r, took = timed_get(srv, "/after/big.bin")
    assert_paced(r, took, 64 * K, after=128 * K)


def test_set_limit_rate_overrides(srv):
    r, took = timed_get(srv, "/set/big.bin")
    assert_paced(r, took, 128 * K)
    assert "/set/big.bin 131072 200" in wait_access(srv, "/set/big.bin")


def test_set_limit_rate_invalid(srv):
    assert get(srv.port(), "/setbad/a.txt").status == 200
    srv.wait_log(r'\[error\] .*invalid \$limit_rate "12x"')


def test_limit_rate_from_a_variable(srv):
    r, took = timed_get(srv, "/var/big.bin?rate=128k")
    assert_paced(r, took, 128 * K)
    assert "/var/big.bin 131072 200" in wait_access(srv, "/var/big.bin")
    assert get(srv.port(), "/var/a.txt?rate=lots").status == 200
    srv.wait_log(r'\[error\] .*invalid size "lots"')


def test_limit_rate_in_if(srv):
    r, took = timed_get(srv, "/if/big.bin?slow=1")
    assert_paced(r, took, 128 * K)


def test_no_limit_logs_zero(srv):
    assert get(srv.port(), "/none/a.txt").status == 200
    assert "/none/a.txt 0 200" in wait_access(srv, "/none/a.txt")


def wait_access(srv, uri):
    """The access log once it has a line for uri."""
    def read():
        try:
            with open("%s/rate.log" % srv.dir) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return text if uri + " " in text else None
    return wait_for(read, what="an access log line for %s" % uri)

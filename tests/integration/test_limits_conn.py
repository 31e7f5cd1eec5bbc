"""limit_conn_zone, limit_conn, limit_conn_status, limit_conn_log_level,
limit_conn_dry_run and $limit_conn_status, with master plus two workers.

A request that holds its place is a slow download: limit_rate 1k makes a
64 KB file take a minute, whatever the client reads.  Every check is by
state (answered or refused), never by time."""

import pytest

from helpers import Conn, get, wait_for
from http_helpers import assert_alive, docroot, http_block, start


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("limit-conn")
    root = docroot(s, {"a.txt": "aaa\n", "big.bin": b"x" * 65536})
    start(s, http_block("""
limit_conn_zone $binary_remote_addr zone=one:1m;
limit_conn_zone $binary_remote_addr zone=dry:1m;
limit_conn_zone $binary_remote_addr zone=st:1m;
limit_conn_zone $binary_remote_addr zone=c1:1m;
limit_conn_zone $binary_remote_addr zone=c2:1m;
limit_conn_zone $arg_k zone=bykey:1m;
server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    limit_rate 1k;
    add_header X-Pid $pid always;
    add_header X-LC $limit_conn_status always;
    location /one/ { alias %(root)s/; limit_conn one 1; }
    location /dry/ { alias %(root)s/; limit_conn dry 1; limit_conn_dry_run on; }
    location /st/ {
        alias %(root)s/;
        limit_conn st 1;
        limit_conn_status 429;
        limit_conn_log_level warn;
    }
    location /two/ { alias %(root)s/; limit_conn c1 2; limit_conn c2 1; }
    location /c1/ { alias %(root)s/; limit_conn c1 2; }
    location /key/ { alias %(root)s/; limit_conn bykey 1; }
}
""" % {"port": s.port(), "root": root}), main="worker_shutdown_timeout 10s;")
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def hold(srv, path):
    """A connection whose download of path is under way (its head came)."""
    c = Conn(srv.port())
    c.request(path)
    while b"\r\n\r\n" not in c.buf:
        c._fill()
    assert c.buf.startswith(b"HTTP/1.1 200 "), c.buf[:100]
    return c


def released(srv, path):
    """Waits until a request to path is served again (the held ones went)."""
    wait_for(lambda: get(srv.port(), path).status == 200, what="%s to be served" % path)


def test_limit_holds_across_workers_and_is_released(srv):
    """While one slow request holds the key's only place, requests on new
    connections, on both workers, are refused; once it ends they pass."""
    held = hold(srv, "/one/big.bin")
    pids, got = set(), []
    while len(got) < 10 or (len(pids) < 2 and len(got) < 200):
        r = get(srv.port(), "/one/a.txt")
        got.append(r.status)
        pids.add(r.header("X-Pid"))
        assert r.header("X-LC") == "REJECTED"
    assert len(pids) == 2, "every request went to one worker"
    assert set(got) == {503}
    srv.wait_log(r'\[error\] \d+#0: \*\d+ limiting connections by zone "one", '
                 r'client: 127\.0\.0\.1, request: "GET /one/a\.txt HTTP/1\.1"')
    held.close()  # the server sees it at its next write, and the request ends
    released(srv, "/one/a.txt")
    assert get(srv.port(), "/one/a.txt").header("X-LC") == "PASSED"


def test_status_and_log_level(srv):
    with hold(srv, "/st/big.bin"):
        assert get(srv.port(), "/st/a.txt").status == 429
        srv.wait_log(r'\[warn\] .*limiting connections by zone "st"')


def test_dry_run(srv):
    with hold(srv, "/dry/big.bin"):
        r = get(srv.port(), "/dry/a.txt")
        assert (r.status, r.header("X-LC")) == (200, "REJECTED_DRY_RUN")
        srv.wait_log(r'limiting connections, dry run, by zone "dry"')


def test_refusal_gives_back_earlier_places(srv):
    """A request the second limit refuses gives back the place the first
    one gave it (nginx's cleanup_all)."""
    a = hold(srv, "/two/big.bin")  # c1: 1, c2: 1
    with a:
        assert get(srv.port(), "/two/a.txt").status == 503  # c2 full; c1 back to 1
        with hold(srv, "/c1/big.bin"):  # c1: 2
            assert get(srv.port(), "/c1/a.txt").status == 503


def test_empty_key_is_not_counted(srv):
    with hold(srv, "/key/big.bin"), hold(srv, "/key/big.bin?k="):
        assert get(srv.port(), "/key/a.txt").status == 200
        with hold(srv, "/key/big.bin?k=a"):
            assert get(srv.port(), "/key/a.txt?k=a").status == 503
            assert get(srv.port(), "/key/a.txt?k=b").status == 200


def test_idle_keepalive_holds_nothing(srv):
    """limit_conn counts requests being served: a kept-alive connection
    between requests holds no place."""
    released(srv, "/one/a.txt")
    with Conn(srv.port()) as idle:
        assert idle.get("/one/a.txt").status == 200
        assert get(srv.port(), "/one/a.txt").status == 200
        assert idle.get("/one/a.txt").status == 200

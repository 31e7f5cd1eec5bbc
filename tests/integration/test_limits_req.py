"""limit_req_zone, limit_req (burst, nodelay, delay=), limit_req_status,
limit_req_log_level, limit_req_dry_run and $limit_req_status, against
nginx's documented behaviour, with master plus two workers.

Counts are made deterministic with rates per minute: at 1r/m a bucket
drains 0.016 requests a second, so over the few seconds a test takes,
exactly burst + 1 requests go through.  Delays are checked by order and
by what has not arrived yet, never by how long anything took."""

import pytest

from helpers import Conn, get
from http_helpers import assert_alive, docroot, http_block, start

ZONES = ["count", "quick", "slow", "nd", "dl", "ma", "mb", "dry", "st", "ret", "er", "lvl"]


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("limit-req")
    root = docroot(s, {"a.txt": "aaa\n", "fallback.txt": "fallback\n"})
    zones = "\n".join("limit_req_zone $binary_remote_addr zone=%s:1m rate=1r/m;" % z
                      for z in ZONES if z != "quick")
    start(s, http_block("""
%(zones)s
limit_req_zone $binary_remote_addr zone=quick:1m rate=30r/m;
limit_req_zone $arg_k zone=bykey:1m rate=1r/m;
server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    add_header X-Pid $pid always;
    add_header X-LR $limit_req_status always;
    location /count/ { alias %(root)s/; limit_req zone=count burst=3 nodelay; }
    location /quick/ { alias %(root)s/; limit_req zone=quick burst=5; }
    location /slow/ { alias %(root)s/; limit_req zone=slow burst=5; }
    location /nd/ { alias %(root)s/; limit_req zone=nd burst=5 nodelay; }
    location /dl/ { alias %(root)s/; limit_req zone=dl burst=4 delay=2; }
    location /key/ { alias %(root)s/; limit_req zone=bykey; }
    location /multi/ {
        alias %(root)s/;
        limit_req zone=ma burst=5 nodelay;
        limit_req zone=mb burst=1 nodelay;
    }
    location /onlya/ { alias %(root)s/; limit_req zone=ma burst=5 nodelay; }
    location /dry/ { alias %(root)s/; limit_req zone=dry; limit_req_dry_run on; }
    location /st/ {
        alias %(root)s/;
        limit_req zone=st;
        limit_req_status 429;
        limit_req_log_level warn;
    }
    location /lvl/ { alias %(root)s/; limit_req zone=lvl burst=3; limit_req_log_level info; }
    location /ret/ { limit_req zone=ret; return 200 "ret\\n"; }
    location /er/ {
        alias %(root)s/;
        limit_req zone=er burst=1 nodelay;
        error_page 404 = /er/fallback.txt;
    }
}
""" % {"zones": zones, "port": s.port(), "root": root}), main="worker_shutdown_timeout 10s;")
    return s


@pytest.fixture(autouse=True)
def still_alive(srv):
    workers = srv.workers()
    yield
    assert_alive(srv, workers)


def statuses(srv, path, n):
    """n requests, each on a new connection: their statuses in order."""
    return [get(srv.port(), path).status for _ in range(n)]


def test_rate_holds_across_two_workers(srv):
    """One client's requests spread over both workers (a new connection
    each) still get the zone's rate once: burst + 1 of them, not twice."""
    got, pids = [], set()
    while len(got) < 20 or (len(pids) < 2 and len(got) < 400):
        r = get(srv.port(), "/count/a.txt")
        got.append(r.status)
        pids.add(r.header("X-Pid"))
    assert len(pids) == 2, "every request went to one worker"
    assert got[:4] == [200] * 4
    assert got.count(200) == 4, got
    assert set(got[4:]) == {503}
    srv.wait_log(r'\[error\] \d+#0: \*\d+ limiting requests, excess: \d+\.\d{3} by zone "count", '
                 r'client: 127\.0\.0\.1, request: "GET /count/a\.txt HTTP/1\.1"')


def test_refusal_headers_and_status_variable(srv):
    r1, r2 = get(srv.port(), "/st/a.txt"), get(srv.port(), "/st/a.txt")
    assert (r1.status, r1.header("X-LR")) == (200, "PASSED")
    assert (r2.status, r2.header("X-LR")) == (429, "REJECTED")
    srv.wait_log(r'\[warn\] .*limiting requests, excess: 0\.9\d\d by zone "st"'
                 r'|\[warn\] .*limiting requests, excess: 1\.000 by zone "st"')


def test_delayed_request_is_served(srv):
    """Two requests at once at 30r/m with a burst: one goes at once, the
    other waits out its excess on a timer and is then served."""
    a, b = Conn(srv.port()), Conn(srv.port())
    with a, b:
        a.request("/quick/a.txt")
        b.request("/quick/a.txt")
        ra, rb = a.read_response(), b.read_response()
    assert (ra.status, rb.status) == (200, 200)
    assert {ra.header("X-LR"), rb.header("X-LR")} == {"PASSED", "DELAYED"}
    assert ra.body == rb.body == b"aaa\n"
    # limit_req_log_level error: a delay is logged one level lower.
    srv.wait_log(r'\[warn\] .*delaying request, excess: \d\.\d{3}, by zone "quick", '
                 r'client: 127\.0\.0\.1')


def test_delay_versus_nodelay_and_client_close(srv):
    """A request over its burst's delay waits (at 1r/m, a minute), while a
    nodelay location serves its whole burst at once; a client closing
    while delayed ends the request."""
    assert get(srv.port(), "/slow/a.txt").status == 200
    mark = srv.log_size()
    waiting = Conn(srv.port())
    waiting.request("/slow/a.txt")
    srv.wait_log(r'delaying request, excess: \d\.\d{3}, by zone "slow"', since=mark)
    assert statuses(srv, "/nd/a.txt", 6) == [200] * 6
    assert get(srv.port(), "/nd/a.txt").status == 503
    assert waiting.nothing_within(0.2), "the delayed request was answered before its time"
    mark = srv.log_size()
    waiting.close()
    srv.wait_log(r'\[info\] .*client prematurely closed connection, client: 127\.0\.0\.1, '
                 r'request: "GET /slow/a\.txt HTTP/1\.1"', since=mark)


def test_delay_threshold(srv):
    """delay=2 serves the first two excess requests at once; the next one
    waits."""
    assert statuses(srv, "/dl/a.txt", 3) == [200] * 3
    mark = srv.log_size()
    with Conn(srv.port()) as waiting:
        waiting.request("/dl/a.txt")
        srv.wait_log(r'delaying request, excess: [23]\.\d{3}, by zone "dl"', since=mark)
        assert waiting.nothing_within(0.2)


def test_empty_key_is_not_counted(srv):
    assert statuses(srv, "/key/a.txt", 5) == [200] * 5
    assert statuses(srv, "/key/a.txt?k=a", 2) == [200, 503]
    assert statuses(srv, "/key/a.txt?k=b", 2) == [200, 503]
    assert get(srv.port(), "/key/a.txt").header("X-LR") is None  # not counted: no status


def test_several_limits_all_apply(srv):
    """Every limit of a location applies; a request the second refuses is
    not accounted in the first (nginx's order of lookup and account)."""
    assert statuses(srv, "/multi/a.txt", 5) == [200, 200, 503, 503, 503]
    srv.wait_log(r'limiting requests, excess: \d\.\d{3} by zone "mb"')
    # Zone ma holds the two accepted requests only: 4 more fit its burst of 5.
    assert statuses(srv, "/onlya/a.txt", 6) == [200] * 4 + [503] * 2


def test_dry_run(srv):
    got = [get(srv.port(), "/dry/a.txt") for _ in range(3)]
    assert [r.status for r in got] == [200] * 3
    assert [r.header("X-LR") for r in got] == ["PASSED", "REJECTED_DRY_RUN", "REJECTED_DRY_RUN"]
    srv.wait_log(r'limiting requests, dry run, excess: \d\.\d{3} by zone "dry"')


def test_log_level_info_delays_at_info(srv):
    assert get(srv.port(), "/lvl/a.txt").status == 200
    mark = srv.log_size()
    with Conn(srv.port()) as waiting:
        waiting.request("/lvl/a.txt")
        srv.wait_log(r'\[info\] .*delaying request, excess: \d\.\d{3}, by zone "lvl"', since=mark)


def test_return_is_not_limited(srv):
    """return answers in the rewrite phase, before limit_req, as in nginx."""
    assert statuses(srv, "/ret/", 4) == [200] * 4


def test_internal_redirect_counts_once(srv):
    """An error_page redirect runs the phases again, but a request is
    counted once: with burst=1, two such requests fit, a third does not."""
    got = [get(srv.port(), "/er/missing") for _ in range(3)]
    assert [r.status for r in got] == [200, 200, 503]
    assert got[0].body == b"fallback\n"

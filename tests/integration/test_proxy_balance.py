"""The seed's picture (a slow backend holds up nothing else on the same
worker) and the balancers counted over many requests: smooth weighted
round-robin, least_conn, ip_hash and hash (plain and consistent), as nginx
documents them.  One worker: balancer state is per worker."""

import collections
import select
import socket
import time

from helpers import parse_head
from proxy_helpers import (Client, backend, fetch, make_backend,  # noqa: F401 (fixtures)
                           start_proxy)


def which(port, path="/", **kw):
    r = fetch(port, path, **kw)
    assert r.status == 200, r
    return r.header("X-Backend")


def test_seed_picture(server, backend):
    """One worker, three requests to a backend that answers after 600, 200
    and 400 ms: they complete in the order 2, 3, 1."""
    start_proxy(server, "location / { proxy_pass http://%s; }" % backend.address)
    socks = []
    t0 = time.monotonic()
    for ms in (600, 200, 400):
        s = socket.create_connection(("127.0.0.1", server.port()))
        s.sendall(b"GET /delay/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % ms)
        socks.append(s)
    order, bufs, pending = [], {s: b"" for s in socks}, set(socks)
    while pending:
        ready, _, _ = select.select(list(pending), [], [], 30)
        assert ready, "no answer within 30 s"
        for s in ready:
            data = s.recv(65536)
            bufs[s] += data
            if not data:
                pending.discard(s)
                order.append(socks.index(s) + 1)
    elapsed = time.monotonic() - t0
    assert order == [2, 3, 1]
    for s, ms in zip(socks, (600, 200, 400)):
        assert bufs[s].endswith(b"delayed %d\n" % ms)
        s.close()
    # In turn they would need 1.2 s at least; a generous bound for a busy
    # machine, the order above is the real check.
    assert elapsed < 10


def test_weighted_round_robin(server, make_backend):
    """weight=5, 1, 1: nginx's smooth sequence a a b a c a a, exactly (from
    wherever the readiness check left it)."""
    a, b, c = make_backend("a"), make_backend("b"), make_backend("c")
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
        upstream up { server %s weight=5; server %s; server %s; }""" % (a.address, b.address,
                                                                       c.address))
    seq = [which(server.port()) for _ in range(70)]
    assert "".join(seq) in "aabacaa" * 12, seq
    assert collections.Counter(seq) == {"a": 50, "b": 10, "c": 10}


def test_backup_and_down(server, make_backend):
    """A down server gets nothing; the backup only when the primary fails."""
    a, b, c = make_backend("a"), make_backend("b"), make_backend("c")
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
        upstream up { server %s; server %s down; server %s backup; }""" % (a.address, b.address,
                                                                          c.address))
    assert {which(server.port()) for _ in range(20)} == {"a"}
    a.stop()
    server.expect_log(r"connect\(\) failed")
    assert {which(server.port()) for _ in range(5)} == {"c"}


def wait_arrived(backends, n):
    deadline = time.monotonic() + 30
    while sum(b.waiting for b in backends) < n:
        assert time.monotonic() < deadline, "the held requests did not arrive"
        time.sleep(0.01)


def test_least_conn(server, make_backend):
    """A server busy with a held request gets no new ones while another is
    idle; idle again, the two share evenly."""
    a, b = make_backend("a"), make_backend("b")
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
        upstream up { least_conn; server %s; server %s; }""" % (a.address, b.address))
    held = Client(server.port())
    held.request("/wait/g")
    wait_arrived((a, b), 1)
    busy, idle = (a, b) if a.waiting else (b, a)
    seq = [which(server.port()) for _ in range(10)]
    assert seq == [idle.name] * 10
    busy.release("g")
    assert held.response().header("X-Backend") == busy.name
    held.close()
    seq = [which(server.port()) for _ in range(20)]
    assert collections.Counter(seq) == {"a": 10, "b": 10}


def test_max_conns(server, make_backend):
    """max_conns=1: while a server's one connection is busy, round-robin
    skips it."""
    a, b = make_backend("a"), make_backend("b")
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
        upstream up { server %s max_conns=1; server %s max_conns=1; }""" % (a.address,
                                                                            b.address))
    held = Client(server.port())
    held.request("/wait/g")
    wait_arrived((a, b), 1)
    busy, idle = (a, b) if a.waiting else (b, a)
    assert [which(server.port()) for _ in range(10)] == [idle.name] * 10
    busy.release("g")
    assert held.response().header("X-Backend") == busy.name
    held.close()
    assert collections.Counter(which(server.port()) for _ in range(10)) == {"a": 5, "b": 5}


def from_address(port, src, path="/"):
    """One request from the source address src."""
    s = socket.socket()
    s.settimeout(30)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        data += piece
    s.close()
    head = parse_head(data.split(b"\r\n\r\n", 1)[0])
    assert head.status == 200, head
    return head.header("X-Backend")


def test_ip_hash(server, make_backend):
    """ip_hash keys on the first three octets of an IPv4 address: every
    client of a /24 goes to one server, and many networks spread over
    all of them."""
    bs = [make_backend(n) for n in "abc"]
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
        upstream up { ip_hash; %s }""" % " ".join("server %s;" % b.address for b in bs))
    p = server.port()
    nets = {}
    for n in range(1, 61):
        got = {from_address(p, "127.%d.7.%d" % (n, h)) for h in (1, 2, 3)}
        assert len(got) == 1, (n, got)  # one /24, one server
        nets[n] = got.pop()
    # Again: the same networks map to the same servers.
    for n in range(1, 61, 7):
        assert from_address(p, "127.%d.7.200" % n) == nets[n]
    counts = collections.Counter(nets.values())
    assert set(counts) == {"a", "b", "c"}, counts
    assert min(counts.values()) >= 5, counts


def test_hash_plain_and_consistent(server, make_backend):
    """hash KEY: one key, one server, keys spread; after a server leaves,
    consistent hashing moves only the keys it had, the plain one remaps
    many more."""
    bs = [make_backend(n) for n in "abcd"]

    def config(kind, servers):
        return start_proxy(server, "location / { proxy_pass http://up; }", http_extra="""
            upstream up { hash $arg_k %s; %s }""" % (kind, " ".join(
            "server %s;" % b.address for b in servers)))

    def mapping():
        return {k: which(server.port(), "/?k=key%d" % k) for k in range(200)}

    moved = {}
    for kind in ("", "consistent"):
        config(kind, bs)
        before = mapping()
        assert mapping() == before  # stable
        counts = collections.Counter(before.values())
        assert set(counts) == set("abcd") and min(counts.values()) >= 20, counts
        server.stop()
        config(kind, bs[:3])  # d leaves
        after = mapping()
        assert "d" not in after.values()
        moved[kind] = sum(1 for k in before if before[k] != "d" and after[k] != before[k])
        server.stop()
    assert moved["consistent"] == 0
    assert moved[""] > 20

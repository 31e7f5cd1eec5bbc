"""Failures as nginx handles them: proxy_next_upstream and its conditions,
non-idempotent requests, proxy_next_upstream_tries, max_fails and
fail_timeout, 502 and 504 with nginx's log lines, a reused keep-alive
connection the server had closed (retried once on a fresh one), and a
client that leaves while its request waits."""

import os
import socket
import threading
import time

from helpers import wait_for
from http_helpers import http_block, start
from proxy_helpers import (Client, backend, fetch, make_backend,  # noqa: F401 (fixtures)
                           proxy_http, start_proxy)


class Fixed:
    """A server that answers every request with the same bytes (a head
    with Content-Length), keep-alive unless told to close after it; or,
    with answer=None, reads and never answers."""

    def __init__(self, answer=None, close_after=False, drop_second=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.answer, self.close_after = answer, close_after
        self.drop_second = drop_second  # close on a connection's second request, unanswered
        self.hits = 0
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        nreq = 0
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                while len(buf) < length:
                    buf += c.recv(65536)
                buf = buf[length:]
                self.hits += 1
                nreq += 1
                if self.drop_second and nreq == 2:
                    c.close()  # the race: the server gave up on the kept connection
                    return
                if self.answer is None:
                    continue
                c.sendall(self.answer)
                if self.close_after:
                    c.close()
                    return
        except OSError:
            pass

    def stop(self):
        # shutdown() first: it wakes the threads blocked on these sockets,
        # which would otherwise go on with whatever reuses the fd numbers.
        for c in [self.sock] + self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


def status(code, body=b"x"):
    return b"HTTP/1.1 %d Status\r\nContent-Length: %d\r\nX-Backend: fixed%d\r\n\r\n%s" % (
        code, len(body), code, body)


def refused_address():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def group(*servers, extra=""):
    return "upstream up { %s %s }" % (" ".join("server %s;" % s for s in servers), extra)


def log_lines(server):
    with open(os.path.join(server.dir, "up.log")) as f:
        return f.read().splitlines()


def start_logged(server, location, http_extra):
    return start_proxy(server, "location / { proxy_pass http://up; %s }" % location, log=True,
                       http_extra=http_extra + "\nlog_format up '$request_method $status "
                       "[$upstream_addr] [$upstream_status]';\naccess_log %s/up.log up;"
                       % server.dir)


def test_error_moves_on_and_max_fails_skips(server, backend):
    """A refused connect moves on (proxy_next_upstream error); with nginx's
    default max_fails=1 the refused server is then skipped for
    fail_timeout, while max_fails=0 keeps trying it in its turn."""
    dead = refused_address()
    server.expect_log(r"connect\(\) failed \(111: Connection refused\)")
    start_logged(server, "", group(dead, backend.address))
    for _ in range(6):
        assert fetch(server.port(), "/").header("X-Backend") == "backend"
    lines = [ln for ln in log_lines(server) if ln.startswith("GET")]
    tried_dead = [ln for ln in lines if dead in ln]
    assert len(tried_dead) <= 1, lines  # the readiness check may have been the one
    assert "upstream server temporarily disabled" in server.log()
    server.stop()

    start_logged(server, "", group(dead + " max_fails=0", backend.address))
    for _ in range(6):
        assert fetch(server.port(), "/").header("X-Backend") == "backend"
    lines = [ln for ln in log_lines(server) if ln.startswith("GET")][-6:]
    assert sum(1 for ln in lines if dead in ln) == 3, lines
    for ln in lines:
        if dead in ln:
            assert "[%s, %s] [502, 200]" % (dead, backend.address) in ln


def test_next_upstream_off_and_all_down(server):
    dead1, dead2 = refused_address(), refused_address()
    server.expect_log(r"connect\(\) failed")
    server.expect_log(r"no live upstreams")
    start_logged(server, "proxy_next_upstream off;", group(dead1, dead2))
    for _ in range(3):
        assert fetch(server.port(), "/").status == 502
    lines = log_lines(server)
    # One server per request; each is disabled for fail_timeout after
    # its failure, and with both down nginx logs the group.
    assert all("," not in ln for ln in lines), lines
    assert lines[-1].endswith("[up] [502]"), lines
    server.wait_log(r"no live upstreams while connecting to upstream")


def test_http_500_and_non_idempotent(server, backend):
    f500 = Fixed(status(500))
    try:
        start_logged(server, "proxy_next_upstream error timeout http_500;",
                     group(f500.address + " max_fails=0", backend.address,
                           extra="keepalive 2;"))
        gets = [fetch(server.port(), "/") for _ in range(4)]
        assert all(r.status == 200 and r.header("X-Backend") == "backend" for r in gets)
        posts = [fetch(server.port(), "/", method="POST", body="b") for _ in range(4)]
        # A POST that reached the 500 server is not sent again.
        assert {r.status for r in posts} == {200, 500}
        assert any(r.header("X-Backend") == "fixed500" for r in posts)
        server.stop()
        start_logged(server, "proxy_next_upstream error timeout http_500 non_idempotent;",
                     group(f500.address + " max_fails=0", backend.address))
        posts = [fetch(server.port(), "/", method="POST", body="b") for _ in range(4)]
        assert {r.status for r in posts} == {200}
        server.stop()
        # Without http_500 the 500 is the answer.
        start_logged(server, "", group(f500.address + " max_fails=0", backend.address))
        gets = [fetch(server.port(), "/") for _ in range(4)]
        assert {r.status for r in gets} == {200, 500}
    finally:
        f500.stop()


def test_tries(server):
    """proxy_next_upstream_tries 2 of three failing servers: two tried."""
    fs = [Fixed(status(502)) for _ in range(3)]
    try:
        start_logged(server, "proxy_next_upstream http_502; proxy_next_upstream_tries 2;",
                     group(*(f.address + " max_fails=0" for f in fs)))
        before = sum(f.hits for f in fs)
        r = fetch(server.port(), "/")
        assert r.status == 502 and r.body == b"x"  # the last one's own 502
        assert sum(f.hits for f in fs) - before == 2
        assert log_lines(server)[-1].endswith("[502, 502]")
        server.stop()
        start_logged(server, "proxy_next_upstream http_502;",
                     group(*(f.address + " max_fails=0" for f in fs)))
        before = sum(f.hits for f in fs)
        assert fetch(server.port(), "/").status == 502
        assert sum(f.hits for f in fs) - before == 3
    finally:
        for f in fs:
            f.stop()


def test_read_timeout_504_and_next(server, backend):
    silent = Fixed(None)
    try:
        server.expect_log(r"upstream timed out")
        start_logged(server, "proxy_read_timeout 300ms; proxy_next_upstream off;",
                     group(silent.address + " max_fails=0"))
        assert fetch(server.port(), "/").status == 504
        server.wait_log(r"\[error\] .*upstream timed out \(110: Connection timed out\) while "
                        r"reading response header from upstream")
        server.stop()
        start_logged(server, "proxy_read_timeout 300ms;",
                     group(silent.address + " max_fails=0", backend.address))
        for _ in range(4):
            assert fetch(server.port(), "/").header("X-Backend") == "backend"
        assert any("[%s, %s] [504, 200]" % (silent.address, backend.address) in ln
                   for ln in log_lines(server))
    finally:
        silent.stop()


def test_reused_connection_closed_by_server(server):
    """The server closes a keep-alive connection after each answer without
    saying so: the next request does not fail with a 502, whatever
    proxy_next_upstream says (checked before reuse, or retried once on a
    fresh connection)."""
    f = Fixed(status(200, b"fine"), close_after=True)
    try:
        start_proxy(server, """
            location / {
                proxy_pass http://up;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_next_upstream off;
            }""", http_extra=group(f.address, extra="keepalive 4;"))
        with Client(server.port()) as c:
            for _ in range(20):
                r = c.get("/")
                assert r.status == 200 and r.body == b"fine"
    finally:
        f.stop()


def test_reused_connection_dropped_after_the_request_is_retried_once(server):
    """A kept connection that the server closes once the next request is
    on it, before any byte of the response: sent again on a fresh
    connection, whatever proxy_next_upstream says (off here), and the
    server is not marked failed."""
    f = Fixed(status(200, b"fine"), drop_second=True)
    try:
        start_logged(server, """
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_next_upstream off;""", group(f.address, extra="keepalive 4;"))
        before = f.hits
        for _ in range(10):
            r = fetch(server.port(), "/")
            assert r.status == 200 and r.body == b"fine"
        # Every other request met a dropped kept connection and went again.
        assert f.hits - before >= 14
        assert "temporarily disabled" not in server.log()
    finally:
        f.stop()


def test_keepalive_reuse(server, backend):
    """keepalive N: requests share upstream connections; keepalive_requests
    closes one after that many."""
    start_proxy(server, """
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }""", http_extra=group(backend.address, extra="keepalive 4; keepalive_requests 5;"))
    before = backend.connections
    for _ in range(20):
        assert fetch(server.port(), "/").status == 200
    assert backend.connections - before == 4
    # Without HTTP/1.1 and an empty Connection, every request closes.
    server.stop()
    start_proxy(server, "location / { proxy_pass http://up; }",
                http_extra=group(backend.address, extra="keepalive 4;"))
    before = backend.connections
    for _ in range(5):
        assert fetch(server.port(), "/").status == 200
    assert backend.connections - before == 5


def test_client_leaving_ends_the_upstream_request(server, backend):
    """A client that closes while its request waits on the upstream ends
    the upstream request (proxy_ignore_client_abort off); the worker goes
    on serving."""
    start_logged(server, "", group(backend.address))
    c = Client(server.port())
    c.request("/wait/never")
    deadline = time.monotonic() + 30
    while backend.waiting < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert backend.open >= 1
    opened = backend.open
    c.close()
    # The backend sees its connection close: the proxy let go of it.
    while backend.open >= opened:
        assert time.monotonic() < deadline, "the upstream connection stayed open"
        time.sleep(0.01)
    wait = time.monotonic() + 30
    while not any(ln.startswith("GET 499") for ln in log_lines(server)):
        assert time.monotonic() < wait, log_lines(server)
        time.sleep(0.05)
    assert fetch(server.port(), "/").status == 200


def test_reload_changes_servers_without_cutting(server, make_backend):
    """The groups belong to a generation: after a reload that changes the
    servers, new requests go to the new ones at once, and a request in
    flight on the old generation completes."""
    a, b = make_backend("a"), make_backend("b")
    start_proxy(server, "location / { proxy_pass http://up; }", http_extra=group(a.address))
    held = Client(server.port())
    held.request("/wait/r")
    deadline = time.monotonic() + 30
    while a.waiting < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    server.write(http=proxy_http(server, "location / { proxy_pass http://up; }",
                                 group(b.address)), workers=1)
    server.reload(wait=False)
    wait_for(lambda: fetch(server.port(), "/").header("X-Backend") == "b", what="the new group")
    assert {fetch(server.port(), "/").header("X-Backend") for _ in range(5)} == {"b"}
    a.release("r")
    r = held.response()
    assert r.status == 200 and r.body == b"released r\n"
    held.close()


def test_unix_socket_upstream(server, make_server):
    """proxy_pass http://unix:/path: and `server unix:/path` in a group,
    to turnpike itself serving files on a unix socket."""
    up = make_server("unixup")
    path = os.path.join(up.dir, "up.sock")
    root = os.path.join(up.dir, "html")
    os.mkdir(root)
    with open(os.path.join(root, "f.txt"), "w") as f:
        f.write("over unix\n")
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "f.txt"), 0o644)
    start(up, http_block("server { listen unix:%s; root %s; }" % (path, root)), workers=1)
    start_proxy(server, """
        location /direct/ { proxy_pass http://unix:%s:/; }
        location / { proxy_pass http://grp; }""" % path,
                http_extra="upstream grp { server unix:%s; }" % path)
    r = fetch(server.port(), "/direct/f.txt")
    assert r.status == 200 and r.body == b"over unix\n"
    assert fetch(server.port(), "/f.txt").body == b"over unix\n"


def test_status_conditions(server, backend):
    """Each http_NNN condition moves on from that status; without it the
    status is the answer.  A 403 or 404 never counts against a server
    (nginx), so with max_fails=1 it stays in turn, where a 503, 504 or 429
    disables it."""
    for code in (503, 504, 429, 403, 404):
        f = Fixed(status(code))
        try:
            start_logged(server, "proxy_next_upstream http_%d;" % code,
                         group(f.address + " max_fails=1", backend.address))
            before = f.hits
            got = [fetch(server.port(), "/") for _ in range(4)]
            assert all(r.status == 200 and r.header("X-Backend") == "backend" for r in got), code
            if code in (403, 404):
                assert f.hits - before >= 2, (code, f.hits - before)
            else:
                assert f.hits - before <= 1, (code, f.hits - before)
            server.stop()
            start_logged(server, "", group(f.address + " max_fails=0", backend.address))
            assert {fetch(server.port(), "/").status for _ in range(4)} == {200, code}, code
            server.stop()
        finally:
            f.stop()


def test_invalid_header_condition(server, backend):
    bad = Fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx")
    try:
        server.expect_log(r"upstream sent duplicate header line")
        start_logged(server, "proxy_next_upstream invalid_header;",
                     group(bad.address + " max_fails=0", backend.address))
        for _ in range(4):
            assert fetch(server.port(), "/").header("X-Backend") == "backend"
        server.stop()
        start_logged(server, "proxy_next_upstream off;",
                     group(bad.address + " max_fails=0", backend.address))
        assert {fetch(server.port(), "/").status for _ in range(4)} == {200, 502}
    finally:
        bad.stop()


def test_next_upstream_timeout(server):
    """Three silent servers, 500 ms each: proxy_next_upstream_timeout 750ms
    lets a second be tried (at 500 ms) but not a third (at 1 s)."""
    fs = [Fixed(None) for _ in range(3)]
    try:
        server.expect_log(r"upstream timed out")
        for limit, tried in (("750ms", 2), ("0", 3)):
            start_logged(server, "proxy_read_timeout 500ms; proxy_next_upstream_timeout %s;"
                         % limit, group(*(f.address + " max_fails=0" for f in fs)))
            before = sum(f.hits for f in fs)
            assert fetch(server.port(), "/").status == 504
            assert sum(f.hits for f in fs) - before == tried, limit
            server.stop()
    finally:
        for f in fs:
            f.stop()


def test_send_timeout(server):
    """An upstream that never reads: the request body stops going once the
    socket buffers are full, and proxy_send_timeout ends it with 504 and
    nginx's line (the readiness checks' GETs time out reading instead)."""
    deaf = socket.socket()
    deaf.bind(("127.0.0.1", 0))
    deaf.listen(64)  # never accepted: the kernel's buffers are all it takes
    try:
        server.expect_log(r"upstream timed out")
        start_proxy(server, "client_max_body_size 64m; location / { proxy_pass http://127.0.0.1:%d;"
                    " proxy_send_timeout 500ms; proxy_read_timeout 500ms; }"
                    % deaf.getsockname()[1])
        r = fetch(server.port(), "/", method="POST", body=b"b" * (32 << 20))
        assert r.status == 504
        server.wait_log(r"\[error\] .*upstream timed out \(110: Connection timed out\) while "
                        r"sending request to upstream")
    finally:
        deaf.close()


def test_connect_timeout(server):
    """A server whose accept queue is full drops the SYN: the connect times
    out at proxy_connect_timeout with 504 and nginx's line."""
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)  # one connection queued, never accepted; later SYNs dropped
    filler = socket.create_connection(full.getsockname(), timeout=5)
    try:
        server.expect_log(r"upstream timed out")
        start_proxy(server, "location / { proxy_pass http://127.0.0.1:%d; "
                    "proxy_connect_timeout 500ms; }" % full.getsockname()[1])
        assert fetch(server.port(), "/").status == 504
        server.wait_log(r"\[error\] .*upstream timed out \(110: Connection timed out\) while "
                        r"connecting to upstream")
    finally:
        filler.close()
        full.close()

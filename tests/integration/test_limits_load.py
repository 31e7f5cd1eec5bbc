"""The issue's two load checks: slowloris (500 connections dribbling their
heads) and descriptor exhaustion (worker_rlimit_nofile low)."""

import select
import socket
import threading
import time

from helpers import Conn, get
from http_helpers import cpu_seconds, http_block, start

SLOW = 500


def test_slowloris(server):
    start(server, http_block("""
client_header_timeout 3s;
server { listen 127.0.0.1:%d; location / { return 200 "ok $uri\\n"; } }
""" % server.port()), events="worker_connections 1024;")
    port = server.port()
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
    socks = []
    for _ in range(SLOW):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    is_open = set(socks)
    sent = {s: 0 for s in socks}
    probe = {}

    def run_probe():
        time.sleep(1.0)
        try:
            r = get(port, "/probe", timeout=10)
            probe["status"], probe["text"] = r.status, r.text
        except Exception as e:  # reported below
            probe["error"] = repr(e)
        probe["open_then"] = len(is_open)

    t = threading.Thread(target=run_probe)
    t.start()
    deadline = time.monotonic() + 25
    try:
        while is_open and time.monotonic() < deadline:
            for s in list(is_open):
                try:
                    s.send(head[sent[s]:sent[s] + 1])
                    sent[s] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    is_open.discard(s)
            end = time.monotonic() + 0.5
            while is_open and time.monotonic() < end:
                ready, _, _ = select.select(list(is_open), [], [], max(0, end - time.monotonic()))
                for s in ready:
                    try:
                        d = s.recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        d = b""
                    if not d or d.startswith(b"HTTP/1.1 408"):
                        is_open.discard(s)
                if not ready:
                    break
        t.join(15)
    finally:
        left = len(is_open)
        for s in socks:
            s.close()
    assert "error" not in probe, "the probe failed: %s" % probe.get("error")
    assert (probe["status"], probe["text"]) == (200, "ok /probe\n")
    assert probe["open_then"] > SLOW * 0.9, \
        "the probe was served only after the dribblers were closed: %r" % probe
    assert left == 0, "%d dribbling connections outlived client_header_timeout 3s" % left
    assert max(sent.values()) < len(head)
    # The server is fine afterwards.
    assert get(port, "/after").text == "ok /after\n"


def test_fd_exhaustion(server):
    start(server, http_block("""
server { listen 127.0.0.1:%d; location / { return 200 "ok $uri\\n"; } }
""" % server.port()), workers=1, main="worker_rlimit_nofile 64;",
          events="worker_connections 1024;")
    port = server.port()
    worker = server.workers()[0]
    mark = server.log_size()
    held = []
    try:
        for _ in range(150):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        server.wait_log(r"\[crit\] \d+#0: accept4\(\) failed \(24: Too many open files\)",
                        since=mark)
        # Saturated: the worker must wait, not spin on the listening socket.
        cpu0 = cpu_seconds(worker)
        time.sleep(3)
        used = cpu_seconds(worker) - cpu0
        assert used < 1.0, "the worker spun while out of descriptors (%.2f s CPU in 3 s)" % used
        assert server.workers() == [worker], "the worker died"
        assert server.alive()
    finally:
        for s in held:
            s.close()
    # Recovers once the clients left.
    deadline = time.monotonic() + 15
    while True:
        try:
            r = get(port, "/back", timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, "never served again after clients left"
            time.sleep(0.2)
    assert r.text == "ok /back\n"
    with Conn(port) as c:
        for i in range(20):
            assert c.get("/k%d" % i).text == "ok /k%d\n" % i
    conns = [Conn(port) for _ in range(30)]
    for c in conns:
        assert c.get("/again").status == 200
        c.close()
    assert server.workers() == [worker]

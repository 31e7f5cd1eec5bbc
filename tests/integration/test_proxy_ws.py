"""WebSocket through the proxy: the upgrade, echoes both ways, the idle
limit, a reload that leaves tunnels open, and the seed's scale: 10,000
concurrent tunnels to an echo backend, clients spread over processes
(20,000 fds per process), every one echoing correctly, with the workers'
RSS per tunnel reported."""

import os
import subprocess
import sys

from helpers import Closed, wait_for
from proxy_helpers import (WSClient, backend, backend_process, fetch,  # noqa: F401 (fixtures)
                           make_backend,
                           start_proxy)

HERE = os.path.dirname(os.path.abspath(__file__))

WS_LOCATION = """
    location /ws {
        proxy_pass http://up;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        %s
    }
    location / { proxy_pass http://up; }"""


def ws_proxy(server, addresses, extra="", workers=1, events=None, main=""):
    return start_proxy(server, WS_LOCATION % extra, workers=workers, events=events, main=main,
                       http_extra="upstream up { %s }" % " ".join("server %s;" % a
                                                                 for a in addresses))


def test_echo_both_ways(server, backend):
    ws_proxy(server, [backend.address])
    ws = WSClient(server.port())
    assert ws.handshake.header("Upgrade").lower() == "websocket"
    assert ws.handshake.header("Connection").lower() == "upgrade"
    for msg in ("hello", "x" * 200, "y" * 70000):
        ws.send(msg)
        assert ws.recv() == (1, msg.encode())
    ws.send(os.urandom(5000))
    op, _ = ws.recv()
    assert op == 2
    ws.ping(b"are you there")
    assert ws.recv() == (10, b"are you there")
    assert ws.close() == (8, (1000).to_bytes(2, "big"))
    # The worker goes on serving.
    assert fetch(server.port(), "/").status == 200


def test_idle_tunnel_ends_at_read_timeout(server, backend):
    ws_proxy(server, [backend.address], "proxy_read_timeout 300ms;")
    ws = WSClient(server.port())
    ws.send("one")
    assert ws.recv() == (1, b"one")
    # Then nothing: the tunnel ends (no fixed time asserted, only that it
    # does, and is logged as nginx's timeout).
    ws.http.wait_closed()
    server.wait_log(r"upstream timed out \(110: Connection timed out\) while proxying "
                    r"upgraded connection")
    server.expect_log("upstream timed out")


def tunnel_then_reload(server, backend, main=""):
    """A tunnel that echoed once, then a reload: (the tunnel, the worker
    now draining it)."""
    ws_proxy(server, [backend.address], main=main)
    ws = WSClient(server.port())
    ws.send("before")
    assert ws.recv() == (1, b"before")
    (old,) = server.workers()
    server.reload(wait=False)
    wait_for(lambda: [w for w in server.workers() if w != old], what="the new worker")
    return ws, old


def test_reload_keeps_tunnels(server, backend):
    """A draining worker keeps its tunnels until they close."""
    ws, old = tunnel_then_reload(server, backend)
    assert fetch(server.port(), "/").status == 200
    ws.send("after the reload")
    assert ws.recv() == (1, b"after the reload")
    assert old in server.workers()
    ws.close()
    wait_for(lambda: old not in server.workers(), what="the old worker to exit")


def test_worker_shutdown_timeout_ends_tunnels(server, backend):
    """A draining worker's tunnel lives on after the reload, until
    worker_shutdown_timeout closes it; then the old worker exits."""
    ws, old = tunnel_then_reload(server, backend, main="worker_shutdown_timeout 1s;")
    ws.send("draining")
    assert ws.recv() == (1, b"draining")
    ws.http.wait_closed()
    wait_for(lambda: old not in server.workers(), what="the old worker to exit")
    assert fetch(server.port(), "/").status == 200


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


TUNNELS = 10000
CLIENT_PROCS = 4
BACKEND_PROCS = 2


def test_ten_thousand_tunnels(server, backend_process):
    """10,000 tunnels at once over 2 workers (each holds two fds per
    tunnel, under the 20,000-fd limit), to two echo backends."""
    ports = [backend_process("b%d" % i)[0] for i in range(BACKEND_PROCS)]
    ws_proxy(server, ["127.0.0.1:%d" % p for p in ports], workers=2,
             events="worker_connections 16000;", main="worker_rlimit_nofile 19500;")
    assert fetch(server.port(), "/").status == 200
    workers = server.workers()
    before = sum(rss_kb(w) for w in workers)
    per = TUNNELS // CLIENT_PROCS
    clients = [subprocess.Popen([sys.executable, os.path.join(HERE, "ws_clients.py"),
                                 str(server.port()), str(per), str(i)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for i in range(CLIENT_PROCS)]
    try:
        ready = [c.stdout.readline().split() for c in clients]
        assert all(r[0] == "ready" for r in ready), ready
        opened = sum(int(r[1]) for r in ready)
        assert opened == TUNNELS and sum(int(r[2]) for r in ready) == 0, ready
        # Every tunnel is open now, idle after its first echo.
        during = sum(rss_kb(w) for w in workers)
        per_tunnel = (during - before) * 1024 / TUNNELS
        print("\n%d tunnels: workers' RSS %d kB -> %d kB, %.0f bytes per tunnel"
              % (TUNNELS, before, during, per_tunnel))
        for c in clients:
            c.stdin.write("go\n")
            c.stdin.flush()
        done = [c.stdout.readline().split() for c in clients]
        assert all(d[0] == "done" for d in done), done
        assert sum(int(d[1]) for d in done) == TUNNELS, done
        for c in clients:
            assert c.wait(120) == 0
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
    # Everything was let go: the workers serve on.
    assert fetch(server.port(), "/").status == 200
    assert per_tunnel < 64 * 1024


def test_closed_tunnel_frees_both_sides(server, backend):
    ws_proxy(server, [backend.address])
    for _ in range(20):
        ws = WSClient(server.port())
        ws.send("x")
        assert ws.recv() == (1, b"x")
        ws.http.close()  # no close frame: the client just goes
    wait_for(lambda: backend.ws_open == 0, what="the upstream sides to close")
    try:
        assert fetch(server.port(), "/").status == 200
    except Closed:
        raise AssertionError("the worker stopped serving")

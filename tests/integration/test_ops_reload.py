"""Operations: reloads under wrk load lose no request (keep-alive and
Connection: close), 1,000 reloads leak no fd or memory in the master, and
worker_shutdown_timeout bounds how long an old worker lives (issue #4)."""

import os
import signal
import socket
import time

import pytest

from helpers import TIMEOUT, TURNPIKE, Conn, get, proc_alive, wait_for
from ops_helpers import (Wrk, asan_env, fast_children, fd_count, is_asan, make_site, rewrite,
                         rss_kb, site_http, wait_gone)

RELOADS = 12
INTERVAL = 0.2


@pytest.mark.parametrize("mode", ["keepalive", "close"])
def test_reloads_under_wrk_load_fail_nothing(server, mode):
    make_site(server)
    server.write(http=site_http(server, "g0"))
    server.start()
    port = server.port()
    headers = ["Connection: close"] if mode == "close" else []
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=64, duration=6, headers=headers)
    with wrk:
        time.sleep(0.7)  # load going before the first reload
        before_last = []
        for i in range(1, RELOADS + 1):
            rewrite(server, http=site_http(server, "g%d" % i))
            if i == RELOADS:
                before_last = server.workers()
            server.kill(signal.SIGHUP)
            time.sleep(INTERVAL)
        res = wrk.wait(TIMEOUT + 10)
    print("\n%s, %d reloads %.1f s apart: %s" % (mode, RELOADS, INTERVAL, res.summary()))
    hups = server.log().count("signal 1 (SIGHUP) received")
    print("reloads seen by the master: %d" % hups)
    assert res.requests > 1000, res.out
    assert res.failed == 0, res.out
    # The last configuration is in force, and nothing of an older one is left.
    r = get(port, "/1k.bin")
    assert r.status == 200 and r.header("X-Gen") == "g%d" % RELOADS
    server.wait_workers(2, exclude=before_last)
    assert len(server.workers()) == 2


# ---- 1,000 reloads --------------------------------------------------------------

def _reloads(server, n, log_mark, gen0):
    """n reloads, each confirmed by the master's log line before the next
    one follows 5 ms later; the config changes every time."""
    pat = "signal 1 (SIGHUP) received"
    with open(server.error_log, "rb") as log:
        log.seek(log_mark)
        buf = ""
        for i in range(n):
            rewrite(server, http=site_http(server, "g%d" % (gen0 + i)))
            server.kill(signal.SIGHUP)
            deadline = time.monotonic() + TIMEOUT
            while True:
                buf += log.read().decode(errors="replace")
                if pat in buf:
                    buf = buf[buf.index(pat) + len(pat):]
                    break
                assert time.monotonic() < deadline, "reload %d not seen in the log" % i
                time.sleep(0.002)
            time.sleep(0.005)
            # Keep the number of draining generations bounded.
            if len(fast_children(server.master_pid)) > 16:
                wait_for(lambda: len(fast_children(server.master_pid)) <= 4,
                         what="old workers to go")
    return gen0 + n


def _settle(server, port, gen):
    server.wait_workers(2)
    wait_for(lambda: get(port, "/1k.bin").header("X-Gen") == "g%d" % (gen - 1),
             what="last config served")
    time.sleep(0.3)  # let the master finish reaping and sweeping
    server.wait_workers(2)
    return fd_count(server.master_pid), rss_kb(server.master_pid)


def test_1000_reloads_leak_no_fd_or_memory(make_server):
    server = make_server("stress")
    make_site(server)
    server.write(http=site_http(server, "g0"), main="worker_shutdown_timeout 5s;")
    # ASan's quarantine would keep freed memory resident, and a leak check
    # at each of the 2,000 worker exits would more than double the runtime
    # (the master's leaks at exit are checked by every other test).
    server.start(env=asan_env(quarantine_size_mb=0, detect_leaks=0))
    port = server.port()
    t0 = time.monotonic()
    gen = _reloads(server, 10, server.log_size(), 1)
    fds10, rss10 = _settle(server, port, gen)
    gen = _reloads(server, 490, server.log_size(), gen)
    fds500, rss500 = _settle(server, port, gen)
    gen = _reloads(server, 500, server.log_size(), gen)
    fds1000, rss1000 = _settle(server, port, gen)
    print("\nmaster fds / RSS after 10 reloads: %d / %d kB; after 500: %d / %d kB; "
          "after 1000: %d / %d kB (%.1f s)" % (fds10, rss10, fds500, rss500, fds1000, rss1000,
                                               time.monotonic() - t0))
    assert server.log().count("signal 1 (SIGHUP) received") == 1000
    assert fds500 == fds10 and fds1000 == fds10, os.listdir("/proc/%d/fd" % server.master_pid)
    # ASan's allocator warms up over the first hundred reloads or so.
    slack = 2048 if is_asan(TURNPIKE) else 1024
    assert rss1000 <= rss10 + slack, "master RSS grew by %d kB" % (rss1000 - rss10)
    assert rss1000 <= rss500 + 256, "master RSS grew by %d kB over the last 500 reloads" % (
        rss1000 - rss500)


# ---- worker_shutdown_timeout ------------------------------------------------------

def test_worker_shutdown_timeout_bounds_old_workers(server):
    make_site(server)
    make_site(server, size=32 << 20, name="big.bin")
    server.write(http=site_http(server, "g0"), main="worker_shutdown_timeout 2s;")
    server.start()
    port = server.port()
    old = server.workers()
    # A request whose header never ends ...
    partial = Conn(port)
    partial.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n")
    # ... and a download the client reads only 1 KB of.
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", port))
    slow.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    slow.settimeout(TIMEOUT)
    head = slow.recv(1024)
    assert head.startswith(b"HTTP/1.1 200"), head
    time.sleep(0.3)
    rewrite(server, http=site_http(server, "g1"), main="worker_shutdown_timeout 2s;")
    t0 = time.monotonic()
    server.kill(signal.SIGHUP)
    # The new generation serves while the held old workers live on.
    wait_for(lambda: get(port, "/1k.bin").header("X-Gen") == "g1", what="new generation")
    time.sleep(max(0.0, t0 + 1.2 - time.monotonic()))
    held = [p for p in old if proc_alive(p)]
    assert held, "old workers holding connections exited before worker_shutdown_timeout"
    wait_gone(old, timeout=2 + TIMEOUT, what="old workers to be stopped")
    lived = time.monotonic() - t0
    print("\nold workers gone %.2f s after HUP (worker_shutdown_timeout 2s)" % lived)
    server.wait_log(r"worker_shutdown_timeout: closing \d+ connections")
    # Both clients were cut off: the partial header got nothing, the
    # download ended short of its Content-Length.
    assert partial.wait_closed()
    got = len(head)
    slow.settimeout(TIMEOUT)
    try:
        while True:
            data = slow.recv(1 << 20)
            if not data:
                break
            got += len(data)
    except ConnectionResetError:
        pass
    slow.close()
    partial.close()
    assert got < 32 << 20
    server.wait_workers(2, exclude=old)
    assert get(port, "/1k.bin").header("X-Gen") == "g1"

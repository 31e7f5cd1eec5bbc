"""Operations: a worker killed with SIGKILL is replaced on the same socket
at once and loses nothing queued in the kernel; a worker that keeps dying
at start is respawned with growing delays while the master idles (issue
#4)."""

import os
import re
import signal
import socket
import time

from helpers import (TIMEOUT, fd_inodes, listen_inodes, proc_stat, wait_for, wait_older_than)
from ops_helpers import (Wrk, accepting, asan_env, cpu_seconds, fast_children, make_site,
                         site_http)


def kill_and_time_respawn(server, victim):
    """SIGKILLs victim; returns (new worker pid, seconds from the kill until
    the new worker's loop polls the listening socket, seconds until it
    was forked)."""
    master, inodes = server.master_pid, listen_inodes(server.port())
    before = fast_children(master)
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    new = None
    while new is None:
        fresh = fast_children(master) - before
        if fresh:
            new = fresh.pop()
            forked = time.monotonic() - t0
        elif time.monotonic() - t0 > TIMEOUT:
            raise AssertionError("no new worker within %.0f s" % TIMEOUT)
    while not accepting(new, inodes):
        assert time.monotonic() - t0 < TIMEOUT, "new worker %d does not accept" % new
        time.sleep(0.001)
    took = time.monotonic() - t0
    server.seen.setdefault(new, proc_stat(new)[2])
    return new, took, forked


def test_kill9_queued_connections_are_not_lost(server):
    """Connections that reach the kernel's accept queue of a worker's socket
    while the worker cannot accept survive its death: the master keeps the
    socket and the respawned worker takes them over."""
    make_site(server)
    server.write(http=site_http(server))
    server.start()
    port = server.port()
    victim = server.workers()[0]
    slot_socket = fd_inodes(victim) & listen_inodes(port)
    wait_older_than(victim, 1.3)  # no crash-loop backoff
    server.expect_log(r"\[alert\] \d+#0: worker process %d exited on signal 9$" % victim)
    os.kill(victim, signal.SIGSTOP)
    wait_for(lambda: proc_stat(victim)[0] == "T", what="worker stopped")
    # Half of these land (by SO_REUSEPORT's hash) in the stopped worker's
    # queue; it never accepts them.
    socks = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        s.sendall(b"GET /pid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        socks.append(s)
    time.sleep(0.2)
    new, took, forked = kill_and_time_respawn(server, victim)
    print("\nworker %d replaced by %d, forked %.1f ms and accepting %.1f ms after SIGKILL"
          % (victim, new, forked * 1000, took * 1000))
    answers = []
    for s in socks:
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        assert data.startswith(b"HTTP/1.1 200 "), data
        answers.append(int(data.split(b"\r\n\r\n", 1)[1]))
    assert victim not in answers
    assert new in answers, "some of the queued connections were the dead worker's"
    assert fd_inodes(new) & listen_inodes(port) == slot_socket, "same slot, same socket"
    server.wait_workers(2)
    # The time is printed, not asserted: timing belongs to bench/, and a
    # loaded machine would make any threshold flaky.  Being replaced at all,
    # on the same socket, is what the test asserts.
    assert took < TIMEOUT


def test_kill9_under_connection_close_load(server):
    make_site(server)
    server.write(http=site_http(server))
    server.start()
    port = server.port()
    victim = server.workers()[0]
    slot_socket = fd_inodes(victim) & listen_inodes(port)
    server.expect_log(r"\[alert\] \d+#0: worker process %d exited on signal 9$" % victim)
    conns = 64
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=conns, duration=120,
              headers=["Connection: close"])
    with wrk:
        wait_older_than(victim, 1.3)
        time.sleep(0.5)
        new, took, forked = kill_and_time_respawn(server, victim)
        time.sleep(1.0)
        res = wrk.stop()
    print("\nkill -9 of worker %d under Connection: close load: replaced by %d, forked %.1f ms "
          "and accepting %.1f ms after the kill; wrk: %s"
          % (victim, new, forked * 1000, took * 1000, res.summary()))
    assert res.requests > 1000, res.out
    # Only connections the dead worker had accepted can fail, at most one
    # per wrk connection; none is refused.
    assert res.connect == 0, res.out
    assert res.failed <= conns, res.out
    assert fd_inodes(new) & listen_inodes(port) == slot_socket
    # The time is printed, not asserted: timing belongs to bench/, and a
    # loaded machine would make any threshold flaky.  Being replaced at all,
    # on the same socket, is what the test asserts.
    assert took < TIMEOUT


def test_crash_loop_backs_off_and_master_idles(server):
    """Workers that cannot start (too few descriptors for their event loop)
    die at once, again and again: the master respawns each slot after 1,
    2, 4 ... s, using next to no CPU, and a reload with a fixed
    configuration brings the workers back."""
    make_site(server)
    server.write(http=site_http(server), main="worker_rlimit_nofile 5;")
    for r in (r"\[alert\] \d+#0: worker process \d+ exited (on signal|with code) \d+$",
              r"\[alert\] \d+#0: worker \d+ keeps dying, respawning in \d+ s$",
              r"\[emerg\] \d+#0: worker \d could not start",
              r"\[alert\] \d+#0: \(libev\) error creating signal/async pipe"):
        server.expect_log(r)
    # A worker that fails to start leaks nothing worth reporting, and the
    # leak check itself cannot run with 5 descriptors.
    server.start(wait=False, env=asan_env(detect_leaks=0))
    master = server.master_pid
    wait_for(lambda: os.path.exists(server.error_log), what="error log")
    t0 = time.monotonic()
    cpu0 = cpu_seconds(master)
    starts = []  # when each "start worker process" line appeared
    # Slots die at 0 s, respawn after 1 s, 2 s, 4 s: 4 starts each by ~7 s.
    with open(server.error_log, "rb") as f:
        buf = b""
        while time.monotonic() - t0 < 8.5:
            buf += f.read()
            *lines, buf = buf.split(b"\n")
            starts += [time.monotonic() for line in lines if b"start worker process" in line]
            time.sleep(0.002)
    cpu = cpu_seconds(master) - cpu0
    log = server.log()
    delays = {}
    for m in re.finditer(r"worker (\d+) keeps dying, respawning in (\d+) s", log):
        delays.setdefault(int(m.group(1)), []).append(int(m.group(2)))
    gaps = ["%.2f" % (b - a) for a, b in zip(starts, starts[1:])]
    print("\nworkers started: %d in 8.5 s; delays per slot: %s; gaps between starts: %s; "
          "master CPU %.3f s" % (len(starts), delays, gaps, cpu))
    assert set(delays) == {0, 1}
    for slot, d in delays.items():
        assert d[:3] == [1, 2, 4], "slot %d backs off %s" % (slot, d)
    # 2 slots x (first start + 3 respawns); a 4th respawn (after 8 s) may just
    # make it.  Without backoff there would be hundreds.
    assert 8 <= len(starts) <= 10, len(starts)
    # The pairs of starts are 1, 2, 4 s apart (the slots die in step).
    pairs = starts[::2]
    for (a, b), d in zip(zip(pairs, pairs[1:]), (1, 2, 4)):
        assert b - a > d * 0.8, "respawned %.2f s after the last start, backoff %d s" % (b - a, d)
    assert cpu < 0.5, "master used %.2f s of CPU in 8.5 s of crash loop" % cpu
    # Fixing the configuration and reloading ends the loop.
    server.write(http=site_http(server))
    server.kill(signal.SIGHUP)
    server.wait_ready()

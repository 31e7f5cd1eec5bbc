"""Bounded load on the stream context: 1 GB each way through one session
with a slow reader at either end (the worker's RSS measured while the
reader is slow), and a reload during 1,000 open sessions that cuts none."""

import os
import selectors
import signal
import socket
import threading
import time
import zlib

from helpers import wait_for
from stream_helpers import stream_conf, stream_port

GB = 1 << 30
CHUNK = 1 << 20
SLOW_SECONDS = 2.0  # how long a reader stays slow: bounds the wall time


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


class Pump:
    """Both directions of one socket: sends `total` bytes of a fixed block
    and reads `total` bytes, reading slowly (small reads with pauses) while
    `slow` is set.  CRC32s of what went and came."""

    def __init__(self, sock, total, block):
        self.sock, self.total, self.block = sock, total, block
        self.slow = threading.Event()
        self.sent_crc = self.got_crc = 0
        self.got = 0
        self.error = None
        self.t_send = threading.Thread(target=self._send, daemon=True)
        self.t_recv = threading.Thread(target=self._recv, daemon=True)

    def start(self):
        self.t_send.start()
        self.t_recv.start()

    def _send(self):
        try:
            left = self.total
            while left > 0:
                part = self.block if left >= len(self.block) else self.block[:left]
                self.sock.sendall(part)
                self.sent_crc = zlib.crc32(part, self.sent_crc)
                left -= len(part)
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.error = e

    def _recv(self):
        try:
            while True:
                if self.slow.is_set():
                    d = self.sock.recv(4096)
                    time.sleep(0.01)
                else:
                    d = self.sock.recv(CHUNK)
                if not d:
                    break
                self.got_crc = zlib.crc32(d, self.got_crc)
                self.got += len(d)
        except OSError as e:
            self.error = e

    def join(self, timeout):
        self.t_send.join(timeout)
        self.t_recv.join(timeout)
        assert not self.t_send.is_alive() and not self.t_recv.is_alive(), "pump stuck"
        assert self.error is None, self.error


def big_transfer(server, splice):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    port = stream_port()
    stream_conf(server, """
    server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; proxy_buffer_size 64k;
             proxy_splice %s; }
    """ % (port, ls.getsockname()[1], "on" if splice else "off"))
    server.start()
    workers = server.workers()
    base = {w: rss_kb(w) for w in workers}
    c = socket.create_connection(("127.0.0.1", port), timeout=120)
    b, _ = ls.accept()
    b.settimeout(120)
    block_c, block_b = os.urandom(CHUNK), os.urandom(CHUNK)
    pc, pb = Pump(c, GB, block_c), Pump(b, GB, block_b)
    peak = dict(base)

    def sample():
        for w in workers:
            peak[w] = max(peak[w], rss_kb(w))

    # The client reads slowly first, then the backend: each for a bounded
    # time, during which the other side sends as fast as it can.
    pc.slow.set()
    pc.start()
    pb.start()
    for slow in (pc, pb):
        slow.slow.set()
        end = time.monotonic() + SLOW_SECONDS
        while time.monotonic() < end:
            sample()
            time.sleep(0.05)
        slow.slow.clear()
    while pc.t_recv.is_alive() or pb.t_recv.is_alive():
        sample()
        time.sleep(0.1)
    pc.join(600)
    pb.join(600)
    assert pc.got == GB and pb.got == GB
    assert pc.got_crc == pb.sent_crc and pb.got_crc == pc.sent_crc
    growth = max(peak[w] - base[w] for w in workers)
    print("worker RSS: base %s kB, peak %s kB, growth %d kB (splice %s)"
          % (base, peak, growth, splice))
    # Bounded: a direction holds at most one buffer (64k) or one pipe; the
    # allowance is for allocator slack, far below what 1 GB would need.
    assert growth < 16 * 1024, (base, peak)
    c.close()
    b.close()
    ls.close()


def test_one_gigabyte_each_way_splice(server):
    big_transfer(server, splice=True)


def test_one_gigabyte_each_way_copying(server):
    big_transfer(server, splice=False)


class EchoMany:
    """An echo backend for many connections on one thread (selectors)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2048)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.sock, selectors.EVENT_READ)
        self.open = 0
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.2):
                if key.fileobj is self.sock:
                    try:
                        c, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    c.setblocking(False)
                    self.sel.register(c, selectors.EVENT_READ)
                    self.open += 1
                    continue
                c = key.fileobj
                try:
                    d = c.recv(65536)
                except (BlockingIOError, ConnectionResetError):
                    d = b"" if not isinstance(d, bytes) else d
                if d:
                    c.sendall(d)
                else:
                    self.sel.unregister(c)
                    c.close()
                    self.open -= 1


def test_reload_during_1000_streams_cuts_none(server):
    be = EchoMany()
    port = stream_port()
    text = server.config(http="server { listen 127.0.0.1:%d; location / { return 200; } }"
                         % server.port("main"),
                         main="worker_rlimit_nofile 8192; worker_shutdown_timeout 60s;",
                         events="worker_connections 4096;")
    text += "stream { server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; } }\n" % (
        port, be.port)
    server.write(text)
    server.start()
    socks = []
    for i in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(b"before-%d;" % i)
    for i, s in enumerate(socks):
        want = b"before-%d;" % i
        got = b""
        while len(got) < len(want):
            got += s.recv(100)
        assert got == want
    old = server.workers()
    server.kill(signal.SIGHUP)
    wait_for(lambda: len(set(server.workers()) - set(old)) == 2, what="the new workers")
    server.wait_log(r"gracefully shutting down")
    # The old workers drain: they keep every session.
    assert all(os.path.exists("/proc/%d" % p) for p in old)
    new = socket.create_connection(("127.0.0.1", port), timeout=30)
    new.sendall(b"new")
    assert new.recv(10) == b"new"
    new.close()
    for i, s in enumerate(socks):
        s.sendall(b"after-%d;" % i)
    for i, s in enumerate(socks):
        want = b"after-%d;" % i
        got = b""
        while len(got) < len(want):
            d = s.recv(100)
            assert d, "session %d was cut" % i
            got += d
        assert got == want
    assert all(os.path.exists("/proc/%d" % p) for p in old)
    for s in socks:
        s.close()
    # Once their sessions end, the old workers exit on their own.
    wait_for(lambda: not any(os.path.exists("/proc/%d" % p) for p in old), timeout=60,
             what="old workers to exit")
    be.stop = True

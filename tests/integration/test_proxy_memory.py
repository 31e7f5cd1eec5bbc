"""Bounded memory through the proxy, measured: a 1 GB download to a client
that reads at 1 MB/s keeps the worker's RSS under a fixed multiple of the
buffer settings (proxy_max_temp_file_size 0: the upstream waits for the
client); a 1 GB upload with proxy_request_buffering on lands in a temp
file, not in memory, and with it off streams to the upstream at the
upstream's pace.

The download's upstream is turnpike itself serving a sparse 1 GB file;
the upload's is the scripted backend in a process of its own."""

import json
import os
import socket
import threading
import time

from helpers import TURNPIKE
from http_helpers import http_block, start
from proxy_helpers import backend_process, fetch, start_proxy  # noqa: F401 (fixtures)

GB = 1 << 30
BUFFERS = "proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_busy_buffers_size 128k;"
BUFFER_BYTES = 64 * 1024 + 4 * 64 * 1024
# RSS may grow by this many times the buffer settings (buffers, arenas,
# the allocator's slack; measured: about 1); a response held in memory
# would be some 3000 times.
MULTIPLE = 4
SANITIZED = "asan" in TURNPIKE


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def one_worker(server):
    (w,) = server.workers()
    return w


def static_backend(make_server):
    up = make_server("static")
    root = os.path.join(up.dir, "html")
    os.mkdir(root)
    with open(os.path.join(root, "big"), "wb") as f:
        f.truncate(GB)
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "big"), 0o644)
    start(up, http_block("server { listen 127.0.0.1:%d; root %s; }" % (up.port(), root)),
          workers=1)
    return up


def recv_exact_counting(s, n, rate=None, seconds=0.0, sample=None):
    """Reads n bytes; the first `seconds` at `rate` bytes/s, then as fast
    as they come; calls sample() every read."""
    got, t0 = 0, time.monotonic()
    while got < n:
        slow = rate is not None and time.monotonic() - t0 < seconds
        want = min(rate // 10 if slow else 1 << 20, n - got)
        data = s.recv(want)
        if not data:
            break
        got += len(data)
        if sample:
            sample()
        if slow:
            time.sleep(0.1)
    return got


def test_download_to_a_slow_client_is_bounded(server, make_server):
    up = static_backend(make_server)
    start_proxy(server, "location / { proxy_pass http://127.0.0.1:%d; %s }"
                % (up.port(), BUFFERS))
    assert fetch(server.port(), "/big", method="HEAD").status == 200
    w = one_worker(server)
    base = rss_kb(w)
    peak = [base]

    def sample():
        peak[0] = max(peak[0], rss_kb(w))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.connect(("127.0.0.1", server.port()))
    s.settimeout(60)
    s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 200 " in head.split(b"\r\n")[0] and b"Content-Length: %d" % GB in head
    # 1 MB/s for 8 s (the worker holds what the client has not read yet),
    # then the rest as fast as it goes.
    got = recv_exact_counting(s, GB, rate=1 << 20, seconds=8, sample=sample)
    s.close()
    assert got == GB
    grown = (peak[0] - base) * 1024
    print("download: worker RSS %d kB before, %d kB at most (+%d kB; buffers %d kB)"
          % (base, peak[0], grown // 1024, BUFFER_BYTES // 1024))
    if not SANITIZED:  # ASan's quarantine keeps freed memory resident
        assert grown < MULTIPLE * BUFFER_BYTES, (base, peak[0])


def temp_files(pid, prefix):
    """Sizes of the worker's open files under prefix (temp bodies)."""
    sizes = []
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if target.startswith(prefix):
                sizes.append(os.stat(os.path.join(fd_dir, fd)).st_size)
        except OSError:
            pass
    return sizes


def stats(port):
    return json.loads(fetch(port, "/_stats").body)


def upload(port, path, n, on_progress=None):
    """Sends a POST of n zero bytes; returns (bytes sent, the response)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(120)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
              % (path.encode(), n))
    block = bytes(1 << 20)
    sent = 0
    while sent < n:
        k = s.send(block[:min(len(block), n - sent)])
        sent += k
        if on_progress:
            on_progress(sent)
    data = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        data += piece
    s.close()
    return sent, data


def test_buffered_upload_goes_to_a_temp_file(server, backend_process):
    port, _ = backend_process("b")
    tmp = os.path.join(server.dir, "body_temp")
    os.mkdir(tmp)
    os.chmod(tmp, 0o777)
    start_proxy(server, """
        client_max_body_size 0;
        client_body_temp_path %s;
        client_body_buffer_size 128k;
        location / { proxy_pass http://127.0.0.1:%d; %s }""" % (tmp, port, BUFFERS))
    assert fetch(server.port(), "/").status == 200
    w = one_worker(server)
    base = rss_kb(w)
    peak, biggest, mark = [base], [0], [0]

    def progress(sent):
        if sent >> 24 != mark[0]:
            mark[0] = sent >> 24
            peak[0] = max(peak[0], rss_kb(w))
            biggest[0] = max([biggest[0]] + temp_files(w, tmp))
    sent, resp = upload(server.port(), "/slow-read?interval=0", GB, progress)
    assert sent == GB
    assert b" 200 " in resp.split(b"\r\n")[0], resp[:200]
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1]) == {"received": GB}
    print("buffered upload: temp file seen at %d MB; RSS %d kB before, %d kB at most"
          % (biggest[0] >> 20, base, peak[0]))
    # The body went to the file as it came (the upstream had none of it
    # until the end), and not into memory.
    assert biggest[0] > GB // 2
    if not SANITIZED:
        assert (peak[0] - base) * 1024 < MULTIPLE * BUFFER_BYTES + (128 << 10)


def test_unbuffered_upload_streams_at_the_upstreams_pace(server, backend_process):
    port, _ = backend_process("b")
    start_proxy(server, """
        client_max_body_size 0;
        location / {
            proxy_pass http://127.0.0.1:%d;
            proxy_request_buffering off;
            proxy_http_version 1.1;
            %s
        }""" % (port, BUFFERS))
    w = one_worker(server)
    base = rss_kb(w)
    ahead, peak = [0], [base]
    slow = 8 << 20
    done = threading.Event()

    def watch():
        # While the upstream reads its first 8 MB slowly, what the client
        # managed to send stays within the sockets' and the proxy's
        # buffers of what the upstream read.
        while not done.is_set():
            got = stats(port)["body_received"]
            if got >= slow:
                return
            ahead[0] = max(ahead[0], sent_so_far[0] - got)
            peak[0] = max(peak[0], rss_kb(w))
            time.sleep(0.05)
    sent_so_far = [0]

    def progress(sent):
        sent_so_far[0] = sent
    t = threading.Thread(target=watch)
    t.start()
    sent, resp = upload(server.port(), "/slow-read?chunk=65536&interval=50&slow=%d" % slow, GB,
                        progress)
    done.set()
    t.join()
    assert sent == GB
    assert json.loads(resp.split(b"\r\n\r\n", 1)[1]) == {"received": GB}
    print("unbuffered upload: the client at most %d kB ahead of the upstream; RSS +%d kB"
          % (ahead[0] >> 10, peak[0] - base))
    # Loopback socket buffers (client send, turnpike receive and send,
    # upstream receive) hold a few MB each at most: far below the 1 GB.
    assert ahead[0] < 48 << 20
    if not SANITIZED:
        assert (peak[0] - base) * 1024 < MULTIPLE * BUFFER_BYTES

"""Helpers for the HTTP engine and static file tests (issue #3): document
roots, http blocks, raw exchanges and response parsing.  Builds on
helpers.py (Conn, Response, get) and conftest.py's Server."""

import os
import re
import socket
import subprocess
import time

from helpers import TIMEOUT, Closed, Conn, parse_head, proc_alive

MIME_TYPES = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "mime.types")


def make_tree(base, files):
    """Creates files under base: {"a/b.txt": "text" | b"bytes" | None (a
    directory)}.  Everything is world-readable (workers run as nobody)."""
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    for rel, content in files.items():
        path = os.path.join(base, rel)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        d = parent
        while d.startswith(base) and d != base:
            os.chmod(d, 0o755)
            d = os.path.dirname(d)
        if content is None:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o755)
            continue
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content)
        os.chmod(path, 0o644)
    return base


def docroot(server, files, name="html"):
    """A document root inside the server's temp dir."""
    return make_tree(os.path.join(server.dir, name), files)


def http_block(body, log_off=True):
    """An http block body; the access log is off unless asked for (its
    default file is logs/access.log under the prefix)."""
    return ("access_log off;\n" if log_off else "") + body


def start(server, http, workers=2, events="worker_connections 256;", main=""):
    server.write(http=http, workers=workers, events=events, main=main)
    r = server.cli("-t")
    assert r.returncode == 0, "config test failed:\n%s%s" % (r.stdout, r.stderr)
    server.start()
    return server


def config_refused(server, http=None, **kw):
    """Writes the config (an http block body, or config(**kw)), runs -t,
    checks that it fails, and returns its stderr."""
    if http is not None:
        kw["http"] = http
    server.write(**kw)
    r = server.cli("-t")
    assert r.returncode == 1, "config test passed:\n%s" % server.text
    return r.stderr


def parse_responses(data, methods=()):
    """Splits bytes received on one connection into responses (bodies by
    Content-Length; a response without one takes the rest).  methods[i]
    says whether response i answers a HEAD.  Returns (responses, rest)."""
    out = []
    methods = list(methods)
    while b"\r\n\r\n" in data:
        head, _, data = data.partition(b"\r\n\r\n")
        r = parse_head(head)
        method = methods[len(out)] if len(out) < len(methods) else "GET"
        cl = r.header("Content-Length")
        if method == "HEAD" or r.status in (204, 304) or r.status < 200:
            pass
        elif cl is None:
            r.body, data = data, b""
        else:
            n = int(cl)
            r.body, data = data[:n], data[n:]
        out.append(r)
    return out, data


def read_all(sock, timeout=TIMEOUT):
    """Everything until EOF (or reset); raises on timeout."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        chunks.append(d)
    return b"".join(chunks)


def read_until_quiet(sock, quiet=2.0, timeout=TIMEOUT):
    """Reads until EOF, or until the server sent something and then stayed
    quiet for `quiet` seconds (a connection it keeps open).  Returns
    (data, closed)."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(chunks), False
        sock.settimeout(min(left, quiet) if chunks else left)
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), True
        except socket.timeout:
            if chunks:
                return b"".join(chunks), False
            continue
        if not d:
            return b"".join(chunks), True
        chunks.append(d)


def exchange(port, data, timeout=TIMEOUT, shut_wr=False):
    """Sends raw bytes on a fresh connection and returns everything the
    server sends until it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        return read_all(s, timeout)
    finally:
        s.close()


def closed_within(conn, seconds):
    """True if the server closes conn within seconds (any bytes it sends
    first are kept in conn.buf)."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        conn.sock.settimeout(left)
        try:
            d = conn.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if not d:
            return True
        conn.buf += d


def curl(*args, timeout=TIMEOUT):
    """Runs curl -s; returns CompletedProcess with bytes stdout."""
    return subprocess.run(["curl", "-s", "--max-time", str(int(timeout))] + list(args),
                          capture_output=True, timeout=timeout + 5)


def req(path="/", host="localhost", method="GET", version="1.1", headers=(), body=b""):
    """Raw request bytes."""
    lines = ["%s %s HTTP/%s" % (method, path, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_response_any(conn, method="GET"):
    """Like Conn.read_response, also for Transfer-Encoding: chunked
    (decoded into .body; .chunked tells which framing came)."""
    while b"\r\n\r\n" not in conn.buf:
        conn._fill()
    head, _, rest = conn.buf.partition(b"\r\n\r\n")
    r = parse_head(head)
    r.chunked = (r.header("Transfer-Encoding") or "").lower() == "chunked"
    if not r.chunked or method == "HEAD":
        resp = conn.read_response(method)
        resp.chunked = r.chunked
        return resp
    conn.buf = rest
    body = b""
    while True:
        while b"\r\n" not in conn.buf:
            conn._fill()
        line, _, conn.buf = conn.buf.partition(b"\r\n")
        n = int(line.split(b";")[0], 16)
        while len(conn.buf) < n + 2:
            conn._fill()
        body += conn.buf[:n]
        assert conn.buf[n:n + 2] == b"\r\n", "bad chunk framing"
        conn.buf = conn.buf[n + 2:]
        if n == 0:
            break
    r.body = body
    return r


def assert_alive(server, workers):
    assert server.alive(), "master died:\n" + server.stderr()
    dead = [w for w in workers if not proc_alive(w)]
    assert not dead, "worker(s) %s died:\n%s" % (dead, server.log()[-3000:])


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


__all__ = ["Closed", "Conn", "MIME_TYPES", "make_tree", "docroot", "http_block", "start",
           "parse_head", "parse_responses", "read_all", "read_until_quiet", "exchange", "closed_within", "curl",
           "req", "read_response_any", "assert_alive", "cpu_seconds"]

"""Helpers for the turnpike integration tests: ports, /proc, raw HTTP."""

import os
import re
import signal
import socket
import subprocess
import time

TURNPIKE = os.environ.get("TURNPIKE", "/work/main/_build/plain/src/turnpike")

# Long enough for the sanitizer build on a busy 2-core machine; these are
# limits for "it eventually happens", never performance assertions.
TIMEOUT = 15.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


def free_port():
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=TIMEOUT, interval=0.05, what="condition"):
    """Polls pred() until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def child_env(**extra):
    """The environment for turnpike processes.  TURNPIKE names the binary
    for the tests, but to the server it is the inherited-socket list of a
    binary upgrade (as NGINX is to nginx), so it must not leak."""
    env = {k: v for k, v in os.environ.items() if k != "TURNPIKE"}
    env.update(extra)
    return env


def run_tp(args, timeout=TIMEOUT, env=None, **kw):
    """Runs the binary to completion; returns CompletedProcess (text)."""
    return subprocess.run([TURNPIKE] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=child_env() if env is None else env, **kw)


# ---- /proc ------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, starttime) of a process, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def proc_age(pid):
    """Seconds since the process started."""
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - proc_stat(pid)[2] / os.sysconf("SC_CLK_TCK")


def wait_older_than(pid, seconds):
    """Waits until the process has run for `seconds` (the master treats a
    worker dying younger than 1 s as a crash loop)."""
    while proc_age(pid) < seconds:
        time.sleep(0.05)


def proc_alive(pid, starttime=None):
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def children(ppid):
    """Live (non-zombie) children of ppid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[1] == ppid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return sorted(out)


def proc_ids(pid):
    """{'Uid': [real, eff, saved, fs], 'Gid': [...]} from /proc/pid/status."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid"):
                ids[k] = [int(x) for x in v.split()]
    return ids


def listen_inodes(port):
    """Inodes of the LISTEN sockets on 127.0.0.1:port."""
    out = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                out.add(inode)
    return out


def tcp_socket_inode(local_port, remote_port):
    """Inode of the 127.0.0.1:local_port <-> :remote_port socket ("0" once
    no process holds it any more), or None if the kernel forgot it."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if (int(parts[1].split(":")[1], 16) == local_port
                    and int(parts[2].split(":")[1], 16) == remote_port):
                return parts[9]
    return None


def fd_inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            out.add(m.group(1))
    return out


# ---- raw HTTP ------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, version, headers, body, head):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers  # list of (name, value) as sent
        self.body = body
        self.head = head  # raw head bytes

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def text(self):
        return self.body.decode("latin-1")

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class Closed(Exception):
    """The server closed the connection before a full response."""



def parse_head(head):
    """A Response (without body) from a response head's bytes."""
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/(\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    assert m, "bad status line %r" % lines[0]
    headers = []
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        assert sep, "bad header line %r" % line
        headers.append((k, v.strip()))
    return Response(int(m.group(2)), m.group(3) or "", m.group(1), headers, b"", head)

class Conn:
    """A raw client connection that can pipeline and read exact responses."""

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def request(self, path="/", host="localhost", method="GET", version="1.1",
                headers=(), send=True):
        lines = ["%s %s HTTP/%s" % (method, path, version)]
        if host is not None:
            lines.append("Host: %s" % host)
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if send:
            self.send(raw)
        return raw

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed("connection closed by server (buffered %r)" % self.buf[:200])
        self.buf += data

    def read_response(self, method="GET"):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        resp = parse_head(head)
        status = resp.status
        cl = resp.header("Content-Length")
        if method == "HEAD" or status in (204, 304) or status < 200:
            return resp
        if cl is None:
            # Close-delimited body.
            try:
                while True:
                    self._fill()
            except Closed:
                pass
            resp.body, self.buf = self.buf, b""
            return resp
        n = int(cl)
        while len(self.buf) < n:
            self._fill()
        resp.body, self.buf = self.buf[:n], self.buf[n:]
        return resp

    def get(self, path="/", **kw):
        self.request(path, **kw)
        return self.read_response(kw.get("method", "GET"))

    def wait_closed(self, timeout=TIMEOUT):
        """True once the server closed (EOF or reset) within timeout; any
        extra bytes the server sent are an error."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(TIMEOUT)
        assert data == b"", "unexpected data from server: %r" % data[:200]
        return True

    def nothing_within(self, seconds):
        """True if the server sends nothing (and does not close) for seconds."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(TIMEOUT)
        self.buf += data
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get(port, path="/", host="localhost", method="GET", version="1.1", headers=(),
        timeout=TIMEOUT):
    """One request on a fresh connection."""
    with Conn(port, timeout=timeout) as c:
        return c.get(path, host=host, method=method, version=version, headers=headers)


def try_get(port, path="/", host="localhost", timeout=2.0):
    """Like get() but returns None instead of raising on connection errors."""
    try:
        return get(port, path, host=host, timeout=timeout)
    except (OSError, Closed):
        return None


def connect_refused(port):
    """True if nothing listens on the port (connection refused)."""
    s = socket.socket()
    s.settimeout(2.0)
    try:
        s.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return True
    finally:
        s.close()
    return False


def signame(sig):
    return signal.Signals(sig).name

"""Helpers for the operations tests (test_ops_*.py): wrk load with parsed
results, a NOTIFY_SOCKET listener, /proc figures (fds, RSS, CPU, children,
accept readiness) and the static-site configuration they share."""

import os
import re
import signal
import socket
import subprocess
import time

from helpers import TIMEOUT, child_env, proc_stat, wait_for

WRK = "/usr/bin/wrk"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- configuration -----------------------------------------------------------

def make_site(server, size=1024, name="1k.bin"):
    """A world-readable docroot in the server's dir with one file of `size`
    bytes; returns the docroot."""
    root = os.path.join(server.dir, "html")
    os.makedirs(root, mode=0o755, exist_ok=True)
    os.chmod(root, 0o755)
    path = os.path.join(root, name)
    with open(path, "wb") as f:
        chunk = bytes(range(256)) * 256
        left = size
        while left > 0:
            f.write(chunk[:left])
            left -= len(chunk[:left])
    os.chmod(path, 0o644)
    return root


def site_http(server, gen="g0", extra_server="", extra_http="access_log off;", port=None):
    """An http block: the docroot, an X-Gen header naming the generation, and
    /pid answering with the worker's pid (to tell generations apart)."""
    port = server.port() if port is None else port
    return ("%s\nserver {\n  listen 127.0.0.1:%d;\n  root %s;\n  add_header X-Gen %s;\n"
            "  location = /pid { return 200 \"$pid\\n\"; }\n%s\n}"
            % (extra_http, port, os.path.join(server.dir, "html"), gen, extra_server))


def rewrite(server, **kw):
    """Server.write(**kw), but atomic (rename over the old file), so a
    reload still reading the previous version never sees a partial file."""
    text = server.config(**kw)
    tmp = server.conf_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, server.conf_path)
    server.text = text
    return text


# ---- wrk -------------------------------------------------------------------------

class WrkResult:
    def __init__(self, out, rc):
        self.out = out
        self.rc = rc
        m = re.search(r"(\d+) requests in ", out)
        self.requests = int(m.group(1)) if m else None
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        self.connect, self.read, self.write, self.timeout = (
            [int(x) for x in m.groups()] if m else [0, 0, 0, 0])
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        self.non2xx = int(m.group(1)) if m else 0

    @property
    def failed(self):
        return self.connect + self.read + self.write + self.timeout + self.non2xx

    def summary(self):
        return ("requests %s, failed %d (connect %d, read %d, write %d, timeout %d, non-2xx %d)"
                % (self.requests, self.failed, self.connect, self.read, self.write,
                   self.timeout, self.non2xx))


class Wrk:
    """wrk in the background.  duration bounds it; stop() ends it early
    with SIGINT, after which wrk still prints its statistics."""

    def __init__(self, url, conns=64, threads=2, duration=60, headers=(), timeout="5s"):
        self.argv = [WRK, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration,
                     "--timeout", timeout]
        for h in headers:
            self.argv += ["-H", h]
        self.argv.append(url)
        self.proc = None
        self.result = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, text=True)
        time.sleep(0.3)
        assert self.proc.poll() is None, "wrk exited at once: %s" % self.proc.stdout.read()
        return self

    def wait(self, timeout=None):
        out, _ = self.proc.communicate(timeout=timeout)
        self.result = WrkResult(out, self.proc.returncode)
        assert self.result.requests is not None, "no wrk summary:\n" + out
        return self.result

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(TIMEOUT)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()


# ---- NOTIFY_SOCKET -----------------------------------------------------------------

class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notify socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)
        self.messages = []

    def recv(self, timeout=TIMEOUT):
        """The next message as a dict (key -> value), raw text in '_raw'."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise AssertionError("no notify message within %.0f s (so far: %r)"
                                 % (timeout, self.messages))
        text = data.decode()
        msg = {"_raw": text, "_at": time.monotonic()}
        for line in text.split("\n"):
            if line:
                k, _, v = line.partition("=")
                msg[k] = v
        self.messages.append(text)
        return msg

    def nothing_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        self.messages.append(data.decode())
        return False

    def close(self):
        self.sock.close()


# ---- /proc --------------------------------------------------------------------------

def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_links(pid):
    out = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    rest = data[data.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def fast_children(pid):
    """Children of pid from /proc/<pid>/task/*/children (quick enough to
    poll every millisecond); zombies included."""
    out = set()
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except FileNotFoundError:
        return out
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out.update(int(x) for x in f.read().split())
        except FileNotFoundError:
            pass
    return out


def accepting(pid, inodes):
    """True once pid's epoll set holds one of the listening sockets with
    these inodes (listen_inodes()): the worker's loop accepts."""
    try:
        links = fd_links(pid)
    except FileNotFoundError:
        return False
    lfds = {fd for fd, l in links.items()
            if l.startswith("socket:[") and l[8:-1] in inodes}
    if not lfds:
        return False
    for fd, l in links.items():
        if l != "anon_inode:[eventpoll]":
            continue
        try:
            with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
                info = f.read()
        except FileNotFoundError:
            continue
        for m in re.finditer(r"^tfd:\s+(\d+)", info, re.M):
            if int(m.group(1)) in lfds:
                return True
    return False


def wait_gone(pids, timeout=TIMEOUT, what="processes to exit"):
    def gone():
        # One read per pid: a process may be reaped between two.
        return all(st is None or st[0] in ("Z", "X") for st in map(proc_stat, pids))
    return wait_for(gone, timeout=timeout, what=what)


def ppid(pid):
    st = proc_stat(pid)
    return st[1] if st else None


def asan_env(**extra):
    """child_env with ASan options appended (ignored by the plain build)."""
    env = child_env()
    opts = os.environ.get("ASAN_OPTIONS", "")
    add = ":".join("%s=%s" % kv for kv in extra.items())
    env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + add
    return env


def is_asan(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()

"""Shared pieces of bench/run and bench/reload.

Everything here is about running turnpike and Debian's nginx side by side on
the same machine with equivalent configurations: a work directory with a
document root, configs generated from bench/configs/*.conf.in, servers and
wrk pinned to their CPUs, wrk's output parsed, and every process we start
stopped again however the script ends.

Python 3 standard library only (run it with /usr/bin/python3).
"""

import ctypes
import glob
import http.client
import math
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
CONFIGS = os.path.join(BENCH_DIR, "configs")
DEFAULT_TURNPIKE = os.environ.get("TURNPIKE", os.path.join(REPO, "_build/plain/src/turnpike"))
DEFAULT_NGINX = "/usr/sbin/nginx"
# Mozilla's intermediate TLS 1.2 suites, in both servers.
TLS_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
               "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
               "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
MBEDTLS = os.environ.get("MBEDTLS_DIR", "/opt/turnpike/mbedtls")

# The static files every scenario serves, by URL path and size in bytes.
FILES = {"/1k.bin": 1024, "/100k.bin": 100 * 1024}

# How long a server may take to come up (a busy 2-core machine is slow).
START_TIMEOUT = 20.0


def log(msg):
    """Progress goes to stderr so stdout holds only the results."""
    print(msg, file=sys.stderr, flush=True)


# ---- cleanup ---------------------------------------------------------------

class Reaper:
    """Everything we started, so that any exit path can stop it.

    Servers, wrk and helper processes all run in their own process group
    (start_new_session), so a Ctrl-C in the terminal reaches only us and we
    decide the order of shutdown; each also gets PR_SET_PDEATHSIG, so even a
    SIGKILL of the script takes them down."""

    def __init__(self):
        self.items = []  # objects with a stop() method, newest last

    def add(self, item):
        self.items.append(item)
        return item

    def discard(self, item):
        if item in self.items:
            self.items.remove(item)

    def stop_all(self):
        # A second Ctrl-C must not interrupt the cleanup half-way.
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while self.items:
                item = self.items.pop()
                try:
                    item.stop()
                except Exception as e:  # keep stopping the rest
                    log("cleanup: %r: %s" % (item, e))
        finally:
            for s, h in old.items():
                signal.signal(s, h)


REAPER = Reaper()


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def install_cleanup():
    """Turns SIGTERM/SIGHUP into SystemExit and SIGINT into
    KeyboardInterrupt, so the callers' finally blocks run REAPER.stop_all().
    SIGINT is set explicitly because Python leaves it ignored when started
    in the background by a shell without job control."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _child_setup():
    # Runs in the child between fork and exec: die when the script dies.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_POPEN_PIDS = set()  # children subprocess reaps; reap_orphans() leaves them alone


def spawn(cmd, **kw):
    """Popen in a new session, tied to our lifetime."""
    p = subprocess.Popen(cmd, start_new_session=True, preexec_fn=_child_setup, **kw)
    _POPEN_PIDS.add(p.pid)
    return p


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Makes orphaned descendants our children instead of pid 1's.

    A daemonized master, or a new binary's master once the old one has
    exited, has no parent left among the processes we started.  pid 1 of
    some containers and VMs (this one's included) never reaps, so they
    would stay zombies for good and, worse, look alive to kill(pid, 0).
    As their subreaper we see them exit and reap them (reap_orphans)."""
    if _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log("bench: PR_SET_CHILD_SUBREAPER failed; orphaned masters may stay zombies")


def reap_orphans():
    """Reaps the children we got as subreaper (not the ones subprocess
    owns, whose Popen objects would then lose their exit status)."""
    for pid in fast_children(os.getpid()) - _POPEN_PIDS:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


class Proc:
    """A plain child process (wrk, a helper) registered with the reaper."""

    def __init__(self, cmd, **kw):
        self.p = spawn(cmd, **kw)
        REAPER.add(self)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.p.wait()
        REAPER.discard(self)


# ---- environment -----------------------------------------------------------

def raise_nofile():
    """Soft fd limit up to the hard one: wrk -c1000, the idle-connection
    helpers and the servers' worker_rlimit_nofile all inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def require_tools(binaries):
    missing = [b for b in binaries if not (shutil.which(b) or os.access(b, os.X_OK))]
    if missing:
        sys.exit("bench: missing %s (scripts/install-deps --test installs them)"
                 % ", ".join(missing))


def make_workdir(keep):
    """A fresh directory for configs, logs and the document root.

    It is world-readable because both servers' workers run as nobody."""
    d = tempfile.mkdtemp(prefix="turnpike-bench-")
    os.chmod(d, 0o755)
    if not keep:
        REAPER.add(_RemoveDir(d))
    return d


class _RemoveDir:
    def __init__(self, path):
        self.path = path

    def stop(self):
        shutil.rmtree(self.path, ignore_errors=True)


def make_docroot(workdir):
    root = os.path.join(workdir, "www")
    os.mkdir(root)
    os.chmod(root, 0o755)
    for path, size in FILES.items():
        name = os.path.join(root, path.lstrip("/"))
        with open(name, "wb") as f:
            f.write(os.urandom(size))
        os.chmod(name, 0o644)
    return root


def snapshot_binary(src, workdir):
    """Copies the turnpike binary so that a rebuild by someone else during
    a long run neither removes it under us nor mixes two builds in one run."""
    if not os.access(src, os.X_OK):
        sys.exit("bench: %s is not an executable (build it: make -C %s/_build/plain -j2)"
                 % (src, REPO))
    dst = os.path.join(workdir, "turnpike.bin")
    shutil.copy2(src, dst)
    return dst


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    with open("/proc/loadavg") as f:
        return tuple(float(x) for x in f.read().split()[:3])


def _cmd_output(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info(turnpike, nginx):
    """The facts docs/benchmarks.md records next to the numbers."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = "?"
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    commit = _cmd_output(["git", "-C", REPO, "describe", "--always", "--dirty"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": os.uname().release,
        "debian": debian,
        "nginx": _cmd_output([nginx, "-v"]).replace("nginx version: ", ""),
        "nginx_pkg": _cmd_output(["dpkg-query", "-W", "-f", "${Version}", "nginx-light"]),
        "wrk_pkg": _cmd_output(["dpkg-query", "-W", "-f", "${Version}", "wrk"]),
        "turnpike": _cmd_output([turnpike, "-v"]),
        "commit": commit,
        "loadavg": loadavg(),
    }


def print_machine(info, out=sys.stdout):
    print("date:     %s" % info["date"], file=out)
    print("machine:  %d x %s, Linux %s, Debian %s"
          % (info["cpus"], info["cpu_model"], info["kernel"], info["debian"]), file=out)
    print("software: %s; nginx %s (nginx-light %s); wrk %s; commit %s"
          % (info["turnpike"], info["nginx"], info["nginx_pkg"], info["wrk_pkg"], info["commit"]),
          file=out)
    la = info["loadavg"]
    busy = "  (busy machine: numbers are noisy)" if la[0] > 1.5 else ""
    print("load:     %.2f %.2f %.2f at start%s" % (la[0], la[1], la[2], busy), file=out)


# ---- /proc -----------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, utime+stime seconds, starttime seconds since boot)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data[data.rindex(")") + 2:].split()
    tck = os.sysconf("SC_CLK_TCK")
    return rest[0], int(rest[1]), (int(rest[11]) + int(rest[12])) / tck, int(rest[19]) / tck


def children(ppid):
    """Live (non-zombie) child pids of ppid."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st and st[1] == ppid and st[0] not in ("Z", "X"):
                out.append(int(name))
    return sorted(out)


def cpu_seconds(pids):
    return sum((proc_stat(p) or (0, 0, 0.0, 0))[2] for p in pids)


def parse_cpu_list(cpus):
    """taskset's list syntax ("0", "0-1,3") as a set of CPU numbers."""
    out = set()
    for part in cpus.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def cpu_jiffies(cpus):
    """(busy, steal, total) clock ticks of a CPU set from /proc/stat; busy
    is time in processes, without interrupts, which the kernel accounts
    apart from the process they happen to interrupt."""
    busy = steal = total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *vals = line.split()
            if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
                continue
            user, nice, system, idle, iowait, irq, softirq, st = map(int, vals[:8])
            busy += user + nice + system
            steal += st
            total += user + nice + system + idle + iowait + irq + softirq + st
    return busy, steal, total


def uptime():
    """Seconds since boot on the clock /proc/<pid>/stat starttime uses."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


def memory(pid):
    """Rss, Pss and Private (clean+dirty) of a process, in bytes.

    Private is the honest cost of new connections: a page the worker
    shared copy-on-write with the master counts in Rss from the start and
    turns private only when written."""
    vals = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                vals[k] = int(v.split()[0]) * 1024
    return {"rss": vals["Rss"], "pss": vals["Pss"],
            "private": vals["Private_Clean"] + vals["Private_Dirty"]}


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def fast_children(pid):
    """Children of pid (zombies included) from /proc/<pid>/task/*/children:
    cheap enough to poll every millisecond, unlike children()."""
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


def gone(pid):
    """True once pid has exited (a zombie counts as exited)."""
    reap_orphans()
    st = proc_stat(pid)
    return st is None or st[0] in ("Z", "X")


def age(pid):
    """Seconds since pid started, or None if it is gone."""
    st = proc_stat(pid)
    return None if st is None else uptime() - st[3]


def wait_until(pred, timeout, step=0.005):
    """pred()'s first true value, or None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v or None
        time.sleep(step)


def fd_links(pid):
    """{fd: link target} of a process ({} once it is gone)."""
    out = {}
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except (FileNotFoundError, ProcessLookupError):
        return out
    for fd in fds:
        try:
            out[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return out


def tcp_socket_inodes(pid):
    """Inodes of the TCP sockets a process holds, listening or connected
    (sockfs tells a socket's protocol in the xattr system.sockprotoname,
    also through /proc/<pid>/fd)."""
    out = set()
    for fd, l in fd_links(pid).items():
        if not l.startswith("socket:["):
            continue
        try:
            proto = os.getxattr("/proc/%d/fd/%d" % (pid, fd), "system.sockprotoname")
        except OSError:  # closed meanwhile
            continue
        if proto.rstrip(b"\0") in (b"TCP", b"TCPv6"):
            out.add(int(l[8:-1]))
    return out


def polls_listen(pid, listen_inodes):
    """True once pid's epoll set holds one of these listening sockets: its
    event loop is ready to accept (the fdinfo of an epoll fd lists the fds
    it watches as "tfd: N")."""
    links = fd_links(pid)
    lfds = {fd for fd, l in links.items()
            if l.startswith("socket:[") and int(l[8:-1]) in listen_inodes}
    for fd, l in links.items():
        if not lfds or l != "anon_inode:[eventpoll]":
            continue
        try:
            with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
                info = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if any(int(m) in lfds for m in re.findall(r"^tfd:\s+(\d+)", info, re.M)):
            return True
    return False


def exe_id(pid):
    """(st_dev, st_ino) of the file a process runs, even if it was replaced
    on disk since: to tell which binary a master really executed."""
    try:
        st = os.stat("/proc/%d/exe" % pid)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# ---- listening sockets through sock_diag ----------------------------------
#
# /proc/net/tcp lists every TIME_WAIT socket too (over 20,000 after a
# Connection: close run) and takes about 8 ms per 1,000 lines to read here;
# a sock_diag dump of the LISTEN sockets alone takes some 40 us.

_TCP_LISTEN = 10
_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY = 4, 20
_NLM_F_REQUEST, _NLM_F_DUMP, _NLMSG_ERROR, _NLMSG_DONE = 0x1, 0x300, 2, 3


def listen_sockets(port):
    """{inode: accept queue length} of the IPv4 TCP sockets listening on
    port.  The queue holds the connections the kernel completed that no
    process has accepted yet."""
    # struct inet_diag_req_v2 with a zeroed inet_diag_sockid (no cookie).
    req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << _TCP_LISTEN)
    req += b"\0" * 40 + struct.pack("=II", 0xFFFFFFFF, 0xFFFFFFFF)
    msg = struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY,
                      _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0) + req
    out = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
        nl.sendto(msg, (0, 0))
        while True:
            data = nl.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, mtype = struct.unpack_from("=IH", data, off)
                if mtype == _NLMSG_DONE:
                    return out
                if mtype == _NLMSG_ERROR:
                    raise OSError("sock_diag: netlink error")
                # struct inet_diag_msg after the header: family, state,
                # timer, retrans, the sockid (local port first, big-endian),
                # then expires, rqueue, wqueue, uid, inode.
                body = off + 16
                sport = struct.unpack_from("!H", data, body + 4)[0]
                rqueue, _, _, inode = struct.unpack_from("=IIII", data, body + 56)
                if sport == port:
                    out[inode] = rqueue
                off += (length + 3) & ~3


# ---- servers ---------------------------------------------------------------

def http_get(port, path, headers=None, timeout=5.0):
    """(status, {lower-case header: value}, body) of one request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Server:
    """One turnpike or nginx instance: its prefix directory, config,
    master process and workers.

    kind is "turnpike" or "nginx" (which template), name labels it in
    output ("nginx-b" for the control instance).

    With daemon=False (the default) the master is our child; with True it
    forks away and we find it through its pid file.  master_pid is the
    master that serves now: a binary upgrade moves it to the new master,
    and every master ever seen is in self.masters for stop()."""

    def __init__(self, kind, binary, workdir, name=None, cpus="0", workers=1,
                 worker_connections=1024, open_file_cache=False, nofile=None):
        self.kind = kind
        self.name = name or kind
        self.binary = binary
        self.prefix = os.path.join(workdir, self.name)
        self.docroot = os.path.join(workdir, "www")
        self.cpus = cpus
        self.workers = workers
        self.worker_connections = worker_connections
        self.open_file_cache = open_file_cache
        self.nofile = nofile or resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        self.add_header = None  # (name, value) served from location /, or None
        self.tls = None  # {"cert", "key", "offload"}: also serve TLS on tls_port
        self.tls_port = None
        self.proxy = None  # {"upstream": port, "ws": port}: also proxy on proxy_port
        self.proxy_port = None
        self.daemon = False
        self.port = None
        self.proc = None  # Popen of what we started (the master unless daemon)
        self.master_pid = None
        self.masters = set()  # every master pid seen, for stop()
        self.pgid = None  # the masters' and workers' process group
        for d in ("", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.conf = os.path.join(self.prefix, "bench.conf")
        self.error_log = os.path.join(self.prefix, "error.log")
        self.stderr_path = os.path.join(self.prefix, "stderr.log")
        self.pid_file = os.path.join(self.prefix, "server.pid")

    def __repr__(self):
        return "<%s pid=%s port=%s>" % (self.name, self.master_pid, self.port)

    # -- configuration

    def render_config(self):
        with open(os.path.join(CONFIGS, self.kind + ".conf.in")) as f:
            text = f.read()
        ofc = ("open_file_cache max=1000 inactive=60s;\n    open_file_cache_valid 60s;"
               if self.open_file_cache else "open_file_cache off;")
        hdr = 'add_header %s "%s";' % self.add_header if self.add_header else ""
        values = {
            "WORKERS": self.workers,
            "NOFILE": self.nofile,
            "WORKER_CONNECTIONS": self.worker_connections,
            "KEEPALIVE_REQUESTS": 100000,
            "OPEN_FILE_CACHE": ofc,
            "PORT": self.port,
            "DOCROOT": self.docroot,
            "PREFIX": self.prefix,
            "ADD_HEADER": hdr,
            "TLS_SERVER": self.tls_server_block(),
            "PROXY_SERVER": self.proxy_server_block(),
            "PROXY_NGINX_ONLY": "proxy_max_temp_file_size 0;" if self.proxy else "",
            "DAEMON": "on" if self.daemon else "off",
        }
        for k, v in values.items():
            text = text.replace("@%s@" % k, str(v))
        code = [l for l in text.splitlines() if not l.lstrip().startswith("#")]
        left = re.findall(r"@[A-Z_]+@", "\n".join(code))
        assert not left, "unfilled placeholders %s in %s.conf.in" % (left, self.kind)
        return text

    def tls_server_block(self):
        """The TLS server of both configurations: Mozilla's intermediate
        settings with a shared session cache and tickets on."""
        if not self.tls:
            return ""
        offload = ("\n        ssl_handshake_offload %s;" % ("on" if self.tls["offload"] else "off")
                   if self.kind == "turnpike" else "")
        return """server {
        listen 127.0.0.1:%d ssl backlog=511;
        root %s;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers %s;
        ssl_ecdh_curve auto;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 10m;
        ssl_session_tickets on;%s
    }""" % (self.tls_port, self.docroot, self.tls["cert"], self.tls["key"], TLS_CIPHERS, offload)

    def proxy_server_block(self):
        """The proxy of both configurations: / to a static upstream over a
        keep-alive pool, /ws to a WebSocket echo upstream."""
        if not self.proxy:
            return ""
        return """upstream bench_static {
        server 127.0.0.1:%d;
        keepalive 64;
    }
    upstream bench_ws {
        server 127.0.0.1:%d;
    }
    server {
        listen 127.0.0.1:%d backlog=511;
        proxy_http_version 1.1;
        proxy_buffer_size 4k;
        proxy_buffers 8 4k;
        location / {
            proxy_pass http://bench_static;
            proxy_set_header Connection "";
        }
        location /ws {
            proxy_pass http://bench_ws;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
        }
    }""" % (self.proxy["upstream"], self.proxy["ws"], self.proxy_port)

    def write_config(self):
        """Atomically, so a reload never reads a half-written file."""
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.render_config())
        os.rename(tmp, self.conf)

    # -- lifecycle

    def start(self):
        """Starts the master pinned to self.cpus on a free port and waits
        until every worker is up and a file is served."""
        REAPER.add(self)  # before the spawn: a Ctrl-C may come at any time
        for attempt in range(3):
            self.port = free_port()
            self.tls_port = free_port() if self.tls else None
            self.proxy_port = free_port() if self.proxy else None
            self.write_config()
            if self._start_once():
                return self
            self._kill()
            # Most likely someone took the port between free_port() and bind.
            log("%s: start failed (attempt %d):\n%s" % (self.name, attempt + 1, self.diagnostics()))
        raise RuntimeError("%s would not start (logs above; --keep keeps %s)"
                           % (self.name, self.prefix))

    def _start_once(self):
        cmd = ["taskset", "-c", self.cpus, self.binary,
               "-p", self.prefix + "/", "-c", self.conf, "-e", self.error_log]
        for path in (self.pid_file, self.pid_file + ".oldbin"):
            if os.path.exists(path):
                os.unlink(path)
        with open(self.stderr_path, "ab") as err:
            self.proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None and (rc != 0 or not self.daemon):
                return False
            # A daemon's parent exits at once; the pid file names the master.
            master = self.read_pid() if self.daemon else self.proc.pid
            if master and not gone(master):
                self.master_pid = master
                self.masters.add(master)
                self.pgid = os.getpgid(master)
                if len(self.worker_pids()) == self.workers and self._serves():
                    return True
            time.sleep(0.05)
        return False

    def read_pid(self, suffix=""):
        """The pid in the pid file (suffix ".oldbin" during an upgrade), or
        None while it does not exist or is being written."""
        try:
            with open(self.pid_file + suffix) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _serves(self):
        try:
            return http_get(self.port, "/1k.bin", timeout=1.0)[0] == 200
        except OSError:
            return False

    def worker_pids(self):
        """The current master's children.  During a binary upgrade the old
        master's children include the new master."""
        return children(self.master_pid) if self.alive() else []

    def alive(self):
        return self.master_pid is not None and not gone(self.master_pid)

    def reload(self):
        os.kill(self.master_pid, signal.SIGHUP)

    def stop(self):
        """Fast stop (TERM) of every master still there, then SIGKILL the
        whole process group if a master or any worker outlives a few
        seconds."""
        REAPER.discard(self)
        if not self.proc:
            return
        live = [m for m in self.masters if not gone(m)]
        for m in live:
            os.kill(m, signal.SIGTERM)
        wait_until(lambda: all(gone(m) for m in live), 5.0, step=0.02)
        self._kill()

    def _kill(self):
        # The group is the session we created for this master (or the one a
        # daemon made with setsid): masters, workers and nothing else.  A
        # new binary's master stays in the group of the master that
        # started it.
        groups = {self.pgid}
        if self.proc.poll() is None:
            groups.add(self.proc.pid)
        if self.daemon and self.pgid is None:
            # A failed start: the daemon may have written its pid file.
            pid = self.read_pid()
            if pid and not gone(pid):
                groups.add(os.getpgid(pid))
        for g in groups - {None}:
            try:
                os.killpg(g, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        wait_until(lambda: all(gone(m) for m in self.masters), 5.0, step=0.02)

    # -- diagnostics

    def log_problems(self, expected=()):
        """Lines of the error log at level crit or worse; tests treat
        [alert] and [emerg] as bugs, and so do we, except for lines that
        match one of the `expected` regexes (a worker we killed)."""
        try:
            with open(self.error_log, errors="replace") as f:
                return [l.rstrip() for l in f if re.search(r"\[(crit|alert|emerg)\]", l)
                        and not any(re.search(e, l) for e in expected)]
        except FileNotFoundError:
            return []

    def diagnostics(self):
        out = []
        for path in (self.stderr_path, self.error_log):
            try:
                with open(path, errors="replace") as f:
                    tail = f.readlines()[-15:]
                out.append("--- %s\n%s" % (path, "".join(tail)))
            except FileNotFoundError:
                pass
        return "\n".join(out)


def check_response(server, path):
    """The benchmark URL must give 200 and exactly the file on disk, so both
    servers provably do the same work; returns the size of the response
    head (without the status line) so that the output can compare them."""
    status, headers, body = http_get(server.port, path)
    with open(os.path.join(server.docroot, path.lstrip("/")), "rb") as f:
        want = f.read()
    if status != 200 or body != want:
        raise RuntimeError("%s: GET %s gave %d with %d bytes, not the file"
                           % (server.name, path, status, len(body)))
    return len("".join("%s: %s\r\n" % kv for kv in headers.items()))


# ---- wrk -------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _latency_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out):
    """The numbers we use from wrk's --latency output."""
    r = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("wrk gave no result:\n" + out)
    r["rps"] = float(m.group(1))
    r["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    r["p99_ms"] = _latency_ms(m.group(1)) if m else float("nan")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["connect"], r["read"], r["write"], r["timeout"] = map(int, m.groups())
    # wrk counts statuses >= 400 here; the benchmark URLs never redirect,
    # so this is the non-2xx count.
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    r["failed"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["non2xx"]
    return r


def wrk_cmd(port, path, conns, duration, cpus, threads=1, headers=(), scheme="http"):
    """wrk takes whole seconds only; scheme "https" makes it a TLS client
    (OpenSSL's defaults: TLS 1.3)."""
    cmd = ["taskset", "-c", cpus, "wrk", "-t%d" % threads, "-c%d" % conns,
           "-d%ds" % math.ceil(duration), "--latency"]
    for h in headers:
        cmd += ["-H", h]
    return cmd + ["%s://127.0.0.1:%d%s" % (scheme, port, path)]


class Load:
    """A load generator (wrk, tlsload) running in the background; result()
    waits and parses its output with `parse`."""

    def __init__(self, cmd, parse):
        self._ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.parse = parse
        self.proc = Proc(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)

    def stop(self, timeout=30):
        """Ends the run now: on SIGINT wrk stops its threads and prints the
        results of the time it ran, as at the end of its -d duration."""
        if self.proc.p.poll() is None:
            self.proc.p.send_signal(signal.SIGINT)
        return self.result(timeout)

    def result(self, timeout):
        out, _ = self.proc.p.communicate(timeout=timeout)
        self.proc.stop()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = self.parse(out)
        # It is the only child reaped in between, so this is its CPU time.
        r["wrk_cpu_s"] = (ru.ru_utime - self._ru0.ru_utime) + (ru.ru_stime - self._ru0.ru_stime)
        return r


def Wrk(cmd):
    """wrk running in the background."""
    return Load(cmd, parse_wrk)


def run_wrk(server, path, conns, duration, cpus, threads=1, headers=()):
    """One wrk run against server (see run_load)."""
    return run_load(server, wrk_cmd(server.port, path, conns, duration, cpus, threads, headers),
                    parse_wrk, duration, cpus)


def run_load(server, cmd, parse, duration, cpus):
    """One load run against server; adds the workers' CPU use to the result:
    its share of wall time shows whether the server or the load generator
    was the bottleneck, and CPU per request how much work a request costs."""
    pids = server.worker_pids()
    srv_cpus, wrk_cpus = parse_cpu_list(server.cpus), parse_cpu_list(cpus)
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    srv0, wrk0 = cpu_jiffies(srv_cpus), cpu_jiffies(wrk_cpus)
    r = Load(cmd, parse).result(timeout=duration + 60)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(pids) - cpu0
    r["srv_cpu"] = cpu / elapsed
    r["wrk_cpu"] = r["wrk_cpu_s"] / elapsed
    # CPU time per request suffers less than req/s when other work shares
    # the server's CPU, so it is the steadier figure on a busy host.
    r["srv_us_per_req"] = 1e6 * cpu / max(1, r["requests"])
    r["other_srv"], r["steal"] = _foreign(srv0, cpu_jiffies(srv_cpus), r["srv_cpu"], srv_cpus)
    r["other_wrk"], _ = _foreign(wrk0, cpu_jiffies(wrk_cpus), r["wrk_cpu"], wrk_cpus)
    r["workers_same"] = server.worker_pids() == pids
    return r


# ---- TLS ---------------------------------------------------------------------

def make_cert(d, name, cn="bench.test"):
    """A self-signed ECDSA P-256 certificate and its key in directory d
    (made if need be) as NAMEcert.pem and NAMEkey.pem; returns their paths."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    cert, key = os.path.join(d, name + "cert.pem"), os.path.join(d, name + "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=" + cn,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o644)  # nginx's workers read nothing; the masters read it as root
    return cert, key


def make_tls_files(workdir):
    """An ECDSA P-256 certificate for both servers, and the TLS tools
    (bench/tlsload.c with OpenSSL, bench/tls_ceiling.c with mbedTLS)
    compiled into the work directory."""
    d = os.path.join(workdir, "tls")
    cert, key = make_cert(d, "")
    tools = {"tlsload": os.path.join(d, "tlsload"), "ceiling": os.path.join(d, "tls_ceiling")}
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-o", tools["tlsload"], os.path.join(BENCH_DIR, "tlsload.c"),
                    "-lssl", "-lcrypto"], check=True)
    lib = os.path.join(MBEDTLS, "lib")
    subprocess.run([cc, "-O2", "-I" + os.path.join(MBEDTLS, "include"), "-o", tools["ceiling"],
                    os.path.join(BENCH_DIR, "tls_ceiling.c"), os.path.join(lib, "libmbedtls.a"),
                    os.path.join(lib, "libmbedx509.a"), os.path.join(lib, "libmbedcrypto.a")]
                   + glob.glob(os.path.join(lib, "libeverest.a")) + ["-pthread"], check=True)
    return {"cert": cert, "key": key, "tools": tools}


def build_wsload(workdir):
    """bench/wsload.c compiled into the work directory."""
    path = os.path.join(workdir, "wsload")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", path,
                    os.path.join(BENCH_DIR, "wsload.c")], check=True)
    return path


def parse_tlsload(out):
    """tlsload's key=value line, in run_wrk's terms."""
    m = re.search(r"requests=(\d+) rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) "
                  r"max_ms=([\d.]+) errors=(\d+) resumed=(\d+)", out)
    if not m:
        raise RuntimeError("tlsload gave no result:\n" + out)
    r = {"requests": int(m.group(1)), "rps": float(m.group(2)), "p50_ms": float(m.group(3)),
         "p99_ms": float(m.group(4)), "max_ms": float(m.group(5)), "resumed": int(m.group(7))}
    r.update(connect=0, read=0, write=0, timeout=0, non2xx=0, failed=int(m.group(6)))
    r["read"] = r["failed"]
    return r


def tlsload_cmd(tool, port, mode, version, conns, duration, cpus, path="/1k.bin", gap_us=0,
                no_tickets=False):
    cmd = ["taskset", "-c", cpus, tool, "-p", str(port), "-m", mode, "-v", version,
           "-c", str(conns), "-d", str(duration), "-u", path]
    if gap_us:
        cmd += ["-w", str(gap_us)]
    if no_tickets:
        cmd.append("-T")
    return cmd


def run_tls_ceiling(tool, key, seconds, cpus):
    """ops/s of the server's crypto per handshake, pinned like a server."""
    out = subprocess.run(["taskset", "-c", cpus, tool, key, str(seconds)], check=True,
                         capture_output=True, text=True, timeout=seconds * 3 + 30).stdout
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", out)}


def _foreign(before, after, own_share, cpus):
    """Noise gauges for a CPU set over one run: the share of its time that
    processes other than the measured one used (another job, kernel
    threads), and the share the hypervisor gave to other guests (steal)."""
    busy, steal, total = (b - a for a, b in zip(before, after))
    total = max(1, total)
    return max(0.0, busy / total - own_share / len(cpus)), steal / total

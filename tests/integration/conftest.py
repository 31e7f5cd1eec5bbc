"""Fixtures for the turnpike integration tests.

`server` (and `make_server` for several) give a Server: a temp dir under /tmp
readable by the workers' user, a config written there, and a master started
as a child process with `daemon off`.  Teardown stops it with QUIT (TERM and
KILL only as a fallback, which then fails the test), checks that the master
and every worker it ever had are gone, that the error log holds no [alert] or
[emerg] line the test did not declare with Server.expect_log(), and that no
process printed a sanitizer report.

Set TURNPIKE to the binary to test (default: the plain build).  Set TP_KEEP=1
to keep the temp dirs.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers import (  # noqa: E402
    SANITIZER_MARKERS, TIMEOUT, TURNPIKE, Closed, child_env, children, free_port, get,
    proc_alive, proc_stat, wait_for)


class Server:
    """One turnpike instance under test."""

    def __init__(self, name="tp"):
        self.dir = tempfile.mkdtemp(prefix="turnpike-%s-" % name, dir="/tmp")
        os.chmod(self.dir, 0o755)
        # nginx's layout: the default access_log is logs/access.log.
        os.mkdir(os.path.join(self.dir, "logs"), 0o755)
        self.conf_path = os.path.join(self.dir, "turnpike.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.pid_file = os.path.join(self.dir, "turnpike.pid")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.ports = {}
        self.proc = None
        self.master_pid = None
        self.daemon = False
        self.master_process = True
        self.nworkers = 2
        self.seen = {}  # pid -> starttime of every master/worker seen
        self.expected = []  # regexes: [alert]/[emerg] lines the test expects
        self.problems = []  # found by stop()/check()
        self.text = ""

    # ---- config --------------------------------------------------------

    def port(self, name="main"):
        if name not in self.ports:
            self.ports[name] = free_port()
        return self.ports[name]

    def config(self, http="", main="", events="worker_connections 256;", workers=2,
               daemon=False, master_process=True, pid=True, error_log=True):
        """The standard test config around the given http block body (None
        for no http block) and extra main-context directives."""
        out = ["daemon %s;" % ("on" if daemon else "off")]
        if not master_process:
            out.append("master_process off;")
        out.append("worker_processes %s;" % workers)
        if error_log:
            out.append("error_log %s info;" % self.error_log)
        if pid:
            out.append("pid %s;" % self.pid_file)
        if main:
            out.append(main)
        out.append("events { %s }" % events)
        if http is not None:
            out.append("http {\n%s\n}" % http)
        return "\n".join(out) + "\n"

    def write(self, text=None, **kw):
        """Writes the config: the given text, or config(**kw)."""
        if text is None:
            self.daemon = kw.get("daemon", False)
            self.master_process = kw.get("master_process", True)
            w = kw.get("workers", 2)
            self.nworkers = w if isinstance(w, int) else os.cpu_count()
            text = self.config(**kw)
        self.text = text
        with open(self.conf_path, "w") as f:
            f.write(text)
        return text

    def write_file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # ---- running -------------------------------------------------------

    def argv(self, *extra):
        return [TURNPIKE, "-p", self.dir + "/", "-c", self.conf_path] + list(extra)

    def cli(self, *extra, timeout=TIMEOUT, env=None):
        """Runs the binary with this server's -p/-c plus extra flags."""
        return subprocess.run(self.argv(*extra), capture_output=True, text=True,
                              timeout=timeout, env=child_env() if env is None else env)

    def listening_ports(self):
        return [p for p in self.ports.values() if "127.0.0.1:%d" % p in self.text]

    def start(self, *extra, wait=True, env=None):
        assert self.master_pid is None or not self.alive(), "already running"
        self._stderr = open(self.stderr_path, "ab")
        env = child_env() if env is None else env
        if self.daemon:
            r = subprocess.run(self.argv(*extra), stdout=self._stderr, stderr=self._stderr,
                               timeout=TIMEOUT, env=env)
            assert r.returncode == 0, "daemon start failed:\n" + self.stderr()
            self.master_pid = wait_for(self.read_pid, what="pid file")
        else:
            self.proc = subprocess.Popen(self.argv(*extra), stdin=subprocess.DEVNULL,
                                         stdout=self._stderr, stderr=self._stderr,
                                         start_new_session=True, env=env)
            self.master_pid = self.proc.pid
        st = proc_stat(self.master_pid)
        if st:
            self.seen[self.master_pid] = st[2]
        if wait:
            self.wait_ready()
        return self

    def read_pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def wait_ready(self):
        if self.master_process:
            self.wait_workers(self.nworkers)
        for p in self.listening_ports():
            wait_for(lambda: self._answers(p), what="port %d to answer" % p)

    def _answers(self, port):
        assert self.alive(), "turnpike exited early:\n%s\n%s" % (self.stderr(), self.log())
        try:
            get(port, timeout=2.0)
            return True
        except (OSError, Closed):
            return False

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return self.master_pid is not None and proc_alive(self.master_pid,
                                                          self.seen.get(self.master_pid))

    def workers(self):
        """Current worker pids (children of the master), remembered for the
        final check that they are all gone."""
        kids = children(self.master_pid)
        for k in kids:
            st = proc_stat(k)
            if st:
                self.seen.setdefault(k, st[2])
        return kids

    def wait_workers(self, n, exclude=()):
        """Waits until exactly n workers run and none of `exclude` is among
        them; returns their pids."""
        exclude = set(exclude)

        def ok():
            assert self.alive(), "master exited:\n%s\n%s" % (self.stderr(), self.log())
            kids = self.workers()
            return kids if len(kids) == n and not exclude & set(kids) else None
        return wait_for(ok, what="%d workers (not %s)" % (n, sorted(exclude)))

    def kill(self, sig):
        os.kill(self.master_pid, sig)

    def reload(self, wait=True):
        """HUP, then wait until a new generation replaced all old workers."""
        old = self.workers()
        mark = self.log_size()
        self.kill(signal.SIGHUP)
        if wait:
            self.wait_log(r"signal 1 \(SIGHUP\) received", since=mark)
            self.wait_workers(self.nworkers, exclude=old)
        return old

    def wait_exit(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return True
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGQUIT):
        """Stops the master; records a problem if it needs more than sig."""
        if self.master_pid is None or not self.alive():
            return
        self.workers()
        self.kill(sig)
        if self.wait_exit():
            return
        self.problems.append("master did not exit on %s" % signal.Signals(sig).name)
        for s in (signal.SIGTERM, signal.SIGKILL):
            try:
                self.kill(s)
            except ProcessLookupError:
                pass
            if self.wait_exit(5):
                return

    # ---- logs -----------------------------------------------------------

    def log(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.error_log)
        except FileNotFoundError:
            return 0

    def log_since(self, mark):
        with open(self.error_log, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def wait_log(self, regex, since=0, timeout=TIMEOUT):
        """Waits for a line matching regex in the error log (after byte
        offset `since`); returns the match."""
        def find():
            return re.search(regex, self.log_since(since) if since else self.log())
        return wait_for(find, timeout=timeout, what="log line /%s/" % regex)

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def expect_log(self, regex):
        """Declares that [alert]/[emerg] lines matching regex are expected."""
        self.expected.append(re.compile(regex))

    # ---- final check ---------------------------------------------------------

    def check(self):
        """Stops the server and returns a list of problems (empty if fine)."""
        try:
            self.stop()
        except Exception as e:  # still check the rest
            self.problems.append("stop failed: %r" % e)
        problems = list(self.problems)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            problems.append("master still running")
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        # Every process of this instance must be gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                proc_alive(p, t) for p, t in self.seen.items()):
            time.sleep(0.05)
        left = [p for p, t in self.seen.items() if proc_alive(p, t)]
        if left:
            problems.append("processes left running: %s" % left)
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.master_pid is not None and os.path.exists(self.pid_file):
            problems.append("pid file %s not removed at exit" % self.pid_file)
        bad = [line for line in self.log().splitlines()
               if ("[alert]" in line or "[emerg]" in line)
               and not any(r.search(line) for r in self.expected)]
        for line in bad[:10]:
            problems.append("unexpected error log line: %s" % line)
        if len(bad) > 10:
            problems.append("... and %d more unexpected [alert]/[emerg] lines" % (len(bad) - 10))
        for name, text in (("stderr", self.stderr()), ("error.log", self.log())):
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    i = text.index(marker)
                    problems.append("sanitizer report in %s:\n%s"
                                    % (name, text[max(0, i - 200):i + 3000]))
                    break
        if hasattr(self, "_stderr"):
            self._stderr.close()
        return problems

    def cleanup(self, ok):
        if ok and not os.environ.get("TP_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def _finish(servers):
    problems = []
    for s in servers:
        for p in s.check():
            problems.append("[%s] %s" % (s.dir, p))
    for s in servers:
        s.cleanup(not problems)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def make_server():
    """Factory: make_server(name) -> Server, all checked at teardown."""
    servers = []

    def make(name="tp"):
        s = Server(name)
        servers.append(s)
        return s
    yield make
    _finish(servers)


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture(scope="module")
def module_servers():
    """Like make_server, for servers shared by a whole module."""
    servers = []

    def make(name="tp"):
        s = Server(name)
        servers.append(s)
        return s
    yield make
    _finish(servers)


def pytest_configure(config):
    if not os.access(TURNPIKE, os.X_OK):
        pytest.exit("turnpike binary %s is missing; build it or set TURNPIKE" % TURNPIKE,
                    returncode=1)


def pytest_report_header(config):
    return "turnpike binary: %s" % TURNPIKE

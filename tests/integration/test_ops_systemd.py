"""Operations: systemd integration without systemd -- sd_notify messages to
our own NOTIFY_SOCKET, socket activation with systemd-socket-activate, and
`systemd-analyze verify` of the generated units (issue #4)."""

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import warnings

import pytest

from helpers import TURNPIKE, child_env, get, listen_inodes, wait_for
from ops_helpers import NotifySocket, fd_links, make_site, rewrite, site_http

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def monotonic_usec():
    return time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6


# ---- sd_notify ---------------------------------------------------------------

def test_notify_sequence(server):
    make_site(server)
    server.write(http=site_http(server, "g1"))
    ns = NotifySocket(server.dir)
    try:
        server.start(wait=False, env=child_env(NOTIFY_SOCKET=ns.path))
        port = server.port()

        # Start: READY=1 once the workers accept.
        m = ns.recv()
        assert m.get("READY") == "1", m
        assert re.fullmatch(r"generation 1 serving", m.get("STATUS", "")), m
        workers = server.workers()
        assert len(workers) == 2, "READY=1 before the workers ran"
        assert get(port, "/1k.bin").header("X-Gen") == "g1"
        assert ns.nothing_within(0.3), ns.messages

        # Reload: RELOADING=1 with the time it started, then READY=1 once
        # the new generation accepts.
        rewrite(server, http=site_http(server, "g2"))
        before = monotonic_usec()
        server.kill(signal.SIGHUP)
        m = ns.recv()
        after = monotonic_usec()
        assert m.get("RELOADING") == "1", m
        usec = int(m["MONOTONIC_USEC"])
        assert before <= usec <= after, (before, usec, after)
        m = ns.recv()
        assert m.get("READY") == "1", m
        assert m.get("STATUS") == "generation 2 serving", m
        new = [k for k in server.workers() if k not in workers]
        assert len(new) >= 2, "READY=1 before the new generation ran"
        # The old workers get their QUIT as READY=1 goes out; until they
        # handle it (a few ms) they may still take a connection from the
        # shared sockets, so the new configuration is served "at once" only
        # up to that window.
        wait_for(lambda: get(port, "/1k.bin").header("X-Gen") == "g2", what="g2 served")

        # A failed reload: RELOADING=1, then READY=1 (the old generation goes
        # on) with the error in STATUS.
        text = rewrite(server, http=site_http(server, "g3") + "\nbogus_directive on;")
        line = text.splitlines().index("bogus_directive on;") + 1
        server.expect_log(r'\[emerg\] \d+#0: unknown directive "bogus_directive" in %s:%d$'
                          % (re.escape(server.conf_path), line))
        server.kill(signal.SIGHUP)
        m = ns.recv()
        assert m.get("RELOADING") == "1" and "MONOTONIC_USEC" in m, m
        m = ns.recv()
        assert m.get("READY") == "1", m
        status = m.get("STATUS", "")
        assert "generation 2" in status, m
        assert 'unknown directive "bogus_directive"' in status, m
        assert "%s:%d" % (server.conf_path, line) in status, m
        assert get(port, "/1k.bin").header("X-Gen") == "g2"

        # The next good reload clears the error.
        rewrite(server, http=site_http(server, "g4"))
        server.kill(signal.SIGHUP)
        assert ns.recv().get("RELOADING") == "1"
        m = ns.recv()
        assert (m.get("READY"), m.get("STATUS")) == ("1", "generation 3 serving"), m

        # Stop: STOPPING=1, and nothing after it.
        server.kill(signal.SIGQUIT)
        m = ns.recv()
        assert m.get("STOPPING") == "1", m
        assert server.wait_exit()
        assert ns.nothing_within(0.2), ns.messages
        print("\nnotify messages: %r" % ns.messages)
    finally:
        ns.close()


# ---- socket activation ----------------------------------------------------------

def test_socket_activation(server):
    """systemd-socket-activate binds, then execs turnpike (same pid) on the
    first connection with LISTEN_PID/LISTEN_FDS: the master adopts that
    socket for the matching listen address instead of binding its own.
    systemd-socket-activate cannot set SO_REUSEPORT, so the workers share
    the one socket, with a [warn]."""
    make_site(server)
    port = server.port()
    server.write(http=site_http(server, "sa"))
    env = child_env()
    argv = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port]
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in env:
            argv += ["-E", "%s=%s" % (k, env[k])]
    argv += server.argv()
    server._stderr = open(server.stderr_path, "ab")
    server.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=server._stderr,
                                   stderr=server._stderr, start_new_session=True, env=env)
    server.master_pid = server.proc.pid
    wait_for(lambda: "Listening on 127.0.0.1:%d" % port in server.stderr(),
             what="systemd-socket-activate to listen")
    (inode,) = listen_inodes(port)
    # This connection makes it exec turnpike; it waits in the queue meanwhile.
    r = get(port, "/1k.bin")
    assert (r.status, r.header("X-Gen")) == (200, "sa")
    # systemd-socket-activate exec'd turnpike in place (the title shows it).
    with open("/proc/%d/cmdline" % server.master_pid, "rb") as f:
        assert (f.read().split(b"\0")[0].decode() ==
                "turnpike: master process " + " ".join(server.argv()))
    server.wait_ready()
    # No second bind: the only listening socket on the port is systemd's,
    # held by the master (as fd 3) and shared by both workers.
    assert listen_inodes(port) == {inode}
    assert fd_links(server.master_pid)[3] == "socket:[%s]" % inode
    for w in server.workers():
        assert "socket:[%s]" % inode in fd_links(w).values()
    assert "[notice]" in server.log() and "using 1 inherited sockets from LISTEN_FDS" in server.log()
    server.wait_log(r"\[warn\] \d+#0: 127\.0\.0\.1:%d cannot be bound once per worker, "
                    r"workers share one socket" % port)
    # (The log line above shows LISTEN_FDS reached the master; its
    # /proc/PID/environ no longer does, the process title covers it.)
    for _ in range(20):
        assert get(port, "/1k.bin").status == 200
    # A reload keeps the adopted socket.
    rewrite(server, http=site_http(server, "sa2"))
    server.reload()
    assert get(port, "/1k.bin").header("X-Gen") == "sa2"
    assert listen_inodes(port) == {inode}


# ---- systemd-analyze verify ---------------------------------------------------------

def _units(tmp_path, sbindir):
    d = tmp_path / "units"
    d.mkdir()
    subst = {"@sbindir@": sbindir, "@logdir@": str(tmp_path / "log"),
             "@runstatedir@": str(tmp_path / "run"), "@htmldir@": str(tmp_path / "html"),
             "@statedir@": str(tmp_path / "lib")}
    for name in ("turnpike.service", "turnpike.socket"):
        with open(os.path.join(SRC, "systemd", name + ".in")) as f:
            text = f.read()
        for k, v in subst.items():
            text = text.replace(k, v)
        assert not re.search(r"@[a-z]+@", text), "unsubstituted variable in %s" % name
        (d / name).write_text(text)
    for sub in ("log", "run", "html", "lib"):
        (tmp_path / sub).mkdir()
    return d


def _verify(units, env):
    r = subprocess.run(["systemd-analyze", "verify", str(units / "turnpike.socket"),
                        str(units / "turnpike.service")],
                       capture_output=True, text=True, timeout=60, env=env, cwd=str(units))
    return r.returncode, [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]


MAN_ERROR = re.compile(r"^turnpike\.(service|socket): Command 'man (turnpike\(8\)|"
                       r"turnpike\.conf\(5\))' failed with code \d+$")


def test_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = _units(tmp_path, os.path.dirname(TURNPIKE))
    env = child_env()
    man8 = os.path.join(SRC, "man", "turnpike.8")
    man5 = os.path.join(SRC, "man", "turnpike.conf.5")
    have_man = os.path.exists(man8) and os.path.exists(man5)
    if have_man:
        # man wants section directories.
        for page, sec in ((man8, "man8"), (man5, "man5")):
            os.makedirs(tmp_path / "man" / sec, exist_ok=True)
            shutil.copy(page, tmp_path / "man" / sec)
    env["MANPATH"] = str(tmp_path / "man")
    rc, lines = _verify(units, env)
    print("\nsystemd-analyze verify: rc %d\n%s" % (rc, "\n".join(lines)))
    if have_man:
        assert (rc, lines) == (0, [])
    else:
        # Only the Documentation= pages may be reported missing.
        other = [l for l in lines if not MAN_ERROR.match(l)]
        assert other == []
        warnings.warn("man/turnpike.8 or man/turnpike.conf.5 missing: systemd-analyze verify "
                      "reports the Documentation= pages (%d lines), nothing else" % len(lines))

    # Sanity: verify does look at the units (a missing binary is an error).
    (tmp_path / "bad").mkdir()
    bad = _units(tmp_path / "bad", "/nonexistent/sbin")
    rc, lines = _verify(bad, dict(env, MANPATH=""))
    assert rc != 0 and any("/nonexistent/sbin/turnpike" in l for l in lines), lines


# What systemd does for a .socket with ReusePort=yes (as turnpike.socket
# has), which systemd-socket-activate cannot: the socket at fd 3, then
# LISTEN_PID (our pid after exec) and LISTEN_FDS.
ACTIVATE = ("import os, sys\n"
            "fd = int(sys.argv[1])\n"
            "os.dup2(fd, 3)\n"
            "os.close(fd)\n"
            "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1')\n"
            "os.execv(sys.argv[2], sys.argv[2:])\n")


def test_socket_activation_with_reuseport(server):
    """With an SO_REUSEPORT socket from the service manager, slot 0 uses it
    and the other slots get their own sockets beside it (no [warn])."""
    make_site(server)
    port = server.port()
    server.write(http=site_http(server, "rp"))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(128)
    fd = fcntl.fcntl(lsock.fileno(), fcntl.F_DUPFD, 10)  # never 3 itself
    (inode,) = listen_inodes(port)
    server._stderr = open(server.stderr_path, "ab")
    server.proc = subprocess.Popen(["/usr/bin/python3", "-c", ACTIVATE, str(fd)] + server.argv(),
                                   stdin=subprocess.DEVNULL, stdout=server._stderr,
                                   stderr=server._stderr, start_new_session=True,
                                   pass_fds=(fd,), env=child_env())
    os.close(fd)
    lsock.close()
    server.master_pid = server.proc.pid
    server.wait_ready()
    assert get(port, "/1k.bin").header("X-Gen") == "rp"
    assert fd_links(server.master_pid)[3] == "socket:[%s]" % inode
    inodes = listen_inodes(port)
    assert inode in inodes and len(inodes) == 2, "one more socket for the second slot"
    w0, w1 = [set(fd_links(w).values()) for w in server.workers()]
    assert ("socket:[%s]" % inode in w0) != ("socket:[%s]" % inode in w1), \
        "exactly one worker uses the adopted socket"
    assert "[notice]" in server.log() and "using 1 inherited sockets from LISTEN_FDS" in server.log()
    assert "cannot be bound once per worker" not in server.log() + server.stderr()
    server.reload()
    assert listen_inodes(port) == inodes

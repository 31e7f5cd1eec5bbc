"""Operations: nginx's binary upgrade sequence (USR2, WINCH, QUIT) and its
rollback (USR2, WINCH, HUP, QUIT to the new master), with the same binary,
under wrk load that must see 0 failed requests (issue #4)."""

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

from helpers import TIMEOUT, Conn, child_env, children, get, proc_stat, wait_for
from ops_helpers import Wrk, make_site, ppid, rewrite, site_http, wait_gone


def pids_answering(port, want, tries=2000):
    """Pids of the workers answering /pid on fresh connections, until every
    set in `want` has answered at least once (or tries run out)."""
    seen = set()
    for _ in range(tries):
        r = get(port, "/pid")
        assert r.status == 200, r
        seen.add(int(r.text))
        if all(seen & set(w) for w in want):
            break
    return seen


def start_upgrade(server):
    """USR2 to the master; returns the new master's pid once its workers
    run."""
    old = server.master_pid
    oldbin = server.pid_file + ".oldbin"
    mark = server.log_size()
    server.kill(signal.SIGUSR2)
    wait_for(lambda: os.path.exists(oldbin), what="pid file renamed to .oldbin")
    new = wait_for(lambda: server.read_pid() not in (None, old) and server.read_pid(),
                   what="new pid file")
    with open(oldbin) as f:
        assert int(f.read()) == old
    assert ppid(new) == old, "the new master is a child of the old one"
    st = proc_stat(new)
    server.seen[new] = st[2]  # the fixture checks it is gone at the end
    server.wait_log(r"started new binary process %d" % new, since=mark)
    # Run with the same command line, which its title shows (nginx's).
    want = "turnpike: master process " + " ".join(server.argv())
    wait_for(lambda: title(new) == want, what="the new master's title")
    return new


def title(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode()


def new_workers(server, master, n=2):
    def ok():
        kids = children(master)
        return kids if len(kids) == n else None
    kids = wait_for(ok, what="%d workers of %d" % (n, master))
    for k in kids:
        server.seen.setdefault(k, proc_stat(k)[2])
    return kids


def test_binary_upgrade_under_load(server):
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    old_master = server.master_pid
    old_workers = server.workers()
    oldbin = server.pid_file + ".oldbin"
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=64, duration=120)
    with wrk:
        time.sleep(0.5)
        new_master = start_upgrade(server)
        nw = new_workers(server, new_master)
        # Old and new workers accept on the same sockets.
        assert set(server.workers()) == set(old_workers) | {new_master}
        seen = pids_answering(port, [old_workers, nw])
        assert seen & set(old_workers) and seen & set(nw), \
            "both generations serve (%s; old %s, new %s)" % (seen, old_workers, nw)
        time.sleep(0.5)

        # WINCH: the old master's workers go, the port stays served.
        os.kill(old_master, signal.SIGWINCH)
        wait_gone(old_workers, what="old workers to exit after WINCH")
        assert server.workers() == [new_master]
        assert pids_answering(port, [nw], tries=50) <= set(nw)
        time.sleep(0.5)

        # QUIT to the old master finishes the upgrade.
        os.kill(old_master, signal.SIGQUIT)
        server.proc.wait(TIMEOUT)
        assert not os.path.exists(oldbin)
        assert server.read_pid() == new_master
        assert pids_answering(port, [nw], tries=50) <= set(nw)
        time.sleep(0.5)
        res = wrk.stop()
    print("\nupgrade USR2/WINCH/QUIT under load: %s" % res.summary())
    assert res.failed == 0, res.out
    assert res.requests > 1000, res.out
    # The fixture now stops and checks the new master.
    server.proc = None
    server.master_pid = new_master
    assert server.workers() == nw
    r = get(port, "/1k.bin")
    assert (r.status, r.header("X-Gen")) == (200, "g1")


def test_binary_upgrade_rollback_under_load(server):
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    old_master = server.master_pid
    old_workers = server.workers()
    oldbin = server.pid_file + ".oldbin"
    wrk = Wrk("http://127.0.0.1:%d/1k.bin" % port, conns=64, duration=120)
    with wrk:
        time.sleep(0.5)
        new_master = start_upgrade(server)
        nw = new_workers(server, new_master)
        time.sleep(0.5)
        os.kill(old_master, signal.SIGWINCH)
        wait_gone(old_workers, what="old workers to exit after WINCH")
        time.sleep(0.5)

        # HUP after WINCH starts workers again, with the configuration the
        # old master has: it does not read the (changed) file.
        rewrite(server, http=site_http(server, "changed-on-disk"))
        mark = server.log_size()
        os.kill(old_master, signal.SIGHUP)
        back = wait_for(lambda: len(server.workers()) == 3 and
                        [k for k in server.workers() if k != new_master],
                        what="old master's workers to come back")
        assert not set(back) & set(old_workers)
        server.wait_log(r"starting worker processes again", since=mark)
        seen = pids_answering(port, [back, nw])
        assert seen & set(back) and seen & set(nw)
        time.sleep(0.5)

        # QUIT to the new master: the old one is the master again, under the
        # usual pid file name.
        os.kill(new_master, signal.SIGQUIT)
        wait_gone([new_master] + nw, what="new master and its workers to exit")
        wait_for(lambda: not os.path.exists(oldbin), what=".oldbin renamed back")
        wait_for(lambda: server.read_pid() == old_master, what="pid file naming the old master")
        assert server.workers() == sorted(back)
        assert pids_answering(port, [back], tries=50) <= set(back)
        time.sleep(0.5)
        res = wrk.stop()
    print("\nrollback USR2/WINCH/HUP/QUIT(new) under load: %s" % res.summary())
    assert res.failed == 0, res.out
    assert res.requests > 1000, res.out
    r = get(port, "/1k.bin")
    assert (r.status, r.header("X-Gen")) == (200, "g1"), "HUP after WINCH did not reload"
    assert "reconfiguring" not in server.log()
    # And the old master goes on as usual: a real reload reads the file now.
    server.reload()
    assert get(port, "/1k.bin").header("X-Gen") == "changed-on-disk"


def test_failed_new_binary_leaves_old_master_serving(server):
    """A new binary that cannot start (here: the configuration on disk is
    broken by then) exits; the old master takes its pid file back and
    serves on, its workers untouched."""
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    workers = server.workers()
    rewrite(server, http=site_http(server, "g2") + "\nbogus_directive on;")
    mark = server.log_size()
    server.kill(signal.SIGUSR2)
    m = server.wait_log(r"new binary process (\d+) exited with code 1", since=mark)
    wait_for(lambda: server.read_pid() == server.master_pid, what="pid file back")
    assert not os.path.exists(server.pid_file + ".oldbin")
    assert 'unknown directive "bogus_directive"' in server.stderr()
    assert int(m.group(1)) not in server.workers()
    assert server.workers() == workers
    assert get(port, "/1k.bin").header("X-Gen") == "g1"
    # A later upgrade with a good configuration works.
    rewrite(server, http=site_http(server, "g3"))
    new_master = start_upgrade(server)
    nw = new_workers(server, new_master)
    os.kill(server.master_pid, signal.SIGQUIT)
    server.proc.wait(TIMEOUT)
    server.proc = None
    server.master_pid = new_master
    assert pids_answering(port, [nw], tries=20) <= set(nw)
    assert get(port, "/1k.bin").header("X-Gen") == "g3"


def test_new_master_crash_after_winch_restarts_old_workers(server):
    """USR2, WINCH, then the new binary dies (a crash, or an operator's
    QUIT): the old master is the only one left and must serve again by
    itself, as nginx does (it restarts its workers when the new binary
    exits while it is not accepting).  Connections that arrive meanwhile
    wait in the kernel's queue and are served."""
    make_site(server)
    server.write(http=site_http(server, "g1"))
    server.start()
    port = server.port()
    old_master = server.master_pid
    old_workers = server.workers()
    new_master = start_upgrade(server)
    nw = new_workers(server, new_master)
    os.kill(old_master, signal.SIGWINCH)
    wait_gone(old_workers, what="old workers to exit after WINCH")
    server.expect_log(r"\[alert\] \d+#0: master process is gone, shutting down$")
    os.kill(new_master, signal.SIGKILL)
    wait_gone([new_master] + nw, what="new master and its workers to exit")
    wait_for(lambda: server.read_pid() == old_master, what="pid file back")
    assert not os.path.exists(server.pid_file + ".oldbin")
    # Nobody accepts right now; this request waits in the queue.
    c = Conn(port, timeout=TIMEOUT)
    c.request("/1k.bin")
    wait_for(lambda: len(server.workers()) == 2, timeout=5,
             what="the old master to start workers again by itself")
    r = c.read_response()
    assert (r.status, r.header("X-Gen")) == (200, "g1")
    c.close()


def test_terminal_resize_does_not_stop_workers(server):
    """SIGWINCH also means "the terminal was resized".  A master running in
    the foreground of a terminal (daemon off, e.g. while trying a config)
    must not stop its workers when the window changes size; nginx honours
    WINCH only when it has no terminal (daemonized)."""
    make_site(server)
    server.write(http=site_http(server, "g1"))
    master_fd, slave_fd = pty.openpty()

    def take_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    server.proc = subprocess.Popen(server.argv(), stdin=slave_fd, stdout=slave_fd,
                                   stderr=slave_fd, start_new_session=True,
                                   preexec_fn=take_terminal, env=child_env())
    os.close(slave_fd)
    server.master_pid = server.proc.pid
    server.seen[server.master_pid] = proc_stat(server.master_pid)[2]
    try:
        server.wait_ready()
        workers = server.workers()
        assert os.tcgetpgrp(master_fd) == os.getpgid(server.master_pid), \
            "the master runs in the terminal's foreground"
        fcntl.ioctl(master_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        time.sleep(1.0)
        assert server.workers() == workers, "a terminal resize stopped the workers"
        assert get(server.port(), "/1k.bin", timeout=5).status == 200
    finally:
        # Keep what it printed for the fixture's sanitizer check.
        out = b""
        while select.select([master_fd], [], [], 0)[0]:
            try:
                data = os.read(master_fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        with open(server.stderr_path, "ab") as f:
            f.write(out)
        server.stop()
        os.close(master_fd)

"""Signals to the master: HUP reload (good, broken, listeners), QUIT, drain,
USR1, and -s."""

import os
import pwd
import re
import signal
import socket
import threading
import time

import pytest

from helpers import (TIMEOUT, Closed, Conn, connect_refused, get, listen_inodes, wait_for,
                     wait_older_than)

NOBODY = pwd.getpwnam("nobody")


def srv_block(port, text, extra=""):
    return ('server {\n  listen 127.0.0.1:%d;\n%s  location / { return 200 "%s $pid\\n"; }\n}'
            % (port, extra, text))


def answer(port, **kw):
    """(text, worker pid) of one request."""
    r = get(port, **kw)
    assert r.status == 200, r
    words = r.text.split()
    return words[0], int(words[1])


# ---- HUP --------------------------------------------------------------------------

def test_hup_applies_changed_config(server):
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    assert answer(server.port())[0] == "gen1"
    server.write(http=srv_block(server.port(), "gen2"))
    old = server.reload()
    # reload() returned once no old-generation worker is left.
    new = server.workers()
    assert len(new) == 2 and not set(old) & set(new)
    for _ in range(20):
        text, pid = answer(server.port())
        assert text == "gen2" and pid in new
    server.wait_log(r"\[notice\] \d+#0: signal 1 \(SIGHUP\) received, reconfiguring")


def test_hup_broken_config_keeps_old(server):
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    workers = server.workers()
    text = server.write(http=srv_block(server.port(), "gen2") + "\nfoo bar;")
    n = text.splitlines().index("foo bar;") + 1
    server.expect_log(r'\[emerg\] \d+#0: unknown directive "foo" in %s:%d$'
                      % (server.conf_path, n))
    mark = server.log_size()
    server.kill(signal.SIGHUP)
    server.wait_log(r'\[emerg\] \d+#0: unknown directive "foo" in %s:%d\n'
                    % (server.conf_path, n), since=mark)
    for _ in range(10):
        assert answer(server.port())[0] == "gen1"
    assert server.workers() == workers, "no new generation was started"
    # The master still reloads once the config is fixed.
    server.write(http=srv_block(server.port(), "gen3"))
    server.reload()
    assert answer(server.port())[0] == "gen3"


def test_hup_bind_failure_keeps_old(server):
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    workers = server.workers()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        busy = blocker.getsockname()[1]
        server.write(http=srv_block(server.port(), "gen2") + "\n" + srv_block(busy, "busy"))
        server.expect_log(r"\[emerg\] \d+#0: bind\(\) to 127\.0\.0\.1:%d failed \(98: "
                          r"Address already in use\)$" % busy)
        mark = server.log_size()
        server.kill(signal.SIGHUP)
        server.wait_log(r"bind\(\) to 127\.0\.0\.1:%d failed" % busy, since=mark)
        for _ in range(10):
            assert answer(server.port())[0] == "gen1"
        assert server.workers() == workers


def failing_reload_after_bind(server):
    """Starts gen1, then reloads a config that binds a new address and then
    fails (its error_log cannot be opened).  Returns (workers, new port)."""
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    workers = server.workers()
    added = server.port("added")
    bad_log = os.path.join(server.dir, "no", "such", "dir", "error.log")
    server.write(http=srv_block(server.port(), "gen2") + "\n" + srv_block(added, "added"),
                 main="error_log %s;" % bad_log)
    server.expect_log(r'\[emerg\] \d+#0: open\(\) "%s" failed \(2: No such file or directory\)$'
                      % bad_log)
    mark = server.log_size()
    server.kill(signal.SIGHUP)
    server.wait_log(r'open\(\) "%s" failed' % bad_log, since=mark)
    assert answer(server.port())[0] == "gen1"
    assert server.workers() == workers
    return workers, added


def test_hup_failing_after_bind_unbinds_new_address(server):
    """A reload that fails after binding a new address must not leave that
    address bound (clients would queue on a socket nobody accepts from)."""
    workers, added = failing_reload_after_bind(server)
    assert connect_refused(added), "a failed reload left its new address bound"
    # A good reload still works and binds it properly.
    server.write(http=srv_block(server.port(), "gen3") + "\n" + srv_block(added, "added"))
    server.reload()
    assert answer(server.port())[0] == "gen3"
    assert answer(added)[0] == "added"


def test_hup_failing_after_bind_keeps_respawn_working(server):
    """After such a failed reload the current generation is unchanged: a
    crashed worker is respawned onto the same, still open, sockets."""
    workers, added = failing_reload_after_bind(server)
    server.expect_log(r"\[alert\] \d+#0: worker process %d exited on signal 9$" % workers[0])
    wait_older_than(workers[0], 1.3)
    os.kill(workers[0], signal.SIGKILL)
    server.wait_workers(2, exclude=[workers[0]])
    seen = set()
    for _ in range(40):
        text, pid = answer(server.port(), timeout=5)
        assert text == "gen1"
        seen.add(pid)
    assert len(seen) == 2, "both workers, the respawned one included, serve"
    # Once the old worker is gone too, the port must still be served.
    server.write(http=srv_block(server.port(), "gen3"))
    server.reload()
    for _ in range(10):
        assert answer(server.port(), timeout=5)[0] == "gen3"


def test_reload_adds_and_removes_listen(server):
    a, b = server.port("a"), server.port("b")
    server.write(http=srv_block(a, "on-a"))
    server.start()
    assert connect_refused(b)
    server.write(http=srv_block(a, "on-a") + "\n" + srv_block(b, "on-b"))
    server.reload()
    assert answer(b)[0] == "on-b"
    assert answer(a)[0] == "on-a"
    assert len(listen_inodes(b)) == 2
    # Remove a: it stops answering once the old workers are gone.
    idle_on_a = Conn(a)
    assert idle_on_a.get().status == 200
    server.write(http=srv_block(b, "on-b"))
    server.reload()  # waits until the old workers exited (idle_on_a drained)
    assert idle_on_a.wait_closed()
    wait_for(lambda: connect_refused(a), what="port a to be closed")
    assert listen_inodes(a) == set()
    assert answer(b)[0] == "on-b"


def test_reload_changes_worker_count(server):
    p = server.port()
    server.write(http=srv_block(p, "two"), workers=2)
    server.start()
    for n in (3, 1, 2):
        server.write(http=srv_block(p, "n%d" % n), workers=n)
        server.reload()
        assert len(server.workers()) == n
        wait_for(lambda: len(listen_inodes(p)) == n, what="%d sockets for %d slots" % (n, n))
        assert answer(p)[0] == "n%d" % n


# ---- QUIT and draining ----------------------------------------------------------------

def test_quit_lets_inflight_request_finish(server):
    server.write(http=srv_block(server.port(), "slow"))
    server.start()
    c = Conn(server.port())
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.5)  # let a worker accept it
    mark = server.log_size()
    server.kill(signal.SIGQUIT)
    wait_for(lambda: server.log_since(mark).count("gracefully shutting down") == 2,
             what="both workers to get QUIT")
    assert server.alive(), "the master waits for the in-flight request"
    c.send("X-Late: 1\r\n\r\n")
    r = c.read_response()
    assert (r.status, r.text.split()[0]) == (200, "slow")
    assert r.header("Connection") == "close"
    assert c.wait_closed()
    c.close()
    assert server.wait_exit(), "master did not exit after the last request"
    assert server.proc.returncode == 0
    assert not os.path.exists(server.pid_file)
    server.wait_log(r"\[notice\] \d+#0: exit\n")


def download_site(server):
    """A docroot with a file too big to send at once, and $pid in a header
    to tell which worker serves it."""
    root = os.path.join(server.dir, "html")
    os.mkdir(root, 0o755)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(256 << 20)
    os.chmod(os.path.join(root, "big.bin"), 0o644)
    return ("server {\n  listen 127.0.0.1:%d;\n  root %s;\n  add_header X-Pid $pid;\n}"
            % (server.port(), root))


class Download:
    """A client that reads the head of a big file and then nothing, so the
    worker serving it stays busy (its socket buffers full)."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1024)
        self.pid = int(re.search(rb"\r\nX-Pid: (\d+)\r\n", head).group(1))

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("master_process", [True, False], ids=["master", "single"])
def test_quit_refuses_new_connections_at_once(server, master_process):
    """Once a graceful stop has begun, a new client is refused at once
    (nginx closes its listening sockets), not accepted by the kernel into a
    queue nobody serves any more, to hang until reset."""
    server.write(http=download_site(server), master_process=master_process)
    server.start()
    dl = Download(server.port())
    mark = server.log_size()
    server.kill(signal.SIGQUIT)
    n = 2 if master_process else 1
    wait_for(lambda: server.log_since(mark).count("gracefully shutting down") == n,
             what="every worker to begin draining")
    assert server.alive(), "the download keeps the server running"
    assert connect_refused(server.port()), "a new connection was accepted during the stop"
    assert listen_inodes(server.port()) == set()
    dl.close()
    assert server.wait_exit()


def test_reload_with_download_in_flight(server):
    """A reload is not a stop: the listening sockets stay as they were and
    new clients are served at once, while the old worker finishes its
    download under the title nginx gives a draining worker."""
    server.write(http=download_site(server))
    server.start()
    sockets = listen_inodes(server.port())
    dl = Download(server.port())
    mark = server.log_size()
    server.kill(signal.SIGHUP)
    server.wait_log(r"%d#0: gracefully shutting down" % dl.pid, since=mark)
    assert listen_inodes(server.port()) == sockets
    for _ in range(20):
        assert get(server.port(), "/").status in (200, 403, 404)
    with open("/proc/%d/cmdline" % dl.pid, "rb") as f:
        assert f.read().split(b"\0")[0] == b"turnpike: worker process is shutting down"
    dl.close()
    server.wait_workers(2, exclude=[dl.pid])


def test_quit_with_idle_keepalive_connections(server):
    server.write(http=srv_block(server.port(), "x"))
    server.start()
    idle = [Conn(server.port()) for _ in range(4)]
    for c in idle:
        assert c.get().status == 200
    server.kill(signal.SIGQUIT)
    for c in idle:
        assert c.wait_closed()
    assert server.wait_exit()
    assert not os.path.exists(server.pid_file)


def test_worker_shutdown_timeout(server):
    server.write(http=srv_block(server.port(), "x"), main="worker_shutdown_timeout 1s;")
    server.start()
    c = Conn(server.port())
    c.send("GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
    time.sleep(0.5)
    server.kill(signal.SIGQUIT)
    assert c.wait_closed(), "hard stop closes the connection"
    assert server.wait_exit()
    server.wait_log(r"worker_shutdown_timeout: closing 1 connections")


def test_old_worker_closes_keepalive_on_next_request(server):
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    old = server.workers()
    busy, idle = Conn(server.port()), Conn(server.port())
    r = busy.get()
    assert r.header("Connection") == "keep-alive"
    old_pid = int(r.text.split()[1])
    assert idle.get().status == 200
    server.write(http=srv_block(server.port(), "gen2"))
    server.kill(signal.SIGHUP)
    # The new generation is up while the old one still holds the connections.
    wait_for(lambda: len(set(server.workers()) - set(old)) == 2, what="new generation")
    assert idle.nothing_within(0.3), "idle connections are not closed at once"
    r = busy.get()
    assert (r.text, r.header("Connection")) == ("gen1 %d\n" % old_pid, "close")
    assert busy.wait_closed()
    busy.close()
    # The idle one is closed after the drain grace; the old workers then exit.
    assert idle.wait_closed()
    server.wait_workers(2, exclude=old)
    assert answer(server.port())[0] == "gen2"


class KeepAliveClient(threading.Thread):
    """Sends requests over one keep-alive connection, reconnecting only when
    the server says Connection: close.  Any other outcome is a failure."""

    def __init__(self, port, pause):
        super().__init__(daemon=True)
        self.port = port
        self.pause = pause
        self.stop = threading.Event()
        self.ok = 0
        self.reconnects = 0
        self.failures = []

    def run(self):
        c = None
        while not self.stop.is_set():
            try:
                if c is None:
                    c = Conn(self.port)
                r = c.get("/drain")
                if r.status != 200:
                    self.failures.append("status %d" % r.status)
                else:
                    self.ok += 1
                if r.header("Connection") == "close":
                    c.close()
                    c = None
                    self.reconnects += 1
            except (OSError, Closed, AssertionError) as e:
                self.failures.append(repr(e))
                if c is not None:
                    c.close()
                c = None
            if self.pause:
                time.sleep(self.pause)
        if c is not None:
            c.close()


def test_reloads_under_keepalive_load_lose_nothing(server):
    server.write(http=srv_block(server.port(), "drain"))
    server.start()
    clients = [KeepAliveClient(server.port(), pause) for pause in (0, 0, 0.01, 0.05, 0.3)]
    for c in clients:
        c.start()
    try:
        wait_for(lambda: all(c.ok > 0 for c in clients), what="clients to start")
        for _ in range(10):
            server.kill(signal.SIGHUP)
            time.sleep(0.2)
        server.wait_workers(2)  # all old generations drained and gone
        mark = sum(c.ok for c in clients)
        wait_for(lambda: sum(c.ok for c in clients) > mark + 20, what="traffic after reloads")
    finally:
        for c in clients:
            c.stop.set()
        for c in clients:
            c.join(TIMEOUT)
    failures = [f for c in clients for f in c.failures]
    assert failures == []
    assert all(c.reconnects > 0 for c in clients), "every connection was drained"


# ---- USR1 -------------------------------------------------------------------------------

def bad_request(port):
    with Conn(port) as c:
        c.send("BAD\r\n\r\n")
        assert c.read_response().status == 400


def test_usr1_reopens_moved_log(server):
    server.write(http=srv_block(server.port(), "x"))
    server.start()
    workers = server.workers()
    moved = server.error_log + ".1"
    os.rename(server.error_log, moved)
    server.kill(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(server.error_log), what="new error.log")
    # Created by the master, then handed to the workers' user.
    wait_for(lambda: os.stat(server.error_log).st_uid == NOBODY.pw_uid,
             what="error.log owned by nobody")
    assert os.stat(server.error_log).st_gid == NOBODY.pw_gid
    assert "signal 10 (SIGUSR1) received, reopening logs" in open(moved).read()

    # Workers reopen too: bad requests are logged (at info) by whichever
    # worker takes them; keep sending until both show up in the new file.
    def both_in_new_log():
        for _ in range(4):
            bad_request(server.port())
        return all("%d#0: *" % w in server.log() for w in workers)
    wait_for(both_in_new_log, what="lines from every worker in the new log")
    # From now on nothing goes to the moved file.
    size = os.path.getsize(moved)
    for _ in range(10):
        bad_request(server.port())
    server.reload()
    assert "signal 1 (SIGHUP) received" in server.log()
    assert os.path.getsize(moved) == size


# ---- -s -------------------------------------------------------------------------------------

def test_s_reload_and_quit(server):
    server.write(http=srv_block(server.port(), "gen1"))
    server.start()
    old = server.workers()
    server.write(http=srv_block(server.port(), "gen2"))
    r = server.cli("-s", "reload")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", "")
    server.wait_workers(2, exclude=old)
    assert answer(server.port())[0] == "gen2"
    r = server.cli("-s", "quit")
    assert (r.returncode, r.stderr) == (0, "")
    assert server.wait_exit()
    assert server.proc.returncode == 0
    assert not os.path.exists(server.pid_file)


def test_s_reopen_and_stop(server):
    server.write(http=srv_block(server.port(), "x"))
    server.start()
    os.rename(server.error_log, server.error_log + ".old")
    r = server.cli("-s", "reopen")
    assert (r.returncode, r.stderr) == (0, "")
    wait_for(lambda: os.path.exists(server.error_log), what="reopened log")
    r = server.cli("-s", "stop")
    assert (r.returncode, r.stderr) == (0, "")
    assert server.wait_exit()
    server.wait_log(r"signal 15 received, exiting")
    assert not os.path.exists(server.pid_file)


def test_s_without_pid_file(server):
    server.write(http=srv_block(server.port(), "x"))
    for sig in ("quit", "reload", "stop", "reopen"):
        r = server.cli("-s", sig)
        assert r.returncode == 1
        assert r.stderr == ('turnpike: [error] open() "%s" failed (2: No such file or directory)\n'
                            % server.pid_file)


def test_s_with_bad_config_fails(server):
    server.write("events {}\nbogus;\n")
    r = server.cli("-s", "reload")
    assert r.returncode == 1
    assert r.stderr == 'turnpike: [emerg] unknown directive "bogus" in %s:2\n' % server.conf_path


def test_s_with_bad_pid_file(server):
    server.write(http=srv_block(server.port(), "x"))
    with open(server.pid_file, "w") as f:
        f.write("abc\n")
    r = server.cli("-s", "reload")
    assert r.returncode == 1
    assert r.stderr == 'turnpike: [error] invalid PID number "abc" in "%s"\n' % server.pid_file
    # A stale pid file naming a process that is gone.
    with open(server.pid_file, "w") as f:
        f.write("%d\n" % (2 ** 22 + 7))
    r = server.cli("-s", "quit")
    assert r.returncode == 1
    assert "kill(%d, 3) failed (3: No such process)" % (2 ** 22 + 7) in r.stderr
    os.unlink(server.pid_file)


def test_reload_moves_pid_file(server):
    server.write(http=srv_block(server.port(), "x"))
    server.start()
    assert server.read_pid() == server.master_pid
    old_pid_file = server.pid_file
    server.pid_file = os.path.join(server.dir, "moved.pid")
    server.write(http=srv_block(server.port(), "y"))
    server.reload()
    assert server.read_pid() == server.master_pid
    assert not os.path.exists(old_pid_file)
    # -s finds the master through the new pid file.
    r = server.cli("-s", "quit")
    assert (r.returncode, r.stderr) == (0, "")
    assert server.wait_exit()
    assert not os.path.exists(server.pid_file)

"""The process model: master and workers, users, daemon, respawn, stops."""

import grp
import os
import pwd
import re
import signal
import threading
import time

from helpers import (TIMEOUT, Closed, Conn, child_env, fd_inodes, get, listen_inodes, proc_ids,
                     proc_stat, wait_for, wait_older_than)

NOBODY = pwd.getpwnam("nobody")


def simple_http(s, text="hello"):
    return ('server {\n  listen 127.0.0.1:%d;\n  location / { return 200 "%s $pid\\n"; }\n}'
            % (s.port(), text))


def test_master_and_workers(server):
    server.write(http=simple_http(server))
    server.start()
    kids = server.workers()
    assert len(kids) == 2
    for k in kids:
        assert proc_stat(k)[1] == server.master_pid
        ids = proc_ids(k)
        assert ids["Uid"] == [NOBODY.pw_uid] * 4
        assert ids["Gid"] == [NOBODY.pw_gid] * 4
    ids = proc_ids(server.master_pid)
    assert ids["Uid"][:2] == [0, 0]
    # Both workers serve ($pid says which one answered).
    pids = set()
    for _ in range(40):
        pids.add(int(get(server.port()).text.split()[1]))
        if pids == set(kids):
            break
    assert pids == set(kids)


def title(pid):
    """The process title ps shows: /proc/PID/cmdline up to its first NUL."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode()


def workers_titled(server):
    """True once every worker shows nginx's worker title."""
    try:
        return [title(k) for k in server.workers()] == ["turnpike: worker process"] * 2
    except FileNotFoundError:  # an old worker that has just exited
        return False


def test_process_titles(server):
    """nginx's titles: the master shows its command line, the workers what
    they are.  The title spills over the environment's strings; what was
    read from the command line stays intact for a reload."""
    server.write(http=simple_http(server))
    g = "worker_rlimit_nofile 2048;" + " " * 200
    server.start("-g", g)
    assert title(server.master_pid) == "turnpike: master process " + " ".join(server.argv("-g", g))
    # A worker sets its title after the fork; the server may answer (and
    # start() return) before the last worker has.
    wait_for(lambda: workers_titled(server), what="the workers' titles")
    server.reload()
    wait_for(lambda: workers_titled(server), what="the new workers' titles")
    for k in server.workers():
        with open("/proc/%d/limits" % k) as f:
            assert [ln for ln in f if ln.startswith("Max open files")][0].split()[3] == "2048"


def test_each_worker_owns_one_socket_per_listener(server):
    server.write(http=simple_http(server), workers=3)
    server.start()
    lsn = listen_inodes(server.port())
    assert len(lsn) == 3, "one SO_REUSEPORT socket per worker slot"
    assert lsn <= fd_inodes(server.master_pid)
    owned = [fd_inodes(k) & lsn for k in server.workers()]
    assert all(len(o) == 1 for o in owned), owned
    assert set().union(*owned) == lsn


def test_worker_processes_auto_and_cpu_affinity(server):
    server.write(http=simple_http(server), workers="auto", main="worker_cpu_affinity auto;")
    server.start()
    kids = server.workers()
    assert len(kids) == os.cpu_count()
    cpus = []
    for k in kids:
        with open("/proc/%d/status" % k) as f:
            line = [ln for ln in f if ln.startswith("Cpus_allowed_list:")][0]
        cpus.append(line.split()[1])
    assert sorted(cpus) == [str(i) for i in range(os.cpu_count())], cpus


def test_user_directive(server):
    daemon = pwd.getpwnam("daemon")
    group = grp.getgrnam("nogroup")
    server.write(http=simple_http(server), main="user daemon nogroup;", workers=3)
    server.start()
    kids = server.workers()
    assert len(kids) == 3
    for k in kids:
        ids = proc_ids(k)
        assert ids["Uid"] == [daemon.pw_uid] * 4
        assert ids["Gid"] == [group.gr_gid] * 4
    assert get(server.port()).status == 200


def test_user_without_group_uses_primary_group(server):
    daemon = pwd.getpwnam("daemon")
    server.write(http=simple_http(server), main="user daemon;", workers=1)
    server.start()
    (k,) = server.workers()
    assert proc_ids(k)["Uid"] == [daemon.pw_uid] * 4
    assert proc_ids(k)["Gid"] == [daemon.pw_gid] * 4


def test_master_process_off(server):
    server.write(http=simple_http(server), master_process=False)
    server.start()
    assert server.workers() == []
    r = get(server.port())
    assert r.text == "hello %d\n" % server.master_pid
    assert os.path.exists(server.pid_file)


def test_daemon_on(server):
    server.write(http=simple_http(server), daemon=True)
    t0 = time.monotonic()
    r = server.cli()
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < TIMEOUT
    server.daemon = True
    pid = wait_for(server.read_pid, what="pid file")
    server.master_pid = pid
    server.seen[pid] = proc_stat(pid)[2]
    server.wait_ready()
    st = proc_stat(pid)
    assert st[1] != os.getpid(), "the daemon is not our child"
    assert os.getsid(pid) == pid, "the daemon leads its own session"
    assert len(server.workers()) == 2
    assert get(server.port()).status == 200
    r = server.cli("-s", "quit")
    assert (r.returncode, r.stderr) == (0, "")
    assert server.wait_exit(), "daemon did not stop on -s quit"
    assert not os.path.exists(server.pid_file)


def test_second_instance_fails(make_server):
    first = make_server("first")
    first.write(http=simple_http(first))
    first.start()
    workers = first.workers()
    second = make_server("second")
    second.ports["main"] = first.port()
    second.write(http=simple_http(second, "second"))
    second.expect_log(r"\[emerg\] \d+#0: bind\(\) to 127\.0\.0\.1:%d failed \(98: Address "
                      r"already in use\)" % first.port())
    r = second.cli()
    assert r.returncode == 1
    assert ("turnpike: [emerg] bind() to 127.0.0.1:%d failed (98: Address already in use)"
            % first.port()) in r.stderr.splitlines()
    assert not os.path.exists(second.pid_file)
    # The first one is untouched.
    assert first.workers() == workers
    for _ in range(10):
        assert get(first.port()).text.startswith("hello ")


class Hammer(threading.Thread):
    """Opens a new connection per request as fast as it can."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.ok = 0
        self.refused = 0
        self.other = []

    def run(self):
        while not self.stop.is_set():
            try:
                r = get(self.port, timeout=TIMEOUT)
                assert r.status == 200
                self.ok += 1
            except ConnectionRefusedError:
                self.refused += 1
            except (OSError, Closed) as e:
                self.other.append(repr(e))


def test_kill9_worker_is_respawned(server):
    server.write(http=simple_http(server))
    server.start()
    before = server.workers()
    victim = before[0]
    slot_socket = fd_inodes(victim) & listen_inodes(server.port())
    assert len(slot_socket) == 1
    server.expect_log(r"\[alert\] \d+#0: worker process %d exited on signal 9$" % victim)
    h = Hammer(server.port())
    h.start()
    try:
        wait_for(lambda: h.ok >= 20, what="hammer to get going")
        wait_older_than(victim, 1.3)  # no crash-loop backoff: respawn at once
        os.kill(victim, signal.SIGKILL)
        after = server.wait_workers(2, exclude=[victim])
        ok_at_respawn = h.ok
        wait_for(lambda: h.ok >= ok_at_respawn + 50, what="requests after the respawn")
    finally:
        h.stop.set()
        h.join(TIMEOUT)
    assert h.refused == 0
    # Only a connection the dead worker had already accepted can be lost.
    assert len(h.other) <= 1, h.other
    new = (set(after) - set(before)).pop()
    assert fd_inodes(new) & listen_inodes(server.port()) == slot_socket, \
        "respawned into the same slot, on the same socket"
    server.wait_log(r"worker process %d exited on signal 9" % victim)


def test_quick_death_backs_off(server):
    server.write(http=simple_http(server))
    server.start()
    before = server.workers()
    first = before[0]
    server.expect_log(r"\[alert\] \d+#0: worker process \d+ exited on signal 9$")
    server.expect_log(r"\[alert\] \d+#0: worker \d+ keeps dying, respawning in 1 s$")
    wait_older_than(first, 1.3)
    os.kill(first, signal.SIGKILL)
    kids = server.wait_workers(2, exclude=[first])
    (young,) = set(kids) - set(before)
    # Dies again well within a second of its start.
    os.kill(young, signal.SIGKILL)
    server.wait_log(r"keeps dying, respawning in 1 s")
    server.wait_workers(2, exclude=[first, young])
    assert get(server.port()).status == 200


def test_term_is_a_fast_stop(server):
    server.write(http=simple_http(server))
    server.start()
    idle = Conn(server.port())
    assert idle.get().status == 200
    partial = Conn(server.port())
    partial.send("GET / HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.3)
    server.stop(signal.SIGTERM)
    assert not server.alive()
    assert idle.wait_closed(2)
    assert partial.wait_closed(2)
    assert not os.path.exists(server.pid_file)
    server.wait_log(r"signal 15 received, exiting")


def test_int_is_a_fast_stop(server):
    server.write(http=simple_http(server))
    server.start()
    server.stop(signal.SIGINT)
    assert not server.alive()
    assert not os.path.exists(server.pid_file)


def test_worker_rlimit_nofile_and_thread_pool(server):
    server.write(http=simple_http(server), workers=1,
                 main="worker_rlimit_nofile 1234;\nthread_pool default threads=3;")
    server.start()
    (k,) = server.workers()
    with open("/proc/%d/limits" % k) as f:
        line = [ln for ln in f if ln.startswith("Max open files")][0]
    assert line.split()[3:5] == ["1234", "1234"]
    assert len(os.listdir("/proc/%d/task" % k)) == 1 + 3, "loop thread plus 3 pool threads"


def test_default_thread_pool_has_4_threads(server):
    server.write(http=simple_http(server), workers=1)
    server.start()
    (k,) = server.workers()
    assert len(os.listdir("/proc/%d/task" % k)) == 1 + 4


def test_error_log_stderr(server):
    text = server.config(http=simple_http(server), error_log=False,
                         main="error_log stderr notice;")
    server.write(text)
    server.start()
    kids = server.workers()
    for k in kids:
        wait_for(lambda: "[notice] %d#0: start worker process %d" % (server.master_pid, k)
                 in server.stderr(), what="log lines on stderr")
    assert re.search(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: ", server.stderr(),
                     re.M)
    assert not os.path.exists(server.error_log)


def test_workers_exit_when_master_is_killed(server):
    server.write(http=simple_http(server))
    server.start()
    kids = server.workers()
    server.expect_log(r"\[alert\] \d+#0: master process is gone, shutting down$")
    server.kill(signal.SIGKILL)
    assert server.wait_exit()
    wait_for(lambda: not any(proc_stat(k) and proc_stat(k)[0] != "Z" for k in kids),
             what="orphaned workers to exit")
    for k in kids:
        assert "[alert] %d#0: master process is gone, shutting down" % k in server.log()
    os.unlink(server.pid_file)  # a killed master cannot remove it


def test_stray_turnpike_variable_is_ignored(server):
    """TURNPIKE in the environment is the socket list a binary upgrade
    passes on.  As nginx does with a malformed NGINX variable, a value that
    is not a socket list (here: what a test runner or a shell may have set)
    is reported and ignored; it does not stop -t or a start."""
    server.write(http=simple_http(server))
    env = child_env(TURNPIKE="/usr/local/sbin/turnpike")
    r = server.cli("-t", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.endswith("turnpike: configuration file %s test is successful\n"
                             % server.conf_path)
    server.expect_log(r"TURNPIKE")
    server.start(env=env)
    assert get(server.port()).status == 200

"""`daemon on`: the command that starts the daemon returns only once the
master serves (exit 0) or has failed (exit 1, the reason on stderr), as
nginx's does: a failed start is never silent (issue #8)."""

import os
import re
import socket

from helpers import get, proc_alive, proc_stat


def simple_http(s):
    return ('server {\n  listen 127.0.0.1:%d;\n  location / { return 200 "up $pid\\n"; }\n}'
            % s.port())


def our_processes(server):
    """Processes whose command line (or title) names this server's config."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if server.conf_path.encode() in cmd:
            out.append(int(pid))
    return out


def start_fails(server, message):
    """Starts the daemon (stdout and stderr are pipes) and expects exit 1
    with `message` as one of its stderr lines, and nothing left running."""
    r = server.cli()
    assert r.returncode == 1, "daemon start did not fail:\n%s" % r.stderr
    lines = r.stderr.splitlines()
    assert message in lines, "%r not on stderr:\n%s" % (message, r.stderr)
    assert our_processes(server) == [], "a failed start left processes behind"
    assert not os.path.exists(server.pid_file)
    return r


def test_start_returns_once_serving(server):
    """When the command returns 0 the pid file names a running master
    whose workers accept: no polling needed."""
    server.write(http=simple_http(server), daemon=True)
    r = server.cli()
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    server.daemon = True
    pid = server.read_pid()
    assert pid is not None, "the pid file is missing when the start returned"
    server.master_pid = pid
    server.seen[pid] = proc_stat(pid)[2]
    assert len(server.workers()) == 2
    assert get(server.port()).text.startswith("up ")
    assert os.getsid(pid) == pid


def test_missing_pid_directory(server):
    """The pid file is written after forking, by the daemon itself: its
    failure still reaches the terminal."""
    server.pid_file = os.path.join(server.dir, "run", "turnpike.pid")
    text = server.config(http=simple_http(server), daemon=True, pid=False)
    server.write(text + "pid %s;\n" % server.pid_file)
    server.expect_log(r"\[emerg\] \d+#0: open\(\) \"%s\" failed" % re.escape(server.pid_file))
    start_fails(server, 'turnpike: [emerg] open() "%s" failed (2: No such file or directory)'
                % server.pid_file)
    # The port is free again.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", server.port()))


def test_port_in_use(server):
    server.write(http=simple_http(server), daemon=True)
    server.expect_log(r"\[emerg\] \d+#0: bind\(\) to 127\.0\.0\.1:%d failed" % server.port())
    with socket.socket() as s:
        s.bind(("127.0.0.1", server.port()))
        s.listen(1)
        start_fails(server, "turnpike: [emerg] bind() to 127.0.0.1:%d failed (98: Address "
                            "already in use)" % server.port())


def test_bad_log_path(server):
    bad = os.path.join(server.dir, "no", "such", "dir", "error.log")
    text = server.config(http=simple_http(server), daemon=True, error_log=False,
                         main="error_log %s;" % bad)
    server.write(text)
    start_fails(server, 'turnpike: [emerg] open() "%s" failed (2: No such file or directory)'
                % bad)


def test_worker_that_cannot_start(server):
    """A worker failing its setup fails the start (a daemon that serves
    nothing is not started), with the worker's reason on the terminal."""
    server.write(http=simple_http(server), daemon=True, main="worker_rlimit_nofile 4;")
    server.expect_log(r"\[emerg\] \d+#0: worker \d could not start")
    # 2, or 1 from LeakSanitizer, which needs descriptors at exit too.
    server.expect_log(r"\[alert\] \d+#0: worker process \d+ exited with code [12]$")
    server.expect_log(r"\[emerg\] \d+#0: worker process \d+ could not start")
    r = server.cli()
    assert r.returncode == 1, "daemon start did not fail:\n%s" % r.stderr
    assert re.search(r"^turnpike: \[emerg\] worker \d could not start \(24: Too many open "
                     r"files\)$", r.stderr, re.M), r.stderr
    assert re.search(r"^turnpike: \[emerg\] worker process \d+ could not start$", r.stderr, re.M)
    assert our_processes(server) == []
    assert not os.path.exists(server.pid_file)


def test_master_process_off(server):
    server.write(http=simple_http(server), daemon=True, master_process=False)
    r = server.cli()
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    server.daemon = True
    pid = server.read_pid()
    server.master_pid = pid
    server.seen[pid] = proc_stat(pid)[2]
    assert get(server.port()).text == "up %d\n" % pid
    assert proc_alive(pid)

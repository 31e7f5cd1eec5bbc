"""Operations: log files are created by the master (as root) and owned by
the worker user, so USR1 reopening works after the workers dropped
privileges -- even in a log directory only root may write (issue #4)."""

import os
import pwd
import signal

from helpers import Closed, Conn, get, wait_for
from ops_helpers import make_site

NOBODY = pwd.getpwnam("nobody")


def log_http(server, logdir):
    return ("log_format ops '$pid $status $request_uri';\n"
            "access_log %s/access.log ops;\n"
            "server {\n  listen 127.0.0.1:%d;\n  root %s;\n}"
            % (logdir, server.port(), os.path.join(server.dir, "html")))


def owned_by_nobody(path):
    st = os.stat(path)
    return (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)


def worker_lines(port, path, workers, text):
    """Requests until every worker wrote a line containing `text` into path."""
    def all_there():
        for _ in range(6):
            try:
                get(port, "/missing-%s" % text)
            except (OSError, Closed):
                pass
        try:
            with open(path) as f:
                log = f.read()
        except FileNotFoundError:
            return False
        lines = log.splitlines()
        return all(any(l.startswith("%d 404 /missing-%s" % (w, text))
                       or ("%d#0: *" % w in l and "/missing-%s" % text in l) for l in lines)
                   for w in workers) and log
    return wait_for(all_there, what="lines from every worker in %s" % path)


def test_usr1_reopen_after_rotation(server):
    make_site(server)
    # Only root may create files here: the workers could not.
    logdir = os.path.join(server.dir, "var-log")
    os.mkdir(logdir, 0o755)
    server.write(http=log_http(server, logdir))
    server.error_log = os.path.join(logdir, "error.log")
    server.write(server.text.replace(os.path.join(server.dir, "error.log"), server.error_log))
    server.start()
    port = server.port()
    workers = server.workers()
    access = os.path.join(logdir, "access.log")
    for path in (access, server.error_log):
        assert owned_by_nobody(path), "%s: %s" % (path, os.stat(path))
    worker_lines(port, access, workers, "before")

    # Rotation: move both away, USR1.
    os.rename(access, access + ".1")
    os.rename(server.error_log, server.error_log + ".1")
    server.kill(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(access) and os.path.exists(server.error_log),
             what="new log files")
    for path in (access, server.error_log):
        wait_for(lambda: owned_by_nobody(path), what="%s owned by nobody" % path)
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)
    # Both workers write to the new files: access lines carry their pid,
    # error lines (404s of missing files) their "pid#0: *conn".
    log = worker_lines(port, access, workers, "after")
    assert "before" not in log
    errors = worker_lines(port, server.error_log, workers, "after")
    assert "signal 10 (SIGUSR1) received, reopening logs" in open(server.error_log + ".1").read()
    assert "[error]" in errors
    # Nothing goes to the old files any more.
    sizes = [os.path.getsize(access + ".1"), os.path.getsize(server.error_log + ".1")]
    for _ in range(10):
        with Conn(port) as c:
            assert c.get("/missing-late").status == 404
    assert sizes == [os.path.getsize(access + ".1"), os.path.getsize(server.error_log + ".1")]
    # A reload after the reopen keeps using (and owning) the new files.
    server.reload()
    assert owned_by_nobody(access) and owned_by_nobody(server.error_log)
    worker_lines(port, access, server.workers(), "reloaded")
    # A log a reload adds is created by the master for the workers too.
    other = os.path.join(logdir, "other.log")
    server.write(server.text.replace("%s/access.log ops;" % logdir, "%s ops;" % other))
    server.reload()
    assert owned_by_nobody(other)
    worker_lines(port, other, server.workers(), "other")
    os.rename(other, other + ".1")
    server.kill(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(other) and owned_by_nobody(other), what="other.log again")
    worker_lines(port, other, server.workers(), "other-reopened")

"""Debian's nginx beside turnpike: the same http block served by both, so a
test can compare what each one sends.  Tests using it skip when
/usr/sbin/nginx is not installed."""

import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from helpers import TIMEOUT, free_port, try_get, wait_for

NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")

needs_nginx = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is not installed")


class Nginx:
    """One nginx instance: master and one worker, in a temp dir, on a free
    loopback port that the http block gets as %(port)d."""

    def __init__(self, http, main="", env=None):
        self.dir = tempfile.mkdtemp(prefix="turnpike-nginx-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        os.mkdir(os.path.join(self.dir, "logs"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write("daemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
                    "error_log %s/error.log info;\n%s\nevents { worker_connections 64; }\n"
                    "http {\naccess_log off;\n%s\n}\n"
                    % (self.dir, self.dir, main, http % {"port": self.port}))
        self.proc = subprocess.Popen([NGINX, "-p", self.dir + "/", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        wait_for(lambda: self._up(), what="nginx to answer")

    def _up(self):
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited: %s" % self.proc.stderr.read().decode())
        return try_get(self.port) is not None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def nginx():
    """Factory: nginx(http_block) -> a running Nginx, stopped at teardown."""
    started = []

    def make(http, main="", env=None):
        n = Nginx(http, main, env)
        started.append(n)
        return n
    yield make
    for n in started:
        n.stop()


# Headers whose values differ by nature (who answers, and when).
VOLATILE = ("server", "date")


def header_view(resp, ignore=()):
    """A response as (status, {lower-case name: value}) without the
    headers that name the server or the time."""
    skip = set(VOLATILE) | {h.lower() for h in ignore}
    return resp.status, {k.lower(): v for k, v in resp.headers if k.lower() not in skip}

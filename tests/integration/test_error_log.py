"""error_log in http, server and location (a request's lines go to the
logs of the level serving it), and syslog: destinations for error_log and
access_log, received on a loopback UDP port in nginx's RFC 3164 format."""

import os
import re
import signal
import socket

import pytest

from helpers import Conn, get, wait_for
from http_helpers import config_refused, docroot, http_block, start


class Syslog:
    """A UDP syslog server on a loopback port."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.got = []

    def drain(self):
        try:
            while True:
                self.got.append(self.sock.recv(65536).decode("latin-1"))
        except socket.timeout:
            pass
        return self.got

    def wait(self, regex):
        def find():
            return next((m for m in map(re.compile(regex).search, self.drain()) if m), None)
        return wait_for(find, what="syslog message /%s/" % regex)

    def close(self):
        self.sock.close()


@pytest.fixture
def syslog():
    s = Syslog()
    yield s
    s.close()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


LEVELS = """
error_log %(d)s/http.log info;
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    location /own/ { error_log %(d)s/own.log info; }
    location /quiet/ { error_log %(d)s/quiet.log crit; }
    location /two/ {
        error_log %(d)s/two-a.log error; error_log %(d)s/two-b.log crit;
        error_log %(d)s/two-c.log info;
    }
    location /inherit/ { }
}
server {
    listen 127.0.0.1:%(q)d;
    root %(root)s;
    error_log %(d)s/srv.log info;
    location /nested/ { location /nested/deeper/ { } }
}
"""


@pytest.fixture
def levels(server):
    root = docroot(server, {"own/x.txt": "x"})
    p, q = server.port(), server.port("q")
    start(server, http_block(LEVELS % {"d": server.dir, "p": p, "q": q, "root": root}))
    return server, p, q


def wait_in(path, text):
    return wait_for(lambda: text in read(path), what="%r in %s" % (text, path))


def test_location_error_log_takes_its_requests_lines(levels):
    server, p, _ = levels
    assert get(p, "/own/missing").status == 404
    wait_in(os.path.join(server.dir, "own.log"), 'own/missing" failed (2: No such file')
    assert get(p, "/inherit/missing").status == 404
    wait_in(os.path.join(server.dir, "http.log"), 'inherit/missing" failed')
    # Each line went only to its own level's logs.
    assert "own/missing" not in read(os.path.join(server.dir, "http.log"))
    assert "missing" not in server.log()


def test_location_error_log_level_filters(levels):
    server, p, _ = levels
    assert get(p, "/quiet/missing").status == 404
    assert get(p, "/own/missing2").status == 404  # a marker that comes after
    wait_in(os.path.join(server.dir, "own.log"), "missing2")
    for name in ("quiet.log", "http.log"):
        assert "quiet/missing" not in read(os.path.join(server.dir, name))
    assert "quiet/missing" not in server.log()


def test_several_error_logs_at_one_level(levels):
    server, p, _ = levels
    assert get(p, "/two/missing").status == 404  # an [error] line
    wait_in(os.path.join(server.dir, "two-a.log"), "two/missing")
    wait_in(os.path.join(server.dir, "two-c.log"), "two/missing")
    assert "two/missing" not in read(os.path.join(server.dir, "two-b.log"))


def test_server_error_log_inherited_by_nested_locations(levels):
    server, _, q = levels
    assert get(q, "/nested/deeper/missing").status == 404
    wait_in(os.path.join(server.dir, "srv.log"), "nested/deeper/missing")


def test_lines_before_routing_use_the_default_server(levels):
    server, _, q = levels
    with Conn(q) as c:
        c.send("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")
        assert c.read_response().status == 400
    wait_in(os.path.join(server.dir, "srv.log"), "client sent invalid")
    assert "client sent invalid" not in read(os.path.join(server.dir, "http.log"))


def test_http_level_error_log_reopened_on_usr1(levels):
    server, p, _ = levels
    path = os.path.join(server.dir, "own.log")
    os.rename(path, path + ".1")
    server.kill(signal.SIGUSR1)
    wait_for(lambda: os.path.exists(path), what="own.log reopened")

    # The master makes the file, then each worker reopens it when told:
    # ask until a worker's line lands there.
    def landed():
        assert get(p, "/own/after-usr1").status == 404
        return "after-usr1" in read(path)
    wait_for(landed, what="a line in the reopened own.log")


# ---- syslog ---------------------------------------------------------------------

def test_error_log_syslog_in_location(server, syslog):
    root = docroot(server, {})
    p = server.port()
    start(server, http_block("""
server {
    listen 127.0.0.1:%d;
    root %s;
    location / { error_log syslog:server=127.0.0.1:%d,facility=local3,tag=tp_test info; }
}""" % (p, root, syslog.port)))
    assert get(p, "/gone.txt").status == 404
    # <PRI> is facility * 8 + the line's level as a syslog severity (3 = error).
    m = syslog.wait(r'^<155>(\w{3}) ([ \d]\d) (\d\d:\d\d:\d\d) (\S+) tp_test: '
                    r'(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[error\] \d+#0: \*\d+ '
                    r'open\(\) "[^"]*/gone.txt" failed \(2: No such file or directory\), '
                    r'client: 127.0.0.1, request: "GET /gone.txt HTTP/1.1", host: "localhost"$')
    assert m.group(4) == socket.gethostname().lower()
    assert not m.group(0).endswith("\n")


def test_error_log_syslog_main_context(server, syslog):
    server.write(http=http_block(""), main="error_log syslog:server=127.0.0.1:%d,nohostname notice;"
                 % syslog.port)
    server.start()
    server.reload()
    # local7 (23) * 8 + notice (5); no hostname field; the default tag.
    syslog.wait(r'^<189>\w{3} [ \d]\d \d\d:\d\d:\d\d turnpike: \S+ \S+ \[notice\] \d+#0: '
                r'signal 1 \(SIGHUP\) received')


def test_access_log_syslog(server, syslog):
    p = server.port()
    start(server, """
log_format tiny "$request_method $uri $status";
server {
    listen 127.0.0.1:%d;
    location / { return 200 "ok\\n"; }
    location /n { access_log syslog:server=127.0.0.1:%d,severity=notice,tag=acc tiny; return 204; }
    access_log syslog:server=127.0.0.1:%d tiny;
}""" % (p, syslog.port, syslog.port))
    get(p, "/a")
    syslog.wait(r'^<190>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ turnpike: GET /a 200$')
    get(p, "/n")
    syslog.wait(r'^<189>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ acc: GET /n 204$')


def test_syslog_unix_socket(server):
    path = os.path.join(server.dir, "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)  # the workers send as their user, as nginx's do
    sock.settimeout(10)
    try:
        p = server.port()
        start(server, 'log_format m "$uri";\nserver { listen 127.0.0.1:%d; '
                      'access_log syslog:server=unix:%s m; return 200; }' % (p, path))
        get(p, "/u")
        # The readiness probe's "/" came first.
        while not sock.recv(4096).decode().endswith(" turnpike: /u"):
            pass
    finally:
        sock.close()


BAD = [
    ("error_log syslog:facility=local1;", "no syslog server specified"),
    ("error_log syslog:server=127.0.0.1,server=127.0.0.2;", 'duplicate syslog "server"'),
    ("error_log syslog:server=127.0.0.1,facility=local9;", 'unknown syslog facility "local9"'),
    ("error_log syslog:server=127.0.0.1,severity=loud;", 'unknown syslog severity "loud"'),
    ("error_log syslog:server=127.0.0.1,tag=%s;" % ("t" * 33), "syslog tag length exceeds 32"),
    ("error_log syslog:server=127.0.0.1,tag=a-b;",
     'syslog "tag" only allows alphanumeric characters and underscore'),
    ("error_log syslog:server=127.0.0.1,bogus;", 'unknown syslog parameter "bogus"'),
    ("error_log syslog:server=127.0.0.1:99999;", 'invalid port in syslog server "127.0.0.1:99999"'),
    ("error_log memory:32m;", '"error_log" destination "memory:32m" is not supported'),
    ("access_log syslog:server=127.0.0.1 combined buffer=4k;", "logs to syslog cannot be buffered"),
    ("server { location / { error_log x.log loud; } }", 'invalid log level "loud"'),
]


@pytest.mark.parametrize("http,message", BAD, ids=[b[0][:45] for b in BAD])
def test_bad_destinations(server, http, message):
    assert message in config_refused(server, http_block(http))


def test_error_log_not_allowed_in_if(server):
    assert '"error_log" directive is not allowed here' in config_refused(
        server, http_block("server { location / { if ($args) { error_log x.log; } } }"))

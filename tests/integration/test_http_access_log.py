"""The access log: access_log (path, format, buffer=, flush=, if=, off),
log_format (escape=), nginx's combined format and the variables."""

import json
import os
import re
import signal
import socket
import time

from helpers import Conn, get, wait_for
from http_helpers import docroot, req, start

VARS = ("$remote_addr|$remote_port|$request_method|$uri|$request_uri|$args|$arg_a|$host|"
        "$http_x_test|$status|$body_bytes_sent|$bytes_sent|$request_length|$connection|"
        "$connection_requests|$server_name|$server_port|$scheme|$sent_http_content_type|"
        "$msec|$request_time|$time_iso8601|$time_local|$request")


def probe(line):
    """The fixture's readiness check ("GET /" as soon as the port answers)."""
    return '"GET / HTTP/1.1"' in line or line.endswith("|GET / HTTP/1.1")


def lines(path, n=None, timeout=10):
    """The log's lines but the readiness probes; with n, waits until there
    are at least n."""
    def read():
        try:
            with open(path, errors="replace") as f:
                got = [l for l in f.read().splitlines() if not probe(l)]
        except FileNotFoundError:
            got = []
        return got if n is None or len(got) >= n else None
    if n is None:
        return read()
    return wait_for(read, timeout=timeout, what="%d lines in %s" % (n, path))


def log_server(server, body, workers=2):
    root = docroot(server, {"a.txt": "hello world\n", "b/c.txt": "c\n"})
    start(server, """
log_format vars '%s';
log_format j escape=json '{"ua":"$http_user_agent","uri":"$uri","st":$status}';
log_format dflt '[$http_user_agent]';
log_format none escape=none '[$http_user_agent]';
""" % VARS + body % {"p": server.port(), "root": root, "logs": server.dir + "/logs"},
          workers=workers)


def test_combined_default(server):
    log_server(server, """
server { listen 127.0.0.1:%(p)d; root %(root)s; }
""")  # no access_log: nginx's default logs/access.log combined
    path = os.path.join(server.dir, "logs", "access.log")
    get(server.port(), "/a.txt?x=1", headers=[("Referer", "http://ref.test/"),
                                               ("User-Agent", "tp-test/1.0")])
    get(server.port(), "/missing")
    got = lines(path, 2)
    m = re.fullmatch(r'127\.0\.0\.1 - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                     r'"GET /a\.txt\?x=1 HTTP/1\.1" 200 12 "http://ref\.test/" "tp-test/1\.0"',
                     got[0])
    assert m, got[0]
    assert re.fullmatch(r'127\.0\.0\.1 - - \[.*\] "GET /missing HTTP/1\.1" 404 \d+ "-" "-"',
                        got[1]), got[1]


def test_variables(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    server_name log.test;
    root %(root)s;
    access_log %(logs)s/vars.log vars;
}
""")
    path = os.path.join(server.dir, "logs", "vars.log")
    with Conn(server.port()) as c:
        port = c.sock.getsockname()[1]
        raw1 = req("/b/../a.txt?a=1&b=2", host="Log.Test:99", headers=[("X-Test", "xt")])
        c.send(raw1)
        r1 = c.read_response()
        raw2 = req("/b/c.txt")
        c.send(raw2)
        r2 = c.read_response()
    got = lines(path, 2)
    f = got[0].split("|")
    assert f[:10] == ["127.0.0.1", str(port), "GET", "/a.txt", "/b/../a.txt?a=1&b=2",
                      "a=1&b=2", "1", "log.test", "xt", "200"]
    assert f[10] == "12"
    assert int(f[11]) == len(r1.head) + 4 + 12
    assert int(f[12]) == len(raw1)
    conn_id = f[13]
    assert f[14:19] == ["1", "log.test", str(server.port()), "http", "text/plain"]
    assert re.fullmatch(r"\d+\.\d{3}", f[19]) and abs(float(f[19]) - time.time()) < 60
    assert re.fullmatch(r"\d+\.\d{3}", f[20])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", f[21])
    assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", f[22])
    assert f[23] == "GET /b/../a.txt?a=1&b=2 HTTP/1.1"
    g = got[1].split("|")
    assert (g[3], g[5], g[6], g[8], g[13], g[14]) == ("/b/c.txt", "-", "-", "-", conn_id, "2")
    assert int(g[11]) == len(r2.head) + 4 + 2


def test_escapes(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    access_log off;
    location = /a.txt {
        access_log %(logs)s/j.log j;
        access_log %(logs)s/d.log dflt;
        access_log %(logs)s/n.log none;
    }
}
""")
    ua = 'a"b\\c\xe9d'
    with Conn(server.port()) as c:
        c.send(("GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\n\r\n" % ua).encode("latin-1"))
        c.read_response()
        c.get("/a.txt")  # no User-Agent
    j = lines(os.path.join(server.dir, "logs", "j.log"), 2)
    e = json.loads(j[0])
    assert e["uri"] == "/a.txt" and e["st"] == 200
    assert e["ua"].startswith('a"b\\c')
    assert json.loads(j[1])["ua"] == ""
    d = lines(os.path.join(server.dir, "logs", "d.log"), 2)
    assert d == ["[a\\x22b\\x5Cc\\xE9d]", "[-]"]
    with open(os.path.join(server.dir, "logs", "n.log"), "rb") as f:
        n = f.read().split(b"\n")
    assert n[0] == b'[a"b\\c\xe9d]' and n[1] == b"[]"


def test_off_if_and_levels(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    access_log %(logs)s/server.log vars;
    location /b/ { access_log %(logs)s/loc.log vars; }
    location /quiet/ { access_log off; return 200 "quiet\\n"; }
    location /cond/ { access_log %(logs)s/cond.log vars if=$arg_log; return 200 "c\\n"; }
}
""")
    p = server.port()
    get(p, "/a.txt")
    get(p, "/b/c.txt")
    get(p, "/quiet/x")
    for q in ("", "?log=0", "?log=", "?log=1", "?log=yes"):
        get(p, "/cond/x" + q)
    get(p, "/a.txt?last=1")
    server_log = lines(os.path.join(server.dir, "logs", "server.log"), 2)
    assert [l.split("|")[3] for l in server_log] == ["/a.txt", "/a.txt"]
    assert [l.split("|")[3] for l in lines(os.path.join(server.dir, "logs", "loc.log"), 1)] == \
        ["/b/c.txt"]
    cond = lines(os.path.join(server.dir, "logs", "cond.log"), 2)
    assert [l.split("|")[5] for l in cond] == ["log=1", "log=yes"]


def test_bad_request_and_errors_logged(server):
    log_server(server, """
server { listen 127.0.0.1:%(p)d; root %(root)s; access_log %(logs)s/e.log vars; }
""")
    p = server.port()
    with Conn(p) as c:
        c.send(b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.read_response().status == 400
    get(p, "/missing")
    got = lines(os.path.join(server.dir, "logs", "e.log"), 2)
    assert sorted(l.split("|")[9] for l in got) == ["400", "404"]


def test_buffered_lines_survive_graceful_stop(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    access_log %(logs)s/buf.log vars buffer=1m flush=1h;
}
""")
    path = os.path.join(server.dir, "logs", "buf.log")
    n = 200
    with Conn(server.port()) as c:
        for i in range(n):
            assert c.get("/a.txt?i=%d" % i).status == 200
    conns = [Conn(server.port()) for _ in range(20)]
    for i, c in enumerate(conns):
        c.get("/a.txt?i=c%d" % i)
    for c in conns:
        c.close()
    server.stop(signal.SIGQUIT)
    got = lines(path)
    assert len(got) == n + 20, "lines lost at graceful stop"
    assert len(set(got)) == n + 20


def test_buffered_flush_timer(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    access_log %(logs)s/flush.log vars buffer=1m flush=1s;
}
""")
    get(server.port(), "/a.txt")
    assert lines(os.path.join(server.dir, "logs", "flush.log"), 1, timeout=10)


def test_usr1_reopen_loses_nothing(server):
    log_server(server, """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    access_log %(logs)s/r.log vars buffer=64k;
}
""")
    path = os.path.join(server.dir, "logs", "r.log")
    with Conn(server.port()) as c:
        for i in range(50):
            c.get("/a.txt?i=%d" % i)
        os.rename(path, path + ".1")
        mark = server.log_size()
        server.kill(signal.SIGUSR1)
        server.wait_log(r"reopen", since=mark)
        wait_for(lambda: os.path.exists(path), what="reopened log file")
        time.sleep(1)  # the workers reopen after the master (no log line says when)
        for i in range(50, 60):
            c.get("/a.txt?i=%d" % i)
    server.stop(signal.SIGQUIT)
    old, new = lines(path + ".1"), lines(path)
    assert len(old) == 50, "lines buffered before USR1 are in the old file"
    assert len(new) == 10

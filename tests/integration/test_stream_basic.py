"""The stream context: relaying to upstream groups, half-close, next
upstream and passive health, the access log, and configuration errors."""

import os
import signal
import socket
import time

from stream_helpers import log_lines, Backend, roundtrip, stream_conf, stream_port




def test_echo_through_group_and_log(server):
    be = Backend()
    port = stream_port()
    stream_conf(server, """
    log_format s '$remote_addr $server_port $protocol $status $bytes_sent $bytes_received '
                 '"$upstream_addr" $upstream_bytes_sent $upstream_bytes_received';
    access_log logs/stream.log s;
    upstream b { server 127.0.0.1:%d; }
    server { listen 127.0.0.1:%d; proxy_pass b; }
    """ % (be.port, port))
    server.start()
    data = os.urandom(300000)
    assert roundtrip(port, data) == data
    line = log_lines(server)[0]
    assert line == '127.0.0.1 %d TCP 200 300000 300000 "127.0.0.1:%d" 300000 300000' % (
        port, be.port), line


def test_half_close_both_ways(server):
    be = Backend(on_eof=b"after-your-end")
    port = stream_port()
    stream_conf(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; }"
                % (port, be.port))
    server.start()
    # The client shuts first: its data is echoed, and what the backend sends
    # after seeing the end still arrives.
    assert roundtrip(port, b"x" * 100000) == b"x" * 100000 + b"after-your-end"


def test_upstream_shuts_first_client_still_sends(server):
    """The backend ends its side at once; the client's bytes still reach it."""
    got = []
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    bport = ls.getsockname()[1]
    port = stream_port()
    stream_conf(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; }"
                % (port, bport))
    server.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    b, _ = ls.accept()
    b.sendall(b"early-bye")
    b.shutdown(socket.SHUT_WR)
    assert c.recv(100) == b"early-bye"
    assert c.recv(100) == b""  # the backend's end reached the client
    c.sendall(b"still-here")
    c.shutdown(socket.SHUT_WR)
    b.settimeout(10)
    while True:
        d = b.recv(100)
        if not d:
            break
        got.append(d)
    assert b"".join(got) == b"still-here"
    b.close()
    c.close()
    ls.close()


def test_next_upstream_and_passive_health(server):
    be = Backend()
    dead = stream_port()
    port = stream_port()
    stream_conf(server, """
    log_format s '$status "$upstream_addr"';
    access_log logs/stream.log s;
    upstream b { server 127.0.0.1:%d max_fails=1 fail_timeout=30s; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:%d; proxy_pass b; }
    """ % (dead, be.port, port), )
    server.start()
    for _ in range(6):
        assert roundtrip(port, b"ping") == b"ping"
    lines = log_lines(server, n=6)
    tried_dead = [ln for ln in lines if "%d" % dead in ln]
    # Each worker tries the dead server once, then leaves it out.
    assert 1 <= len(tried_dead) <= 2, lines
    for ln in tried_dead:
        assert ln == '200 "127.0.0.1:%d, 127.0.0.1:%d"' % (dead, be.port)
    server.wait_log(r"connect\(\) failed \(111: Connection refused\) while connecting to "
                    r"upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:%d" % port)


def test_no_live_upstream_is_502(server):
    port = stream_port()
    stream_conf(server, """
    log_format s '$status';
    access_log logs/stream.log s;
    server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; proxy_next_upstream_tries 1; }
    """ % (port, stream_port()))
    server.start()
    assert roundtrip(port, b"x") == b""
    assert log_lines(server)[0] == "502"


def test_least_conn_and_hash(server):
    b1, b2 = Backend(), Backend()
    p1, p2 = stream_port(), stream_port()
    stream_conf(server, """
    upstream lc { least_conn; server 127.0.0.1:%d; server 127.0.0.1:%d; }
    upstream h { hash $remote_addr consistent; server 127.0.0.1:%d; server 127.0.0.1:%d; }
    server { listen 127.0.0.1:%d; proxy_pass lc; }
    server { listen 127.0.0.1:%d; proxy_pass h; }
    """ % (b1.port, b2.port, b1.port, b2.port, p1, p2))
    server.start()
    for _ in range(4):
        assert roundtrip(p1, b"a") == b"a"
    assert b1.conns >= 1 and b2.conns >= 1
    before = (b1.conns, b2.conns)
    for _ in range(6):
        assert roundtrip(p2, b"h") == b"h"
    # One client address: the hash sends every session to one server.
    assert (b1.conns - before[0] == 6) != (b2.conns - before[1] == 6)


def test_unix_upstream(server):
    path = os.path.join(server.dir, "be.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    os.chmod(path, 0o777)
    ls.listen(4)
    port = stream_port()
    stream_conf(server, "server { listen 127.0.0.1:%d; proxy_pass unix:%s; }" % (port, path))
    server.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    b, _ = ls.accept()
    c.sendall(b"over unix")
    assert b.recv(100) == b"over unix"
    b.close()
    assert c.recv(100) == b""
    c.close()
    ls.close()


def test_proxy_timeout(server):
    be = Backend()
    port = stream_port()
    stream_conf(server, """
    log_format s '$status $bytes_received';
    access_log logs/stream.log s;
    server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; proxy_timeout 300ms; }
    """ % (port, be.port))
    server.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"abc")
    assert c.recv(10) == b"abc"
    assert c.recv(10) == b""  # idle: closed
    assert log_lines(server)[0] == "200 3"
    server.wait_log(r"timed out")


def conf_error(server, stream, msg):
    stream_conf(server, stream)
    r = server.cli("-t")
    assert r.returncode == 1, r.stderr
    assert msg in r.stderr, r.stderr


def test_config_errors(server):
    p = stream_port()
    conf_error(server, "server { listen 127.0.0.1:%d; }" % p, "no handler for server in")
    conf_error(server, "server { listen 127.0.0.1:%d; proxy_pass nowhere; }" % p,
               'no port in upstream "nowhere" in')
    conf_error(server, """server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; }
                server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; }""" % (p, p),
               'duplicate "127.0.0.1:%d" address and port pair' % p)
    conf_error(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; }"
               % server.port("main"), 'duplicate "127.0.0.1:%d" address and port pair'
               % server.port("main"))
    conf_error(server, "server { listen 127.0.0.1:%d udp; proxy_pass 127.0.0.1:1; }" % p,
               'the "udp" parameter of "listen" is not supported')
    conf_error(server, "server { listen 127.0.0.1:%d ssl; proxy_pass 127.0.0.1:1; }" % p,
               'no "ssl_certificate" is defined for the "listen ... ssl" directive')
    conf_error(server, "log_format x '$nope'; server { listen 127.0.0.1:%d; proxy_pass "
               "127.0.0.1:1; }" % p, 'unknown "nope" variable')
    conf_error(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; "
               "access_log logs/x.log; }" % p, "log format is not specified")
    conf_error(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; "
               "proxy_protocol_version 3; }" % p, 'invalid value "3"')
    conf_error(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; "
               "location / {} }" % p, '"location" directive is not allowed here')
    conf_error(server, "upstream u { } server { listen 127.0.0.1:%d; proxy_pass u; }" % p,
               "no servers are inside upstream")


def test_many_sessions_at_once(server):
    be = Backend()
    port = stream_port()
    stream_conf(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; }"
                % (port, be.port))
    server.start()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(100)]
    for i, s in enumerate(socks):
        s.sendall(b"n%d" % i)
    for i, s in enumerate(socks):
        assert s.recv(100) == b"n%d" % i
        s.close()
    time.sleep(0)


def test_quit_keeps_sessions_until_shutdown_timeout(server):
    be = Backend()
    port = stream_port()
    text = server.config(http="server { listen 127.0.0.1:%d; location / { return 200; } }"
                         % server.port("main"), main="worker_shutdown_timeout 2s;")
    text += "stream { server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; } }\n" % (
        port, be.port)
    server.write(text)
    server.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=30)
    c.sendall(b"one")
    assert c.recv(10) == b"one"
    server.kill(signal.SIGQUIT)
    server.wait_log(r"gracefully shutting down")
    # Draining: the session goes on ...
    c.sendall(b"two")
    assert c.recv(10) == b"two"
    # ... until worker_shutdown_timeout closes it.
    try:
        assert c.recv(10) == b""
    except ConnectionResetError:
        pass
    c.close()
    assert server.wait_exit()

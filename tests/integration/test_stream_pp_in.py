"""PROXY protocol in: `listen ... proxy_protocol` in the stream and http
contexts, versions 1 and 2 (IPv4, IPv6, LOCAL, TLVs), and the headers that
must close the connection with nothing forwarded: malformed, truncated,
a bad CRC32C, too slow."""

import os
import socket
import ssl
import struct
import time

from helpers import wait_for
from http_helpers import read_all
from stream_helpers import log_lines, Backend, stream_conf, stream_port, tlv, v1_line, v2_header
from tls_helpers import cert_lines, client_ctx

VARS = ("$remote_addr|$proxy_protocol_addr|$proxy_protocol_port|$proxy_protocol_server_addr|"
        "$proxy_protocol_server_port|$proxy_protocol_tlv_authority|$proxy_protocol_tlv_0x05|"
        "$proxy_protocol_tlv_ssl_version|$proxy_protocol_tlv_ssl_verify|"
        "$proxy_protocol_tlv_alpn")

TLVS = (tlv(0x01, b"h2") + tlv(0x02, b"example.test") + tlv(0x05, b"req-42")
        + tlv(0x20, b"\x05" + struct.pack("!I", 0) + tlv(0x21, b"TLSv1.3")))

CASES = [
    (v1_line("192.0.2.1", 1234, "198.51.100.2", 443),
     "127.0.0.1|192.0.2.1|1234|198.51.100.2|443|||||"),
    (v1_line("2001:db8::1", 5555, "2001:db8::2", 8443),
     "127.0.0.1|2001:db8::1|5555|2001:db8::2|8443|||||"),
    (b"PROXY UNKNOWN\r\n", "127.0.0.1|||||||||"),
    (v2_header("192.0.2.7", 4000, "198.51.100.9", 443, TLVS, crc=True),
     "127.0.0.1|192.0.2.7|4000|198.51.100.9|443|example.test|req-42|TLSv1.3|0|h2"),
    (v2_header("2001:db8::7", 4001, "2001:db8::9", 444),
     "127.0.0.1|2001:db8::7|4001|2001:db8::9|444|||||"),
    (v2_header(local=True), "127.0.0.1|||||||||"),
]

BAD = [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "broken header"),
    (b"PROXY TCP4 192.0.2.1 198.51.100.2 1234\r\n", "broken header"),
    (b"PROXY TCP4 999.0.2.1 198.51.100.2 1234 443\r\n", "broken header"),
    (b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + b"\x01\x02", "client closed connection"),
    (b"PROXY TCP4 192.0.2.1", "client closed connection"),
    (v2_header("192.0.2.7", 4000, "198.51.100.9", 443, TLVS, crc=True)[:-1] + b"\x00",
     "broken header"),
]


def pp_stream(srv, backend, extra="", timeout="500ms"):
    port = stream_port()
    stream_conf(srv, """
    log_format pp escape=none '%s';
    access_log logs/stream.log pp;
    server {
        listen 127.0.0.1:%d proxy_protocol;
        proxy_pass 127.0.0.1:%d;
        proxy_protocol_timeout %s;
        %s
    }
    """ % (VARS, port, backend.port, timeout, extra))
    srv.start()
    return port




def send_and_read(port, data, payload=b"", shut=True):
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    c.sendall(data + payload)
    if shut:
        try:
            c.shutdown(socket.SHUT_WR)
        except OSError:  # already closed by the server
            pass
    out = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    c.close()
    return out


def test_stream_pp_in_versions(server):
    be = Backend()
    port = pp_stream(server, be)
    for i, (header, _) in enumerate(CASES):
        # Header and payload in one segment: exactly the header is consumed.
        assert send_and_read(port, header, b"payload-%d" % i) == b"payload-%d" % i
    lines = log_lines(server, len(CASES))
    assert lines == [want for _, want in CASES]


def test_stream_pp_in_bad_headers(server):
    be = Backend()
    port = pp_stream(server, be)
    for header, what in BAD:
        payload = b"" if "closed" in what else b"never-forwarded"
        assert send_and_read(port, header, payload) == b""
    # Slow: half a header, then nothing until proxy_protocol_timeout.
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    c.sendall(b"PROXY TCP4 192.0.2.1 ")
    assert c.recv(10) == b""
    c.close()
    for _, what in BAD:
        server.wait_log(what + r".* while reading PROXY protocol, client: 127\.0\.0\.1, "
                               r"server: 127\.0\.0\.1:%d" % port)
    server.wait_log(r"client timed out while reading PROXY protocol, client: 127\.0\.0\.1, "
                    r".*\(110: Connection timed out\)")
    assert be.conns == 0
    assert os.path.getsize(os.path.join(server.dir, "logs", "stream.log")) == 0


def test_stream_pp_in_trickled(server):
    """A header that comes a byte at a time (within the timeout) is fine."""
    be = Backend()
    port = pp_stream(server, be, timeout="10s")
    header = v2_header("192.0.2.8", 4100, "198.51.100.8", 443, TLVS, crc=True)
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    for b in header:
        c.sendall(bytes([b]))
        time.sleep(0.002)
    c.sendall(b"after")
    assert c.recv(100) == b"after"
    c.close()
    assert log_lines(server, 1)[0].startswith("127.0.0.1|192.0.2.8|4100|")


def test_stream_pp_in_passed_on(server):
    """The balancer's client reaches the backend in our PROXY header."""
    be = Backend(proxy=True)
    port = pp_stream(server, be, "proxy_protocol on;")
    assert send_and_read(port, v1_line("192.0.2.1", 1234, "198.51.100.2", 443), b"x") == b"x"
    assert be.wait_headers(1)[0] == v1_line("192.0.2.1", 1234, "198.51.100.2", 443)


def test_stream_pp_in_then_tls(server):
    be = Backend()
    port = stream_port()
    stream_conf(server, """
    log_format pp '$proxy_protocol_addr|$ssl_protocol|$ssl_server_name';
    access_log logs/stream.log pp;
    server { listen 127.0.0.1:%d ssl proxy_protocol; %s proxy_pass 127.0.0.1:%d; }
    """ % (port, cert_lines("a-ec"), be.port))
    server.start()
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    raw.sendall(v2_header("192.0.2.9", 1, "198.51.100.1", 443))
    s = client_ctx(alpn=()).wrap_socket(raw, server_hostname="a.test")
    s.sendall(b"secret")
    assert s.recv(100) == b"secret"
    s.close()
    assert log_lines(server, 1)[0] == "192.0.2.9|TLSv1.3|a.test"


# ---- http -------------------------------------------------------------------------

def pp_http(srv, tls=False, extra=""):
    port = srv.port("pp")
    srv.write(http="""
    server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }
    server {
        listen 127.0.0.1:%d proxy_protocol %s;
        %s
        %s
        location / { return 200 "%s\\n"; }
    }
    """ % (srv.port("main"), port, "ssl" if tls else "", cert_lines("a-ec") if tls else "",
           extra, VARS))
    # the PROXY port answers only after a header: keep it out of wait_ready
    srv.ports.pop("pp")
    srv.start()
    return port


def http_over(port, header, request=True):
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    c.sendall(header + (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        if request else b""))
    if not request:
        c.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    c.close()
    return out


def test_http_pp_in_versions(server):
    port = pp_http(server)
    for header, want in CASES:
        resp = http_over(port, header)
        assert resp.startswith(b"HTTP/1.1 200"), resp
        assert resp.endswith(want.encode() + b"\n"), (resp, want)


def test_http_pp_in_bad_headers(server):
    port = pp_http(server)
    for header, what in BAD:
        assert http_over(port, header, request="closed" not in what) == b""
    for _, what in BAD:
        server.wait_log(what + r".* while reading PROXY protocol")


def test_http_pp_in_slow_header(server):
    """Half a header, then nothing: closed at client_header_timeout (the
    default server's, as nginx), with the log line; nothing is served."""
    port = pp_http(server, extra="client_header_timeout 1s;")
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    c.sendall(b"PROXY TCP4 192.0.2.1 ")
    assert c.recv(10) == b""
    c.close()
    server.wait_log(r"client timed out while reading PROXY protocol, client: 127\.0\.0\.1, "
                    r".*\(110: Connection timed out\)")


def test_http_pp_in_then_tls(server):
    port = pp_http(server, tls=True)
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    raw.sendall(v1_line("192.0.2.44", 999, "198.51.100.1", 443))
    s = client_ctx(alpn=()).wrap_socket(raw, server_hostname="a.test")
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except (ssl.SSLError, ConnectionResetError):
            break
        if not d:
            break
        out += d
    assert out.startswith(b"HTTP/1.1 200"), out
    assert out.endswith(b"127.0.0.1|192.0.2.44|999|198.51.100.1|443|||||\n"), out


def test_http_pp_folded_addresses_must_agree(server):
    p = server.port("x")
    server.write(http="""
    server { listen %d proxy_protocol; }
    server { listen 127.0.0.1:%d; }
    """ % (p, p))
    r = server.cli("-t")
    assert r.returncode == 1
    assert 'must agree on "proxy_protocol"' in r.stderr, r.stderr


def test_http_real_ip_from_proxy_protocol(server):
    port = server.port("pp")
    server.write(http="""
    log_format rl '$remote_addr $realip_remote_addr $proxy_protocol_addr';
    server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }
    server {
        listen 127.0.0.1:%d proxy_protocol;
        access_log %s/rl.log rl;
        set_real_ip_from 127.0.0.1;
        real_ip_header proxy_protocol;
        location / { return 200 "$remote_addr|$realip_remote_addr\\n"; }
        location /xff { return 200 "$proxy_add_x_forwarded_for\\n"; }
    }
    server {
        listen 127.0.0.1:%d proxy_protocol;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header proxy_protocol;
        location / { return 200 "$remote_addr\\n"; }
    }
    """ % (server.port("main"), port, server.dir, server.port("pp2")))
    untrusted = server.port("pp2")
    server.ports.pop("pp")
    server.ports.pop("pp2")
    server.start()
    resp = http_over(port, v1_line("192.0.2.44", 999, "198.51.100.1", 443))
    assert resp.endswith(b"\r\n\r\n192.0.2.44|127.0.0.1\n"), resp
    # What the proxy would send upstream as X-Forwarded-For: the real client.
    c = socket.create_connection(("127.0.0.1", port), timeout=15)
    c.sendall(v1_line("192.0.2.46", 999, "198.51.100.1", 443)
              + b"GET /xff HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.1\r\n"
              b"Connection: close\r\n\r\n")
    assert read_all(c).endswith(b"\r\n\r\n203.0.113.1, 192.0.2.46\n")
    c.close()
    # LOCAL: no client in the header, the connection's address stays.
    assert http_over(port, v2_header(local=True)).endswith(b"\r\n\r\n127.0.0.1|127.0.0.1\n")
    # A balancer not in set_real_ip_from: its header does not count.
    c = socket.create_connection(("127.0.0.1", untrusted), timeout=15)
    c.sendall(v1_line("192.0.2.45", 1, "198.51.100.1", 443)
              + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    out = read_all(c)
    c.close()
    assert out.endswith(b"\r\n\r\n127.0.0.1\n"), out
    lines = wait_for(lambda: (lambda t: t if len(t) >= 2 else None)(
        open(os.path.join(server.dir, "rl.log")).read().splitlines()), what="2 log lines")
    assert lines[0] == "192.0.2.44 127.0.0.1 192.0.2.44", lines
    assert lines[1] == "192.0.2.46 127.0.0.1 192.0.2.46", lines


def test_stream_real_ip_from_proxy_protocol(server):
    """set_real_ip_from in stream: a trusted balancer's header names the
    client ($remote_addr, $remote_port, the error log's "client:"); an
    untrusted one's and a LOCAL header change nothing."""
    be = Backend()
    trusted, untrusted = stream_port(), stream_port()
    stream_conf(server, """
    log_format rl '$server_port|$remote_addr|$remote_port|'
                  '$realip_remote_addr|$proxy_protocol_addr';
    access_log logs/stream.log rl;
    set_real_ip_from 127.0.0.0/8;
    server { listen 127.0.0.1:%d proxy_protocol; proxy_pass 127.0.0.1:%d; }
    server { listen 127.0.0.1:%d proxy_protocol; proxy_pass 127.0.0.1:%d;
             set_real_ip_from 10.0.0.0/8; }
    """ % (trusted, be.port, untrusted, be.port))
    server.start()
    assert send_and_read(trusted, v1_line("192.0.2.44", 999, "198.51.100.1", 443), b"a") == b"a"
    assert send_and_read(trusted, v2_header(local=True), b"b") == b"b"
    assert send_and_read(untrusted, v1_line("192.0.2.45", 998, "198.51.100.1", 443), b"c") == b"c"
    lines = sorted(log_lines(server, 3), key=lambda line: (line.split("|")[0] != str(trusted),
                                                           line.split("|")[1]))
    assert lines[0] == "%d|127.0.0.1|%s|127.0.0.1|-" % (trusted, lines[0].split("|")[2])
    assert lines[1] == "%d|192.0.2.44|999|127.0.0.1|192.0.2.44" % trusted
    assert lines[2].startswith("%d|127.0.0.1|" % untrusted)
    assert lines[2].endswith("|127.0.0.1|192.0.2.45")
    server.wait_log(r"session done, client: 192\.0\.2\.44, server: 127\.0\.0\.1:%d" % trusted)


def test_stream_real_ip_from_errors(server):
    for arg, msg in (("unix:/x", 'invalid parameter "unix:/x"'),
                     ("10.0.0.0/33", 'invalid parameter "10.0.0.0/33"'),
                     ("no-such-host.invalid", "host not found in set_real_ip_from")):
        stream_conf(server, "set_real_ip_from %s; server { listen 127.0.0.1:%d; "
                            "proxy_pass 127.0.0.1:1; }" % (arg, stream_port()))
        r = server.cli("-t")
        assert r.returncode == 1 and msg in r.stderr and "turnpike.conf:" in r.stderr, r.stderr

"""The http proxy's PROXY header to its upstream (proxy_protocol on in an
http level, turnpike's own): v1 and v2 checked byte for byte by a backend
that reads the header before the HTTP request, the client address realip
found (a balancer on a unix socket included), TLS facts from an HTTPS
client, a header on every new connection (next upstream) and before TLS
to the upstream, and connections never shared between clients through
the keep-alive pool."""

import os
import socket
import ssl
import struct

from helpers import TIMEOUT
from http_helpers import config_refused, read_all
from proxy_helpers import Client, start_proxy
from stream_helpers import Backend, crc32c, read_proxy_header, tlv, v1_line, v2_header
from tls_helpers import cert_lines, client_ctx, pki_path, start_backend

TLS13 = ssl.TLSVersion.TLSv1_3


class PPBackend(Backend):
    """stream_helpers.Backend reading a PROXY header at the start of each
    connection (kept in .headers, in arrival order), then speaking
    HTTP/1.1: every request on it gets 200 "ok", and it stays open."""

    def __init__(self):
        super().__init__(proxy=True)

    def _serve(self, c):
        try:
            h = read_proxy_header(c)
            with self.lock:
                self.headers.append(h)
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                _, _, buf = buf.partition(b"\r\n\r\n")
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except (OSError, EOFError, AssertionError):
            pass
        finally:
            c.close()


def get(be, port, headers=()):
    """One request on a new connection: (status, body, our local port,
    the PROXY header the backend got for it).  The headers of earlier
    connections (the readiness checks') are skipped."""
    n = len(be.headers)
    with Client(port) as c:
        local = c.sock.getsockname()[1]
        r = c.get("/", headers=headers)
    assert r.status == 200, (r.status, r.body)
    return r.status, r.body, local, be.wait_headers(n + 1)[n]


def test_v1_carries_the_client(server):
    be = PPBackend()
    start_proxy(server, "location / { proxy_pass http://127.0.0.1:%d; proxy_protocol on; }"
                % be.port)
    status, body, local, h = get(be, server.port())
    assert (status, body) == (200, b"ok\n")
    assert h == v1_line("127.0.0.1", local, "127.0.0.1", server.port())
    be.close()


def test_realip_client_goes_in_the_header(server):
    be = PPBackend()
    start_proxy(server, """
        set_real_ip_from 127.0.0.1;
        location / { proxy_pass http://127.0.0.1:%d; proxy_protocol on; }
    """ % be.port)
    # X-Real-IP has no port: the header says 0, as $remote_port is empty.
    status, _, _, h = get(be, server.port(), headers=[("X-Real-IP", "203.0.113.7")])
    assert status == 200
    assert h == v1_line("203.0.113.7", 0, "127.0.0.1", server.port())
    # An IPv6 client reached over IPv4: both go as IPv6, the IPv4 one mapped.
    status, _, _, h = get(be, server.port(), headers=[("X-Real-IP", "2001:db8::5")])
    assert h == b"PROXY TCP6 2001:db8::5 ::ffff:127.0.0.1 0 %d\r\n" % server.port()
    be.close()


def test_v2_with_the_client_tls_facts(server):
    be = PPBackend()
    port = server.port()
    start_proxy(server, "", http_extra="""
    server {
        listen 127.0.0.1:%d ssl;
        %s
        location / {
            proxy_pass http://127.0.0.1:%d;
            proxy_protocol on; proxy_protocol_version 2; proxy_protocol_crc32c on;
        }
    }""" % (server.port("tls"), cert_lines("a-ec"), be.port))
    n = len(be.headers)
    raw = socket.create_connection(("127.0.0.1", server.port("tls")), timeout=TIMEOUT)
    s = client_ctx(TLS13).wrap_socket(raw, server_hostname="a.test")
    local, cipher = s.getsockname()[1], s.cipher()[0]
    s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    out = read_all(s)
    s.close()
    assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"ok\n"), out
    sub = tlv(0x21, b"TLSv1.3") + tlv(0x23, cipher.encode())
    tlvs = (tlv(0x01, b"http/1.1") + tlv(0x02, b"a.test")
            + tlv(0x20, bytes([0x01]) + struct.pack("!I", 1) + sub))
    h = be.wait_headers(n + 1)[n]
    # The CRC32C TLV comes last: check it is there, then the rest byte for byte.
    assert h[-7:-4] == b"\x03\x00\x04", h
    body = h[:-4] + b"\0\0\0\0"
    assert h[-4:] == struct.pack("!I", crc32c(body))
    want = v2_header("127.0.0.1", local, "127.0.0.1", server.port("tls"),
                     tlvs + tlv(0x03, b"\0\0\0\0"))
    assert body == want, (body, want)
    assert port  # the plain server is there too
    be.close()


def test_connections_are_not_shared_between_clients(server):
    """With keepalive in the upstream, a connection that carried one
    client's header is never given to another: each client connection
    gets its own, with its own header."""
    be = PPBackend()
    start_proxy(server, """
        location / {
            proxy_pass http://pp; proxy_protocol on;
            proxy_http_version 1.1; proxy_set_header Connection "";
        }
    """, http_extra="upstream pp { server 127.0.0.1:%d; keepalive 8; }" % be.port)
    conns = be.conns
    for _ in range(3):
        status, _, local, h = get(be, server.port())
        assert status == 200
        assert h == v1_line("127.0.0.1", local, "127.0.0.1", server.port())
    assert be.conns == conns + 3
    be.close()


def test_bad_version_refused(server):
    err = config_refused(server, """
    server { listen 127.0.0.1:%d;
        location / { proxy_pass http://127.0.0.1:9; proxy_protocol_version 3; } }
    """ % server.port())
    assert 'invalid value "3" in "proxy_protocol_version" directive' in err, err


def test_client_on_a_unix_socket(server):
    """A balancer on a unix socket, trusted by set_real_ip_from unix:: the
    client it names goes in the header, with the unspecified address as
    the destination (turnpike was reached on no IP address)."""
    be = PPBackend()
    path = os.path.join(server.dir, "in.sock")
    start_proxy(server, "", http_extra="""
    server {
        listen unix:%s;
        set_real_ip_from unix:;
        location / { proxy_pass http://127.0.0.1:%d; proxy_protocol on; }
    }""" % (path, be.port))
    n = len(be.headers)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(TIMEOUT)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.0\r\nHost: u\r\nX-Real-IP: 192.0.2.9\r\n\r\n")
        assert read_all(s).endswith(b"\r\n\r\nok\n")
    assert be.wait_headers(n + 1)[n] == b"PROXY TCP4 192.0.2.9 0.0.0.0 0 0\r\n"
    be.close()


def test_next_upstream_sends_its_own_header(server):
    """A refused first server: the request goes on to the next, whose new
    connection starts with the header too."""
    be = PPBackend()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    server.expect_log(r"connect\(\) failed")
    start_proxy(server, "location / { proxy_pass http://pp; proxy_protocol on; }",
                http_extra="upstream pp { server 127.0.0.1:%d max_fails=0; server 127.0.0.1:%d; }"
                % (dead_port, be.port))
    for _ in range(4):
        status, _, local, h = get(be, server.port())
        assert h == v1_line("127.0.0.1", local, "127.0.0.1", server.port())
    be.close()


def test_header_before_tls_to_the_upstream(make_server):
    """proxy_pass https:// with proxy_protocol on: the header goes in plain,
    then the handshake; a turnpike backend with `listen ... ssl
    proxy_protocol` reads both and names the client."""
    b = make_server("backend")
    tls = start_backend(b, listen="proxy_protocol")
    front = make_server("front")
    start_proxy(front, """location / {
        proxy_pass https://127.0.0.1:%d; proxy_ssl_name a.test;
        proxy_ssl_trusted_certificate %s; proxy_ssl_verify on;
        proxy_protocol on; proxy_protocol_version 2;
    }""" % (tls, pki_path("ca.pem")))
    with Client(front.port()) as c:
        r = c.get("/pp")
    assert (r.status, r.body) == (200, b"pp 127.0.0.1\n")

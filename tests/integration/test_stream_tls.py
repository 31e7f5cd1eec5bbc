"""TLS termination in the stream context, and the PROXY protocol header
sent to the backend (v1 and v2 with TLVs), checked byte for byte by the
backend against a header built here independently."""

import re
import socket
import ssl
import struct

from stream_helpers import log_lines, Backend, stream_conf, stream_port, tlv, v1_line, v2_header
from tls_helpers import cert_lines, client_ctx, pki_path

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


def tls_stream(srv, backend, extra="", stream_extra=""):
    port = stream_port()
    stream_conf(srv, """
    log_format t '$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|'
                 '$ssl_alpn_protocol|$ssl_client_verify|$status|$bytes_received';
    access_log logs/stream.log t;
    %s
    server {
        listen 127.0.0.1:%d ssl;
        %s
        proxy_pass 127.0.0.1:%d;
        %s
    }
    """ % (stream_extra, port, cert_lines("a-ec"), backend.port, extra))
    srv.start()
    return port


def tls_roundtrip(port, data=b"ping", ctx=None, sni="a.test", session=None):
    """One session: data there and back; (what came back, the TLS socket's
    facts, our local port)."""
    ctx = ctx or client_ctx(alpn=("h2", "http/1.1"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    s = ctx.wrap_socket(raw, server_hostname=sni, session=session)
    facts = {"version": s.version(), "cipher": s.cipher()[0],
             "alpn": s.selected_alpn_protocol(), "local": s.getsockname()[1]}
    s.sendall(data)
    out = b""
    while len(out) < len(data):
        d = s.recv(65536)
        if not d:
            break
        out += d
    facts["session"] = s.session
    facts["reused"] = s.session_reused
    s.close()
    return out, facts




def test_tls_terminated_with_variables(server):
    be = Backend()
    port = tls_stream(server, be, "ssl_alpn http/1.1;")
    for version in (TLS13, TLS12):
        out, f = tls_roundtrip(port, b"hello tls", client_ctx(version, alpn=("http/1.1",)))
        assert out == b"hello tls"
    lines = log_lines(server, 2)
    assert re.fullmatch(r"TLSv1\.3\|TLS_[A-Z0-9_]+\|a\.test\|\.\|http/1\.1\|NONE\|200\|9",
                        lines[0]), lines
    assert re.fullmatch(r"TLSv1\.2\|ECDHE-ECDSA-[A-Z0-9-]+\|a\.test\|\.\|http/1\.1\|NONE\|200\|9",
                        lines[1]), lines


def test_alpn_only_with_ssl_alpn(server):
    """As nginx's stream: no ALPN unless ssl_alpn lists names; then the
    first of ours the client offers, and a client offering none of them
    is refused."""
    be = Backend()
    alpn = stream_port()
    port = tls_stream(server, be, stream_extra="""
    server {
        listen 127.0.0.1:%d ssl;
        %s
        ssl_alpn imap http/1.1;
        proxy_pass 127.0.0.1:%d;
    }""" % (alpn, cert_lines("a-ec"), be.port))
    for offer in (("h2",), ("postgresql", "http/1.1")):
        out, f = tls_roundtrip(port, b"any", client_ctx(TLS13, alpn=offer))
        assert (out, f["alpn"]) == (b"any", None), offer
    out, f = tls_roundtrip(alpn, b"two", client_ctx(TLS13, alpn=("http/1.1", "imap")))
    assert (out, f["alpn"]) == (b"two", "imap")
    try:
        tls_roundtrip(alpn, b"none", client_ctx(TLS13, alpn=("h2",)))
    except ssl.SSLError as e:
        assert "no application protocol" in str(e), e
    else:
        raise AssertionError("a client offering none of ssl_alpn's names was served")


def test_alpn_names_checked(server):
    stream_conf(server, """
    server { listen 127.0.0.1:%d ssl; %s ssl_alpn %s; proxy_pass 127.0.0.1:9; }
    """ % (stream_port(), cert_lines("a-ec"), "x" * 256))
    r = server.cli("-t")
    assert r.returncode == 1 and 'ALPN protocol too long "xxx' in r.stderr, r.stderr
    stream_conf(server, """
    server { listen 127.0.0.1:%d ssl; %s ssl_alpn imap ""; proxy_pass 127.0.0.1:9; }
    """ % (stream_port(), cert_lines("a-ec")))
    r = server.cli("-t")
    assert r.returncode == 1 and 'empty ALPN protocol in "ssl_alpn"' in r.stderr, r.stderr


def test_proxy_v1_after_tls(server):
    be = Backend(proxy=True)
    port = tls_stream(server, be, "proxy_protocol on;")
    out, f = tls_roundtrip(port, b"payload")
    assert out == b"payload"
    h = be.wait_headers(1)[0]
    assert h == v1_line("127.0.0.1", f["local"], "127.0.0.1", port), h


def expected_v2(f, port, client=0x01, verify=1, cn=None, extra=b""):
    sub = tlv(0x21, f["version"].encode()) + tlv(0x23, f["cipher"].encode())
    if cn is not None:
        sub += tlv(0x22, cn.encode())
    tlvs = b""
    if f["alpn"]:
        tlvs += tlv(0x01, f["alpn"].encode())
    tlvs += tlv(0x02, b"a.test") + extra + tlv(0x20, bytes([client]) + struct.pack("!I", verify)
                                               + sub)
    return v2_header("127.0.0.1", f["local"], "127.0.0.1", port, tlvs)


def test_proxy_v2_tlvs_byte_for_byte(server):
    be = Backend(proxy=True)
    port = tls_stream(server, be, "proxy_protocol on; proxy_protocol_version 2; ssl_alpn http/1.1;")
    for version in (TLS13, TLS12):
        out, f = tls_roundtrip(port, b"v2", client_ctx(version, alpn=("h2", "http/1.1")))
        assert out == b"v2"
        h = be.wait_headers(1 if version == TLS13 else 2)[-1]
        assert f["alpn"] == "http/1.1"
        assert h == expected_v2(f, port), (h, expected_v2(f, port))
    # $bytes_received counts the client's bytes, not our PROXY header.
    assert [ln.split("|")[-1] for ln in log_lines(server, 2)] == ["2", "2"]


def test_proxy_v2_client_certificate_bits(server):
    be = Backend(proxy=True)
    port = tls_stream(server, be, "proxy_protocol on; proxy_protocol_version 2;"
                      "ssl_verify_client optional; ssl_client_certificate %s;"
                      % pki_path("client-ca.pem"))
    out, f = tls_roundtrip(port, b"cert", client_ctx(TLS13, cert="alice", alpn=()))
    assert out == b"cert"
    h = be.wait_headers(1)[0]
    assert h == expected_v2(f, port, client=0x07, verify=0, cn="alice"), h
    # Without a certificate: only the SSL bit, verify non-zero.
    out, f = tls_roundtrip(port, b"none", client_ctx(TLS13, alpn=()))
    assert be.wait_headers(2)[1] == expected_v2(f, port)


def test_proxy_v2_crc32c_and_unique_id(server):
    be = Backend(proxy=True)
    port = tls_stream(server, be, "proxy_protocol on; proxy_protocol_version 2; "
                      "proxy_protocol_crc32c on; proxy_protocol_unique_id on;")
    out, f = tls_roundtrip(port, b"crc", client_ctx(TLS13, alpn=()))
    h = be.wait_headers(1)[0]
    # The UNIQUE_ID is random: take it from the header, check its shape,
    # then the whole header against ours with that value and our CRC.
    m = re.search(rb"\x05\x00\x20([0-9a-f]{32})", h)
    assert m, h
    want = expected_v2(f, port, extra=tlv(0x05, m.group(1)))
    from stream_helpers import crc32c  # noqa: E402 - the test's own CRC32C
    body = want[16:] + tlv(0x03, b"\0\0\0\0")
    whole = want[:14] + struct.pack("!H", len(body)) + body
    whole = whole[:-4] + struct.pack("!I", crc32c(whole))
    assert h == whole


def test_proxy_v1_plain_stream(server):
    be = Backend(proxy=True)
    port = stream_port()
    stream_conf(server, "server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; "
                "proxy_protocol on; }" % (port, be.port))
    server.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"plain")
    assert c.recv(100) == b"plain"
    assert be.wait_headers(1)[0] == v1_line("127.0.0.1", c.getsockname()[1], "127.0.0.1", port)
    c.close()


def test_tickets_resume_in_stream(server):
    be = Backend()
    port = tls_stream(server, be, "ssl_session_ticket_key %s;" % pki_path("ticket-1.key"))
    ctx = client_ctx(TLS12, alpn=())
    out, f = tls_roundtrip(port, b"one", ctx)
    assert not f["reused"]
    out, g = tls_roundtrip(port, b"two", ctx, session=f["session"])
    assert g["reused"] and out == b"two"
    assert log_lines(server, 2)[1].split("|")[3] == "r"


def test_handshake_timeout_and_garbage(server):
    be = Backend()
    port = tls_stream(server, be, "ssl_handshake_timeout 300ms;")
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    assert c.recv(10) == b""  # nothing sent: closed at the deadline
    c.close()
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"GET / HTTP/1.0\r\n\r\n")
    try:
        assert c.recv(10) == b""
    except ConnectionResetError:
        pass
    c.close()
    assert be.conns == 0
    server.wait_log(r"client timed out while SSL handshaking")

"""Scale-out: Debian's haproxy in TCP mode sends PROXY v2 to two turnpike
instances that share ticket key files.  A TLS session made through one
instance resumes on the other, and the backend behind each sees the real
client's address in the PROXY header turnpike sends it."""

import shutil
import socket
import ssl
import subprocess

import pytest

from helpers import wait_for
from stream_helpers import read_lines, Backend, parse_v2, stream_conf, stream_port
from tls_helpers import cert_lines, client_ctx, pki_path

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CLIENT_ADDR = "127.0.0.7"  # a loopback address of its own: not haproxy's




def instance(srv, backend):
    port = stream_port()
    stream_conf(srv, """
    log_format s '$remote_addr|$proxy_protocol_addr|$ssl_session_reused';
    access_log logs/stream.log s;
    server {
        listen 127.0.0.1:%d ssl proxy_protocol;
        %s
        ssl_session_ticket_key %s;
        ssl_session_ticket_key %s;
        proxy_pass 127.0.0.1:%d;
        proxy_protocol on;
        proxy_protocol_version 2;
    }
    """ % (port, cert_lines("a-ec"), pki_path("ticket-1.key"), pki_path("ticket-2.key"),
           backend.port))
    srv.start()
    return port


@pytest.fixture
def haproxy(tmp_path):
    procs = []

    def start(ports):
        fe = stream_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text("""
global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    balance roundrobin
%s
""" % (fe, "\n".join("    server s%d 127.0.0.1:%d send-proxy-v2" % (i, p)
                     for i, p in enumerate(ports))))
        p = subprocess.Popen([HAPROXY, "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        procs.append(p)

        def up():
            assert p.poll() is None, p.stderr.read()
            try:
                socket.create_connection(("127.0.0.1", fe), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(up, what="haproxy")
        return fe
    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


def session_via(port, ctx, session=None):
    raw = socket.socket()
    raw.bind((CLIENT_ADDR, 0))
    raw.settimeout(15)
    raw.connect(("127.0.0.1", port))
    s = ctx.wrap_socket(raw, server_hostname="a.test", session=session)
    s.sendall(b"hi")
    assert s.recv(10) == b"hi"
    out = (s.session, s.session_reused, s.getsockname()[1])
    s.close()
    return out


def test_haproxy_v2_to_two_instances_resume_and_real_address(make_server, haproxy):
    a, b = make_server("a"), make_server("b")
    be_a, be_b = Backend(proxy=True), Backend(proxy=True)
    pa, pb = instance(a, be_a), instance(b, be_b)
    fe = haproxy([pa, pb])
    ctx = client_ctx(ssl.TLSVersion.TLSv1_2, alpn=())

    def ours():
        """Our sessions' log lines in each instance (haproxy's readiness
        probe made a session too, from 127.0.0.1)."""
        return [[ln for ln in read_lines(x) if CLIENT_ADDR in ln] for x in (a, b)]

    def wait_total(n):
        return wait_for(lambda: (lambda g: g if sum(map(len, g)) == n else None)(ours()),
                        what="%d sessions logged" % n)
    sess, reused, cport = session_via(fe, ctx)
    assert not reused
    first = 0 if wait_total(1)[0] else 1
    # Resume until haproxy sends a connection to the other instance, which
    # resumes the first one's session with the shared ticket keys.
    cports = {cport}
    for n in range(2, 8):
        _, reused2, cport2 = session_via(fe, ctx, session=sess)
        assert reused2
        cports.add(cport2)
        got = wait_total(n)
        if got[1 - first]:
            break
    assert got[1 - first], got
    assert got[first][0].split("|")[2] == "." and got[1 - first][0].split("|")[2] == "r", got
    for line in got[0] + got[1]:
        assert line.split("|")[:2] == ["127.0.0.1", CLIENT_ADDR], line
    # Each backend saw the real client in turnpike's PROXY v2 header.
    for be in (be_a, be_b):
        hs = [parse_v2(h) for h in be.wait_headers(1)]
        assert hs and all(d["command"] == "PROXY" and d["src"] == CLIENT_ADDR for d in hs), hs
        for d in hs:
            assert d["dst"] == "127.0.0.1" and dict(d["tlvs"])[0x02] == b"a.test", d
            assert d["sport"] in cports

"""Stream's proxy_ssl: TLS to the upstream server, with the proxy_ssl_*
directives as http's proxy has them.  The upstream is the HTTPS backend of
the http proxy's TLS tests (tls_helpers.start_backend), reached through a
stream server that relays plain HTTP from the test client.  Verification
(the wrong name and an untrusted CA: 502 in the stream log and nginx's
error line), a failed handshake going on to the next server, the default
name, SNI from a variable, session reuse seen
from the backend, a client certificate, and the PROXY header going out in
plain before the TLS handshake (as nginx sends it), seen by a raw backend
and by a turnpike backend with `listen ... ssl proxy_protocol`.

The front runs one worker, so that each connection sees the sessions the
ones before it left (they are each worker's)."""

import socket
import threading

from helpers import TIMEOUT
from stream_helpers import log_lines, read_proxy_header, roundtrip, stream_port
from tls_helpers import TlsConn, backend_lines, cert_lines, pki_path, start_backend


def start_front(srv, server, extra=""):
    """srv with one stream server (port returned) around the given
    directives, verifying against the test CA, logging
    '$status|$upstream_addr|$upstream_bytes_sent' to logs/stream.log."""
    port = stream_port()
    http = 'server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }' % srv.port("main")
    text = srv.config(http=http, workers=1)
    text += """stream {
        log_format s '$status|$upstream_addr|$upstream_bytes_sent';
        access_log logs/stream.log s;
        proxy_ssl_trusted_certificate %s;
        proxy_ssl_verify on;
        %s
        server {
            listen 127.0.0.1:%d;
            proxy_ssl on;
            %s
        }
    }
    """ % (pki_path("ca.pem"), extra, port, server)
    srv.write(text)
    srv.nworkers = 1
    srv.start()
    return port


def http_get(port, path="/t"):
    """One HTTP/1.0 request through the stream: the body ("" when the
    stream closed without an answer)."""
    out = roundtrip(port, b"GET %s HTTP/1.0\r\nHost: a.test\r\n\r\n" % path.encode())
    return out.partition(b"\r\n\r\n")[2].decode()


def test_verified_upstream(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    port = start_front(fs, "proxy_ssl_name a.test; proxy_pass 127.0.0.1:%d;" % tls)
    assert http_get(port, "/x") == "backend |.\n"  # no SNI by default, a full handshake
    assert backend_lines(b, 1)[0][4] == "/x"
    assert log_lines(fs)[0].startswith("200|127.0.0.1:%d|" % tls)


def test_default_name_is_the_proxy_pass_host(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    port = start_front(make_server("front"), "proxy_ssl_server_name on; proxy_pass a.test;",
                       extra="upstream a.test { server 127.0.0.1:%d; }" % tls)
    assert http_get(port) == "backend a.test|.\n"


def test_wrong_name_gives_502_and_the_log_line(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    port = start_front(fs, "proxy_ssl_name b.test; proxy_pass 127.0.0.1:%d;" % tls)
    assert http_get(port) == ""
    assert log_lines(fs)[0].startswith("502|127.0.0.1:%d|" % tls)
    fs.wait_log(r'\[error\] .*upstream SSL certificate does not match "b\.test" while SSL '
                r'handshaking to upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:%d, '
                r'upstream: "127\.0\.0\.1:%d"' % (port, tls))


def test_untrusted_ca_gives_502_and_the_log_line(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    port = start_front(fs, """proxy_ssl_trusted_certificate %s; proxy_ssl_name a.test;
                              proxy_pass 127.0.0.1:%d;""" % (pki_path("client-ca.pem"), tls))
    assert http_get(port) == ""
    assert log_lines(fs)[0].startswith("502|")
    fs.wait_log(r'\[error\] .*upstream SSL certificate verify error: \(20:unable to get local '
                r'issuer certificate\) while SSL handshaking to upstream')


def test_verify_off_takes_any_certificate(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    port = start_front(make_server("front"), """proxy_ssl_verify off; proxy_ssl_name b.test;
                                                proxy_pass 127.0.0.1:%d;""" % tls)
    assert http_get(port) == "backend |.\n"


def test_sni_from_the_client_sni(make_server):
    """TLS in and out: the client's SNI names the upstream server."""
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    port = stream_port()
    text = fs.config(http='server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }'
                     % fs.port("main"), workers=1)
    text += """stream { server {
        listen 127.0.0.1:%d ssl;
        %s
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate %s;
        proxy_ssl_server_name on;
        proxy_ssl_name $ssl_server_name;
        proxy_pass 127.0.0.1:%d;
    } }
    """ % (port, cert_lines("a-ec"), pki_path("ca.pem"), tls)
    fs.write(text)
    fs.nworkers = 1
    fs.start()
    with TlsConn(port, sni="a.test") as c:
        r = c.get("/sni")
        assert r.status == 200 and r.body == b"backend a.test|.\n", r
    with TlsConn(port, sni="localhost") as c:
        assert c.get("/sni").body.startswith(b"backend localhost|")


def test_failed_handshake_goes_to_the_next_server(make_server):
    """The backend's plain port answers a ClientHello with a 400: a failed
    handshake, which proxy_next_upstream takes to the next server."""
    b = make_server("backend")
    tls = start_backend(b)
    plain = b.port("main")
    fs = make_server("front")
    port = start_front(fs, "proxy_ssl_name a.test; proxy_pass u;",
                       extra="upstream u { server 127.0.0.1:%d; server 127.0.0.1:%d; }"
                       % (plain, tls))
    assert http_get(port, "/1").startswith("backend")
    assert http_get(port, "/2").startswith("backend")
    lines = log_lines(fs, 2)
    assert [line.split("|")[0] for line in lines] == ["200", "200"]
    assert sum("127.0.0.1:%d, 127.0.0.1:%d" % (plain, tls) in line for line in lines) == 1, lines
    fs.wait_log(r"while SSL handshaking to upstream")


def test_session_reuse_seen_on_the_backend(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    port = start_front(make_server("front"), "proxy_ssl_name a.test; proxy_pass 127.0.0.1:%d;"
                       % tls)
    for path in ("/1", "/2", "/3"):
        assert http_get(port, path).startswith("backend")
    assert [line[1] for line in backend_lines(b, 3)] == [".", "r", "r"]


def test_session_reuse_off(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    port = start_front(make_server("front"), """proxy_ssl_session_reuse off;
                       proxy_ssl_name a.test; proxy_pass 127.0.0.1:%d;""" % tls)
    for path in ("/1", "/2"):
        assert http_get(port, path).startswith("backend")
    assert [line[1] for line in backend_lines(b, 2)] == [".", "."]


def test_client_certificate_to_the_upstream(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    port = start_front(make_server("front"), """proxy_ssl_certificate %s;
                       proxy_ssl_certificate_key %s; proxy_ssl_name a.test;
                       proxy_pass 127.0.0.1:%d;""" % (pki_path("alice.pem"),
                                                       pki_path("alice.key"), tls))
    assert http_get(port).startswith("backend")
    assert backend_lines(b, 1)[0][2] == "SUCCESS"


def test_proxy_header_goes_before_the_handshake(make_server):
    """A raw upstream: the PROXY line, then a TLS record (a ClientHello)."""
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(4)
    raw.settimeout(TIMEOUT)
    seen = {}

    def serve():
        c, _ = raw.accept()
        c.settimeout(TIMEOUT)
        seen["header"] = read_proxy_header(c)
        seen["next"] = c.recv(6)
        c.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    fs = make_server("front")
    port = start_front(fs, """proxy_protocol on; proxy_ssl_verify off;
                              proxy_pass 127.0.0.1:%d;""" % raw.getsockname()[1])
    try:
        assert http_get(port) == ""
        t.join(TIMEOUT)
    finally:
        raw.close()
    assert seen["header"].startswith(b"PROXY TCP4 127.0.0.1 127.0.0.1 "), seen
    assert seen["next"][0] == 0x16 and seen["next"][5] == 0x01, seen  # handshake: ClientHello
    assert log_lines(fs)[0].startswith("502|")


def test_proxy_protocol_with_tls_to_turnpike(make_server):
    """End to end: a turnpike backend with `listen ... ssl proxy_protocol`
    reads the header, then the handshake, and sees the client's address.
    $upstream_bytes_sent counts the header and the relayed bytes (not the
    TLS records), as nginx's does."""
    b = make_server("backend")
    tls = start_backend(b, listen="proxy_protocol")
    fs = make_server("front")
    port = start_front(fs, """proxy_protocol on; proxy_ssl_name a.test;
                              proxy_pass 127.0.0.1:%d;""" % tls)
    assert http_get(port, "/pp") == "pp 127.0.0.1\n"
    status, _, sent = log_lines(fs)[0].split("|")
    header = int(sent) - len(b"GET /pp HTTP/1.0\r\nHost: a.test\r\n\r\n")
    assert status == "200" and len("PROXY TCP4 127.0.0.1 127.0.0.1 1 1\r\n") <= header <= 56


def check(srv, server):
    p = stream_port()
    text = srv.config(http=None)
    text += "stream { server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:1; %s } }\n" % (p, server)
    srv.write(text)
    r = srv.cli("-t")
    return r.returncode, r.stderr


def test_configuration_errors(server):
    for directives, msg in (
            ("proxy_ssl yes;", 'it must be "on" or "off"'),
            ("proxy_ssl on; proxy_ssl_verify on;",
             "no proxy_ssl_trusted_certificate for proxy_ssl_verify"),
            ("proxy_ssl on; proxy_ssl_certificate %s;" % pki_path("alice.pem"),
             'no "proxy_ssl_certificate_key" is defined for certificate'),
            ("proxy_ssl_name $nope;", 'unknown "nope" variable'),
            ("proxy_ssl_protocols SSLv9;", 'invalid value "SSLv9"')):
        rc, err = check(server, directives)
        assert rc == 1 and msg in err and "turnpike.conf:" in err, (directives, err)
    rc, err = check(server, "proxy_ssl on; proxy_ssl_verify off; proxy_ssl_server_name on;")
    assert rc == 0, err

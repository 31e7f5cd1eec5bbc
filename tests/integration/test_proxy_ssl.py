"""TLS to upstreams: proxy_pass https:// to a turnpike HTTPS backend with the
test PKI (tls_helpers).  Verification (a good chain, the wrong name, an
untrusted CA: 502 and nginx's log lines), SNI sent or not, a client
certificate to the upstream, session reuse and keep-alive seen from the
backend's access log, a failed handshake going on to the next server, and
the configuration's errors.

The backend logs one line per request:
  $ssl_server_name|$ssl_session_reused|$ssl_client_verify|$connection|$request_uri
Neither answers "/" through TLS: wait_ready polls it.  The frontend runs
one worker, so that every request sees the sessions and
idle connections the ones before it left (they are each worker's)."""

import os
import re
import socket

from helpers import Conn, get
from tls_helpers import backend_lines, pki_path, start_backend

def start_front(srv, locations, extra=""):
    http = """
    %s
    server {
        listen 127.0.0.1:%d;
        proxy_ssl_trusted_certificate %s;
        proxy_ssl_verify on;
        location = / { return 200 "front\n"; }
        %s
    }
    """ % (extra, srv.port("main"), pki_path("ca.pem"), locations)
    srv.write(http=http, workers=1)
    srv.start()
    return srv.port("main")


def test_verified_upstream(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:%d; }
    """ % tls)
    r = get(front, "/x")
    assert r.status == 200, r
    assert r.text == "backend |.\n"  # no SNI by default, a full handshake
    assert backend_lines(b, 1)[0][4] == "/x"


def test_default_name_is_the_proxy_host(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / { proxy_ssl_server_name on; proxy_pass https://a.test; }
    """, extra="upstream a.test { server 127.0.0.1:%d; }" % tls)
    r = get(front, "/t")
    assert r.status == 200, r
    assert r.text == "backend a.test|.\n"


def test_wrong_name_gives_502_and_the_log_line(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    front = start_front(fs, """
        location / { proxy_ssl_name b.test; proxy_pass https://127.0.0.1:%d; }
    """ % tls)
    r = get(front, "/t")
    assert r.status == 502, r
    fs.wait_log(r'\[error\] .*upstream SSL certificate does not match "b\.test" while SSL '
                r'handshaking to upstream, client: 127\.0\.0\.1, request: "GET /t HTTP/1\.1", '
                r'upstream: "https://127\.0\.0\.1:%d/t"' % tls)


def test_untrusted_ca_gives_502_and_the_log_line(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    front = start_front(fs, """
        location / {
            proxy_ssl_trusted_certificate %s;
            proxy_ssl_name a.test;
            proxy_pass https://127.0.0.1:%d;
        }
    """ % (pki_path("client-ca.pem"), tls))
    r = get(front, "/t")
    assert r.status == 502, r
    fs.wait_log(r'\[error\] .*upstream SSL certificate verify error: \(20:unable to get local '
                r'issuer certificate\) while SSL handshaking to upstream')


def test_verify_off_takes_any_certificate(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / {
            proxy_ssl_verify off;
            proxy_ssl_trusted_certificate %s;
            proxy_ssl_name b.test;
            proxy_pass https://127.0.0.1:%d;
        }
    """ % (pki_path("client-ca.pem"), tls))
    assert get(front, "/t").status == 200


def test_sni_sent_or_not(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location /sni { proxy_ssl_server_name on; proxy_ssl_name a.test;
                        proxy_pass https://127.0.0.1:%d; }
        location /nosni { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:%d; }
        location /ip { proxy_ssl_server_name on; proxy_ssl_verify off;
                       proxy_pass https://127.0.0.1:%d; }
    """ % (tls, tls, tls))
    assert get(front, "/sni").text == "backend a.test|.\n"
    assert get(front, "/nosni").text == "backend |.\n"
    assert get(front, "/ip").text == "backend |.\n"  # an address never goes as SNI
    names = [line[0] for line in backend_lines(b, 3)]
    assert names == ["a.test", "-", "-"]  # the log writes an empty value as "-"


def test_client_certificate_to_the_upstream(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location /cert {
            proxy_ssl_certificate %s;
            proxy_ssl_certificate_key %s;
            proxy_ssl_name a.test;
            proxy_pass https://127.0.0.1:%d;
        }
        location /none { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:%d; }
    """ % (pki_path("alice.pem"), pki_path("alice.key"), tls, tls))
    assert get(front, "/cert").status == 200
    assert get(front, "/none").status == 200
    lines = backend_lines(b, 2)
    assert [line[2] for line in lines] == ["SUCCESS", "NONE"]


def test_session_reuse_seen_on_the_backend(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location /reuse { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:%d; }
        location /noreuse { proxy_ssl_session_reuse off; proxy_ssl_name a.test;
                            proxy_pass https://127.0.0.1:%d; }
    """ % (tls, tls))
    for path in ("/reuse", "/reuse", "/reuse", "/noreuse", "/noreuse"):
        assert get(front, path).status == 200
    lines = backend_lines(b, 5)
    assert [line[1] for line in lines] == [".", "r", "r", ".", "."], lines
    assert len({line[3] for line in lines}) == 5  # no keep-alive here: five connections


def test_session_reuse_with_tls12(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / { proxy_ssl_protocols TLSv1.2; proxy_ssl_name a.test;
                     proxy_pass https://127.0.0.1:%d; }
    """ % tls)
    for _ in range(3):
        assert get(front, "/t").status == 200
    assert [line[1] for line in backend_lines(b, 3)] == [".", "r", "r"]


def test_keepalive_reuses_one_tls_connection(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_server_name on;
            proxy_pass https://a.test;
        }
        location /plain/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://a.test/;
        }
    """, extra="upstream a.test { server 127.0.0.1:%d; keepalive 4; }" % tls)
    for i in range(4):
        r = get(front, "/k%d" % i)
        assert r.status == 200, r
    lines = backend_lines(b, 4)
    assert len({line[3] for line in lines}) == 1, lines  # one connection
    assert [line[1] for line in lines] == ["."] * 4  # one handshake
    # The same group over plain HTTP never gets the TLS connection: the
    # backend's TLS port answers plain HTTP with its 400.
    assert get(front, "/plain/").status == 400
    assert len(backend_lines(b, 4)) == 4


def test_failed_handshake_goes_to_the_next_server(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    fs = make_server("front")
    front = start_front(fs, """
        location / { proxy_ssl_name a.test; proxy_pass https://both; }
    """, extra="upstream both { server 127.0.0.1:%d; server 127.0.0.1:%d; }"
               % (b.port("main"), tls))
    for _ in range(2):
        r = get(front, "/t")
        assert r.status == 200, r
    fs.wait_log(r'\[error\] .*SSL_do_handshake\(\) failed \(SSL: .*\) while SSL handshaking to '
                r'upstream, .*upstream: "https://127\.0\.0\.1:%d/t"' % b.port("main"))


def test_next_upstream_off_gives_502(make_server):
    b = make_server("backend")
    start_backend(b)
    front = start_front(make_server("front"), """
        location / { proxy_next_upstream off; proxy_ssl_name a.test;
                     proxy_pass https://127.0.0.1:%d; }
    """ % b.port("main"))
    assert get(front, "/t").status == 502


def test_large_bodies_both_ways(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    os.mkdir(os.path.join(b.dir, "files"))
    big = os.urandom(3 << 20)
    with open(os.path.join(b.dir, "files", "big"), "wb") as f:
        f.write(big)
    front = start_front(make_server("front"), """
        client_max_body_size 16m;
        location / { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:%d; }
    """ % tls)
    r = get(front, "/files/big")
    assert r.status == 200 and r.body == big
    body = os.urandom(2 << 20)
    c = Conn(front)
    c.send(c.request("/post", method="POST", headers=(("Content-Length", len(body)),),
                     send=False) + body)
    r = c.read_response()
    c.close()
    assert r.status == 200 and r.text == "got %d\n" % len(body), r


def test_handshake_timeout_is_the_connect_timeout(make_server):
    """A backend that takes the connection and never answers the hello."""
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)  # the kernel accepts; nobody reads
    try:
        fs = make_server("front")
        front = start_front(fs, """
            location / { proxy_connect_timeout 300ms; proxy_ssl_name a.test;
                         proxy_pass https://127.0.0.1:%d; }
        """ % mute.getsockname()[1])
        assert get(front, "/t").status == 504
        fs.wait_log(r'\[error\] .*upstream timed out \(110: Connection timed out\) while SSL '
                    r'handshaking to upstream')
    finally:
        mute.close()


# ---- configuration -----------------------------------------------------------

def check_conf(srv, locations):
    srv.write(http="server { listen 127.0.0.1:%d; %s }" % (srv.port(), locations))
    r = srv.cli("-t")
    return r.returncode, r.stderr


def test_verify_needs_a_trusted_certificate(server):
    rc, err = check_conf(server, "location / {\n proxy_ssl_verify on;\n"
                                 " proxy_pass https://127.0.0.1:1; }")
    assert rc == 1
    assert re.search(r"no proxy_ssl_trusted_certificate for proxy_ssl_verify in "
                     r"\S+turnpike\.conf:\d+", err), err


def test_missing_files_and_pairs_are_errors(server):
    rc, err = check_conf(server, "proxy_ssl_trusted_certificate /nonexistent/ca.pem;")
    assert rc == 1 and re.search(r'"/nonexistent/ca\.pem".* in \S+turnpike\.conf:\d+', err), err
    rc, err = check_conf(server, "location / { proxy_ssl_certificate %s;\n"
                                 " proxy_pass https://127.0.0.1:1; }" % pki_path("alice.pem"))
    assert rc == 1
    assert 'no "proxy_ssl_certificate_key" is defined for certificate' in err, err
    rc, err = check_conf(server, "location / { proxy_ssl_certificate %s;\n"
                                 " proxy_ssl_certificate_key %s;\n"
                                 " proxy_pass https://127.0.0.1:1; }"
                         % (pki_path("alice.pem"), pki_path("bob.key")))
    assert rc == 1 and "does not match" in err, err


def test_bad_values_are_errors(server):
    for line, msg in (("proxy_ssl_verify yes;", 'it must be "on" or "off"'),
                      ("proxy_ssl_protocols SSLv9;", 'invalid value "SSLv9"'),
                      ("proxy_ssl_ciphers NOPE-CIPHER;", "proxy_ssl_ciphers"),
                      ("proxy_ssl_verify_depth x;", 'invalid value "x"'),
                      ("proxy_ssl_name a; proxy_ssl_name b;", "is duplicate")):
        rc, err = check_conf(server, line)
        assert rc == 1 and msg in err and "turnpike.conf:" in err, (line, err)


def test_https_with_variables(make_server):
    b = make_server("backend")
    tls = start_backend(b)
    front = start_front(make_server("front"), """
        location / { proxy_ssl_name a.test; proxy_pass https://127.0.0.1:$arg_p; }
    """)
    r = get(front, "/v?p=%d" % tls)
    assert r.status == 200 and r.text.startswith("backend"), r

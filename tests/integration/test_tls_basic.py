"""HTTPS: certificates by SNI and key type, protocols, ciphers, ALPN,
variables, plain HTTP on a TLS port, the handshake timeout, pipelining,
and per-worker randomness.  Clients: curl, openssl s_client, gnutls-cli
and Python's ssl module (OpenSSL), so stacks that are not ours talk to
turnpike."""

import os
import re
import socket
import ssl
import time

from helpers import get, proc_ids
from tls_helpers import (
    TlsConn, peer_cn, cert_lines, client_ctx, curl, gnutls, http_request, info, pki_path, resolve,
    s_client, server_random, tls_server)


def two_names(srv, extra_default="", extra=""):
    """a.test (RSA + ECDSA, default) and b.test (ECDSA) on one TLS port."""
    tls = srv.port("tls")
    srv.write(http="""
    server { listen 127.0.0.1:%d; return 200 "plain"; }
    server {
        listen 127.0.0.1:%d ssl default_server;
        server_name a.test;
        %s
        %s
        location / { return 200 "a $ssl_server_name\\n"; }
    }
    server {
        listen 127.0.0.1:%d ssl;
        server_name b.test;
        %s
        %s
        location / { return 200 "b $ssl_server_name\\n"; }
    }
    """ % (srv.port("main"), tls, cert_lines("a-rsa", "a-ec"), extra_default, tls,
           cert_lines("b"), extra))
    srv.start()
    return tls


def test_curl_gets_a_page_over_https(server):
    tls = tls_server(server)
    r = curl("--cacert", pki_path("ca.pem"), *resolve(tls), "https://a.test:%d/info" % tls)
    assert r.returncode == 0, r.stderr
    f = r.stdout.strip().split("|")
    assert f[5:7] == ["on", "https"]
    assert f[2] == "a.test" and f[4] == "http/1.1"


def test_sni_picks_the_certificate_and_the_server(server):
    tls = two_names(server)
    assert peer_cn(tls, "a.test") == "a.test"
    assert peer_cn(tls, "b.test") == "b.test"
    # An unknown name, or none, gets the default server's certificate.
    assert peer_cn(tls, "c.test") == "a.test"
    assert peer_cn(tls, None) == "a.test"
    for name in ("a.test", "b.test"):
        r = curl("--cacert", pki_path("ca.pem"), *resolve(tls, name),
                 "https://%s:%d/" % (name, tls))
        assert r.returncode == 0 and r.stdout == "%s %s\n" % (name[0], name), r.stderr


def test_pem_chain_goes_to_the_client(server):
    """A certificate file with the intermediate after the leaf: the chain
    is sent, so a client that trusts only the root verifies; without the
    intermediate it cannot."""
    chained, alone = server.port("tls"), server.port("tls2")
    server.write(http="""
    server { listen 127.0.0.1:%d; return 200 "plain"; }
    server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;
             return 200 "chained\\n"; }
    server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;
             return 200 "alone\\n"; }
    """ % (server.port("main"), chained, pki_path("c-chain.pem"), pki_path("c.key"), alone,
           pki_path("c.pem"), pki_path("c.key")))
    server.start()
    r = curl("--cacert", pki_path("ca.pem"), *resolve(chained, "c.test"),
             "https://c.test:%d/" % chained)
    assert r.returncode == 0 and r.stdout == "chained\n", r.stderr
    r = curl("--cacert", pki_path("ca.pem"), *resolve(alone, "c.test"),
             "https://c.test:%d/" % alone)
    assert r.returncode == 60, (r.returncode, r.stderr)  # curl: peer certificate not verified


def test_prefer_server_ciphers(server):
    """TLS 1.2: with ssl_prefer_server_ciphers on the server's order wins,
    with off the client's (nginx's default)."""
    ours = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
    theirs = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"
    for prefer, want in (("on", "ECDHE-ECDSA-AES256-GCM-SHA384"),
                         ("off", "ECDHE-ECDSA-CHACHA20-POLY1305")):
        tls = tls_server(server, names=("a-ec",), server_extra="ssl_ciphers %s; "
                         "ssl_prefer_server_ciphers %s;" % (ours, prefer))
        rc, out = s_client(tls, "-tls1_2", "-cipher", theirs, stdin="Q\n")
        assert "Cipher is %s" % want in out, (prefer, out)
        server.stop()


def test_rsa_and_ecdsa_side_by_side(server):
    tls = tls_server(server)
    for version in ("-tls1_2", "-tls1_3"):
        rc, out = s_client(tls, version, "-sigalgs", "ECDSA+SHA256", stdin="Q\n")
        assert "Server public key is 256 bit" in out, out
        rc, out = s_client(tls, version, "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256", stdin="Q\n")
        assert "Server public key is 2048 bit" in out, out
    rc, out = s_client(tls, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", stdin="Q\n")
    assert "Server public key is 2048 bit" in out and "ECDHE-RSA-AES128-GCM-SHA256" in out


def test_each_protocol_when_forced(server):
    tls = tls_server(server)
    for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        d = info(tls, ctx=client_ctx(version))
        assert d["protocol"] == name and d["alpn"] == "http/1.1"
    r = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", pki_path("ca.pem"), *resolve(tls),
             "https://a.test:%d/info" % tls)
    assert r.stdout.startswith("TLSv1.2|ECDHE-"), r.stdout + r.stderr
    for prio, name in (("NORMAL:-VERS-ALL:+VERS-TLS1.3", "TLSv1.3"),
                       ("NORMAL:-VERS-ALL:+VERS-TLS1.2", "TLSv1.2")):
        rc, out = gnutls(tls, "--priority", prio, "--alpn", "http/1.1",
                         stdin=http_request(close=False))
        assert rc == 0, out
        assert "Application protocol: http/1.1" in out and name + "|" in out, out


def test_old_protocols_and_weak_ciphers_are_refused(server):
    tls = tls_server(server)
    for version in ("-tls1", "-tls1_1"):
        rc, out = s_client(tls, version, "-cipher", "DEFAULT:@SECLEVEL=0", stdin="Q\n")
        assert rc != 0 and "Cipher is (NONE)" in out, out
    for cipher in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "NULL-SHA256",
                   "DHE-RSA-AES128-GCM-SHA256"):
        rc, out = s_client(tls, "-tls1_2", "-cipher", cipher + ":@SECLEVEL=0", stdin="Q\n")
        assert rc != 0 and "Cipher is (NONE)" in out, (cipher, out)
    rc, out = gnutls(tls, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.1", stdin="")
    assert rc != 0


def test_ssl_ciphers_and_curves_are_applied(server):
    tls = tls_server(server, server_extra="ssl_ciphers ECDHE+CHACHA20:!aNULL;"
                                          "ssl_ecdh_curve secp384r1;")
    d = info(tls, ctx=client_ctx(ssl.TLSVersion.TLSv1_2))
    assert d["cipher"].endswith("CHACHA20-POLY1305"), d
    rc, out = s_client(tls, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", stdin="Q\n")
    assert rc != 0
    rc, out = s_client(tls, "-tls1_3", "-groups", "X25519", stdin="Q\n")
    assert rc != 0, out
    rc, out = s_client(tls, "-tls1_3", "-groups", "P-384", stdin="Q\n")
    assert "Server Temp Key: ECDH, secp384r1" in out or "P-384" in out, out


def test_plain_http_on_a_tls_port(server):
    tls = tls_server(server)
    r = get(tls, "/info")
    assert r.status == 400
    assert "The plain HTTP request was sent to HTTPS port" in r.text
    assert r.header("Connection") == "close"
    server.wait_log(r"client sent plain HTTP request to HTTPS port")


def test_error_page_497_redirects_to_https(server):
    tls = tls_server(server, server_extra="error_page 497 https://$host:%d$request_uri;"
                     % server.port("tls"))
    r = get(tls, "/x?y", host="a.test")
    assert r.status == 302
    assert r.header("Location") == "https://a.test:%d/x?y" % tls


def test_reject_handshake_in_the_default_server(server):
    tls = server.port("tls")
    server.write(http="""
    server { listen 127.0.0.1:%d; return 200 "plain"; }
    server { listen 127.0.0.1:%d ssl default_server; ssl_reject_handshake on; }
    server {
        listen 127.0.0.1:%d ssl;
        server_name b.test;
        %s
        location / { return 200 "b\\n"; }
    }
    """ % (server.port("main"), tls, tls, cert_lines("b")))
    server.start()
    with TlsConn(tls, sni="b.test") as c:
        assert c.get("/", host="b.test").text == "b\n"
    for name in ("a.test", None):
        rc, out = s_client(tls, "-tls1_3", sni=name, stdin="Q\n")
        assert rc != 0 and "unrecognized name" in out, out


def closed_by_server(s, timeout=15):
    """True once the server closed s (EOF, reset, or an alert then EOF)."""
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(4096)
            if not data:
                return True
            if data[:1] != b"\x15":  # anything but an alert
                return False
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_handshake_timeout_is_a_total_deadline(server):
    tls = tls_server(server, server_extra="ssl_handshake_timeout 1s;")
    idle = socket.create_connection(("127.0.0.1", tls), timeout=10)
    assert closed_by_server(idle)
    # A ClientHello that trickles in a byte every 0.2 s for 20 s is closed
    # by the deadline of 1 s, long before it is complete.
    trickle = socket.create_connection(("127.0.0.1", tls), timeout=10)
    trickle.setblocking(False)
    closed = False
    for b in bytes.fromhex("16030100c8010000c40303") + bytes(89):
        try:
            trickle.send(bytes([b]))
            if trickle.recv(100) == b"":
                closed = True
                break
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.2)
    assert closed, "the trickling handshake outlived ssl_handshake_timeout"
    idle.close()
    trickle.close()
    assert info(tls)["protocol"] == "TLSv1.3"


def test_thousand_pipelined_requests_over_one_connection(server):
    tls = tls_server(server)
    with TlsConn(tls) as c:
        c.sock.sendall(b"".join(c.request("/n%d" % i) for i in range(1000)))
        pids = set()
        for i in range(1000):
            r = c.read_response()
            assert r.status == 200
            pids.add(r.text)
        assert len(pids) == 1


def test_workers_never_share_a_random_state(server):
    tls = tls_server(server)
    seen = {}  # random -> pid
    pids = set()
    for i in range(40):
        version = "-tls1_2" if i % 2 else "-tls1_3"
        rc, out = s_client(tls, version, "-trace", stdin=http_request())
        rnd = server_random(out)
        m = re.search(r"TLSv1\.[23]\|[^|\n]*\|[^|\n]*\|[^|\n]*\|[^|\n]*\|on\|https\|(\d+)\|", out)
        assert m, out[-2000:]
        pid = m.group(1)
        assert rnd not in seen, "the same server random twice: %s" % rnd
        seen[rnd] = pid
        pids.add(pid)
        if len(pids) >= 2 and i >= 9:
            break
    assert len(pids) >= 2, "only one worker answered: %s" % pids


def test_variables_and_scheme(server):
    tls = tls_server(server)
    d = info(tls, ctx=client_ctx(ssl.TLSVersion.TLSv1_3))
    assert d["cipher"] in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                           "TLS_CHACHA20_POLY1305_SHA256")
    assert d["reused"] == "." and d["sni"] == "a.test" and d["scheme"] == "https"
    d = info(tls, ctx=client_ctx(ssl.TLSVersion.TLSv1_2, alpn=()))
    assert d["alpn"] == "" and d["cipher"].startswith("ECDHE-")
    # The plain port of the same server says http.
    assert get(server.port("main"), "/").status == 200


def test_redirects_say_https(server):
    tls = tls_server(server, server_extra="location = /r { return 301 /there; }")
    with TlsConn(tls) as c:
        r = c.get("/r")
        assert r.header("Location") == "https://a.test:%d/there" % tls


def test_static_files_over_tls(server):
    tls = tls_server(server, server_extra="location /files/ { alias %s/; }" % server.dir)
    data = bytes(range(256)) * 1000
    with open(server.dir + "/f.bin", "wb") as f:
        f.write(data)
    with TlsConn(tls) as c:
        r = c.get("/files/f.bin")
        assert r.status == 200 and r.body == data
        r = c.get("/files/f.bin", headers=(("Range", "bytes=1000-1999"),))
        assert r.status == 206 and r.body == data[1000:2000]


def thread_policies(pid):
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            out[int(tid)] = int(f.read().rsplit(")", 1)[1].split()[38])  # field 41
    return out


def test_pool_threads_return_from_sched_idle(server):
    """Handshake jobs run at SCHED_IDLE; the threads, owned by an
    unprivileged worker, must come back to SCHED_OTHER for other jobs."""
    tls = tls_server(server)
    for w in server.workers():
        assert proc_ids(w)["Uid"][1] != 0  # the workers dropped root
    for _ in range(20):
        info(tls)
    time.sleep(0.2)
    for w in server.workers():
        assert set(thread_policies(w).values()) == {0}, thread_policies(w)


def test_gzip_over_tls(server):
    import gzip as gz
    tls = tls_server(server, server_extra="location /files/ { alias %s/; gzip on;"
                     " gzip_types text/plain; gzip_min_length 1; }" % server.dir)
    text = b"turnpike over TLS, compressed. " * 2000
    with open(server.dir + "/t.txt", "wb") as f:
        f.write(text)
    with TlsConn(tls) as c:
        r = c.get("/files/t.txt", headers=(("Accept-Encoding", "gzip"),))
        assert r.status == 200 and r.header("Content-Encoding") == "gzip"
        assert gz.decompress(r.body) == text

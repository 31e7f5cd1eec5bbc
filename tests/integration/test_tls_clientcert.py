"""Client certificates: ssl_verify_client on / optional / optional_no_ca,
CRLs, the depth limit, and the $ssl_client_* variables."""

import re
import ssl
import subprocess

from tls_helpers import TlsConn, client_ctx, curl, pki_path, resolve, tls_server

VARS = ('location /who { return 200 "$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|'
        '$ssl_client_serial|$ssl_client_fingerprint\\n"; }'
        ' location /pem { return 200 "$ssl_client_raw_cert"; }'
        ' location /tabbed { return 200 "$ssl_client_cert"; }')


def verify_server(srv, mode, extra=""):
    return tls_server(srv, server_extra="ssl_verify_client %s; ssl_client_certificate %s; %s %s"
                      % (mode, pki_path("client-ca.pem"), extra, VARS))


def who(port, cert=None):
    with TlsConn(port, ctx=client_ctx(cert=cert)) as c:
        return c.get("/who")


def openssl_x509(name, *args):
    return subprocess.run(["openssl", "x509", "-in", pki_path(name), "-noout"] + list(args),
                          capture_output=True, text=True).stdout.strip()


def test_verify_on_accepts_a_good_certificate(server):
    tls = verify_server(server, "on")
    r = who(tls, "alice")
    assert r.status == 200, r
    verify, s_dn, i_dn, serial, fp = r.text.strip().split("|")
    assert verify == "SUCCESS"
    assert s_dn == openssl_x509("alice.pem", "-subject", "-nameopt", "RFC2253")[8:]
    assert i_dn == openssl_x509("alice.pem", "-issuer", "-nameopt", "RFC2253")[7:]
    assert s_dn == "O=Turnpike Tests,CN=alice"  # the most specific RDN first
    assert serial == openssl_x509("alice.pem", "-serial").split("=")[1]
    want = openssl_x509("alice.pem", "-fingerprint", "-sha1").split("=")[1]
    assert fp == want.replace(":", "").lower()
    with TlsConn(tls, ctx=client_ctx(cert="alice")) as c:
        pem = c.get("/pem").text
    with open(pki_path("alice.pem")) as f:
        want = f.read().strip()
    assert pem.strip() == want
    # $ssl_client_cert: nginx's old form, a tab before every line but the first.
    with TlsConn(tls, ctx=client_ctx(cert="alice")) as c:
        tabbed = c.get("/tabbed").text
    assert tabbed.rstrip("\n") == want.replace("\n", "\n\t"), tabbed


def test_verify_on_refuses_no_or_bad_certificates(server):
    tls = verify_server(server, "on")
    r = who(tls)
    assert r.status == 400 and "No required SSL certificate was sent" in r.text
    r = who(tls, "rogue")
    assert r.status == 400 and "The SSL certificate error" in r.text
    server.wait_log(r"client SSL certificate verify error")
    # curl, with TLS 1.2, sees the same.
    r = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", pki_path("ca.pem"),
             "--cert", pki_path("rogue.pem"), "--key", pki_path("rogue.key"), *resolve(tls),
             "https://a.test:%d/who" % tls)
    assert "The SSL certificate error" in r.stdout
    r = curl("--tlsv1.2", "--tls-max", "1.2", "--cacert", pki_path("ca.pem"),
             "--cert", pki_path("alice.pem"), "--key", pki_path("alice.key"), *resolve(tls),
             "https://a.test:%d/who" % tls)
    assert r.stdout.startswith("SUCCESS|O=Turnpike Tests,CN=alice"), r.stdout + r.stderr


def test_optional_lets_clients_without_a_certificate_in(server):
    tls = verify_server(server, "optional")
    r = who(tls)
    assert r.status == 200 and r.text.startswith("NONE|")
    assert who(tls, "alice").text.startswith("SUCCESS|")
    r = who(tls, "rogue")
    assert r.status == 400


def test_optional_no_ca_accepts_an_unknown_issuer(server):
    tls = verify_server(server, "optional_no_ca")
    r = who(tls, "rogue")
    assert r.status == 200
    assert r.text.startswith("FAILED:unable to get local issuer certificate|CN=rogue|CN=rogue")
    assert who(tls, "alice").text.startswith("SUCCESS|")


def test_crl_revokes(server):
    tls = verify_server(server, "on", "ssl_crl %s;" % pki_path("client-ca.crl"))
    r = who(tls, "bob")
    assert r.status == 400 and "The SSL certificate error" in r.text
    assert who(tls, "alice").status == 200


def test_verify_depth_zero_refuses_a_ca_issued_certificate(server):
    tls = verify_server(server, "optional", "ssl_verify_depth 0; location /v {"
                        " return 200 $ssl_client_verify; }")
    with TlsConn(tls, ctx=client_ctx(cert="alice")) as c:
        r = c.get("/v")
    assert r.status == 400
    assert re.search("The SSL certificate error", r.text)


def test_trusted_certificate_checks_but_is_not_named(server):
    tls = tls_server(server, server_extra="ssl_verify_client on; ssl_trusted_certificate %s; %s"
                     % (pki_path("client-ca.pem"), VARS))
    assert who(tls, "alice").text.startswith("SUCCESS|")
    assert who(tls, "rogue").status == 400


def test_sessions_keep_the_client_certificate(server):
    tls = verify_server(server, "on")
    for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = client_ctx(version, cert="alice")
        with TlsConn(tls, ctx=ctx) as c:
            first = c.get("/who")
            assert first.status == 200
            session = c.sock.session
        for _ in range(3):  # a resumption's ticket carries it on too
            with TlsConn(tls, ctx=ctx, session=session) as c:
                r = c.get("/who")
                assert c.sock.session_reused
                assert r.status == 200 and r.text == first.text
                session = c.sock.session

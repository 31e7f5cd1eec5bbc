"""TLS configuration: errors with file:line, warnings, and a reload with a
broken key that keeps the old generation serving."""

import os
import shutil

from tls_helpers import cert_lines, info, peer_cn, pki_path, tls_server


def conf_with(srv, server_body, extra=""):
    srv.write(http="""
    %s
    server {
        listen 127.0.0.1:%d ssl;
        server_name a.test;
        %s
    }
    """ % (extra, srv.port("tls"), server_body))


def test_errors(server):
    cases = [
        ("", r'no "ssl_certificate" is defined for the "listen ... ssl" directive in \S+:{L}'),
        ("ssl_certificate %s;" % pki_path("a-ec.pem"),
         r'no "ssl_certificate_key" is defined for certificate "\S+a-ec.pem" in \S+:{B}'),
        ("ssl_certificate /nonexistent.pem; ssl_certificate_key %s;" % pki_path("a-ec.key"),
         r'cannot load certificate "/nonexistent.pem": fopen\(\) failed \(2: No such file or '
         r'directory\) in \S+:{B}'),
        ("ssl_certificate %s; ssl_certificate_key %s;" % (pki_path("a-ec.key"),
                                                          pki_path("a-ec.key")),
         r'cannot load certificate "\S+a-ec.key" \(.*\) in \S+:{B}'),
        ("ssl_certificate %s; ssl_certificate_key %s;" % (pki_path("a-rsa.pem"),
                                                          pki_path("a-ec.key")),
         r'the key "\S+a-ec.key" does not match the certificate "\S+a-rsa.pem" \(.*\) in \S+:{B}'),
        ("ssl_certificate %s; ssl_certificate_key %s;" % (pki_path("a-ec.pem"),
                                                          pki_path("a-ec.pem")),
         r'cannot load certificate key "\S+a-ec.pem" \(.*\) in \S+:{B}'),
        ("ssl on;", r'the "ssl" directive is not supported, use the "listen ... ssl" directive '
                    r'instead in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_protocols TLSv1;",
         r'no usable protocol in "ssl_protocols" \(TLSv1.2 and TLSv1.3 are\) in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_protocols TLSv1.4;",
         r'invalid value "TLSv1.4" in "ssl_protocols" directive in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:FOO;",
         r'unknown cipher "FOO" in "ssl_ciphers" in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_ciphers aNULL:RC4;",
         r'no cipher suite of "aNULL:RC4" is available in "ssl_ciphers" in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_ecdh_curve X448;",
         r'unknown curve "X448" in "ssl_ecdh_curve" in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_session_cache builtin:1000;",
         r'the builtin session cache is not supported'),
        (cert_lines("a-ec") + " ssl_session_cache shared:SSL;",
         r'invalid session cache "shared:SSL" in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_session_ticket_key %s;" % pki_path("ca.pem"),
         r'"\S+ca.pem" must be 48 or 80 bytes in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_verify_client on;",
         r'no ssl_client_certificate or ssl_trusted_certificate for ssl_verify_client in \S+:{L}'),
        (cert_lines("a-ec") + " ssl_verify_client maybe;",
         r'invalid value "maybe" in "ssl_verify_client" directive in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_certificate $ssl_server_name.pem;",
         r'variables in "ssl_certificate" are not supported in \S+:{B}'),
        (cert_lines("a-ec") + " ssl_dhparam %s;" % pki_path("ca.pem"),
         r'cannot load DH parameters "\S+ca.pem" \(.*\) in \S+:{B}'),
    ]
    for body, want in cases:
        conf_with(server, "\n        " + body)
        lines = server.text.splitlines()
        at = {"L": next(i for i, l in enumerate(lines) if " ssl;" in l and "listen" in l) + 1}
        at["B"] = at["L"] + 3
        want = want.replace("{L}", str(at["L"])).replace("{B}", str(at["B"]))
        r = server.cli("-t")
        assert r.returncode == 1, (body, r.stderr)
        assert __import__("re").search(r"\[emerg\] " + want, r.stderr), (body, r.stderr)


def test_specific_address_and_wildcard_must_agree_on_ssl(server):
    port = server.port("tls")
    server.write(http="""
    server { listen %d; }
    server { listen 127.0.0.1:%d ssl; %s }
    """ % (port, port, cert_lines("a-ec")))
    r = server.cli("-t")
    assert r.returncode == 1 and 'must agree on "ssl"' in r.stderr, r.stderr


def test_warnings(server):
    conf_with(server, cert_lines("old") + " ssl_protocols TLSv1.1 TLSv1.2; ssl_stapling on;"
              " ssl_stapling_verify on; ssl_ciphers HIGH:!aNULL:!MD5;")
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr
    assert '[warn] the certificate "%s" has expired (not after 2021-01-01 00:00:00 UTC)' \
        % pki_path("old.pem") in r.stderr
    assert '[warn] "TLSv1.1" is not supported by mbed TLS' in r.stderr
    assert '[warn] "ssl_stapling" ignored, OCSP stapling is not supported' in r.stderr
    assert '[warn] "ssl_stapling_verify" ignored' in r.stderr
    conf_with(server, cert_lines("future"))
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr
    assert '[warn] the certificate "%s" is not yet valid (not before 2090-01-01 00:00:00 UTC)' \
        % pki_path("future.pem") in r.stderr


def test_mozilla_intermediate_configuration_loads(server):
    """Mozilla's recommended nginx settings (intermediate), as written."""
    dh = os.path.join(server.dir, "dhparam.pem")
    shutil.copy(os.path.join(os.path.dirname(__file__), "tls_dhparam.pem"), dh)
    tls = tls_server(server, server_extra="""
        ssl_session_timeout 1d;
        ssl_session_cache shared:MozSSL:10m;
        ssl_session_tickets off;
        ssl_dhparam %s;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers off;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate %s;
        add_header Strict-Transport-Security "max-age=63072000" always;
    """ % (dh, pki_path("ca.pem")))
    assert info(tls)["protocol"] == "TLSv1.3"


def test_reload_with_a_broken_key_keeps_serving(server):
    key = os.path.join(server.dir, "k.key")
    shutil.copy(pki_path("a-ec.key"), key)
    tls = server.port("tls")
    server.write(http="""
    server { listen 127.0.0.1:%d; return 200 "plain"; }
    server {
        listen 127.0.0.1:%d ssl;
        ssl_certificate %s; ssl_certificate_key %s;
        location / { return 200 "tls $pid\\n"; }
        location /info { return 200 "$ssl_protocol|$pid"; }
    }
    """ % (server.port("main"), tls, pki_path("a-ec.pem"), key))
    server.start()
    before = info_pid(tls)
    shutil.copy(pki_path("b.key"), key)  # a key of another certificate
    mark = server.log_size()
    server.expect_log(r"does not match the certificate")
    server.kill(__import__("signal").SIGHUP)
    server.wait_log(r"\[emerg\].*the key \"%s\" does not match" % key, since=mark)
    assert info_pid(tls) in set(str(p) for p in server.workers())
    assert before in set(str(p) for p in server.workers())
    # A good key again: the reload goes through.
    shutil.copy(pki_path("a-ec.key"), key)
    old = server.reload()
    assert int(info_pid(tls)) not in old
    # New certificate and key files at the same paths: a reload serves them.
    assert peer_cn(tls, "a.test") == "a.test"
    server.stop()
    crt = os.path.join(server.dir, "c.pem")
    shutil.copy(pki_path("a-ec.pem"), crt)
    server.text = server.text.replace(pki_path("a-ec.pem"), crt)
    server.write(server.text)
    server.start()
    shutil.copy(pki_path("b.pem"), crt)
    shutil.copy(pki_path("b.key"), key)
    server.reload()
    assert peer_cn(tls, "a.test") == "b.test"


def info_pid(port):
    from tls_helpers import TlsConn
    with TlsConn(port) as c:
        return c.get("/info").text.split("|")[1]

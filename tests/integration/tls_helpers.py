"""Helpers of the TLS tests: a test PKI made with openssl, and clients.

pki() makes, once per test run, in a directory under /tmp:
  ca.pem / ca.key            the server CA (RSA)
  a-rsa.pem, a-ec.pem (+.key) leaves for a.test (and localhost): RSA, ECDSA P-256
  b.pem / b.key              an ECDSA leaf for b.test
  old.pem / old.key          a leaf for old.test that expired in 2021
  client-ca.pem / .key       the CA of client certificates
  alice.pem / alice.key      a client certificate it issued (CN=alice)
  bob.pem / bob.key          another one, revoked in client-ca.crl
  rogue.pem / rogue.key      a self-signed client certificate nobody trusts
  ticket-1.key, ticket-2.key nginx-style ticket key files (80 and 48 bytes)
"""

import os
import re
import socket
import ssl
import subprocess
import tempfile

from helpers import TIMEOUT, free_port, parse_head, wait_for

_PKI = {}


def _run(args, cwd, input=None):
    r = subprocess.run(args, cwd=cwd, capture_output=True, input=input, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout


def _ca_conf(d, name):
    """A minimal `openssl ca` setup (needed for fixed dates and CRLs)."""
    base = os.path.join(d, name + "-db")
    os.makedirs(base, exist_ok=True)
    open(os.path.join(base, "index.txt"), "w").close()
    with open(os.path.join(base, "serial"), "w") as f:
        f.write("%02X%s\n" % (0x40 | os.urandom(1)[0] & 0x3F, os.urandom(15).hex().upper()))
    with open(os.path.join(base, "crlnumber"), "w") as f:
        f.write("1000\n")
    conf = os.path.join(d, name + ".cnf")
    with open(conf, "w") as f:
        f.write("""[ca]
default_ca = ca_default
[ca_default]
dir = %(base)s
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir
certificate = %(d)s/%(name)s.pem
private_key = %(d)s/%(name)s.key
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
organizationName = optional
[subca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
crlDistributionPoints = URI:http://crl.turnpike.invalid/%(name)s.crl
""" % {"base": base, "d": d, "name": name})
    return conf


def _self_signed_ca(d, name, cn):
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
          "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/O=Turnpike Tests/CN=" + cn,
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    return _ca_conf(d, name)


def _leaf(d, conf, name, cn, key="ec", sans=(), dates=None, ext="leaf"):
    keyopt = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec"
              else ["-newkey", "rsa:2048"])
    args = ["openssl", "req", "-new", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/O=Turnpike Tests/CN=" + cn] + keyopt
    if sans:
        args += ["-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans)]
    _run(args, d)
    sign = ["openssl", "ca", "-batch", "-config", conf, "-extensions", ext, "-notext",
            "-in", name + ".csr", "-out", name + ".pem"]
    sign += ["-startdate", dates[0], "-enddate", dates[1]] if dates else ["-days", "825"]
    _run(sign, d)


def _make_pki(d):
    ca = _self_signed_ca(d, "ca", "Turnpike Test CA")
    _leaf(d, ca, "a-rsa", "a.test", "rsa", ("a.test", "localhost"))
    _leaf(d, ca, "a-ec", "a.test", "ec", ("a.test", "localhost"))
    _leaf(d, ca, "b", "b.test", "ec", ("b.test",))
    _leaf(d, ca, "old", "old.test", "ec", ("old.test",), ("20200101000000Z", "20210101000000Z"))
    _leaf(d, ca, "future", "future.test", "ec", ("future.test",),
          ("20900101000000Z", "20910101000000Z"))
    # c.test is signed by an intermediate CA: c-chain.pem is the leaf, then it.
    _leaf(d, ca, "inter", "Turnpike Intermediate CA", "ec", ext="subca")
    inter = _ca_conf(d, "inter")
    _leaf(d, inter, "c", "c.test", "ec", ("c.test",))
    with open(os.path.join(d, "c-chain.pem"), "wb") as out:
        for name in ("c.pem", "inter.pem"):
            with open(os.path.join(d, name), "rb") as f:
                out.write(f.read())
    cca = _self_signed_ca(d, "client-ca", "Turnpike Client CA")
    _leaf(d, cca, "alice", "alice")
    _leaf(d, cca, "bob", "bob")
    _run(["openssl", "ca", "-batch", "-config", cca, "-revoke", "bob.pem"], d)
    _run(["openssl", "ca", "-batch", "-config", cca, "-gencrl", "-out", "client-ca.crl"], d)
    _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-days", "30", "-keyout", "rogue.key", "-out", "rogue.pem",
          "-subj", "/CN=rogue"], d)
    with open(os.path.join(d, "ticket-1.key"), "wb") as f:
        f.write(os.urandom(80))
    with open(os.path.join(d, "ticket-2.key"), "wb") as f:
        f.write(os.urandom(48))
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o755 if os.path.isdir(os.path.join(d, name)) else 0o644)


def pki():
    """The directory of the test PKI (made on first use in this process)."""
    if "dir" not in _PKI:
        d = tempfile.mkdtemp(prefix="turnpike-pki-", dir="/tmp")
        os.chmod(d, 0o755)
        _make_pki(d)
        _PKI["dir"] = d
    return _PKI["dir"]


def pki_path(name):
    return os.path.join(pki(), name)


# ---- configuration -----------------------------------------------------------

def cert_lines(*names):
    """ssl_certificate/ssl_certificate_key lines for PKI leaves."""
    return "\n".join("ssl_certificate %s; ssl_certificate_key %s;"
                     % (pki_path(n + ".pem"), pki_path(n + ".key")) for n in names)


INFO = ('return 200 "$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|'
        '$ssl_alpn_protocol|$https|$scheme|$pid|$server_name\\n";')


def tls_server(srv, extra="", server_extra="", workers=2, names=("a-rsa", "a-ec")):
    """Starts srv with one TLS server for a.test on port "tls", a plain port
    "main" (so wait_ready can poll it), /info answering INFO."""
    tls = srv.port("tls")
    http = """
    %s
    server {
        listen 127.0.0.1:%d;
        location / { return 200 "plain\\n"; }
    }
    server {
        listen 127.0.0.1:%d ssl;
        server_name a.test localhost;
        %s
        %s
        root %s;
        location /info { %s }
        location / { return 200 "tls $pid\\n"; }
    }
    """ % (extra, srv.port("main"), tls, cert_lines(*names), server_extra, srv.dir, INFO)
    srv.write(http=http, workers=workers)
    srv.start()
    return tls


LOG_FMT = ("log_format up '$ssl_server_name|$ssl_session_reused|$ssl_client_verify|"
           "$connection|$request_uri';")


def start_backend(srv, listen=""):
    """The HTTPS backend of the upstream TLS tests, for a.test (client
    certificates optional, from the client CA), on port "tls" with the
    given listen parameters; a plain port "main" answers plain HTTP.  It
    logs one line per request to up.log:
      $ssl_server_name|$ssl_session_reused|$ssl_client_verify|$connection|$request_uri
    A listen with proxy_protocol answers no plain probe: its port is kept
    out of srv.ports, which wait_ready polls."""
    tls = free_port() if "proxy_protocol" in listen else srv.port("tls")
    http = """
    %s
    server {
        listen 127.0.0.1:%d;
        location / { return 200 "plain\\n"; }
    }
    server {
        listen 127.0.0.1:%d ssl %s;
        server_name a.test localhost;
        %s
        ssl_verify_client optional;
        ssl_client_certificate %s;
        access_log %s/up.log up;
        client_max_body_size 16m;
        root %s;
        location / { return 200 "backend $ssl_server_name|$ssl_session_reused\\n"; }
        location /files/ { }
        location /post { return 200 "got $content_length\\n"; }
        location /pp { return 200 "pp $proxy_protocol_addr\\n"; }
    }
    """ % (LOG_FMT, srv.port("main"), tls, listen, cert_lines("a-ec"),
           pki_path("client-ca.pem"), srv.dir, srv.dir)
    srv.write(http=http, workers=1)
    srv.start()
    return tls


def backend_lines(srv, n):
    """The backend's first n access log lines, split (waits for them)."""
    path = os.path.join(srv.dir, "up.log")

    def lines():
        try:
            with open(path) as f:
                got = f.read().splitlines()
        except FileNotFoundError:
            return None
        got = [line for line in got if line.split("|")[1] in (".", "r")]  # not wait_ready's
        return got if len(got) >= n else None
    return [line.split("|") for line in wait_for(lines, what="%d backend log lines" % n)[:n]]


# ---- clients ----------------------------------------------------------------

def client_ctx(version=None, cafile=None, cert=None, alpn=("http/1.1",), tickets=True,
               verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(cafile or pki_path("ca.pem"))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if cert is not None:
        ctx.load_cert_chain(pki_path(cert + ".pem"), pki_path(cert + ".key"))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


class TlsConn:
    """A TLS client connection that reads exact HTTP responses."""

    def __init__(self, port, sni="a.test", ctx=None, session=None, timeout=TIMEOUT):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = (ctx or client_ctx()).wrap_socket(raw, server_hostname=sni, session=session)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buf += data

    def request(self, path="/", host="a.test", headers=()):
        lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host] + ["%s: %s" % h for h in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        resp = parse_head(head)
        n = int(resp.header("Content-Length", "0"))
        while len(self.buf) < n:
            self._fill()
        resp.body, self.buf = self.buf[:n], self.buf[n:]
        return resp

    def get(self, path="/", host="a.test", headers=()):
        self.sock.sendall(self.request(path, host, headers))
        return self.read_response()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def info(port, **kw):
    """One /info request on a fresh connection: (fields dict, TlsConn closed)."""
    with TlsConn(port, **kw) as c:
        r = c.get("/info")
        assert r.status == 200, r
        f = r.text.strip().split("|")
        keys = ("protocol", "cipher", "sni", "reused", "alpn", "https", "scheme", "pid", "server")
        d = dict(zip(keys, f))
        d["session"] = c.sock.session
        d["session_reused"] = c.sock.session_reused
        d["peer"] = c.sock.getpeercert()
        return d


def peer_cn(port, sni):
    """The CN of the certificate the server presents for sni."""
    ctx = client_ctx(verify=False)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            der = s.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                         capture_output=True).stdout.decode()
    return re.search(r"CN = ([^,\n]+)", out).group(1)


def curl(*args, timeout=60):
    return subprocess.run(["curl", "-sS", "--max-time", str(int(timeout))] + list(args),
                          capture_output=True, text=True, timeout=timeout + 10)


def resolve(port, name="a.test"):
    return ["--resolve", "%s:%d:127.0.0.1" % (name, port)]


def s_client(port, *args, stdin="", sni="a.test", timeout=30):
    """openssl s_client; returns (returncode, stdout + stderr)."""
    argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-ign_eof"]
    if sni:
        argv += ["-servername", sni]
    r = subprocess.run(argv + list(args), input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def gnutls(port, *args, stdin="", sni="a.test", timeout=30):
    """gnutls-cli; returns (returncode, stdout + stderr)."""
    argv = ["gnutls-cli", "-p", str(port), "127.0.0.1", "--x509cafile", pki_path("ca.pem")]
    if sni:
        argv += ["--sni-hostname", sni, "--verify-hostname", sni]
    r = subprocess.run(argv + list(args), input=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def http_request(path="/info", host="a.test", close=True):
    return "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, host,
                                                      "Connection: close\r\n" if close else "")


def server_random(text):
    """The ServerHello random that `openssl s_client -trace` printed."""
    m = re.search(r"ServerHello.*?Random:\s*gmt_unix_time=(0x[0-9A-Fa-f]+)\s*"
                  r"random_bytes \(len=28\): ([0-9A-Fa-f]+)", text, re.S)
    assert m, "no ServerHello random in:\n" + text[:3000]
    return m.group(1) + m.group(2)

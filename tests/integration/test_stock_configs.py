"""Stock configurations (issue #8, section 3): Debian's /etc/nginx as
nginx-light installs it, nginx's own conf/nginx.conf, and the examples of
nginx's beginner's guide and "Converting rewrite rules", each read
unchanged and served on a loopback port; and Debian's default site and
nginx's conf/nginx.conf once more with the HTTPS lines their comments
offer turned on, served over TLS.

The port: the files listen on 80, and nginx's -g can only add main-context
directives, so turnpike's own `listen_remap 80 127.0.0.1:PORT;` (given with
-g) moves those listens; nothing in the files changes.

The files' absolute paths (Debian's pid file in /run and logs in
/var/log/nginx, the guide's /data) must not touch the machine, and tests
may run side by side: those runs happen in a private mount namespace whose
root is an overlay of the real one (writes land in the test's directory),
with the test's own directories mounted where the files expect them.  The
processes, sockets and /proc are the machine's, so the usual fixture checks
apply."""

import os
import ssl
import subprocess

import pytest

from conftest import Server
from helpers import TURNPIKE, child_env, get, wait_for
from http_helpers import make_tree
from tls_helpers import TlsConn, client_ctx

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx-configs")
DEBIAN_CONF = "/etc/nginx/nginx.conf"
DEBIAN_INDEX = "/var/www/html/index.nginx-debian.html"
def namespaces_work():
    r = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return r.returncode == 0


NS_SCRIPT = r"""
set -e
mkdir -p "$R/upper" "$R/work" "$R/root"
mount -t overlay overlay -o lowerdir=/,upperdir="$R/upper",workdir="$R/work" "$R/root"
mount --rbind /proc "$R/root/proc"
mount --rbind /dev "$R/root/dev"
for b in $BINDS; do
    mkdir -p "$R/root${b#*=}"
    mount --bind "${b%%=*}" "$R/root${b#*=}"
done
exec chroot "$R/root" "$@"
"""


class NsServer(Server):
    """A Server whose binary runs in a private mount namespace (see the
    module's doc), with host directories bound to the paths inside."""

    def __init__(self, name, binds, args):
        super().__init__(name)
        self.binds = binds  # {host dir: path inside}
        self.args = args  # turnpike's arguments, without the binary

    def argv(self, *extra):
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", NS_SCRIPT,
                "sh", TURNPIKE] + self.args + list(extra)

    def cli(self, *extra, timeout=30, env=None):
        return subprocess.run(self.argv(*extra), capture_output=True, text=True, timeout=timeout,
                              env=self.env())

    def env(self):
        # The test's own directory too, so what is written there is seen.
        binds = " ".join("%s=%s" % (h, i) for h, i in
                         list(self.binds.items()) + [(self.dir, self.dir)])
        return child_env(R=os.path.join(self.dir, "ns"), BINDS=binds)

    def start(self, *extra, wait=True, env=None):
        return super().start(*extra, wait=wait, env=self.env())


def serve_port(server, port):
    """Marks port as one the server answers on (wait_ready polls it)."""
    server.text += "\nlisten 127.0.0.1:%d;" % port
    server.ports["remapped"] = port


# ---- Debian's nginx-light ---------------------------------------------------------

debian = pytest.mark.skipif(not os.path.exists(DEBIAN_CONF), reason="nginx-light is not installed")


@debian
def test_debian_config_passes_t():
    r = subprocess.run([TURNPIKE, "-t", "-c", DEBIAN_CONF], capture_output=True, text=True,
                       timeout=30, env=child_env())
    assert r.returncode == 0, r.stderr
    # Debian loads its extra modules with load_module: warned about, accepted.
    assert "[warn] turnpike has no dynamic modules" in r.stderr
    # Its http-level ssl_protocols names TLSv1 and TLSv1.1, which mbed TLS
    # 3.6 cannot offer: warned about, the rest enabled.
    assert '[warn] "TLSv1.1" is not supported' in r.stderr
    assert "test is successful" in r.stderr


def debian_server(request, conf):
    """Debian's configuration `conf` run in the namespace, its pid file
    and logs kept in the test's directory; returns it, its port and its log
    directory."""
    if not namespaces_work():
        pytest.skip("mount namespaces are not available here")
    s = NsServer("debian", {}, [])
    register(request, s)
    logs = make_tree(os.path.join(s.dir, "varlog"), {})
    s.binds = {logs: "/var/log/nginx"}
    s.error_log = os.path.join(logs, "error.log")
    s.nworkers = os.cpu_count()  # worker_processes auto
    port = s.port()
    # The prefix an installed turnpike has (its client_body_temp goes
    # there); the configuration's own paths are all absolute.
    prefix = make_tree(os.path.join(s.dir, "prefix"), {})
    s.args = ["-p", prefix + "/", "-c", conf, "-g", "daemon off; listen_remap 80 127.0.0.1:%d;" % port]
    serve_port(s, port)
    return s, port, logs


def check_default_site(port, logs):
    with open(DEBIAN_INDEX, "rb") as f:
        index = f.read()
    r = get(port, "/")
    assert (r.status, r.body) == (200, index)
    assert r.header("Content-Type") == "text/html"
    assert get(port, "/index.nginx-debian.html").body == index
    assert get(port, "/no-such-page").status == 404
    with open(os.path.join(logs, "access.log")) as f:
        wait_for(lambda: '"GET / HTTP/1.1" 200 %d' % len(index) in f.read() or f.seek(0),
                 what="the access log line")


@debian
def test_debian_default_site_served(request):
    s, port, logs = debian_server(request, DEBIAN_CONF)
    r = s.cli("-t")
    assert r.returncode == 0, r.stderr
    s.start()
    check_default_site(port, logs)


def self_signed(d, cert, key):
    """A self-signed EC certificate for localhost in d: its path."""
    os.makedirs(d, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", os.path.join(d, key),
                    "-out", os.path.join(d, cert)], check=True, capture_output=True)
    return os.path.join(d, cert)


def tls_get(port, ctx, session=None):
    """One GET / over TLS to localhost on port: the response, the session
    and whether it was resumed."""
    with TlsConn(port, sni="localhost", ctx=ctx, session=session) as c:
        r = c.get("/", host="localhost")
        return r, c.sock.session, c.sock.session_reused


@debian
def test_debian_default_site_with_its_ssl_lines(request):
    """The default site with the three lines its comments offer turned on
    (listen 443 ssl twice, include snippets/snakeoil.conf), and a snakeoil
    certificate where ssl-cert puts it: the site over HTTPS, under the http
    block's ssl_protocols (TLS 1.2 and 1.3 of the four it names)."""
    with open("/etc/nginx/sites-enabled/default") as f:
        site = f.read()
    for line in ("listen 443 ssl default_server;", "listen [::]:443 ssl default_server;",
                 "include snippets/snakeoil.conf;"):
        assert "# " + line in site
        site = site.replace("# " + line, line)
    s, port, logs = debian_server(request, DEBIAN_CONF)
    sites = make_tree(os.path.join(s.dir, "sites"), {"default": site})
    certs = os.path.join(s.dir, "certs")
    ca = self_signed(certs, "ssl-cert-snakeoil.pem", "ssl-cert-snakeoil.key")
    keys = make_tree(os.path.join(s.dir, "private"), {})
    os.rename(os.path.join(certs, "ssl-cert-snakeoil.key"),
              os.path.join(keys, "ssl-cert-snakeoil.key"))
    s.binds.update({sites: "/etc/nginx/sites-enabled", certs: "/etc/ssl/certs",
                    keys: "/etc/ssl/private"})
    tport = s.port("tls")
    s.args[-1] += " listen_remap 443 127.0.0.1:%d;" % tport
    r = s.cli("-t")
    assert r.returncode == 0, r.stderr
    s.start()
    check_default_site(port, logs)
    with open(DEBIAN_INDEX, "rb") as f:
        index = f.read()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        r, _, _ = tls_get(tport, client_ctx(version, cafile=ca))
        assert (r.status, r.body) == (200, index)


def register(request, s):
    """Stops and checks s at teardown, as the fixtures do for theirs."""
    def finish():
        problems = s.check()
        s.cleanup(not problems)
        assert not problems, "\n".join(problems)
    request.addfinalizer(finish)


# ---- nginx's own conf/nginx.conf ---------------------------------------------------------

def test_nginx_org_default_config(server):
    """nginx's conf/nginx.conf with its mime.types, under a prefix holding
    html/ and logs/, as an nginx built from source has them."""
    make_tree(os.path.join(server.dir, "html"), {"index.html": "<h1>Welcome</h1>\n",
                                                 "50x.html": "<h1>50x</h1>\n"})
    conf = os.path.join(HERE, "nginx.org", "nginx.conf")
    port = server.port()
    main = "pid %s; error_log %s info; daemon off; listen_remap 80 127.0.0.1:%d;" % (
        server.pid_file, server.error_log, port)
    server.conf_path = conf
    server.nworkers = 1  # worker_processes 1
    serve_port(server, port)
    r = server.cli("-t", "-g", main)
    assert r.returncode == 0, r.stderr
    server.start("-g", main)
    r = get(port, "/")
    assert (r.status, r.body) == (200, b"<h1>Welcome</h1>\n")
    assert r.header("Content-Type") == "text/html"
    assert get(port, "/50x.html").body == b"<h1>50x</h1>\n"
    assert get(port, "/missing.png").status == 404
    # No access_log in the file: nginx's default, logs/access.log.
    wait_for(lambda: "GET / HTTP/1.1" in open(os.path.join(server.dir, "logs",
                                                          "access.log")).read(),
             what="logs/access.log")


def test_nginx_org_config_with_its_https_server(server):
    """The same file with its commented-out HTTPS server turned on, as its
    comments offer (cert.pem and cert.key beside it in conf/): the site
    over TLS, and ssl_session_cache shared:SSL:1m resuming a TLS 1.2
    session by its ID."""
    make_tree(os.path.join(server.dir, "html"), {"index.html": "<h1>Welcome</h1>\n"})
    os.makedirs(os.path.join(server.dir, "logs"), exist_ok=True)
    confdir = os.path.join(server.dir, "conf")
    ca = self_signed(confdir, "cert.pem", "cert.key")
    with open(os.path.join(HERE, "nginx.org", "nginx.conf")) as f:
        lines = f.read().split("\n")
    start = lines.index("    # HTTPS server")
    assert lines[start + 2] == "    #server {"
    for i in range(start + 2, len(lines)):
        if lines[i].startswith("    #"):
            lines[i] = "    " + lines[i][5:]
    text = "\n".join(lines)
    assert "listen       443 ssl;" in text and "ssl_session_cache    shared:SSL:1m;" in text
    with open(os.path.join(HERE, "nginx.org", "mime.types")) as f:
        mime = f.read()
    make_tree(confdir, {"nginx.conf": text, "mime.types": mime})
    port, tport = server.port(), server.port("tls")
    main = ("pid %s; error_log %s info; daemon off; listen_remap 80 127.0.0.1:%d; "
            "listen_remap 443 127.0.0.1:%d;" % (server.pid_file, server.error_log, port, tport))
    server.conf_path = os.path.join(confdir, "nginx.conf")
    server.nworkers = 1  # worker_processes 1
    serve_port(server, port)
    r = server.cli("-t", "-g", main)
    assert r.returncode == 0, r.stderr
    server.start("-g", main)
    assert get(port, "/").body == b"<h1>Welcome</h1>\n"
    r, _, _ = tls_get(tport, client_ctx(cafile=ca))
    assert (r.status, r.body) == (200, b"<h1>Welcome</h1>\n")
    ctx = client_ctx(ssl.TLSVersion.TLSv1_2, cafile=ca, tickets=False)
    r, session, reused = tls_get(tport, ctx)
    assert r.status == 200 and not reused
    r, _, reused = tls_get(tport, ctx, session=session)
    assert r.status == 200 and reused


# ---- the beginner's guide and "Converting rewrite rules" --------------------------------

def guide_server(request, name, conf, binds=None):
    if not namespaces_work():
        pytest.skip("mount namespaces are not available here")
    s = NsServer(name, binds or {}, [])
    register(request, s)
    port = s.port()
    main = "pid %s; error_log %s info; daemon off; listen_remap 80 127.0.0.1:%d;" % (
        s.pid_file, s.error_log, port)
    s.args = ["-p", s.dir + "/", "-c", conf, "-g", main]
    s.nworkers = 1  # no worker_processes: 1
    serve_port(s, port)
    return s, port


def test_beginners_guide_static(request):
    """The guide's /data/www and /data/images, mounted where it says."""
    s, port = guide_server(request, "guide", os.path.join(HERE, "beginners-guide", "static.conf"))
    data = make_tree(os.path.join(s.dir, "data"), {"www/index.html": "guide index\n",
                                                   "images/logo.png": b"\x89PNG"})
    s.binds = {data: "/data"}
    os.makedirs(os.path.join(s.dir, "logs"), exist_ok=True)
    assert s.cli("-t").returncode == 0
    s.start()
    assert get(port, "/").body == b"guide index\n"  # index.html
    r = get(port, "/images/logo.png")
    assert (r.status, r.body, r.header("Content-Type")) == (200, b"\x89PNG", "text/plain")
    assert get(port, "/images/nope.png").status == 404
    s.wait_log(r'open\(\) "/data/images/nope.png" failed \(2: No such file or directory\)')


def test_beginners_guide_proxy_parses(request):
    s, _ = guide_server(request, "guideproxy", os.path.join(HERE, "beginners-guide", "proxy.conf"))
    r = s.cli("-t")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name,status", [("if.conf", 302), ("return.conf", 301)])
def test_converting_rewrite_rules_redirects(request, name, status):
    s, port = guide_server(request, "redirect", os.path.join(HERE, "converting-rewrite-rules", name))
    make_tree(os.path.join(s.dir, "html"), {"index.html": "www site\n"})
    assert s.cli("-t").returncode == 0
    s.start()
    r = get(port, "/some/page?x=1", host="example.org")
    assert r.status == status
    assert r.header("Location") == "http://www.example.org/some/page?x=1"
    # The www site itself is served (from the prefix's html/, nginx's default root).
    r = get(port, "/", host="www.example.org")
    assert (r.status, r.body) == (200, b"www site\n")

"""Stock configurations (issue #8, section 3): Debian's /etc/nginx as
nginx-light installs it, nginx's own conf/nginx.conf, and the examples of
nginx's beginner's guide and "Converting rewrite rules", each read
unchanged and served on a loopback port.

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
import subprocess

import pytest

from conftest import Server
from helpers import TURNPIKE, child_env, get, wait_for
from http_helpers import make_tree

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nginx-configs")
DEBIAN_CONF = "/etc/nginx/nginx.conf"
DEBIAN_INDEX = "/var/www/html/index.nginx-debian.html"
TLS_LINES = ("ssl_protocols", "ssl_prefer_server_ciphers")
TLS_REASON = ("Debian's http block has ssl_protocols and ssl_prefer_server_ciphers, "
              "which parse once TLS lands (issue #10)")


def needs_tls(stderr):
    """True if stderr says a Debian ssl_* line is what was refused."""
    return any('unknown directive "%s"' % d in stderr for d in TLS_LINES)


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
    if r.returncode != 0 and needs_tls(r.stderr):
        pytest.xfail(TLS_REASON)
    assert r.returncode == 0, r.stderr
    # Debian loads its extra modules with load_module: warned about, accepted.
    assert "[warn] turnpike has no dynamic modules" in r.stderr
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
    if r.returncode != 0 and needs_tls(r.stderr):
        pytest.xfail(TLS_REASON)
    assert r.returncode == 0, r.stderr
    s.start()
    check_default_site(port, logs)


@debian
def test_debian_config_without_its_tls_lines_served(request, tmp_path):
    """Until TLS lands: the same files with only the two ssl_* lines left
    out (everything else, includes and all, as Debian ships it)."""
    with open(DEBIAN_CONF) as f:
        text = "".join(line for line in f if not line.strip().startswith(TLS_LINES))
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    os.chmod(tmp_path, 0o755)
    s, port, logs = debian_server(request, str(conf))
    r = s.cli("-t")
    assert r.returncode == 0, r.stderr
    s.start()
    check_default_site(port, logs)


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


def test_beginners_guide_proxy_parses_once_the_proxy_lands(request):
    s, _ = guide_server(request, "guideproxy", os.path.join(HERE, "beginners-guide", "proxy.conf"))
    r = s.cli("-t")
    if r.returncode != 0 and (
        'unknown directive "proxy_pass"' in r.stderr
        or '"proxy_pass" directive is not allowed here' in r.stderr  # only stream's so far
    ):
        pytest.xfail("proxy_pass is the reverse proxy's (issue #9)")
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

"""Operations: `make install` / `make uninstall` into a DESTDIR from an
out-of-tree build (issue #4), and an install under a plain --prefix that
then runs as a daemon (issue #8).  Slow-ish: it configures and builds the
tree twice (about 15 s each on 2 cores)."""

import os
import re
import shlex
import shutil
import socket
import stat
import subprocess

import pytest

from helpers import TIMEOUT, child_env, free_port, get, proc_alive, wait_for

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONFIGURE = ["--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var", "--runstatedir=/run",
             "--with-systemdsystemunitdir=/lib/systemd/system", "--disable-werror"]
MAN_PAGES = [("turnpike.8", "man8"), ("turnpike.conf.5", "man5")]


def run(argv, cwd, timeout=600):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, "%s failed (%d):\n%s\n%s" % (
        " ".join(argv), r.returncode, r.stdout[-3000:], r.stderr[-3000:])
    return r


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    if not os.path.exists(os.path.join(SRC, "configure")):
        pytest.skip("no configure script: run autoreconf -fi first")
    b = tmp_path_factory.mktemp("build")
    run([os.path.join(SRC, "configure"), "-q"] + CONFIGURE, cwd=b)
    run(["make", "-j%d" % (os.cpu_count() or 2)], cwd=b)
    return b


def install(build, dest):
    return run(["make", "install", "DESTDIR=%s" % dest], cwd=build)


def uninstall(build, dest):
    return run(["make", "uninstall", "DESTDIR=%s" % dest], cwd=build)


def test_install_layout(build, tmp_path):
    dest = tmp_path / "root"
    install(build, dest)
    got = files(dest)
    print("\ninstalled:\n  " + "\n  ".join(sorted(got)))
    sbin = dest / "usr/sbin/turnpike"
    assert "usr/sbin/turnpike" in got
    assert os.stat(sbin).st_mode & stat.S_IXOTH
    for f in ("etc/turnpike/turnpike.conf", "etc/turnpike/mime.types",
              "lib/systemd/system/turnpike.service", "lib/systemd/system/turnpike.socket",
              "etc/logrotate.d/turnpike"):
        assert f in got, f
    assert (dest / "var/log/turnpike").is_dir()
    # Every @variable@ was substituted with configure's directories.
    for f in got:
        if f.startswith("usr/sbin/"):
            continue
        with open(dest / f, errors="replace") as fh:
            text = fh.read()
        assert not re.search(r"@[a-z_]+@", text), "unsubstituted variable in %s" % f
    service = (dest / "lib/systemd/system/turnpike.service").read_text()
    assert re.search(r"^ExecStart=/usr/sbin/turnpike ", service, re.M)
    assert re.search(r"^ExecStartPre=/usr/sbin/turnpike -t -q", service, re.M)
    assert re.search(r"^PIDFile=/run/turnpike.pid$", service, re.M)
    assert re.search(r"^ReadWritePaths=/var/log/turnpike /run /var/lib/turnpike$", service, re.M)
    conf = (dest / "etc/turnpike/turnpike.conf").read_text()
    assert re.search(r"^pid /run/turnpike.pid;$", conf, re.M)
    assert "/var/log/turnpike/error.log" in conf
    logrotate = (dest / "etc/logrotate.d/turnpike").read_text()
    assert logrotate.startswith("/var/log/turnpike/*.log {")
    assert re.search(r"^\s*/usr/sbin/turnpike -s reopen\b", logrotate, re.M), logrotate
    # Man pages, once they exist in the tree.
    for page, sec in MAN_PAGES:
        if os.path.exists(os.path.join(SRC, "man", page)):
            assert "usr/share/man/%s/%s" % (sec, page) in got, "man page %s not installed" % page
    # The installed binary knows the installed paths, and the installed
    # configuration is valid (its log and pid paths moved to a temp dir).
    r = subprocess.run([str(sbin), "-V"], capture_output=True, text=True, timeout=30)
    assert "--prefix=/usr" in r.stdout + r.stderr
    # Told where state lives, the build's defaults are absolute there.
    r = subprocess.run([str(sbin), "-h"], capture_output=True, text=True, timeout=30)
    assert "set error log file (default: /var/log/turnpike/error.log)" in r.stderr
    conf_dir = tmp_path / "conf"
    shutil.copytree(dest / "etc/turnpike", conf_dir)
    logs = tmp_path / "logs"
    logs.mkdir()
    text = conf.replace("/var/log/turnpike", str(logs)).replace("/run/turnpike.pid",
                                                               str(logs / "pid"))
    (conf_dir / "turnpike.conf").write_text(text)
    r = subprocess.run([str(sbin), "-t", "-c", str(conf_dir / "turnpike.conf")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # The unit's ExecStartPre, as systemd would run it (with our -c).
    pre = shlex.split(re.search(r"^ExecStartPre=(.*)$", service, re.M).group(1))
    assert pre[0] == "/usr/sbin/turnpike"
    r = subprocess.run([str(sbin)] + pre[1:] + ["-c", str(conf_dir / "turnpike.conf")],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), "-q prints nothing on success"

    uninstall(build, dest)
    assert files(dest) == set(), "left after uninstall: %s" % sorted(files(dest))


def test_install_keeps_operator_config(build, tmp_path):
    dest = tmp_path / "root"
    install(build, dest)
    conf = dest / "etc/turnpike/turnpike.conf"
    mine = conf.read_text() + "\n# the operator's change\n"
    conf.write_text(mine)
    install(build, dest)
    assert conf.read_text() == mine, "a second install overwrote the configuration"
    # Uninstall removes everything but the operator's file.
    uninstall(build, dest)
    assert files(dest) == {"etc/turnpike/turnpike.conf"}
    assert conf.read_text() == mine


# ---- a plain --prefix install (issue #8) ---------------------------------------------

@pytest.fixture(scope="module")
def prefix_build(tmp_path_factory):
    """A build configured with nothing but --prefix, as a first-time user
    configures it, and installed there (no DESTDIR)."""
    if not os.path.exists(os.path.join(SRC, "configure")):
        pytest.skip("no configure script: run autoreconf -fi first")
    top = tmp_path_factory.mktemp("prefix")
    os.chmod(top, 0o755)  # the workers (nobody) open files below it
    prefix = top / "x"
    b = top / "build"
    b.mkdir()
    run([os.path.join(SRC, "configure"), "-q", "--prefix=%s" % prefix, "--disable-werror"], cwd=b)
    run(["make", "-j%d" % (os.cpu_count() or 2)], cwd=b)
    run(["make", "install"], cwd=b)
    return b, prefix


def test_prefix_install_stays_in_prefix(prefix_build, tmp_path):
    """Every file, the systemd units included, goes under the prefix."""
    b, prefix = prefix_build
    dest = tmp_path / "root"
    install(b, dest)
    got = files(dest)
    rel = os.path.relpath(str(prefix), "/")
    outside = sorted(f for f in got if not f.startswith(rel + "/"))
    assert outside == [], "installed outside the prefix: %s" % outside
    for unit in ("turnpike.service", "turnpike.socket"):
        assert "%s/lib/systemd/system/%s" % (rel, unit) in got
    # systemd's "no": no units at all.
    dest = tmp_path / "nounits"
    run(["make", "install", "DESTDIR=%s" % dest, "systemdunitdir=no"], cwd=b)
    assert not [f for f in files(dest) if "systemd" in f]
    uninstall(b, dest)


def test_usr_prefix_installs_units_where_systemd_looks(tmp_path):
    if not os.path.exists(os.path.join(SRC, "configure")):
        pytest.skip("no configure script: run autoreconf -fi first")
    r = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                       capture_output=True, text=True)
    want = r.stdout.strip() or "/lib/systemd/system"
    run([os.path.join(SRC, "configure"), "-q", "--prefix=/usr"], cwd=tmp_path)
    with open(tmp_path / "Makefile") as f:
        unit_dir = re.search(r"^SYSTEMD_UNIT_DIR = (.*)$", f.read(), re.M).group(1)
    assert unit_dir == want


def test_prefix_install_creates_state_directories(prefix_build):
    """The pid and log directories of the shipped configuration, and the
    prefix's logs/ for the compiled-in defaults."""
    _, prefix = prefix_build
    for d in ("var/run", "var/log/turnpike", "share/turnpike/logs"):
        assert (prefix / d).is_dir(), d


def installed(prefix, *args, env=None):
    return subprocess.run([str(prefix / "sbin/turnpike")] + list(args), capture_output=True,
                          text=True, timeout=TIMEOUT, env=env or child_env())


def test_prefix_install_t_without_log_directives(prefix_build):
    """A configuration with no error_log, access_log or pid passes -t with
    the installed binary's own defaults."""
    _, prefix = prefix_build
    port = free_port()
    conf = prefix / "etc/turnpike/bare.conf"
    conf.write_text("events { }\nhttp { server { listen 127.0.0.1:%d; } }\n" % port)
    r = installed(prefix, "-t", "-c", str(conf))
    assert r.returncode == 0, r.stderr
    for name in ("error.log", "access.log"):
        assert (prefix / "share/turnpike/logs" / name).exists(), name


def test_prefix_install_daemon(prefix_build):
    """The installed binary with its installed configuration: a daemon
    that serves once the command returns, and a failed start that says why
    on the terminal and exits 1."""
    _, prefix = prefix_build
    conf = prefix / "etc/turnpike/turnpike.conf"
    port = free_port()
    conf.write_text(conf.read_text().replace("listen 80 ", "listen 127.0.0.1:%d " % port))
    pid_file = prefix / "var/run/turnpike.pid"
    r = installed(prefix)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    pid = int(pid_file.read_text())
    try:
        assert get(port).status in (200, 403, 404)
    finally:
        assert installed(prefix, "-s", "quit").returncode == 0
        wait_for(lambda: not proc_alive(pid), what="the daemon to stop")
    assert not pid_file.exists()
    # Without var/run (the silent failure): exit 1, reason on stderr.
    os.rmdir(prefix / "var/run")
    try:
        r = installed(prefix)
        assert r.returncode == 1, r.stderr
        assert ('turnpike: [emerg] open() "%s" failed (2: No such file or directory)' % pid_file
                in r.stderr.splitlines()), r.stderr
        with socket.socket() as s:  # nothing is left holding the port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    finally:
        os.mkdir(prefix / "var/run")

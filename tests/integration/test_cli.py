"""The command line: -t/-T/-q/-g/-e/-p/-c, -v/-V/-h, bad options."""

import os
import re
import socket

import pytest

from helpers import run_tp


def ok_lines(path):
    return ("turnpike: the configuration file %s syntax is ok\n"
            "turnpike: configuration file %s test is successful\n" % (path, path))


def failed(path, message):
    return "turnpike: [emerg] %s\nturnpike: configuration file %s test failed\n" % (message, path)


def lineno(text, needle, nth=1):
    """1-based line of the nth line containing needle."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, "%r not in config" % needle
    return hits[nth - 1]


def http_block(server, extra_server="", extra_http=""):
    return ("%s\nserver {\n  listen 127.0.0.1:%d;\n  server_name t.test;\n%s\n"
            "  location / { return 200 \"ok\\n\"; }\n}" % (extra_http, server.port(), extra_server))


def test_good_config(server):
    server.write(http=http_block(server))
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ok_lines(server.conf_path)
    assert r.stdout == ""
    # -t neither writes the pid file nor starts anything.
    assert not os.path.exists(server.pid_file)


def test_t_never_binds(server):
    """-t succeeds while another socket holds the configured port."""
    server.write(http=http_block(server))
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", server.port()))
        s.listen(1)
        r = server.cli("-t")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ok_lines(server.conf_path)


def test_prefix_and_relative_conf(server):
    """-c is relative to -p; -p works without the trailing slash; include
    is relative to the config file's directory."""
    os.mkdir(os.path.join(server.dir, "conf.d"))
    server.write_file("conf.d/srv.conf", http_block(server))
    server.write(http="include conf.d/*.conf;")
    r = run_tp(["-p", server.dir, "-c", "turnpike.conf", "-t"])
    assert r.returncode == 0, r.stderr
    assert r.stderr == ok_lines(os.path.join(server.dir, "turnpike.conf"))


def test_quiet(server):
    server.write(http=http_block(server))
    r = server.cli("-t", "-q")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", "")
    # -q does not hide errors.
    server.write(server.text + "bogus_directive on;\n")
    r = server.cli("-t", "-q")
    assert r.returncode == 1
    n = lineno(server.text, "bogus_directive")
    assert r.stderr == failed(server.conf_path, 'unknown directive "bogus_directive" in %s:%d'
                              % (server.conf_path, n))


BAD_CASES = [
    # (id, extra main text, extra http text, extra server text, marker, message with {f}:{n})
    ("unknown directive", "frobnicate 1;", "", "", "frobnicate",
     'unknown directive "frobnicate" in {f}:{n}'),
    ("not allowed in main", "worker_connections 10;", "", "", "worker_connections 10",
     '"worker_connections" directive is not allowed here in {f}:{n}'),
    ("not allowed in http", "", "return 200;", "", "return 200;",
     '"return" directive is not allowed here in {f}:{n}'),
    ("listen in location", "", "", "location /x { listen 1.2.3.4:5; }", "location /x",
     '"listen" directive is not allowed here in {f}:{n}'),
    ("wrong arg count", "worker_processes 1 2;", "", "", "worker_processes 1 2",
     'invalid number of arguments in "worker_processes" directive in {f}:{n}'),
    ("no args", "", "", "listen;", "listen;",
     'invalid number of arguments in "listen" directive in {f}:{n}'),
    ("too many return args", "", "", "return 200 a b;", "return 200 a b",
     'invalid number of arguments in "return" directive in {f}:{n}'),
    ("invalid number", "worker_rlimit_nofile lots;", "", "", "worker_rlimit_nofile",
     'invalid value "lots" in "worker_rlimit_nofile" directive in {f}:{n}'),
    ("invalid flag", "master_process maybe;", "", "", "master_process maybe",
     'invalid value "maybe" in "master_process" directive, it must be "on" or "off" in {f}:{n}'),
    ("invalid time", "", "keepalive_timeout 5x;", "", "keepalive_timeout",
     'invalid value "5x" in "keepalive_timeout" directive in {f}:{n}'),
    ("invalid time in main", "worker_shutdown_timeout soon;", "", "", "soon",
     'invalid value "soon" in "worker_shutdown_timeout" directive in {f}:{n}'),
    ("invalid thread_pool", "thread_pool default threads=0;", "", "", "threads=0",
     'invalid parameter "threads=0" in {f}:{n}'),
    ("invalid return code", "", "", "return abc;", "return abc",
     'invalid return code "abc" in {f}:{n}'),
    ("invalid port", "", "", "listen 127.0.0.1:99999;", "99999",
     'invalid port in "127.0.0.1:99999" of the "listen" directive in {f}:{n}'),
    ("invalid log level", "error_log x.log loud;", "", "", "loud",
     'invalid log level "loud" in {f}:{n}'),
    ("duplicate directive", "worker_processes 2;", "", "", ("worker_processes 2;", 2),
     '"worker_processes" directive is duplicate in {f}:{n}'),
    ("block without brace", "", "", "location /y;", "location /y;",
     'directive "location" has no opening "{{" in {f}:{n}'),
    ("simple directive with brace", "", "", "server_name x { }", "server_name x {",
     'directive "server_name" is not terminated by ";" in {f}:{n}'),
    ("unknown variable", "", "", 'location /v { return 200 "x $foo y"; }', "$foo",
     'unknown "foo" variable in {f}:{n}'),
    ("unknown user", "user no_such_user_tp;", "", "", "no_such_user_tp",
     'getpwnam("no_such_user_tp") failed in {f}:{n}'),
    ("unexpected close brace", "", "", "}", None,
     'unexpected "}}" in {f}:{n}'),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_config(server, case):
    _, main, http, srv, marker, message = case
    text = server.config(main=main, http=http_block(server, srv, http))
    if isinstance(marker, tuple):
        n = lineno(text, *marker)
    elif marker is None:
        # The stray "}" closes server, the next one closes http, and the
        # last one is unexpected: the line of the file's last "}".
        n = len(text.rstrip("\n").splitlines())
    else:
        n = lineno(text, marker)
    server.write(text)
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, message.format(f=server.conf_path, n=n))
    assert r.stdout == ""


def test_duplicate_listen(server):
    p = server.port()
    text = server.write(http="server {\n listen 127.0.0.1:%d;\n server_name a;\n"
                             " listen 127.0.0.1:%d;\n}" % (p, p))
    n = [i for i, ln in enumerate(text.splitlines(), 1) if "listen 127" in ln][1]
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, "a duplicate listen 127.0.0.1:%d in %s:%d"
                              % (p, server.conf_path, n))


def test_duplicate_default_server(server):
    p = server.port()
    text = server.write(http="server {\n listen 127.0.0.1:%d default_server;\n}\n"
                             "server {\n listen 127.0.0.1:%d default_server;\n}" % (p, p))
    n = [i for i, ln in enumerate(text.splitlines(), 1) if "default_server" in ln][1]
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, "a duplicate default server for 127.0.0.1:%d"
                              " in %s:%d" % (p, server.conf_path, n))


def test_unreadable_include(server):
    text = server.write(http="include missing/*.conf;\ninclude nothere.conf;\n" +
                             http_block(server))
    n = lineno(text, "nothere.conf")
    r = server.cli("-t")
    assert r.returncode == 1
    path = os.path.join(server.dir, "nothere.conf")
    assert r.stderr == failed(server.conf_path,
                              'open() "%s" failed (2: No such file or directory) in %s:%d'
                              % (path, server.conf_path, n))


def test_error_inside_included_file(server):
    inc = server.write_file("inc.conf", "# comment\n\nnot_a_directive;\n")
    server.write(http="include inc.conf;\n" + http_block(server))
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path,
                              'unknown directive "not_a_directive" in %s:3' % inc)


def test_unterminated_block(server):
    text = server.config(http=http_block(server)).rstrip("}\n") + "\n"
    server.write(text)
    r = server.cli("-t")
    assert r.returncode == 1
    # Reported at the end of the file, as nginx does.
    n = text.count("\n") + 1
    assert r.stderr == failed(server.conf_path, 'unexpected end of file, expecting "}" in %s:%d'
                              % (server.conf_path, n))


def test_unterminated_string(server):
    text = server.config(http=http_block(server)) + 'user "nobody;\n}\n\n'
    server.write(text)
    r = server.cli("-t")
    assert r.returncode == 1
    n = text.count("\n") + 1
    assert r.stderr == failed(server.conf_path,
                              'unexpected end of file, expecting ";" or "}" in %s:%d'
                              % (server.conf_path, n))


def test_missing_events(server):
    text = server.config(http=http_block(server))
    server.write(re.sub(r"events \{[^}]*\}\n", "", text))
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, 'no "events" section in configuration')


def test_missing_config_file(server):
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, 'open() "%s" failed (2: No such file or directory)'
                              % server.conf_path)


# ---- -g ---------------------------------------------------------------------------

def test_g_directives(server):
    text = server.config(http=http_block(server))
    server.write(text.replace("worker_processes 2;\n", ""))
    r = server.cli("-t", "-g", "worker_processes 3; worker_rlimit_nofile 1024;")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ok_lines(server.conf_path)


@pytest.mark.parametrize("g,message", [
    ("frobnicate on;", 'unknown directive "frobnicate" in command line'),
    ("worker_processes x;", 'invalid value "x" in "worker_processes" directive in command line'),
    ("listen 80;", '"listen" directive is not allowed here in command line'),
    ("daemon off", 'unexpected end of parameter, expecting ";" in command line'),
    ("events { }", "block directives are not supported in -g option in command line"),
    ("worker_processes 1 2;",
     'invalid number of arguments in "worker_processes" directive in command line'),
])
def test_g_errors(server, g, message):
    server.write(http=http_block(server))
    r = server.cli("-t", "-g", g)
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, message)


def test_g_duplicate_of_file(server):
    """-g is read first, so the file repeating the directive is the
    duplicate, reported at the file's line."""
    text = server.write(http=http_block(server))
    n = lineno(text, "daemon off")
    r = server.cli("-t", "-g", "daemon off;")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, '"daemon" directive is duplicate in %s:%d'
                              % (server.conf_path, n))


# ---- -T, -e --------------------------------------------------------------------------

def test_T_dumps_main_and_included(server):
    inc_text = "# included\n" + http_block(server) + "\n"
    inc = server.write_file("servers.conf", inc_text)
    main_text = server.write(http="include servers.conf;")
    r = server.cli("-T")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ok_lines(server.conf_path)
    expected = ("# configuration file %s:\n%s\n# configuration file %s:\n%s\n"
                % (server.conf_path, main_text, inc, inc_text))
    assert r.stdout == expected
    # -q hides the messages, not the dump.
    r = server.cli("-T", "-q")
    assert (r.returncode, r.stderr, r.stdout) == (0, "", expected)


def test_T_bad_config_dumps_nothing(server):
    server.write(http=http_block(server) + "\nbogus;")
    r = server.cli("-T")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "test failed" in r.stderr


def test_e_sets_default_error_log(server):
    """Without error_log in the config, -e names the log; -t opens it."""
    text = server.config(http=http_block(server), error_log=False)
    server.write(text)
    r = server.cli("-t", "-e", "custom.log")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(server.dir, "custom.log"))


def default_logs_relative():
    """Whether the build's default log and pid paths are nginx's, under the
    prefix: they are unless configure was told where state lives."""
    args = run_tp(["-V"]).stderr
    if "--localstatedir" in args or "--runstatedir" in args:
        return False
    assert "set error log file (default: logs/error.log)" in run_tp(["-h"]).stderr
    return True


def test_t_without_log_directives(server):
    """A configuration without error_log, access_log or pid passes -t from
    a fresh build: the defaults are under the prefix, as nginx's are."""
    if not default_logs_relative():
        pytest.skip("built with absolute default log paths")
    text = server.config(http=http_block(server), error_log=False, pid=False)
    server.write(text)
    r = server.cli("-t")
    assert (r.returncode, r.stderr) == (0, ok_lines(server.conf_path)), r.stderr
    for name in ("error.log", "access.log"):
        assert os.path.exists(os.path.join(server.dir, "logs", name)), name


def test_default_paths_under_prefix(server):
    """Started without log or pid directives, the master writes
    logs/turnpike.pid and logs/error.log under -p."""
    if not default_logs_relative():
        pytest.skip("built with absolute default log paths")
    server.write(server.config(http=http_block(server), error_log=False, pid=False))
    server.error_log = os.path.join(server.dir, "logs", "error.log")
    server.pid_file = os.path.join(server.dir, "logs", "turnpike.pid")
    server.start()
    assert server.read_pid() == server.master_pid
    assert os.path.exists(server.error_log)
    assert os.path.exists(os.path.join(server.dir, "logs", "access.log"))


def test_t_unwritable_error_log(server):
    text = server.config(http=http_block(server), error_log=False,
                         main="error_log %s/no/such/dir/e.log;" % server.dir)
    server.write(text)
    r = server.cli("-t")
    assert r.returncode == 1
    assert r.stderr == failed(server.conf_path, 'open() "%s/no/such/dir/e.log" failed '
                              "(2: No such file or directory)" % server.dir)


# ---- -v -V -h, bad options ----------------------------------------------------------------

def test_version():
    r = run_tp(["-v"])
    assert r.returncode == 0
    assert re.fullmatch(r"turnpike version: turnpike/\d+\.\d+\.\d+\S*\n", r.stderr), r.stderr
    assert r.stdout == ""


def test_version_full():
    r = run_tp(["-V"])
    assert r.returncode == 0
    lines = r.stderr.splitlines()
    assert re.fullmatch(r"turnpike version: turnpike/\d+\.\d+\.\d+\S*", lines[0])
    assert any(ln.startswith("configure arguments:") for ln in lines), r.stderr
    assert any(ln.startswith("built with") for ln in lines), r.stderr


@pytest.mark.parametrize("flag", ["-h", "-?"])
def test_help(flag):
    r = run_tp([flag])
    assert r.returncode == 0
    assert r.stderr.startswith("Usage: turnpike [-?hvVtTq] [-s signal] [-p prefix]\n")
    for opt in ("-t ", "-T ", "-q ", "-s signal", "-p prefix", "-e filename", "-c filename",
                "-g directives"):
        assert opt in r.stderr


@pytest.mark.parametrize("args,message", [
    (["-x"], 'invalid option: "x"'),
    (["-tx"], 'invalid option: "x"'),
    (["foo"], 'invalid option: "foo"'),
    (["-s", "bogus"], 'invalid option: "-s bogus"'),
    (["-c"], 'option "-c" requires file name'),
    (["-p"], 'option "-p" requires directory name'),
    (["-g"], 'option "-g" requires parameter'),
    (["-s"], 'option "-s" requires parameter'),
])
def test_bad_option(args, message):
    r = run_tp(args)
    assert r.returncode == 1
    assert r.stderr == "turnpike: %s\n" % message

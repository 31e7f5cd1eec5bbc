"""The rewrite module (issue #8, section 4): rewrite with last, break,
redirect and permanent; if with nginx's conditions (a location's if
switches to the block's settings: "if is evil"); set; break; return in if;
rewrite_log; uninitialized_variable_warn; internal.  Every expected answer
here is what nginx 1.22 gives for the same configuration."""

import os
import re
import uuid

import pytest

from helpers import get
from http_helpers import config_refused, docroot, http_block, start

CONF = r"""
server {
    listen 127.0.0.1:%(p)d;
    server_name localhost;
    root %(root)s;
    rewrite ^/srv/(.*)$ /new/$1 break;
    error_page 404 /err404;
    location = /err404 { return 200 "custom404 uri=$uri\n"; }
    location /a { rewrite ^/a/(.*)$ /b/$1 last; return 200 "not reached"; }
    location /b { return 200 "b uri=$uri args=$args\n"; }
    location /c { rewrite ^/c(.*)$ /b$1; return 200 "c continues uri=$uri\n"; }
    location /d { rewrite ^/d(.*)$ /b$1 break; return 200 "d break uri=$uri\n"; }
    location /brk { rewrite ^ /new/x.html break; }
    location /e { rewrite ^/e(.*)$ /b$1?x=1 last; }
    location /f { rewrite ^/f(.*)$ /b$1?x=1? last; }
    location /g { rewrite ^/g(.*)$ /b$1? last; }
    location /r { rewrite ^/r/(.*)$ /target/$1 redirect; }
    location /p { rewrite ^/p/(.*)$ /target/$1?q=1 permanent; }
    location /abs { rewrite ^ http://example.com/abs$uri; }
    location /esc { rewrite ^/esc/(.*)$ /b/$1?a=$1 last; }
    location /esr { rewrite ^/esr/(.*)$ /b/$1?a=$1 redirect; }
    location /loop { rewrite ^ /loop2 last; }
    location /loop2 { rewrite ^ /loop last; }
    location /lastcap { rewrite ^/lastcap/(\w+)/(\w+) /b/$2-$1 last; }
    location ~ \.php$ { return 200 "php $uri\n"; }
    location /x { rewrite ^/x(.*)$ /y$1.php; }
    location /set { set $a hello; set $b "$a world"; return 200 "$a|$b|$args\n"; }
    location /setargs { set $args "z=9"; return 200 "args=$args arg_z=$arg_z\n"; }
    location /manyif {
        set $t "";
        if ($arg_a) { set $t "${t}a"; }
        if ($arg_b) { set $t "${t}b"; }
        return 200 "t=$t\n";
    }
    location /if1 { if ($arg_x) { return 200 "x set: $arg_x\n"; } return 200 "no x\n"; }
    location /if2 {
        if ($arg_x = yes) { return 200 "eq\n"; }
        if ($arg_x != no) { return 200 "ne\n"; }
        return 200 "neither\n";
    }
    location /if3 {
        if ($http_user_agent ~* ^curl/(\S+)) { return 200 "curl $1\n"; }
        if ($http_user_agent !~ bot) { return 200 "not bot\n"; }
        return 200 "bot\n";
    }
    location /if4 { if ( -f $document_root/f.txt ) { return 200 "f exists\n"; } return 200 "no f\n"; }
    location /dir { if (-d $document_root$uri) { return 200 "is dir\n"; } return 200 "not dir\n"; }
    location /nf { if (!-f $document_root$uri) { return 200 "no such file\n"; } return 200 "file\n"; }
    location /if6 {
        if (-e $document_root/nope) { return 200 "e\n"; }
        if (!-x $document_root/f.txt) { return 200 "f.txt not executable\n"; }
        return 200 "none\n";
    }
    location /exe { if (-x $document_root/exe.sh) { return 200 "x\n"; } return 200 "not x\n"; }
    location /two {
        if ($arg_a) { add_header X-Test a; }
        if ($arg_b) { add_header X-Test b; }
        return 200 "two\n";
    }
    location /try { try_files /nothing /new/x.html; if ($arg_evil) { add_header X-Test evil; } }
    location /ep { if ($arg_x) { error_page 404 =200 /err404; } }
    location /new { if ($arg_a) { root %(root)s/dir; } }
    location /uninit { return 200 "[$unset]\n"; }
    location /nowarn { uninitialized_variable_warn off; return 200 "[$unset]\n"; }
    location /brk2 { set $v 1; break; set $v 2; }
    location = /zero { if ($arg_x) { return 200 "zero true\n"; } return 200 "zero false\n"; }
    location /caps { if ($uri ~ ^/caps/(\d+)/(\w+)$) { return 200 "caps $1 $2\n"; } return 200 "nocaps\n"; }
    location ~ ^/loccap/(.*)$ { if ($arg_q ~ z) { return 200 "in if: [$1]\n"; } return 200 "after [$1]\n"; }
    location /int { rewrite ^ /internal-only last; }
    location /internal-only { internal; return 200 "internal ok\n"; }
    location /logged { rewrite_log on; rewrite ^/logged/(.*)$ /b/$1 last; }
    location /ct { return 200 "ct\n"; }
}
server {
    listen 127.0.0.1:%(p)d;
    server_name srv2;
    rewrite ^/old/(.*)$ /new/$1 last;
    rewrite ^/gone$ /b permanent;
    if ($arg_block) { return 403; }
    set $s "server-set";
    set $unset ""; # defines $unset, which the first server reads unset
    location / { return 200 "srv2 uri=$uri s=$s\n"; }
}
"""


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("rewrite")
    root = docroot(s, {"f.txt": "file\n", "exe.sh": "#!/bin/sh\n", "new/x.html": "new\n",
                       "dir/index.html": "idx\n", "dir/new/index.html": "in dir\n"})
    os.chmod(os.path.join(root, "exe.sh"), 0o755)
    p = s.port()
    start(s, http_block(CONF % {"p": p, "root": root}))
    s.root = root
    return s


def body(srv, path, **kw):
    r = get(srv.port(), path, **kw)
    return r.status, r.body.decode()


CASES = [
    ("/a/zz?k=v", 200, "b uri=/b/zz args=k=v\n"),
    ("/c/qq", 200, "c continues uri=/b/qq\n"),  # no flag: the script goes on
    ("/d/qq", 404, None),  # break: /b/qq is served from files in this location
    ("/brk/anything", 200, "new\n"),
    ("/srv/x.html", 200, "new\n"),  # the server's rewrite, before any location
    ("/e/one?k=v", 200, "b uri=/b/one args=x=1&k=v\n"),
    ("/f/one?k=v", 200, "b uri=/b/one args=x=1\n"),
    ("/g/one?k=v", 200, "b uri=/b/one args=\n"),
    ("/esc/a%20b", 200, "b uri=/b/a b args=a=a%20b\n"),
    ("/lastcap/aa/bb", 200, "b uri=/b/bb-aa args=\n"),
    ("/x/abc", 200, "php /y/abc.php\n"),
    ("/set?q=1", 200, "hello|hello world|q=1\n"),
    ("/setargs?a=1", 200, "args=z=9 arg_z=9\n"),
    ("/manyif?a=1&b=1", 200, "t=ab\n"),
    ("/manyif?b=1", 200, "t=b\n"),
    ("/if1?x=5", 200, "x set: 5\n"),
    ("/if1", 200, "no x\n"),
    ("/if2?x=yes", 200, "eq\n"),
    ("/if2?x=no", 200, "neither\n"),
    ("/if2?x=maybe", 200, "ne\n"),
    ("/if4", 200, "f exists\n"),
    ("/dir", 200, "is dir\n"),
    ("/if6", 200, "f.txt not executable\n"),
    ("/exe", 200, "x\n"),
    ("/uninit", 200, "[]\n"),
    ("/zero?x=0", 200, "zero false\n"),
    ("/zero?x=00", 200, "zero true\n"),
    ("/caps/12/ab", 200, "caps 12 ab\n"),
    ("/caps/x", 200, "nocaps\n"),
    ("/loccap/abc?q=zz", 200, "in if: []\n"),  # the if's regex has no group 1
    ("/loccap/abc?q=no", 200, "after []\n"),  # a failed if regex clears the captures too
    ("/int", 200, "internal ok\n"),
    ("/internal-only", 404, None),
    ("/try", 200, "new\n"),
    ("/try?evil=1", 404, None),  # the if's settings have no try_files: nginx's "if is evil"
    ("/ep/missing", 404, None),
    ("/ep/missing?x=1", 200, "custom404 uri=/err404\n"),
    ("/new/x.html", 200, "new\n"),
    ("/new/index.html?a=1", 200, "in dir\n"),  # the if's root
    ("/loop", 500, None),
    ("/brk2", 404, None),
]


@pytest.mark.parametrize("path,status,text", CASES, ids=[c[0] for c in CASES])
def test_rewrite_and_if(srv, path, status, text):
    got_status, got = body(srv, path)
    assert got_status == status, got
    if text is not None:
        assert got == text


def test_if_conditions_on_headers(srv):
    ua = lambda v: body(srv, "/if3", headers=[("User-Agent", v)])[1]  # noqa: E731
    assert ua("curl/7.88") == "curl 7.88\n"
    assert ua("Mozilla") == "not bot\n"
    assert ua("googlebot") == "bot\n"


@pytest.mark.parametrize("path,status,location", [
    ("/r/one?k=v", 302, "http://localhost:%d/target/one?k=v"),
    ("/p/one?k=v", 301, "http://localhost:%d/target/one?q=1&k=v"),
    ("/abs/x?y=z", 302, "http://example.com/abs/abs/x?y=z"),
    ("/esr/a%20b", 302, "http://localhost:%d/b/a%%20b?a=a%%20b"),
])
def test_rewrite_redirects(srv, path, status, location):
    r = get(srv.port(), path)
    assert r.status == status
    assert r.header("Location") == (location % srv.port() if "%d" in location else location)


def test_if_switches_to_the_blocks_settings(srv):
    assert get(srv.port(), "/two").header("X-Test") is None
    assert get(srv.port(), "/two?a=1").header("X-Test") == "a"
    # Both ifs match: the last one's settings serve the request.
    assert get(srv.port(), "/two?a=1&b=1").header_all("X-Test") == ["b"]


def test_file_tests_of_unseen_paths(srv):
    # A name the kernel has never looked up is not in its caches: the pool
    # answers while the script waits.
    for _ in range(3):
        name = "/nf/" + uuid.uuid4().hex
        assert body(srv, name) == (200, "no such file\n")
    assert body(srv, "/nf/../f.txt")[0] in (200, 400)
    with open(os.path.join(srv.root, "late.txt"), "w") as f:
        f.write("late\n")
    os.chmod(os.path.join(srv.root, "late.txt"), 0o644)
    assert body(srv, "/nf/../late.txt")[0] in (200, 400)


def test_content_type_of_return_follows_the_uri(srv):
    # nginx's return sends its text with the type of the URI's extension.
    assert get(srv.port(), "/ct/a.html").header("Content-Type") == "text/html"
    assert get(srv.port(), "/ct/a.unknownext").header("Content-Type") == "text/plain"


def test_server_level_script(srv):
    h = [("Host", "srv2")]
    # `last` in a server ends its script before `set`, as in nginx.
    assert body(srv, "/old/x.html", host="srv2") == (200, "srv2 uri=/new/x.html s=\n")
    assert body(srv, "/any", host="srv2") == (200, "srv2 uri=/any s=server-set\n")
    assert body(srv, "/any?block=1", host="srv2")[0] == 403
    r = get(srv.port(), "/gone", host="srv2")
    assert r.status == 301 and r.header("Location") == "http://srv2:%d/b" % srv.port()
    del h


def test_uninitialized_variable_warn(srv):
    mark = srv.log_size()
    body(srv, "/uninit")
    srv.wait_log(r'\[warn\] .*using uninitialized "unset" variable, client: 127.0.0.1, '
                 r'server: localhost, request: "GET /uninit', since=mark)
    mark = srv.log_size()
    body(srv, "/nowarn")
    body(srv, "/uninit")
    log = srv.wait_log(r'GET /uninit', since=mark)
    assert "GET /nowarn" not in srv.log_since(mark)
    del log


def test_rewrite_log(srv):
    mark = srv.log_size()
    assert body(srv, "/logged/q?z=1") == (200, "b uri=/b/q args=z=1\n")
    srv.wait_log(r'\[notice\] .*"\^/logged/\(\.\*\)\$" matches "/logged/q", client', since=mark)
    srv.wait_log(r'\[notice\] .*rewritten data: "/b/q", args: "z=1", client', since=mark)
    mark = srv.log_size()
    body(srv, "/a/zz")
    assert "matches" not in srv.log_since(mark)  # rewrite_log is off elsewhere


def test_rewrite_cycle_logged(srv):
    mark = srv.log_size()
    assert body(srv, "/loop")[0] == 500
    srv.wait_log(r'\[error\] .*rewrite or internal redirection cycle while processing "/loop2"',
                 since=mark)


BAD = [
    ('location / { rewrite ^ ""; }', "empty replacement"),
    ("location / { rewrite ^ /x bogus; }", 'invalid parameter "bogus"'),
    ("location / { rewrite ( /x; }", "pcre2_compile() failed: missing closing parenthesis"),
    ("location / { if $arg_a { } }", 'invalid condition "$arg_a"'),
    ("location / { if ($arg_a { } }", 'invalid condition "$arg_a"'),
    ("location / { if ($arg_a ?? b) { } }", 'unexpected "??" in condition'),
    ("location / { if ($arg_a = b c) { } }", 'invalid condition "$arg_a"'),
    ("location / { if (-q /x) { } }", 'invalid condition "-q"'),
    ("location / { if (-f) { } }", 'invalid condition "-f"'),
    ("location / { if (x) { } }", 'invalid condition "x"'),
    ("location / { if ($arg_a) { location /x { } } }", '"location" directive is not allowed here'),
    ("location / { if ($arg_a) { if ($arg_b) { } } }", '"if" directive is not allowed here'),
    ("location / { if ($arg_a) { try_files $uri =404; } }", '"try_files" directive is not allowed here'),
    ("if ($arg_a) { root /x; }", '"root" directive is not allowed here'),
    ("location / { if ($arg_a) { nosuch on; } }", 'unknown directive "nosuch"'),
    ("location / { set a 1; }", 'invalid variable name "a"'),
    ("location / { set $uri 1; }", 'the duplicate "uri" variable'),
    ("location / { set $x $nosuch; }", 'unknown "nosuch" variable'),
    ("location / { return 200; rewrite_log maybe; }",
     'invalid value "maybe" in "rewrite_log" directive, it must be "on" or "off"'),
    ("location / { internal; internal; }", '"internal" directive is duplicate'),
    ("internal;", '"internal" directive is not allowed here'),
]


@pytest.mark.parametrize("conf,message", BAD, ids=[b[0][:40] for b in BAD])
def test_bad_rewrite_config(server, conf, message):
    assert message in config_refused(
        server, http_block("server { listen 127.0.0.1:%d; %s }" % (server.port(), conf)))


def test_variable_used_before_its_set(server):
    # nginx resolves variables once the whole file is read: a value may
    # name a variable a later directive defines.
    p = server.port()
    start(server, """
log_format v "$later";
server {
    listen 127.0.0.1:%d;
    location /first { return 200 "[$later]\\n"; }
    location /second { set $later "set"; return 200 "[$later]\\n"; }
}""" % p)
    assert get(p, "/second").body == b"[set]\n"
    assert get(p, "/first").body == b"[]\n"


def test_set_survives_internal_redirect(server):
    p = server.port()
    start(server, """
server {
    listen 127.0.0.1:%d;
    error_page 404 = /handler;
    location /start { set $carried "from start"; return 404; }
    location /handler { return 200 "carried=$carried\\n"; }
}""" % p)
    assert get(p, "/start").body == b"carried=from start\n"

"""The limits' shared memory zones: state kept across a reload when a
zone's name and size stay, a fresh zone when its size changes, a reload
refused when a kept zone gets another key (nginx's message), a limit_conn
place held by the old generation counting in the new one, and nginx's
messages for every configuration error of the limit directives (checked
against nginx 1.22.1's own output)."""

import pytest

from helpers import Conn, get, wait_for
from http_helpers import config_refused, docroot, http_block, start

REQ_CONF = """
limit_req_zone %(key)s zone=one:%(size)s rate=1r/m;
server {
    listen 127.0.0.1:%(port)d;
    add_header X-Gen %(gen)d always;
    location /z/ { alias %(root)s/; limit_req zone=one burst=2 nodelay; }
}
"""


def write_req(server, root, gen, key="$binary_remote_addr", size="1m"):
    server.write(http=http_block(REQ_CONF % {"key": key, "size": size, "port": server.port(),
                                             "gen": gen, "root": root}))


def statuses(server, n):
    out = []
    for _ in range(n):
        r = get(server.port(), "/z/a.txt")
        out.append((r.status, int(r.header("X-Gen"))))
    return out


def test_reload_keeps_zone_state(server):
    root = docroot(server, {"a.txt": "aaa\n"})
    write_req(server, root, 1)
    server.start()
    assert statuses(server, 4) == [(200, 1)] * 3 + [(503, 1)]
    # Same name and size: the new generation's workers see the same buckets.
    write_req(server, root, 2)
    server.reload()
    assert statuses(server, 2) == [(503, 2)] * 2
    # Another size: a fresh zone, as in nginx.
    write_req(server, root, 3, size="2m")
    server.reload()
    assert statuses(server, 4) == [(200, 3)] * 3 + [(503, 3)]


def test_reload_refuses_another_key_for_a_kept_zone(server):
    root = docroot(server, {"a.txt": "aaa\n"})
    write_req(server, root, 1)
    server.start()
    assert statuses(server, 3) == [(200, 1)] * 3
    msg = ('limit_req "one" uses the "$remote_addr" key while previously it used the '
           '"$binary_remote_addr" key')
    server.expect_log(msg.replace("$", r"\$"))
    write_req(server, root, 2, key="$remote_addr")
    mark = server.log_size()
    server.reload(wait=False)
    server.wait_log(r"\[emerg\] .*" + msg.replace("$", r"\$"), since=mark)
    assert statuses(server, 1) == [(503, 1)]  # the old generation serves, its state intact


CONN_CONF = """
limit_conn_zone $binary_remote_addr zone=c:1m;
server {
    listen 127.0.0.1:%(port)d;
    add_header X-Gen %(gen)d always;
    location /c/ { alias %(root)s/; limit_conn c 1; limit_rate 1k; }
}
"""


def test_limit_conn_place_counts_across_generations(server):
    """A slow request of the old generation still holds its place: the new
    generation's workers refuse the key until it ends."""
    root = docroot(server, {"a.txt": "aaa\n", "big.bin": b"x" * 65536})
    conf = {"port": server.port(), "root": root}
    server.write(http=http_block(CONN_CONF % dict(conf, gen=1)),
                 main="worker_shutdown_timeout 30s;")
    server.start()
    held = Conn(server.port())
    held.request("/c/big.bin")
    while b"\r\n\r\n" not in held.buf:
        held._fill()
    server.write(http=http_block(CONN_CONF % dict(conf, gen=2)),
                 main="worker_shutdown_timeout 30s;")
    server.reload(wait=False)

    def new_generation():
        r = get(server.port(), "/c/a.txt")
        return r if r.header("X-Gen") == "2" else None
    assert wait_for(new_generation, what="the new generation").status == 503
    held.close()
    wait_for(lambda: get(server.port(), "/c/a.txt").status == 200, what="the place to be free")


ZONE = "limit_req_zone $binary_remote_addr zone=x:1m rate=1r/s;"
CZONE = "limit_conn_zone $binary_remote_addr zone=c:1m;"
LOC = "server { location / { %s } }"

# nginx 1.22.1's words (nginx -t) for each.
BAD = [
    ("limit_req_zone $binary_remote_addr zone=x rate=1r/s;", 'invalid zone size "zone=x"'),
    ("limit_req_zone $binary_remote_addr zone=x:1k rate=1r/s;", 'zone "zone=x:1k" is too small'),
    ("limit_req_zone $binary_remote_addr zone=x:32767 rate=1r/s;",
     'zone "zone=x:32767" is too small'),
    ("limit_req_zone $binary_remote_addr zone=x:1q rate=1r/s;", 'invalid zone size "zone=x:1q"'),
    ("limit_req_zone $binary_remote_addr zone=x:1m rate=0r/s;", 'invalid rate "rate=0r/s"'),
    ("limit_req_zone $binary_remote_addr zone=x:1m rate=5r/h;", 'invalid rate "rate=5r/h"'),
    ("limit_req_zone $binary_remote_addr rate=1r/s foo=1;", 'invalid parameter "foo=1"'),
    ("limit_req_zone $binary_remote_addr zone=:1m rate=1r/s;",
     '"limit_req_zone" must have "zone" parameter'),
    ("limit_req_zone $binary_remote_addr zone=x:1m;",
     'invalid number of arguments in "limit_req_zone" directive'),
    (LOC % "limit_req zone=missing;", 'zero size shared memory zone "missing"'),
    (ZONE + LOC % "limit_req burst=3;", '"limit_req" must have "zone" parameter'),
    (ZONE + LOC % "limit_req zone=x burst=0;", 'invalid burst value "burst=0"'),
    (ZONE + LOC % "limit_req zone=x delay=y;", 'invalid delay value "delay=y"'),
    (ZONE + LOC % "limit_req zone=x foo;", 'invalid parameter "foo"'),
    (ZONE + LOC % "limit_req zone=x burst=5 delay=2 nodelay;",
     'invalid number of arguments in "limit_req" directive'),
    (ZONE + LOC % "limit_req zone=x; limit_req zone=x;", '"limit_req" directive is duplicate'),
    (ZONE + ZONE, 'limit_req_zone "x" is already bound to key "$binary_remote_addr"'),
    (ZONE + ZONE.replace("1m", "2m"),
     'the size 2097152 of shared memory zone "x" conflicts with already declared size 1048576'),
    ("limit_conn_zone $binary_remote_addr zone=x:1m;" + ZONE,
     'the shared memory zone "x" is already declared for a different use'),
    (ZONE + LOC % "limit_conn x 1;",
     'the shared memory zone "x" is already declared for a different use'),
    # One namespace with the TLS session cache's zones, as in nginx.
    (ZONE + "ssl_session_cache shared:x:1m;",
     'the shared memory zone "x" is already declared for a different use'),
    ("ssl_session_cache shared:c:1m;" + CZONE,
     'the shared memory zone "c" is already declared for a different use'),
    ("limit_req_status 600;", "value must be between 400 and 599"),
    ("limit_conn_status 399;", "value must be between 400 and 599"),
    ("limit_req_status abc;", '"limit_req_status" directive invalid number'),
    ("limit_req_status 500; limit_req_status 501;", '"limit_req_status" directive is duplicate'),
    ("limit_req_log_level debug;", 'invalid value "debug"'),
    ("limit_conn_log_level crit;", 'invalid value "crit"'),
    ("limit_req_dry_run maybe;",
     'invalid value "maybe" in "limit_req_dry_run" directive, it must be "on" or "off"'),
    ("server { %s }" % ZONE, '"limit_req_zone" directive is not allowed here'),
    ("limit_conn_zone $binary_remote_addr;",
     'invalid number of arguments in "limit_conn_zone" directive'),
    ("limit_conn_zone $binary_remote_addr foo;", 'invalid parameter "foo"'),
    (CZONE + LOC % "limit_conn c 0;", 'invalid number of connections "0"'),
    (CZONE + LOC % "limit_conn c x;", 'invalid number of connections "x"'),
    (CZONE + LOC % "limit_conn c 70000;", "connection limit must be less 65536"),
    (CZONE + LOC % "limit_conn c 1; limit_conn c 2;", '"limit_conn" directive is duplicate'),
    (CZONE + CZONE.replace("$binary_remote_addr", "$remote_addr"),
     'limit_conn_zone "c" is already bound to key "$binary_remote_addr"'),
    (LOC % "limit_conn c 1;", 'zero size shared memory zone "c"'),
    ("limit_rate abc;", '"limit_rate" directive invalid value'),
    ("limit_rate_after abc;", '"limit_rate_after" directive invalid value'),
    ("limit_rate 1k; limit_rate 2k;", '"limit_rate" directive is duplicate'),
]


@pytest.mark.parametrize("body,message", BAD, ids=[m for _, m in BAD])
def test_config_errors_in_nginx_words(server, body, message):
    err = config_refused(server, http=http_block(body))
    assert message in err, err


GOOD = [
    ZONE + LOC % "limit_req zone=x burst=5 nodelay;",
    ZONE + LOC % "limit_req zone=x delay=3;",
    "limit_req_zone $binary_remote_addr zone=x:1m rate=5;",
    LOC % "limit_req zone=x;" + ZONE,  # a zone may be used before it is defined
    CZONE + LOC % "limit_conn c 65535;",
    ZONE + "ssl_session_cache shared:SSL:1m;",
    "limit_rate $arg_x; limit_rate_after 1m;",
    "server { location / { if ($arg_a) { limit_rate 1k; limit_rate_after 1k; } } }",
    "server { location / { set $limit_rate 1k; } }",
    ZONE + CZONE + "limit_req_log_level info; limit_conn_log_level notice;"
    " limit_req_status 429; limit_conn_status 444; limit_req_dry_run on;"
    " limit_conn_dry_run off;" + LOC % "limit_req zone=x; limit_conn c 1;",
]


@pytest.mark.parametrize("body", GOOD)
def test_configs_nginx_accepts(server, body):
    server.write(http=http_block(body))
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr

"""Directives stock nginx configurations carry (issue #8, section 3):
load_module, the table and pool sizes, the events module's accept tuning,
and turnpike's own listen_remap, which moves an unchanged configuration to
another port."""

import pytest

from helpers import get
from http_helpers import http_block


def check(server, text):
    """Runs -t on text; returns (returncode, stderr)."""
    server.write(text)
    r = server.cli("-t")
    return r.returncode, r.stderr


def test_load_module_warns_and_passes(server):
    rc, err = check(server, "load_module modules/ngx_http_echo_module.so;\n"
                    + server.config(http=http_block("")))
    assert rc == 0, err
    assert ('[warn] turnpike has no dynamic modules: "load_module '
            'modules/ngx_http_echo_module.so" is ignored in %s:1' % server.conf_path) in err


def test_directive_of_a_dynamic_module_stays_unknown(server):
    rc, err = check(server, "load_module modules/ngx_http_echo_module.so;\n" + server.config(
        http=http_block("server { location / { echo hello; } }")))
    assert rc == 1
    assert 'unknown directive "echo"' in err


TUNING = """
types_hash_max_size 2048;
types_hash_bucket_size 128;
server_names_hash_max_size 1024;
server_names_hash_bucket_size 64;
variables_hash_max_size 2048;
variables_hash_bucket_size 128;
map_hash_max_size 4096;
map_hash_bucket_size 128;
connection_pool_size 512;
request_pool_size 8k;
server {
    listen 127.0.0.1:%d;
    types_hash_max_size 512;
    connection_pool_size 1024;
    request_pool_size 4k;
    location / { types_hash_bucket_size 64; return 200 "tuned\\n"; }
}
"""


def test_tuning_accepted_and_serves(server):
    server.write(http=http_block(TUNING % server.port()),
                 events="worker_connections 64; multi_accept on; accept_mutex on; "
                        "accept_mutex_delay 100ms; use epoll;")
    r = server.cli("-t")
    assert r.returncode == 0, r.stderr
    server.start()
    assert get(server.port()).body == b"tuned\n"


BAD = [
    ("types_hash_max_size x;", 'invalid value "x" in "types_hash_max_size" directive'),
    ("map_hash_bucket_size -1;", 'invalid value "-1" in "map_hash_bucket_size" directive'),
    ("connection_pool_size 100;", "the pool size must be no less than 112"),
    ("request_pool_size 1000;", "the pool size must be a multiple of 16"),
    ("request_pool_size 4q;", 'invalid value "4q" in "request_pool_size" directive'),
    ("server_names_hash_max_size 0; server { server_name a.test; }",
     "could not build server_names_hash, you should increase server_names_hash_max_size: 0"),
    ("server_names_hash_bucket_size 32; server { server_name %s; }" % ("x" * 50 + ".test"),
     "could not build server_names_hash, you should increase "
     "server_names_hash_bucket_size: 64"),
    ("server_names_hash_bucket_size 70000; server { server_name a.test; }",
     "could not build server_names_hash, too large server_names_hash_bucket_size: 70016"),
    ("types_hash_max_size 0; types { text/plain txt; }",
     "could not build types_hash, you should increase types_hash_max_size: 0"),
    ("types_hash_max_size 1; types_hash_max_size 2;", '"types_hash_max_size" directive is duplicate'),
    ("server { server_names_hash_max_size 10; }",
     '"server_names_hash_max_size" directive is not allowed here'),
]


@pytest.mark.parametrize("http,message", BAD, ids=[b[0][:40] for b in BAD])
def test_tuning_checked_as_nginx(server, http, message):
    rc, err = check(server, server.config(http=http_block(http)))
    assert rc == 1
    assert message in err, err


BAD_EVENTS = [
    ("use poll;", 'invalid event type "poll": turnpike uses only "epoll"'),
    ("use kqueue;", 'invalid event type "kqueue"'),
    ("use epoll; use epoll;", '"use" directive is duplicate'),
    ("multi_accept maybe;",
     'invalid value "maybe" in "multi_accept" directive, it must be "on" or "off"'),
    ("accept_mutex on; accept_mutex off;", '"accept_mutex" directive is duplicate'),
    ("accept_mutex_delay soon;", 'invalid value "soon" in "accept_mutex_delay" directive'),
]


@pytest.mark.parametrize("events,message", BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_events_checked_as_nginx(server, events, message):
    rc, err = check(server, server.config(http=http_block(""), events=events))
    assert rc == 1
    assert message in err, err


def test_events_directives_outside_events_refused(server):
    rc, err = check(server, "multi_accept on;\n" + server.config(http=http_block("")))
    assert rc == 1
    assert '"multi_accept" directive is not allowed here' in err


# ---- listen_remap --------------------------------------------------------------

REMAPPED = """
server { listen 80 default_server; listen [::]:80 default_server; return 200 "eighty\\n"; }
server { listen 8088; server_name other.test; return 200 "other\\n"; }
server { server_name nolisten.test; return 200 "nolisten\\n"; }
"""


def test_listen_remap_moves_listens(server):
    p, q = server.port(), server.port("b")
    server.write(http=http_block(REMAPPED))
    remap = "listen_remap 80 127.0.0.1:%d; listen_remap 8088 127.0.0.1:%d;" % (p, q)
    r = server.cli("-t", "-g", remap)
    assert r.returncode == 0, r.stderr
    server.start("-g", remap)
    assert get(p).body == b"eighty\n"
    # The server without listen has the default, *:80 as root: remapped too.
    assert get(p, host="nolisten.test").body == b"nolisten\n"
    assert get(q, host="other.test").body == b"other\n"


BAD_REMAP = [
    ("listen_remap 80 localhost:8080;", 'invalid address "localhost:8080" in "listen_remap"'),
    ("listen_remap 80 127.0.0.1;", 'invalid address "127.0.0.1" in "listen_remap"'),
    ("listen_remap x 127.0.0.1:1;", 'invalid port "x" in "listen_remap"'),
    ("listen_remap 80 127.0.0.1:1; listen_remap 80 127.0.0.1:2;",
     'duplicate "listen_remap" for port 80'),
]


@pytest.mark.parametrize("main,message", BAD_REMAP, ids=[b[0] for b in BAD_REMAP])
def test_listen_remap_checked(server, main, message):
    rc, err = check(server, server.config(main=main, http=http_block("")))
    assert rc == 1
    assert message in err, err

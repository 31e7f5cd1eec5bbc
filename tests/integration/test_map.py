"""map (hostnames, regexes with captures, default, volatile, include) and
split_clients (nginx's MurmurHash2 buckets), with nginx 1.22's answers."""

import os

import pytest

from helpers import get
from http_helpers import config_refused, http_block, start

CONF = r"""
map $arg_k $m1 {
    default    dflt;
    a          A;
    MixedCase  mixed;
    ""         empty;
    ~^re(\d+)$ "regex $1";
    ~*^CI      caseless;
    \default   escaped-default;
    include    %(dir)s/map-extra.conf;
}
map $http_host $h {
    hostnames;
    default         nohost;
    example.com     exact;
    *.example.com   head;
    .dot.org        dothead;
    www.example.*   tail;
    ~^api\.         apiregex;
}
map "$arg_a:$arg_b" $combo { "1:2" onetwo; default other; }
map $arg_v $withvar { default "v-$arg_v-$uri"; x "is x"; }
map $uri $chain { default "chain:$m1"; }
map $arg_n $cached { default "n=$arg_n"; }
map $arg_n $fresh { volatile; default "n=$arg_n"; }
split_clients "${arg_id}AAA" $variant {
    0.5%%  .one;
    2.0%%  .two;
    50%%   half;
    *      "";
}
split_clients "$arg_id" $v2 { 33.33%% first; 33.33%% second; }
server {
    listen 127.0.0.1:%(p)d;
    location /m { return 200 "m1=$m1\n"; }
    location /h { return 200 "h=$h\n"; }
    location /c { return 200 "combo=$combo withvar=$withvar chain=$chain\n"; }
    location /s { return 200 "variant=$variant v2=$v2\n"; }
    location /set { set $m1 overridden; return 200 "m1=$m1\n"; }
    # $cached keeps its first value for the request; $fresh is computed again.
    location /vol { set $x "$cached $fresh"; set $args "n=2"; return 200 "$x / $cached $fresh\n"; }
}
"""


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("map")
    s.write_file("map-extra.conf", "included yes-included;\n")
    start(s, http_block(CONF % {"p": s.port(), "dir": s.dir}))
    return s


def text(srv, path, **kw):
    r = get(srv.port(), path, **kw)
    assert r.status == 200
    return r.body.decode()


@pytest.mark.parametrize("k,want", [
    ("a", "A"), ("A", "A"), ("mixedcase", "mixed"), ("", "empty"), ("re12", "regex 12"),
    ("re", "dflt"), ("ci-x", "caseless"), ("CIy", "caseless"), ("default", "escaped-default"),
    ("zz", "dflt"), ("included", "yes-included"),
])
def test_map_keys(srv, k, want):
    assert text(srv, "/m?k=" + k) == "m1=%s\n" % want


def test_map_source_absent(srv):
    assert text(srv, "/m") == "m1=empty\n"


@pytest.mark.parametrize("host,want", [
    ("example.com", "exact"), ("EXAMPLE.com", "exact"), ("a.example.com", "head"),
    ("a.b.example.com", "head"), ("dot.org", "dothead"), ("x.dot.org", "dothead"),
    ("www.example.net", "tail"), ("www.example.com", "head"), ("api.foo", "apiregex"),
    ("example.com.", "exact"), ("other", "nohost"),
])
def test_map_hostnames(srv, host, want):
    assert text(srv, "/h", host=host) == "h=%s\n" % want


def test_map_complex_values(srv):
    assert text(srv, "/c?a=1&b=2&v=x") == "combo=onetwo withvar=is x chain=chain:empty\n"
    assert text(srv, "/c?a=1&b=3&v=q") == "combo=other withvar=v-q-/c chain=chain:empty\n"
    assert text(srv, "/c?k=a") == "combo=other withvar=v--/c chain=chain:A\n"


def test_set_overrides_a_map(srv):
    assert text(srv, "/set?k=a") == "m1=overridden\n"


def test_volatile(srv):
    assert text(srv, "/vol?n=1") == "n=1 n=1 / n=1 n=2\n"


# What nginx 1.22 answers for these keys with the same split_clients.
NGINX_SPLITS = {
    "1": ("", "first"), "42": ("", "second"), "alice": ("", "first"), "bob": ("half", "first"),
    "2": ("half", "first"), "3": ("", "second"), "99": ("", "second"),
    "123456": ("", "first"), "x": ("half", "first"),
}


@pytest.mark.parametrize("key", sorted(NGINX_SPLITS))
def test_split_clients_same_buckets_as_nginx(srv, key):
    variant, v2 = NGINX_SPLITS[key]
    assert text(srv, "/s?id=" + key) == "variant=%s v2=%s\n" % (variant, v2)


def murmur2(data):
    """nginx's ngx_murmur_hash2."""
    m, h, n = 0x5bd1e995, len(data), len(data)
    i = 0
    while n >= 4:
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = ((h * m) & 0xffffffff) ^ k
        i, n = i + 4, n - 4
    if n == 3:
        h ^= data[i + 2] << 16
    if n >= 2:
        h ^= data[i + 1] << 8
    if n >= 1:
        h ^= data[i]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    return h ^ (h >> 15)


def nginx_split(key, parts):
    """nginx's thresholds: each share of 0xffffffff, in hundredths of a percent."""
    last, bounds = 0, []
    for share, value in parts:
        if share:
            last += share * 0xffffffff // 10000
        bounds.append((last if share else 0, value))
    h = murmur2(key.encode())
    return next((v for b, v in bounds if h < b or b == 0), "")


def test_split_clients_many_keys(srv):
    parts = [(50, ".one"), (200, ".two"), (5000, "half"), (0, "")]
    for i in range(40):
        key = str(i * 7919)
        want = nginx_split(key + "AAA", parts)
        want2 = nginx_split(key, [(3333, "first"), (3333, "second")])
        assert text(srv, "/s?id=" + key) == "variant=%s v2=%s\n" % (want, want2)


BAD = [
    ("map $uri $a { a b c; }", "invalid number of the map parameters"),
    ("map $uri $a { default 1; default 2; }", "duplicate default map parameter"),
    ("map $uri $a { x 1; X 2; }", 'conflicting parameter "x"'),
    ("map $uri $a { hostnames; *.a.com 1; *.a.com 2; }", 'conflicting parameter "*.a.com"'),
    ("map $uri $a { hostnames; .a.com 1; a.com 2; }", 'conflicting parameter "a.com"'),
    ("map $uri $a { hostnames; a*b 1; }", 'invalid hostname or wildcard "a*b"'),
    ("map $uri a { }", 'invalid variable name "a"'),
    ("map $uri $uri { }", 'the duplicate "uri" variable'),
    ("map $uri $a { ~( 1; }", "pcre2_compile() failed: missing closing parenthesis"),
    ("map $uri $a { x $nosuch; }", 'unknown "nosuch" variable'),
    ("map_hash_bucket_size 32; map $uri $a { %s 1; }" % ("x" * 60),
     "could not build map_hash, you should increase map_hash_bucket_size: 64"),
    ("split_clients $uri $s { 50% a; 60% b; }", "percent total is greater than 100%"),
    ("split_clients $uri $s { 50 a; }", 'invalid percent value "50"'),
    ("split_clients $uri $s { 0.001% a; }", 'invalid percent value "0.001%"'),
    ("split_clients $uri $s { 0% a; }", 'invalid percent value "0%"'),
    ("server { map $uri $a { } }", '"map" directive is not allowed here'),
]


@pytest.mark.parametrize("http,message", BAD, ids=[b[0][:40] for b in BAD])
def test_bad_map(server, http, message):
    assert message in config_refused(server, http_block(http))


def test_map_defined_after_its_use(server):
    p = server.port()
    start(server, """
server { listen 127.0.0.1:%d; location / { return 200 "late=$late\\n"; } }
map $arg_x $late { 1 one; default none; }
""" % p)
    assert get(p, "/?x=1").body == b"late=one\n"
    assert os.path.exists(server.conf_path)

"""auth_basic and auth_basic_user_file: every format nginx reads, the user
file read at each request, satisfy with allow/deny, $remote_user, and the
bcrypt check in the pool while the worker serves other requests."""

import base64
import ctypes
import hashlib
import os
import socket
import subprocess

import pytest

from helpers import Conn, get
from http_helpers import config_refused, docroot, http_block, start

LIBCRYPT = ctypes.CDLL("libcrypt.so.1")
LIBCRYPT.crypt.restype = ctypes.c_char_p
LIBCRYPT.crypt_gensalt.restype = ctypes.c_char_p


def crypt(password, prefix, cost=0):
    """libcrypt's hash of password with a fresh salt of the given method."""
    salt = LIBCRYPT.crypt_gensalt(prefix, cost, None, 0)
    return LIBCRYPT.crypt(password.encode(), salt).decode()


def user_file():
    salt = b"\x01\x02salty"
    lines = [
        "bc:" + crypt("bcpw", b"$2b$", 5),
        "bcy:" + crypt("bcypw", b"$2y$", 5),
        "s512:" + crypt("s512pw", b"$6$"),
        "s256:" + crypt("s256pw", b"$5$"),
        "md5:" + crypt("md5pw", b"$1$"),
        "yes:" + crypt("yespw", b"$y$"),
        "apr:" + subprocess.check_output(["openssl", "passwd", "-apr1", "aprpw"]).decode().strip(),
        "plain:{PLAIN}plainpw",
        "sha:{SHA}" + base64.b64encode(hashlib.sha1(b"shapw").digest()).decode(),
        "ssha:{SSHA}" + base64.b64encode(hashlib.sha1(b"sshapw" + salt).digest() + salt).decode(),
        "# comment:{PLAIN}x",
        "comm:{PLAIN}commpw:a comment after the hash",
        "slow:" + crypt("slowpw", b"$2b$", 14),
    ]
    return "\n".join(lines) + "\n"


def basic(user, password):
    return ("Authorization", "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode())
            .decode())


CONF = """
server {
    listen 127.0.0.1:%(p)d;
    root %(root)s;
    error_page 401 /401.html;
    location = /401.html { root %(dir)s/pages; }
    location /a/ { auth_basic "Restricted $uri"; auth_basic_user_file htpasswd; alias %(root)s/; }
    location /a/open/ { auth_basic off; alias %(root)s/; }
    location /nofile/ { auth_basic "x"; auth_basic_user_file %(dir)s/nope; alias %(root)s/; }
    location /anyallow/ {
        satisfy any; allow 127.0.0.1; deny all;
        auth_basic "x"; auth_basic_user_file htpasswd; alias %(root)s/;
    }
    location /anydeny/ {
        satisfy any; deny all;
        auth_basic "x"; auth_basic_user_file htpasswd; alias %(root)s/;
    }
    location /alldeny/ { deny all; auth_basic "x"; auth_basic_user_file htpasswd; alias %(root)s/; }
    location /public/ { alias %(root)s/; }
    location /ru/ { return 200 "user=[$remote_user]\\n"; }
    location /noauth/ { auth_basic "x"; alias %(root)s/; }
}
"""


@pytest.fixture(scope="module")
def srv(module_servers):
    s = module_servers("auth")
    root = docroot(s, {"f.txt": "file\n"})
    docroot(s, {"401.html": "please log in\n"}, name="pages")
    # A relative user file is the configuration directory's, as in nginx.
    s.write_file("htpasswd", user_file())
    start(s, http_block(CONF % {"p": s.port(), "root": root, "dir": s.dir}), workers=1)
    return s


def status(srv, path, *headers):
    return get(srv.port(), path, headers=list(headers)).status


@pytest.mark.parametrize("user,password", [
    ("bc", "bcpw"), ("bcy", "bcypw"), ("s512", "s512pw"), ("s256", "s256pw"), ("md5", "md5pw"),
    ("yes", "yespw"), ("apr", "aprpw"), ("plain", "plainpw"), ("sha", "shapw"),
    ("ssha", "sshapw"), ("comm", "commpw"),
])
def test_every_format(srv, user, password):
    r = get(srv.port(), "/a/f.txt", headers=[basic(user, password)])
    assert (r.status, r.body) == (200, b"file\n")
    r = get(srv.port(), "/a/f.txt", headers=[basic(user, password + "x")])
    assert r.status == 401


def test_challenge(srv):
    r = get(srv.port(), "/a/f.txt")
    assert r.status == 401
    assert r.header("WWW-Authenticate") == 'Basic realm="Restricted /a/f.txt"'
    # error_page 401 keeps the challenge, so browsers still ask.
    assert r.body == b"please log in\n"


@pytest.mark.parametrize("auth", [
    "Basic !!!", "Bearer xyz", "Basic " + base64.b64encode(b"nocolon").decode(),
    "Basic " + base64.b64encode(b":pw").decode(),
])
def test_invalid_credentials_are_no_credentials(srv, auth):
    mark = srv.log_size()
    assert status(srv, "/a/f.txt", ("Authorization", auth)) == 401
    srv.wait_log(r"\[info\] .*no user/password was provided for basic authentication", since=mark)


def test_scheme_case_and_spaces(srv):
    auth = "basic   " + base64.b64encode(b"plain:plainpw").decode()
    assert status(srv, "/a/f.txt", ("Authorization", auth)) == 200


def test_log_lines(srv):
    mark = srv.log_size()
    assert status(srv, "/a/f.txt", basic("plain", "bad")) == 401
    srv.wait_log(r'\[error\] .*user "plain": password mismatch, client: 127.0.0.1', since=mark)
    assert status(srv, "/a/f.txt", basic("# comment", "x")) == 401
    srv.wait_log(r'user "# comment" was not found in "%s/htpasswd"' % srv.dir, since=mark)


def test_off_and_missing_file(srv):
    assert status(srv, "/a/open/f.txt") == 200
    assert status(srv, "/noauth/f.txt") == 200  # auth_basic without a user file: nothing
    mark = srv.log_size()
    assert status(srv, "/nofile/f.txt", basic("plain", "plainpw")) == 403
    srv.wait_log(r'\[error\] .*open\(\) "%s/nope" failed \(2: No such file' % srv.dir, since=mark)


@pytest.mark.parametrize("path,headers,want", [
    ("/anyallow/f.txt", [], 200),  # the address is enough
    ("/anydeny/f.txt", [], 401),  # no rule grants: the password's refusal wins
    ("/anydeny/f.txt", [basic("plain", "plainpw")], 200),
    ("/anydeny/f.txt", [basic("plain", "bad")], 401),
    ("/alldeny/f.txt", [basic("plain", "plainpw")], 403),  # satisfy all: deny answers first
])
def test_satisfy(srv, path, headers, want):
    r = get(srv.port(), path, headers=headers)
    assert r.status == want
    if want == 401:
        assert r.header("WWW-Authenticate") == 'Basic realm="x"'


def test_remote_user(srv):
    assert get(srv.port(), "/ru/", headers=[basic("someone", "pw")]).body == b"user=[someone]\n"
    assert get(srv.port(), "/ru/").body == b"user=[]\n"


def test_user_file_read_at_each_request(srv):
    path = os.path.join(srv.dir, "htpasswd")
    assert status(srv, "/a/f.txt", basic("late", "latepw")) == 401
    with open(path, "a") as f:
        f.write("late:{PLAIN}latepw\n")
    assert status(srv, "/a/f.txt", basic("late", "latepw")) == 200  # no reload


def test_bcrypt_check_does_not_stall_the_worker(srv):
    """One worker: while it checks a costly bcrypt hash (cost 14) in the
    pool, another client's request is answered; the slow one's answer has
    not come yet when the other's is complete."""
    slow = Conn(srv.port())
    try:
        slow.request("/a/f.txt", headers=[basic("slow", "slowpw")])
        assert get(srv.port(), "/public/f.txt").body == b"file\n"
        slow.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.sock.recv(1)
        slow.sock.setblocking(True)
        slow.sock.settimeout(60)
        r = slow.read_response()
        assert (r.status, r.body) == (200, b"file\n")
    finally:
        slow.close()


BAD = [
    ("auth_basic a b;", 'invalid number of arguments in "auth_basic" directive'),
    ("auth_basic a; auth_basic b;", '"auth_basic" directive is duplicate'),
    ("auth_basic_user_file a; auth_basic_user_file b;", '"auth_basic_user_file" directive is duplicate'),
    ("auth_basic_user_file $nosuch;", 'unknown "nosuch" variable'),
]


@pytest.mark.parametrize("conf,message", BAD, ids=[b[0] for b in BAD])
def test_bad_auth_config(server, conf, message):
    assert message in config_refused(
        server, http_block("server { listen 127.0.0.1:%d; location / { %s } }" % (server.port(), conf)))


def test_socket_closed_while_checking(srv):
    """A client that goes away while its password is checked: the job's
    answer is dropped, and the worker serves on."""
    s = socket.create_connection(("127.0.0.1", srv.port()))
    s.sendall(b"GET /a/f.txt HTTP/1.1\r\nHost: x\r\n%s: %s\r\n\r\n"
              % tuple(v.encode() for v in basic("slow", "slowpw")))
    s.close()
    assert status(srv, "/a/f.txt", basic("plain", "plainpw")) == 200

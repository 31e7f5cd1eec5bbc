"""Helpers for the proxy tests: the scripted backend and the DNS server
as pytest fixtures, a client that reads chunked and interim responses,
and a WebSocket client.

Fixtures (import them into a test module to use them):
  backend          one Backend on a free port, in this process
  make_backend     factory: make_backend("b1") -> Backend, all stopped at the end
  backend_process  factory: a Backend in a process of its own (for many
                   connections); returns (port, Popen)
  dns_server       a DNSServer, started, stopped at the end

proxy_http(server, body, ...) and start_proxy(server, body, ...) write the
usual proxy test configuration: upstream blocks and other http-level text,
then one server on server.port() whose block is `body`.
"""

import json
import os
import subprocess
import sys

import pytest

from backend import BLOCK, Backend, ws_accept, ws_frame, ws_mask  # noqa: F401
from dnsserver import DNSServer
from helpers import TIMEOUT, Closed, Conn, parse_head
from http_helpers import http_block, start

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- fixtures ------------------------------------------------------------------

@pytest.fixture
def make_backend():
    started = []

    def make(name="backend"):
        b = Backend(name).start()
        started.append(b)
        return b
    yield make
    for b in started:
        b.stop()


@pytest.fixture
def backend(make_backend):
    return make_backend()


@pytest.fixture
def backend_process():
    procs = []

    def start(name="backend"):
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "backend.py"), "--name", name],
                             stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("listening on "), "backend did not start: %r" % line
        procs.append(p)
        return int(line.rsplit(":", 1)[1]), p
    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()


@pytest.fixture
def dns_server():
    d = DNSServer().start()
    yield d
    d.stop()


def proxy_http(server, body, http_extra="", log=False):
    """An http block: http_extra (upstream blocks, resolver, log_format),
    then one server listening on server.port() with `body` inside."""
    return http_block("%s\nserver {\n listen 127.0.0.1:%d;\n%s\n}\n"
                      % (http_extra, server.port(), body), log_off=not log)


def start_proxy(server, body, http_extra="", workers=1, log=False, events=None, main=""):
    """Starts turnpike with proxy_http's configuration (one worker unless
    asked: balancer state is per worker)."""
    kw = {"workers": workers, "main": main}
    if events is not None:
        kw["events"] = events
    return start(server, proxy_http(server, body, http_extra, log), **kw)


def pattern(n):
    """What the backend's /bytes/N sends."""
    return (BLOCK * (n // len(BLOCK) + 1))[:n]


# ---- an HTTP client ---------------------------------------------------------------

class Client(Conn):
    """One connection (helpers.Conn) that writes raw requests and reads
    responses with any framing: Content-Length, chunked (with trailers),
    or a close; interim (1xx) responses are collected in resp.interim."""

    def request(self, path="/", method="GET", host="localhost", headers=(), body=None,
                version="1.1"):
        lines = ["%s %s HTTP/%s" % (method, path, version)]
        if host is not None:
            lines.append("Host: %s" % host)
        lines += ["%s: %s" % kv for kv in headers]
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                        for k, _ in headers):
            lines.append("Content-Length: %d" % len(body))
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.send(raw + (body.encode("latin-1") if isinstance(body, str) else body or b""))

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return parse_head(head)

    def _chunked(self, resp):
        body = b""
        while True:
            size = int(self._line().split(b";")[0], 16)
            if size == 0:
                break
            body += self._exact(size)
            self._exact(2)
        resp.trailers = []
        while True:
            line = self._line()
            if not line:
                return body
            k, _, v = line.decode("latin-1").partition(":")
            resp.trailers.append((k, v.strip()))

    def _until_close(self):
        try:
            while True:
                self._fill()
        except Closed:
            pass
        body, self.buf = self.buf, b""
        return body

    def response(self, method="GET"):
        interim = []
        resp = self._head()
        while 100 <= resp.status < 200 and resp.status != 101:
            interim.append(resp)
            resp = self._head()
        resp.interim = interim
        resp.trailers = []
        te = (resp.header("Transfer-Encoding") or "").lower()
        if method == "HEAD" or resp.status in (101, 204, 304):
            return resp
        if "chunked" in te:
            resp.body = self._chunked(resp)
        elif resp.header("Content-Length") is not None:
            resp.body = self._exact(int(resp.header("Content-Length")))
        else:
            resp.body = self._until_close()
        return resp

    def get(self, path="/", **kw):
        self.request(path, **kw)
        return self.response(kw.get("method", "GET"))

    def json(self, path="/echo", **kw):
        return json.loads(self.get(path, **kw).body)


def fetch(port, path="/", **kw):
    """One request on a fresh connection."""
    with Client(port) as c:
        return c.get(path, **kw)


# ---- a WebSocket client ---------------------------------------------------------

class WSClient:
    """RFC 6455 from the client's side: masked frames, messages read whole."""

    KEY = "dGhlIHNhbXBsZSBub25jZQ=="

    def __init__(self, port, path="/ws", host="localhost", timeout=TIMEOUT):
        self.http = Client(port, timeout=timeout)
        self.http.request(path, host=host, headers=[
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self.KEY), ("Sec-WebSocket-Version", "13")])
        self.handshake = self.http.response()
        assert self.handshake.status == 101, "no upgrade: %r" % self.handshake
        assert self.handshake.header("Sec-WebSocket-Accept") == ws_accept(self.KEY)

    def send(self, payload, opcode=None):
        if isinstance(payload, str):
            payload, opcode = payload.encode(), opcode or 1
        self.http.send(ws_frame(opcode or 2, payload, os.urandom(4)))

    def frame(self):
        b0, b1 = self.http._exact(2)
        n = b1 & 0x7f
        if n == 126:
            n = int.from_bytes(self.http._exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self.http._exact(8), "big")
        key = self.http._exact(4) if b1 & 0x80 else None
        payload = self.http._exact(n)
        return b0 & 0x0f, ws_mask(payload, key) if key else payload

    def recv(self):
        """(opcode, payload) of the next message."""
        return self.frame()

    def ping(self, payload=b"p"):
        self.http.send(ws_frame(9, payload, os.urandom(4)))

    def close(self, code=1000):
        self.http.send(ws_frame(8, code.to_bytes(2, "big"), os.urandom(4)))
        try:
            return self.frame()
        finally:
            self.http.close()

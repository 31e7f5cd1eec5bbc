"""Helpers for the stream tests: TCP backends in the test process (echo,
with or without a PROXY protocol header to parse and keep byte for byte),
an independent PROXY protocol reader/writer, and a stream configuration
around them."""

import os
import socket
import struct
import threading
import time

from helpers import TIMEOUT, free_port, wait_for

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"

# ---- CRC32C (Castagnoli), table-driven, independent of turnpike's ----------

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- reading a PROXY header ---------------------------------------------------

def read_exact(sock, n):
    out = b""
    while len(out) < n:
        d = sock.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def read_proxy_header(sock):
    """Reads exactly one PROXY header (v1 or v2) from sock: its bytes."""
    first = read_exact(sock, 5)
    if first == b"PROXY":
        line = first
        while not line.endswith(b"\r\n"):
            line += read_exact(sock, 1)
            assert len(line) <= 107, line
        return line
    head = first + read_exact(sock, 11)
    assert head[:12] == V2_SIG, head
    return head + read_exact(sock, struct.unpack("!H", head[14:16])[0])


def parse_tlvs(data):
    out = []
    i = 0
    while i < len(data):
        t, n = data[i], struct.unpack("!H", data[i + 1:i + 3])[0]
        out.append((t, data[i + 3:i + 3 + n]))
        i += 3 + n
    assert i == len(data), "TLVs overrun"
    return out


def parse_v2(h):
    """A version 2 header as a dict: command, family, addresses, TLVs (the
    SSL TLV split into client, verify and its sub-TLVs)."""
    ver_cmd, fam = h[12], h[13]
    assert ver_cmd >> 4 == 2
    body = h[16:]
    d = {"command": "LOCAL" if ver_cmd & 0xF == 0 else "PROXY", "family": fam}
    if fam == 0x11:
        src, dst, sp, dp = struct.unpack("!4s4sHH", body[:12])
        d.update(src=socket.inet_ntop(socket.AF_INET, src), dst=socket.inet_ntop(
            socket.AF_INET, dst), sport=sp, dport=dp)
        rest = body[12:]
    elif fam == 0x21:
        src, dst, sp, dp = struct.unpack("!16s16sHH", body[:36])
        d.update(src=socket.inet_ntop(socket.AF_INET6, src), dst=socket.inet_ntop(
            socket.AF_INET6, dst), sport=sp, dport=dp)
        rest = body[36:]
    else:
        rest = body
    d["tlvs"] = parse_tlvs(rest)
    for t, v in d["tlvs"]:
        if t == 0x20:
            d["ssl_client"] = v[0]
            d["ssl_verify"] = struct.unpack("!I", v[1:5])[0]
            d["ssl_sub"] = parse_tlvs(v[5:])
        if t == 0x03:
            zeroed = h.replace(v, b"\0\0\0\0") if h.count(v) == 1 else None
            d["crc_ok"] = zeroed is not None and crc32c(zeroed) == struct.unpack("!I", v)[0]
    return d


# ---- writing a PROXY header (what a balancer in front sends) --------------------

def v1_line(src, sport, dst, dport):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def tlv(t, v):
    return struct.pack("!BH", t, len(v)) + v


def v2_header(src=None, sport=0, dst=None, dport=0, tlvs=b"", local=False, crc=False):
    if local or src is None:
        cmd, fam, addrs = 0x20, 0x00, b""
    elif ":" in src:
        cmd, fam = 0x21, 0x21
        addrs = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                 + struct.pack("!HH", sport, dport))
    else:
        cmd, fam = 0x21, 0x11
        addrs = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst)
                 + struct.pack("!HH", sport, dport))
    body = addrs + tlvs + (tlv(0x03, b"\0\0\0\0") if crc else b"")
    h = V2_SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body
    if crc:
        h = h[:-4] + struct.pack("!I", crc32c(h))
    return h


# ---- backends ---------------------------------------------------------------------

class Backend:
    """A TCP server on 127.0.0.1 (port .port): for each connection, reads a
    PROXY header first when proxy is true (kept in .headers, in order of
    arrival), then echoes until the client's end, then shuts its side.
    on_eof, if given, is sent after the client's end (half-close)."""

    def __init__(self, proxy=False, on_eof=b"", port=None, family=socket.AF_INET):
        self.proxy = proxy
        self.on_eof = on_eof
        self.headers = []
        self.peers = []
        self.errors = []
        self.conns = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1" if family == socket.AF_INET else "::1", port or 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.closing = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self):
        while not self.closing:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
                self.peers.append(peer)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.proxy:
                h = read_proxy_header(c)
                with self.lock:
                    self.headers.append(h)
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            if self.on_eof:
                c.sendall(self.on_eof)
            c.shutdown(socket.SHUT_WR)
        except Exception as e:  # noqa: BLE001 - kept for the test to see
            with self.lock:
                self.errors.append(repr(e))
        finally:
            c.close()

    def wait_headers(self, n, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.headers) >= n:
                    return list(self.headers)
            time.sleep(0.02)
        raise AssertionError("backend got %d PROXY headers, not %d" % (len(self.headers), n))

    def close(self):
        # The acceptor must be gone before the descriptor is closed: a
        # socket made next may get its number, and a thread still in its
        # accept loop would take that socket's connections.
        self.closing = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.acceptor.join(TIMEOUT)
        self.sock.close()


def roundtrip(port, data=b"hello", host="127.0.0.1", sock=None, timeout=TIMEOUT):
    """Sends data, shuts writing, reads until the end: what came back."""
    s = sock or socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError, OSError):
        pass  # the server closed first (no upstream): what came back says the rest
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:  # closed with our bytes unread
            break
        if not d:
            break
        out += d
    s.close()
    return out


def stream_conf(srv, stream, http=True):
    """Writes srv's configuration: a plain http server on port "main" (for
    readiness) and the given stream block body."""
    http_body = """
    server { listen 127.0.0.1:%d; location / { return 200 "ok\\n"; } }
    """ % srv.port("main") if http else None
    text = srv.config(http=http_body)
    text += "stream {\n%s\n}\n" % stream
    srv.write(text)
    return text


def stream_port():
    """A port for a stream listen (kept out of srv.ports, whose addresses
    wait_ready polls with HTTP)."""
    return free_port()


def read_lines(srv, name="stream.log"):
    """srv's logs/<name> as it is now (no lines if it is not there)."""
    try:
        with open(os.path.join(srv.dir, "logs", name)) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def log_lines(srv, n=1, name="stream.log"):
    """The first lines of srv's logs/<name> once it has n of them."""
    path = os.path.join(srv.dir, "logs", name)

    def got():
        if not os.path.exists(path):
            return None
        with open(path) as f:
            lines = f.read().splitlines()
        return lines if len(lines) >= n else None
    return wait_for(got, what="%d lines in %s" % (n, name))

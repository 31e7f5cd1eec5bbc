"""Big and long: a 1 GB file over TLS checked byte for byte, idle
connections that gave their buffers back, and records split across the
moment a connection goes quiet."""

import hashlib
import os
import socket
import ssl
import subprocess
import time

from tls_helpers import TlsConn, client_ctx, pki_path, resolve, tls_server

GB = 1 << 30
MB = 1 << 20


def make_big_file(path):
    """1 GB: a random MB repeated, each copy starting with its index, so a
    misplaced or repeated piece changes the hash.  Returns the SHA-256."""
    block = bytearray(os.urandom(MB))
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(GB // MB):
            block[:8] = i.to_bytes(8, "little")
            f.write(block)
            h.update(block)
    return h.hexdigest()


def test_one_gigabyte_over_tls(server):
    path = os.path.join(server.dir, "big.bin")
    want = make_big_file(path)
    try:
        tls = tls_server(server, server_extra="location /files/ { alias %s/; }" % server.dir)
        p = subprocess.Popen(["curl", "-sS", "--max-time", "600", "--cacert", pki_path("ca.pem")]
                             + resolve(tls) + ["https://a.test:%d/files/big.bin" % tls],
                             stdout=subprocess.PIPE)
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = p.stdout.read(4 * MB)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        assert p.wait() == 0
        assert n == GB
        assert h.hexdigest() == want
    finally:
        os.unlink(path)


class MemTls:
    """A TLS client whose records we hold in our hands: we choose where the
    bytes of a record are cut between sends."""

    def __init__(self, port, sni="a.test"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = client_ctx().wrap_bio(self.inc, self.out, server_hostname=sni)
        self._pump(self.obj.do_handshake)

    def _pump(self, op):
        while True:
            try:
                result = op()
                self.sock.sendall(self.out.read())
                return result
            except ssl.SSLWantReadError:
                self.sock.sendall(self.out.read())
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                self.inc.write(data)

    def sealed(self, data):
        """The records carrying data, not sent."""
        self.obj.write(data)
        return self.out.read()

    def response(self):
        buf = b""
        while b"\r\n\r\n" not in buf or not buf.endswith(b"\n"):
            buf += self._pump(lambda: self.obj.read(65536))
        return buf


def test_a_record_split_over_a_quiet_second_is_not_lost(server):
    tls = tls_server(server)
    c = MemTls(tls)
    req = b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"
    c.sock.sendall(c.sealed(req))
    first = c.response()
    assert first.startswith(b"HTTP/1.1 200")
    # Quiet for longer than the release delay: the buffers go back.
    time.sleep(1.5)
    c.sock.sendall(c.sealed(req))
    second = c.response()
    assert second.startswith(b"HTTP/1.1 200") and second.endswith(first[-20:])
    # Half a record, a quiet spell, the other half: the server must keep
    # the half it holds (a connection with a partial record is not idle).
    rec = c.sealed(req)
    c.sock.sendall(rec[:len(rec) // 2])
    time.sleep(1.5)
    c.sock.sendall(rec[len(rec) // 2:])
    third = c.response()
    assert third.startswith(b"HTTP/1.1 200") and third.endswith(first[-20:])
    # And one record cut after its 5-byte header.
    rec = c.sealed(req)
    c.sock.sendall(rec[:5])
    time.sleep(1.5)
    c.sock.sendall(rec[5:])
    assert c.response().endswith(first[-20:])
    c.sock.close()


def test_many_idle_connections_wake_up_intact(server):
    tls = tls_server(server)
    conns = [TlsConn(tls, ctx=client_ctx(ssl.TLSVersion.TLSv1_2 if i % 2 else None))
             for i in range(50)]
    for c in conns:
        assert c.get("/").status == 200
    time.sleep(1.5)
    for c in conns:
        assert c.get("/").status == 200
        c.close()

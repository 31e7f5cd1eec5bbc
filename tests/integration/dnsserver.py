"""A small DNS server for the tests: UDP and TCP on one loopback port,
answering A, AAAA and CNAME questions from a table the test controls.

Standard library only.  In a test:

    dns = DNSServer().start()          # 127.0.0.1, a free port
    dns.set("app.test", ["10.0.0.1"], ttl=30)
    dns.set("v6.test", ["::1"])
    dns.cname("www.test", "app.test")
    dns.rcode("broken.test", 2)        # SERVFAIL
    dns.silent = True                  # read questions, answer none
    dns.hold("slow.test")              # answer nothing for this name only
    dns.queries("app.test")            # questions seen for a name
    dns.stop()

A name with no entry gets NOERROR with no records (turnpike, like nginx,
reports that as "Host not found"); `dns.nxdomain("x")` answers NXDOMAIN.
Run as a program (`python3 dnsserver.py --port 5353 --set app.test=10.0.0.1`)
it serves until interrupted.
"""

import argparse
import ipaddress
import socket
import struct
import threading
import time

TYPE_A = 1
TYPE_CNAME = 5
TYPE_AAAA = 28
CLASS_IN = 1


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _read_name(msg, off):
    """The (uncompressed) question name at off, and the offset after it."""
    labels = []
    while off < len(msg) and msg[off] != 0:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    return ".".join(labels).lower(), off + 1


class DNSServer:
    """The server; its table and flags may be changed while it runs."""

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.lock = threading.Lock()
        self.records = {}      # name -> {"addrs": [...], "ttl": int}
        self.cnames = {}       # name -> (target, ttl)
        self.rcodes = {}       # name -> rcode
        self.held = set()      # names never answered
        self.silent = False    # answer nothing at all
        self.truncate = False  # UDP answers carry TC and no records
        self.log = []          # (time, name, qtype, transport) of every question
        self._stop = threading.Event()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._bind(port)
        self.threads = []

    def _bind(self, port):
        for _ in range(50):
            self.udp.bind((self.host, port))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind((self.host, self.port))
                self.tcp.listen(16)
                return
            except OSError:
                if port:
                    raise
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raise OSError("no free port for UDP and TCP together")

    # ---- the table ---------------------------------------------------------

    def set(self, name, addrs, ttl=60):
        """Answers name with these addresses (IPv4 for A, IPv6 for AAAA)."""
        with self.lock:
            self.records[name.lower()] = {"addrs": list(addrs), "ttl": ttl}
            self.rcodes.pop(name.lower(), None)

    def cname(self, name, target, ttl=60):
        with self.lock:
            self.cnames[name.lower()] = (target.lower(), ttl)

    def rcode(self, name, code):
        """Answers every question on name with this rcode (2 SERVFAIL, ...)."""
        with self.lock:
            self.rcodes[name.lower()] = code

    def nxdomain(self, name):
        self.rcode(name, 3)

    def remove(self, name):
        with self.lock:
            self.records.pop(name.lower(), None)
            self.cnames.pop(name.lower(), None)
            self.rcodes.pop(name.lower(), None)

    def hold(self, name):
        """Never answers questions on name (the rest are answered)."""
        with self.lock:
            self.held.add(name.lower())

    def release(self, name):
        with self.lock:
            self.held.discard(name.lower())

    def queries(self, name=None, qtype=None):
        """How many questions (for name, of qtype) arrived so far."""
        with self.lock:
            return sum(1 for _, n, t, _ in self.log
                       if (name is None or n == name.lower()) and (qtype is None or t == qtype))

    def wait_queries(self, name, count, timeout=15.0):
        deadline = time.monotonic() + timeout
        while self.queries(name) < count:
            if time.monotonic() > deadline:
                raise AssertionError("DNS: %d questions for %s, not %d"
                                     % (self.queries(name), name, count))
            time.sleep(0.02)

    # ---- answers ------------------------------------------------------------

    def _records_for(self, name, qtype):
        """(rcode, [(owner, type, ttl, rdata)]) following CNAMEs."""
        out = []
        cur = name
        for _ in range(10):
            if cur in self.rcodes:
                return self.rcodes[cur], out
            if cur in self.cnames:
                target, ttl = self.cnames[cur]
                out.append((cur, TYPE_CNAME, ttl, _encode_name(target)))
                cur = target
                continue
            rec = self.records.get(cur)
            for a in (rec["addrs"] if rec else []):
                ip = ipaddress.ip_address(a)
                if qtype == TYPE_A and ip.version == 4:
                    out.append((cur, TYPE_A, rec["ttl"], ip.packed))
                elif qtype == TYPE_AAAA and ip.version == 6:
                    out.append((cur, TYPE_AAAA, rec["ttl"], ip.packed))
            return 0, out
        return 2, out

    def answer(self, query, transport="udp"):
        """The answer to a query message, or None to stay silent."""
        if len(query) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        if qd != 1 or flags & 0x8000:
            return None
        name, off = _read_name(query, 12)
        if off + 4 > len(query):
            return None
        qtype, qclass = struct.unpack("!HH", query[off:off + 4])
        question = query[12:off + 4]
        with self.lock:
            self.log.append((time.monotonic(), name, qtype, transport))
            if self.silent or name in self.held:
                return None
            if transport == "udp" and self.truncate:
                return struct.pack("!HHHHHH", qid, 0x8380, 1, 0, 0, 0) + question
            rcode, rrs = self._records_for(name, qtype)
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(rrs), 0, 0)
        body = b"".join(_encode_name(owner) + struct.pack("!HHIH", t, CLASS_IN, ttl, len(rd)) + rd
                        for owner, t, ttl, rd in rrs)
        return head + question + body

    # ---- serving --------------------------------------------------------------

    def _serve_udp(self):
        self.udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(data, "udp")
            if reply is not None:
                self.udp.sendto(reply, peer)

    def _serve_tcp_conn(self, c):
        with c:
            c.settimeout(5)
            try:
                n = struct.unpack("!H", self._recv_all(c, 2))[0]
                reply = self.answer(self._recv_all(c, n), "tcp")
                if reply is not None:
                    c.sendall(struct.pack("!H", len(reply)) + reply)
            except (OSError, struct.error):
                pass

    @staticmethod
    def _recv_all(c, n):
        data = b""
        while len(data) < n:
            part = c.recv(n - len(data))
            if not part:
                raise OSError("closed")
            data += part
        return data

    def _serve_tcp(self):
        self.tcp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_tcp_conn, args=(c,), daemon=True).start()

    def start(self):
        for fn in (self._serve_udp, self._serve_tcp):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)


def query(server, name, qtype=TYPE_A, timeout=2.0, tcp=False):
    """A client for the self-test: (rcode, [(type, ttl, value)]) or None on
    no answer."""
    qid = 0x1234
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _encode_name(name) + \
        struct.pack("!HH", qtype, CLASS_IN)
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        try:
            s.connect(server)
            if tcp:
                s.sendall(struct.pack("!H", len(msg)) + msg)
                n = struct.unpack("!H", DNSServer._recv_all(s, 2))[0]
                data = DNSServer._recv_all(s, n)
            else:
                s.send(msg)
                data = s.recv(4096)
        except (socket.timeout, OSError):
            return None
    flags, _, an = struct.unpack("!HHH", data[2:8])
    _, off = _read_name(data, 12)
    off += 4
    out = []
    for _ in range(an):
        _, off = _read_name(data, off)
        t, _, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        rd = data[off + 10:off + 10 + rdlen]
        off += 10 + rdlen
        if t == TYPE_A:
            out.append((t, ttl, str(ipaddress.IPv4Address(rd))))
        elif t == TYPE_AAAA:
            out.append((t, ttl, str(ipaddress.IPv6Address(rd))))
        else:
            out.append((t, ttl, _read_name(rd, 0)[0]))
    return flags & 0xf, out, bool(flags & 0x0200)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=5353)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=ADDR[,ADDR]")
    args = ap.parse_args()
    dns = DNSServer(port=args.port)
    for item in args.set:
        name, _, addrs = item.partition("=")
        dns.set(name, addrs.split(","))
    dns.start()
    print("dns on %s" % dns.address, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        dns.stop()


if __name__ == "__main__":
    main()

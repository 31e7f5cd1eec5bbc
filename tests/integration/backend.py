"""A scripted HTTP/1.1 backend for the proxy tests (standard library,
asyncio).  What it does is chosen per request by the path:

  /                       200, "<name> <method> <path>"
  /echo                   the request as JSON: method, target, version,
                          headers (in order), body (latin-1), body_length,
                          conn (connection number), request (number on it)
  /delay/MS               answers after MS milliseconds
  /status/CODE            answers with that status (?body=text)
  /header?Name=Value...   answers with those headers added
  /bytes/N                N bytes with Content-Length, written with backpressure
  /stream?size=N&chunk=C&interval=MS   N bytes, C at a time every MS ms
  /chunked?n=N&size=S&interval=MS[&trailer=1]   a chunked body
  /chunked-truncated?n=N  chunks without the last chunk, then a close
  /no-length              a body without Content-Length, ended by a close
  /close                  closes without answering
  /close-early?length=L&send=S   Content-Length L, only S bytes, a close
  /reset                  resets the connection (RST) without answering
  /reset-mid?length=L&send=S     the head and S bytes, then a reset
  /malformed/KIND         status, garbage, cl-te, dup-cl, bad-cl, no-colon,
                          extra (bytes beyond Content-Length), lf (bare LF)
  /big-header?size=N      one response header of N bytes
  /1xx?codes=100,103      interim responses first, then 200
  /101                    a 101 nobody asked for
  /slow-read?chunk=C&interval=MS[&slow=N]   reads the body C bytes every
                          MS ms (only its first N bytes, when given, then as
                          fast as it comes), then answers {"received": n};
                          .body_received counts as it reads
  /wait/NAME              answers once the test calls release(NAME);
                          .waiting counts the requests that arrived
  /ws                     WebSocket (RFC 6455): echoes every message,
                          answers pings, echoes a close
  /_stats                 {"connections", "open", "requests", "ws_open",
                          "ws_messages"} as JSON

Every response carries X-Backend (the backend's name), X-Conn and
X-Request-No.  Keep-alive is HTTP/1.1's; "Connection: close" is honoured.

In-process (a thread with its own loop): `Backend(name).start()` and
`.stop()`; its counters are attributes.  As a program (for many
connections, in its own process): `python3 backend.py --name b1 --port 0`
prints "listening on 127.0.0.1:PORT".
"""

import argparse
import asyncio
import base64
import hashlib
import json
import socket
import struct
import sys
import threading
import urllib.parse

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HEAD_LIMIT = 1 << 20
BLOCK = bytes(range(256)) * 256  # 64 KB of a recognisable pattern

REASONS = {100: "Continue", 101: "Switching Protocols", 103: "Early Hints", 200: "OK",
           201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           304: "Not Modified", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] as received
        url = urllib.parse.urlsplit(target)
        self.path = url.path
        self.query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        self.body = None  # bytes once read

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def wants_close(self):
        conn = (self.header("connection") or "").lower()
        return "close" in conn or (self.version == "HTTP/1.0" and "keep-alive" not in conn)


class Closed(Exception):
    """The handler closed (or reset) the connection."""


# ---- WebSocket framing (also used by the tests' client) ------------------------

def ws_mask(data, key):
    if not data:
        return data
    m = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(m, "big")).to_bytes(len(data), "big")


def ws_frame(opcode, payload, mask_key=None, fin=True):
    """One frame; a client passes a 4-byte mask_key."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask_key else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask_key:
        return head + mask_key + ws_mask(payload, mask_key)
    return head + payload


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


async def ws_read_frame(reader):
    """(fin, opcode, payload, masked)"""
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    return bool(b0 & 0x80), b0 & 0x0f, ws_mask(payload, key) if key else payload, key is not None


# ---- the server -------------------------------------------------------------------

class Backend:
    def __init__(self, name="backend", host="127.0.0.1", port=0):
        self.name = name
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far
        self.open = 0         # open now
        self.requests = 0     # requests read
        self.ws_open = 0      # WebSocket connections open now
        self.ws_messages = 0  # messages echoed
        self.log = []         # (conn, request no, method, target) of every request
        self.waiting = 0      # /wait/ requests that arrived
        self.body_received = 0  # body bytes /slow-read has read
        self.gates = {}       # /wait/ name -> asyncio.Event
        self.loop = None
        self.server = None
        self.thread = None
        self._ready = threading.Event()

    # ---- reading ----------------------------------------------------------------

    @staticmethod
    async def read_head(reader):
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise
            return None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        return Request(method, target, version, headers)

    @staticmethod
    async def read_body(req, reader):
        if req.body is not None:
            return req.body
        if "chunked" in (req.header("transfer-encoding") or "").lower():
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            req.body = body
        else:
            req.body = await reader.readexactly(int(req.header("content-length") or 0))
        return req.body

    # ---- writing ----------------------------------------------------------------

    def head(self, status, headers=(), req=None, ctx=None, reason=None):
        lines = ["HTTP/1.1 %d %s" % (status, reason or REASONS.get(status, "Status"))]
        lines.append("X-Backend: %s" % self.name)
        if ctx is not None:
            lines.append("X-Conn: %d" % ctx[0])
            lines.append("X-Request-No: %d" % ctx[1])
        lines.extend("%s: %s" % (k, v) for k, v in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def respond(self, writer, req, ctx, status=200, body=b"", headers=()):
        if isinstance(body, str):
            body = body.encode()
        headers = list(headers)
        if not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        if req.wants_close():
            headers.append(("Connection", "close"))
        writer.write(self.head(status, headers, req, ctx))
        if req.method != "HEAD" and status not in (204, 304):
            writer.write(body)
        await writer.drain()
        return not req.wants_close()

    @staticmethod
    def reset(writer):
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        raise Closed()

    @staticmethod
    def close(writer):
        writer.close()
        raise Closed()

    # ---- the endpoints ------------------------------------------------------------

    async def ep_default(self, req, reader, writer, ctx):
        return await self.respond(writer, req, ctx, body="%s %s %s\n" % (self.name, req.method,
                                                                            req.target))

    async def ep_echo(self, req, reader, writer, ctx):
        body = await self.read_body(req, reader)
        doc = {"method": req.method, "target": req.target, "version": req.version,
               "headers": req.headers, "body": body.decode("latin-1"),
               "body_length": len(body), "conn": ctx[0], "request": ctx[1],
               "backend": self.name}
        return await self.respond(writer, req, ctx, body=json.dumps(doc),
                                  headers=[("Content-Type", "application/json")])

    async def ep_stats(self, req, reader, writer, ctx):
        doc = {"connections": self.connections, "open": self.open, "requests": self.requests,
               "ws_open": self.ws_open, "ws_messages": self.ws_messages,
               "body_received": self.body_received}
        return await self.respond(writer, req, ctx, body=json.dumps(doc))

    async def ep_delay(self, req, reader, writer, ctx):
        ms = int(req.path.split("/")[2])
        await self.read_body(req, reader)
        await asyncio.sleep(ms / 1000.0)
        return await self.respond(writer, req, ctx, body="delayed %d\n" % ms)

    async def ep_status(self, req, reader, writer, ctx):
        code = int(req.path.split("/")[2])
        return await self.respond(writer, req, ctx, status=code,
                                  body=req.query.get("body", "status %d\n" % code))

    async def ep_header(self, req, reader, writer, ctx):
        return await self.respond(writer, req, ctx, body="headers\n",
                                  headers=list(req.query.items()))

    async def ep_bytes(self, req, reader, writer, ctx):
        n = int(req.path.split("/")[2])
        writer.write(self.head(200, [("Content-Length", str(n))], req, ctx))
        left = n if req.method != "HEAD" else 0
        while left > 0:
            piece = BLOCK[:min(left, len(BLOCK))]
            writer.write(piece)
            left -= len(piece)
            await writer.drain()
        await writer.drain()
        return not req.wants_close()

    async def ep_stream(self, req, reader, writer, ctx):
        size = int(req.query.get("size", 1000))
        chunk = int(req.query.get("chunk", 100))
        interval = int(req.query.get("interval", 100)) / 1000.0
        writer.write(self.head(200, [("Content-Length", str(size))], req, ctx))
        sent = 0
        while sent < size:
            piece = BLOCK[:min(chunk, size - sent)]
            writer.write(piece)
            sent += len(piece)
            await writer.drain()
            if sent < size:
                await asyncio.sleep(interval)
        return not req.wants_close()

    async def _chunks(self, req, writer, ctx, n, size, interval):
        writer.write(self.head(200, [("Transfer-Encoding", "chunked")], req, ctx))
        for i in range(n):
            data = (b"%d" % (i % 10)) * size
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await writer.drain()
            if interval:
                await asyncio.sleep(interval)

    async def ep_chunked(self, req, reader, writer, ctx):
        await self._chunks(req, writer, ctx, int(req.query.get("n", 3)),
                           int(req.query.get("size", 5)),
                           int(req.query.get("interval", 0)) / 1000.0)
        writer.write(b"0\r\nX-Trailer: done\r\n\r\n" if req.query.get("trailer") else b"0\r\n\r\n")
        await writer.drain()
        return not req.wants_close()

    async def ep_chunked_truncated(self, req, reader, writer, ctx):
        await self._chunks(req, writer, ctx, int(req.query.get("n", 2)), 5, 0)
        self.close(writer)

    async def ep_no_length(self, req, reader, writer, ctx):
        writer.write(self.head(200, [("Connection", "close")], req, ctx))
        writer.write(b"until the end\n")
        await writer.drain()
        self.close(writer)

    async def ep_close(self, req, reader, writer, ctx):
        self.close(writer)

    async def ep_close_early(self, req, reader, writer, ctx):
        length, send = int(req.query.get("length", 100)), int(req.query.get("send", 10))
        writer.write(self.head(200, [("Content-Length", str(length))], req, ctx))
        writer.write(b"x" * send)
        await writer.drain()
        self.close(writer)

    async def ep_reset(self, req, reader, writer, ctx):
        self.reset(writer)

    async def ep_reset_mid(self, req, reader, writer, ctx):
        length, send = int(req.query.get("length", 100000)), int(req.query.get("send", 100))
        writer.write(self.head(200, [("Content-Length", str(length))], req, ctx))
        writer.write(b"x" * send)
        await writer.drain()
        self.reset(writer)

    MALFORMED = {
        "status": b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n",
        "garbage": b"this is not http\r\n\r\n",
        "cl-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n0\r\n\r\n",
        "dup-cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "bad-cl": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello",
        "no-colon": b"HTTP/1.1 200 OK\r\nBroken header line\r\nContent-Length: 0\r\n\r\n",
        "extra": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES",
        "lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    }

    async def ep_malformed(self, req, reader, writer, ctx):
        writer.write(self.MALFORMED[req.path.split("/")[2]])
        await writer.drain()
        self.close(writer)

    async def ep_big_header(self, req, reader, writer, ctx):
        size = int(req.query.get("size", 65536))
        return await self.respond(writer, req, ctx, body="big\n", headers=[("X-Big", "b" * size)])

    async def ep_1xx(self, req, reader, writer, ctx):
        for code in req.query.get("codes", "100").split(","):
            code = int(code)
            extra = "Link: </style.css>; rel=preload\r\n" if code == 103 else ""
            writer.write(("HTTP/1.1 %d %s\r\n%s\r\n" % (code, REASONS.get(code, "Info"), extra))
                         .encode())
            await writer.drain()
        await self.read_body(req, reader)
        return await self.respond(writer, req, ctx, body="after interim\n")

    async def ep_101(self, req, reader, writer, ctx):
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\n\r\n")
        await writer.drain()
        self.close(writer)

    async def ep_slow_read(self, req, reader, writer, ctx):
        chunk = int(req.query.get("chunk", 1024))
        interval = int(req.query.get("interval", 100)) / 1000.0
        slow = int(req.query.get("slow", -1))
        left = int(req.header("content-length") or 0)
        got = 0
        while left > 0:
            fast = 0 <= slow <= got
            data = await reader.read(min(1 << 20 if fast else chunk, left))
            if not data:
                raise Closed()
            got += len(data)
            self.body_received += len(data)
            left -= len(data)
            if not fast:
                await asyncio.sleep(interval)
        req.body = b""
        return await self.respond(writer, req, ctx, body=json.dumps({"received": got}))

    def _gate(self, name):
        if name not in self.gates:
            self.gates[name] = asyncio.Event()
        return self.gates[name]

    async def ep_wait(self, req, reader, writer, ctx):
        name = req.path.split("/")[2]
        await self.read_body(req, reader)
        self.waiting += 1
        # A close of the connection meanwhile ends the wait (the test sees
        # it in .open).
        gate = asyncio.ensure_future(self._gate(name).wait())
        eof = asyncio.ensure_future(reader.read(1))
        await asyncio.wait((gate, eof), return_when=asyncio.FIRST_COMPLETED)
        if not gate.done():
            gate.cancel()
            raise Closed()
        eof.cancel()
        return await self.respond(writer, req, ctx, body="released %s\n" % name)

    def release(self, name):
        """Lets every /wait/NAME request (now and later) answer."""
        self.loop.call_soon_threadsafe(lambda: self._gate(name).set())

    async def ep_ws(self, req, reader, writer, ctx):
        key = req.header("sec-websocket-key")
        if (req.header("upgrade") or "").lower() != "websocket" or key is None:
            return await self.respond(writer, req, ctx, status=400, body="not a websocket\n")
        writer.write(self.head(101, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                     ("Sec-WebSocket-Accept", ws_accept(key))], req, ctx))
        await writer.drain()
        self.ws_open += 1
        try:
            await self._ws_echo(reader, writer)
        finally:
            self.ws_open -= 1
        self.close(writer)

    async def _ws_echo(self, reader, writer):
        message, kind = b"", 0
        while True:
            fin, opcode, payload, masked = await ws_read_frame(reader)
            if not masked:
                writer.write(ws_frame(8, struct.pack("!H", 1002)))
                return
            if opcode == 8:
                writer.write(ws_frame(8, payload))
                await writer.drain()
                return
            if opcode == 9:
                writer.write(ws_frame(10, payload))
            elif opcode in (0, 1, 2):
                kind = opcode or kind
                message += payload
                if fin:
                    writer.write(ws_frame(kind, message))
                    self.ws_messages += 1
                    message = b""
            await writer.drain()

    ROUTES = [("/_stats", ep_stats), ("/echo", ep_echo), ("/delay/", ep_delay),
              ("/status/", ep_status), ("/header", ep_header), ("/bytes/", ep_bytes),
              ("/stream", ep_stream), ("/chunked-truncated", ep_chunked_truncated),
              ("/chunked", ep_chunked), ("/no-length", ep_no_length),
              ("/close-early", ep_close_early), ("/close", ep_close),
              ("/reset-mid", ep_reset_mid), ("/reset", ep_reset), ("/malformed/", ep_malformed),
              ("/big-header", ep_big_header), ("/1xx", ep_1xx), ("/101", ep_101),
              ("/slow-read", ep_slow_read), ("/wait/", ep_wait), ("/ws", ep_ws)]

    def route(self, path):
        for prefix, fn in self.ROUTES:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                return fn
        return Backend.ep_default

    # ---- connections ------------------------------------------------------------

    async def serve(self, reader, writer):
        self.connections += 1
        self.open += 1
        conn, nreq = self.connections, 0
        try:
            while True:
                req = await self.read_head(reader)
                if req is None:
                    break
                nreq += 1
                self.requests += 1
                self.log.append((conn, nreq, req.method, req.target))
                keep = await self.route(req.path)(self, req, reader, writer, (conn, nreq))
                if not keep:
                    break
                await self.read_body(req, reader)  # what the handler left, for keep-alive
        except (Closed, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError):
            pass
        finally:
            self.open -= 1
            if not writer.is_closing():
                writer.close()

    async def _main(self):
        self.server = await asyncio.start_server(self.serve, self.host, self.port,
                                                 limit=HEAD_LIMIT, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self.server:
            await self.server.serve_forever()

    def start(self):
        """Serves on a thread of its own; returns once it listens."""
        def run():
            self.loop = asyncio.new_event_loop()
            try:
                self.loop.run_until_complete(self._main())
            except asyncio.CancelledError:
                pass
            finally:
                self.loop.close()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("backend did not start")
        return self

    def stop(self):
        if self.loop is None:
            return
        def shutdown():
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
        self.loop.call_soon_threadsafe(shutdown)
        self.thread.join(5)
        self.loop = None

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)


def main():
    ap = argparse.ArgumentParser(description="the proxy tests' scripted backend")
    ap.add_argument("--name", default="backend")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    b = Backend(args.name, args.host, args.port)

    async def run():
        b.server = await asyncio.start_server(b.serve, b.host, b.port, limit=HEAD_LIMIT,
                                              backlog=4096)
        print("listening on %s:%d" % (b.host, b.server.sockets[0].getsockname()[1]), flush=True)
        async with b.server:
            await b.server.serve_forever()
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

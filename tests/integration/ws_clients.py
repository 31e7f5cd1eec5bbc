"""Many WebSocket clients in one process, for the proxy's scale test
(tests/integration/test_proxy_ws.py): `python3 ws_clients.py PORT COUNT ID`
opens COUNT connections to 127.0.0.1:PORT/ws (at most 200 handshakes at a
time), sends each a text message and checks its echo, prints
"ready OK FAILED", then waits for a line on stdin; then every connection
sends a 1000-byte binary message, checks the echo, closes with 1000 and
checks the close's echo; prints "done OK FAILED" and exits."""

import asyncio
import base64
import hashlib
import os
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload):
    key = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", await reader.readexactly(8))[0]
    return b0 & 0x0f, await reader.readexactly(n)


class Client:
    def __init__(self, port, n, ident):
        self.port, self.n, self.ident = port, n, ident
        self.conns = []
        self.failed = 0

    async def open_one(self, i, gate):
        async with gate:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                key = base64.b64encode(os.urandom(16))
                writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                             b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
                head = await reader.readuntil(b"\r\n\r\n")
                accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
                if b" 101 " not in head.split(b"\r\n")[0] or accept not in head:
                    raise ValueError("no upgrade: %r" % head[:100])
                msg = ("client %s-%d" % (self.ident, i)).encode()
                writer.write(frame(1, msg))
                if await read_frame(reader) != (1, msg):
                    raise ValueError("bad echo")
                self.conns.append((i, reader, writer))
            except (OSError, ValueError, asyncio.IncompleteReadError) as e:
                if self.failed < 3:
                    print("open %d: %r" % (i, e), file=sys.stderr, flush=True)
                self.failed += 1

    async def finish_one(self, i, reader, writer):
        try:
            msg = bytes((i + k) % 256 for k in range(1000))
            writer.write(frame(2, msg))
            if await read_frame(reader) != (2, msg):
                raise ValueError("bad echo")
            writer.write(frame(8, struct.pack("!H", 1000)))
            if await read_frame(reader) != (8, struct.pack("!H", 1000)):
                raise ValueError("bad close")
            writer.close()
            return True
        except (OSError, ValueError, asyncio.IncompleteReadError) as e:
            print("finish %d: %r" % (i, e), file=sys.stderr, flush=True)
            return False

    async def run(self):
        gate = asyncio.Semaphore(200)
        await asyncio.gather(*(self.open_one(i, gate) for i in range(self.n)))
        print("ready %d %d" % (len(self.conns), self.failed), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        oks = await asyncio.gather(*(self.finish_one(*c) for c in self.conns))
        print("done %d %d" % (sum(oks), len(oks) - sum(oks)), flush=True)


def main():
    port, n, ident = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    asyncio.run(Client(port, n, ident).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())

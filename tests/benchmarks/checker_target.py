"""The probe target of the checker benchmark: answers 200 at once and counts every request.

Run as its own process (``python -m tests.benchmarks.checker_target --addrs 8``) so
that its CPU is never counted against the checker. It listens on one port on each of
127.0.0.2 … 127.0.0.(1+addrs): a new connection per probe at 1,000 probes/s leaves
tens of thousands of sockets in TIME_WAIT, and spreading the destinations keeps the
client's ephemeral ports from running out. It prints the port on its first line.
With ``--tls CERT KEY`` it speaks HTTPS (the kinds benchmark).

Probes ask for ``/e/<endpoint id>``; the target records (endpoint id, time the
connection was accepted). ``GET /_ctl/dump?since=<unix time>`` answers those records
as binary (``!q`` count, then the ids as int64 and the times as float64, native
order); ``GET /_ctl/reset`` forgets them. ``GET /_ctl/fail`` makes every probe
answer 500 from then on (the alerting benchmark's storm), ``GET /_ctl/ok`` 200
again. A raw asyncio protocol on uvloop keeps the target light: it shares the
machine with what it measures.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import bisect
import socket
import ssl
import struct
import sys
import time

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    uvloop = None  # type: ignore[assignment]

OK = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
FAILING = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Log:
    """Every probe seen: endpoint ids and accept times, in arrival order."""

    def __init__(self) -> None:
        self.ids = array.array("q")
        self.times = array.array("d")
        self.failing = False  # /_ctl/fail, /_ctl/ok: every probe answers 500, or 200

    def dump(self, since: float) -> bytes:
        start = bisect.bisect_left(self.times, since)
        ids, times = self.ids[start:], self.times[start:]
        return struct.pack("!q", len(ids)) + ids.tobytes() + times.tobytes()

    def reset(self) -> None:
        self.ids = array.array("q")
        self.times = array.array("d")


class Probe(asyncio.Protocol):
    def __init__(self, log: Log) -> None:
        self.log = log
        self.buf = b""
        self.accepted = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.accepted = time.time()
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if b"\r\n\r\n" not in self.buf or self.transport is None:
            return
        parts = self.buf.split(b"\r\n", 1)[0].split(b" ")
        path = parts[1] if len(parts) > 2 else b""
        self.transport.write(self.answer(path))
        self.transport.close()

    def answer(self, path: bytes) -> bytes:
        if path.startswith(b"/e/") and path[3:].isdigit():
            # times must stay sorted for dump(); accept times of concurrent requests
            # can interleave by microseconds, so never record one out of order.
            last = self.log.times[-1] if self.log.times else 0.0
            self.log.ids.append(int(path[3:]))
            self.log.times.append(max(self.accepted, last))
            return FAILING if self.log.failing else OK
        if path.startswith(b"/_ctl/dump"):
            since = float(path.partition(b"since=")[2] or 0)
            body = self.log.dump(since)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            return head.encode() + body
        if path == b"/_ctl/reset":
            self.log.reset()
            return OK
        if path in (b"/_ctl/fail", b"/_ctl/ok"):
            self.log.failing = path == b"/_ctl/fail"
            return OK
        return NOT_FOUND

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def addresses(count: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(count)]


def bind_all(hosts: list[str]) -> tuple[int, list[socket.socket]]:
    """One listening socket per address, all on the same (free) port."""
    for _ in range(50):
        socks: list[socket.socket] = []
        try:
            port = 0
            for host in hosts:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
                sock.listen(4096)
                port = sock.getsockname()[1]
            return port, socks
        except OSError:
            for sock in socks:
                sock.close()
    raise SystemExit("checker_target: no port is free on every address")


async def serve(count: int, tls: ssl.SSLContext | None = None) -> None:
    log = Log()
    port, socks = bind_all(addresses(count))
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(lambda: Probe(log), sock=s, backlog=4096, ssl=tls) for s in socks
    ]
    print(port, flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--addrs", type=int, default=8, help="loopback addresses to listen on")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with these")
    args = parser.parse_args(argv)
    tls = None
    if args.tls:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*args.tls)
    try:
        if uvloop is not None:
            uvloop.run(serve(args.addrs, tls))
        else:  # pragma: no cover
            asyncio.run(serve(args.addrs, tls))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()

"""The webhook receiver of the alerting benchmark: answers 200 at once and records every request.

Run as its own process (``python -m tests.benchmarks.alert_receiver``) so that its
CPU is never counted against the checker; it prints its port on its first line.
For each request it records the arrival time, the ``Uptimatum-Event-Id`` and the
body's ``occurredAt``; ``GET /_ctl/dump`` answers them as JSON
(``[[arrived, event_id, occurred_at], …]``, epoch seconds) and ``GET /_ctl/reset``
forgets them.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime

import msgspec
from aiohttp import web

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]


class _Body(msgspec.Struct):
    occurredAt: datetime  # the wire name


def main() -> None:
    got: list[tuple[float, str, float]] = []
    decode = msgspec.json.Decoder(_Body).decode

    async def hook(request: web.Request) -> web.Response:
        arrived = time.time()
        raw = await request.read()
        got.append(
            (
                arrived,
                request.headers.get("Uptimatum-Event-Id", ""),
                decode(raw).occurredAt.timestamp(),
            )
        )
        return web.Response(text="ok")

    async def dump(_: web.Request) -> web.Response:
        return web.Response(body=msgspec.json.encode(got), content_type="application/json")

    async def reset(_: web.Request) -> web.Response:
        got.clear()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/_ctl/dump", dump)
    app.router.add_get("/_ctl/reset", reset)
    app.router.add_post("/{tail:.*}", hook)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


if __name__ == "__main__":
    main()

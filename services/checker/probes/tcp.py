"""tcp://host:port: ``up`` when a connection is established within the timeout."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from services.checker.probe import Claim, Result, failed, host_port, ms


async def probe_tcp(_session: aiohttp.ClientSession, claim: Claim) -> Result:
    """Connect, then close at once; the response time is the connect time."""
    checked_at = time.time()
    started = time.perf_counter()
    try:
        host, port = host_port(claim.url)
        async with asyncio.timeout(claim.timeout):
            transport, _ = await asyncio.get_running_loop().create_connection(
                asyncio.Protocol, host, port
            )
        elapsed = ms(started)
        transport.abort()  # nothing to say: no FIN handshake to wait for
    except Exception as exc:  # every failure becomes a short, human error text
        return failed(claim, checked_at, started, exc)
    return Result(
        claim.endpoint_id, claim.token, "up", checked_at, elapsed, None, None, claim.interval
    )

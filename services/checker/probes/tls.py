"""tls://host:port: a TLS handshake with verification, then the certificate rule."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from services.checker.probe import Claim, Result, failed, host_port, ms
from services.checker.probes.cert import peer_validity, tls_context
from shared.status import Status, judge_certificate


async def probe_tls(_session: aiohttp.ClientSession, claim: Claim) -> Result:
    """Connect and complete the handshake; the response time is connect plus handshake."""
    checked_at = time.time()
    started = time.perf_counter()
    options = claim.options
    try:
        host, port = host_port(claim.url)
        async with asyncio.timeout(claim.timeout):
            transport, _ = await asyncio.get_running_loop().create_connection(
                asyncio.Protocol,
                host,
                port,
                ssl=tls_context(options.verify_tls),
                server_hostname=host,
            )
        elapsed = ms(started)
        validity = peer_validity(transport.get_extra_info("ssl_object"))
        transport.abort()
    except Exception as exc:  # every failure becomes a short, human error text
        return failed(claim, checked_at, started, exc)
    if validity is None:  # a TLS server always shows one; a broken one may not
        status: Status = "down"
        error: str | None = "TLS error: no certificate"
        expires = None
    else:
        status, error = judge_certificate(validity, time.time(), options.cert_expiry_days)
        expires = validity[1]
    return Result(
        claim.endpoint_id,
        claim.token,
        status,
        checked_at,
        elapsed,
        None,
        error,
        claim.interval,
        expires,
    )

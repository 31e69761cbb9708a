"""Webhook channels: one signed JSON POST; a 2xx answer is delivered, anything else is retried."""

from __future__ import annotations

import hashlib
import hmac
import time

import aiohttp

from services.checker.notify_message import Job
from services.checker.probe import _version, describe_error

USER_AGENT = f"Uptimatum/{_version()}"


def new_session() -> aiohttp.ClientSession:
    """The replica's webhook session: keep-alive (one receiver gets many), no cookies nor proxy."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=100, ttl_dns_cache=30),
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


def sign(secret: str, timestamp: int, raw: bytes) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def headers(job: Job, raw: bytes) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "Uptimatum-Event": job.type,
        "Uptimatum-Event-Id": str(job.event_id),
        "Uptimatum-Delivery": str(job.delivery_id),
    }
    if job.channel_secret:
        out["Uptimatum-Signature"] = sign(job.channel_secret, int(time.time()), raw)
    return out


async def send(session: aiohttp.ClientSession, job: Job, raw: bytes, seconds: float) -> str | None:
    """POST ``raw`` to the channel; None when delivered, else the error (never the URL)."""
    try:
        async with session.post(
            job.channel_url,
            data=raw,
            headers=headers(job, raw),
            timeout=aiohttp.ClientTimeout(total=seconds),
            allow_redirects=False,
        ) as resp:
            if 200 <= resp.status < 300:
                return None
            if 300 <= resp.status < 400:
                return f"HTTP {resp.status} (redirects are not followed)"
            return f"HTTP {resp.status}"
    except Exception as exc:  # every failure becomes a short text without the URL
        return describe_error(exc, int(seconds))

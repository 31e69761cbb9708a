"""Step 2: ``probe(session, claim) -> Result``. Pure: HTTP only, no database, no metrics."""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

import aiohttp
import msgspec

from shared.status import judge, parse_expected_status

MAX_BODY = 1024 * 1024  # the keyword rule reads at most 1 MiB of the body


def _version() -> str:
    try:
        return version("uptimatum")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


USER_AGENT = f"Uptimatum/{_version()} (+status checker)"


class Claim(msgspec.Struct, frozen=True, gc=False):
    """One claimed slot of one endpoint: everything the probe and the writer need."""

    endpoint_id: int
    token: int
    url: str
    method: str
    timeout: int
    expected_status: tuple[str, ...]
    degraded_threshold_ms: int | None
    keyword: str | None
    interval: int
    due_at: float  # epoch seconds of the slot
    endpoint_name: str
    page_name: str


class Result(msgspec.Struct, gc=False):
    endpoint_id: int
    token: int
    status: str
    checked_at: float  # epoch seconds when the probe started
    response_ms: int  # elapsed ms, also for a failure
    status_code: int | None
    error: str | None
    interval: int


def new_session() -> aiohttp.ClientSession:
    """The one session all probes share; its connector opens a new connection per probe.

    force_close: the response time includes connecting and the TLS handshake, and
    a dead server cannot hide behind a pooled keep-alive connection.
    """
    connector = aiohttp.TCPConnector(force_close=True, limit=0, ttl_dns_cache=10)
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )


@lru_cache(maxsize=256)
def _timeout(seconds: int) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds)


@lru_cache(maxsize=1024)
def _accepted(rules: tuple[str, ...]) -> list[tuple[int, int]]:
    return parse_expected_status(rules)


async def probe(session: aiohttp.ClientSession, claim: Claim) -> Result:
    """Request the endpoint once and judge the answer."""
    checked_at = time.time()
    started = time.perf_counter()
    code: int | None = None
    try:
        async with session.request(
            claim.method, claim.url, timeout=_timeout(claim.timeout), allow_redirects=True
        ) as resp:
            code = resp.status
            found = None
            if claim.keyword is not None:
                found = await _body_contains(resp, claim.keyword.encode())
            elapsed = _ms(started)
    except Exception as exc:  # every failure becomes a short, human error text
        return Result(
            claim.endpoint_id,
            claim.token,
            "down",
            checked_at,
            _ms(started),
            code,
            describe_error(exc, claim.timeout),
            claim.interval,
        )
    status, error = judge(
        status_code=code,
        accepted=_accepted(claim.expected_status),
        response_ms=elapsed,
        degraded_threshold_ms=claim.degraded_threshold_ms,
        keyword_found=found,
    )
    return Result(
        claim.endpoint_id, claim.token, status, checked_at, elapsed, code, error, claim.interval
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _body_contains(resp: aiohttp.ClientResponse, needle: bytes) -> bool:
    """Read the body only until the keyword shows up, at most MAX_BODY bytes."""
    keep = len(needle) - 1
    tail = b""
    seen = 0
    while seen < MAX_BODY:
        chunk = await resp.content.readany()
        if not chunk:
            return False
        chunk = chunk[: MAX_BODY - seen]
        seen += len(chunk)
        window = tail + chunk
        if needle in window:
            return True
        tail = window[-keep:] if keep else b""
    return False


def describe_error(exc: BaseException, timeout: int) -> str:
    """``timeout after 10 s``, ``connection refused``, ``DNS lookup failed`` ... never a repr."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return f"timeout after {timeout} s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert = exc.certificate_error
        reason = getattr(cert, "verify_message", None) or getattr(cert, "reason", None)
        return f"TLS error: {reason or 'certificate rejected'}"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return f"TLS error: {_ssl_reason(exc)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED:
            return "connection refused"
        if exc.os_error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "host unreachable"
        reason = _strerror(exc.os_error)
        return reason if reason.startswith("connection") else f"connection failed: {reason}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body was cut short"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "invalid HTTP response"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        if exc.errno == errno.ECONNRESET:
            return "connection reset"
        reason = _strerror(exc)
        return reason if reason.startswith("connection") else f"connection failed: {reason}"
    return f"request failed ({type(exc).__name__})"


def _ssl_reason(exc: BaseException) -> str:
    inner = getattr(exc, "os_error", exc)
    reason = getattr(inner, "reason", None)
    if reason:
        return str(reason).lower().replace("_", " ")
    return _strerror(inner) if isinstance(inner, OSError) else "handshake failed"


_OS_ERRORS = (
    (ConnectionResetError, "connection reset"),
    (ConnectionAbortedError, "connection aborted"),
    (BrokenPipeError, "connection closed"),
)


def _strerror(exc: BaseException) -> str:
    for kind, text in _OS_ERRORS:
        if isinstance(exc, kind):
            return text
    text = getattr(exc, "strerror", None) or str(exc) or "network error"
    return text[:200]

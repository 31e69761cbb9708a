"""Step 2: what every probe takes (a ``Claim``) and returns (a ``Result``), and its error texts.

The probes themselves, one function per kind, are in ``services/checker/probes/``:
``probe(session, claim)`` picks one by the url's scheme. Pure: network only, no
database, no metrics.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import aiohttp
import msgspec

from shared.kinds import DEFAULT_CERT_EXPIRY_DAYS


def _version() -> str:
    """This package's version, for the User-Agent of probes and webhooks."""
    try:
        return version("uptimatum")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


class Options(msgspec.Struct, frozen=True, gc=False):
    """The settings of one kind or another (migrations/0011); each probe reads its own."""

    headers: dict[str, str] = {}
    body: str | None = None
    body_content_type: str | None = None
    follow_redirects: bool = True
    verify_tls: bool = True
    cert_expiry_days: int | None = DEFAULT_CERT_EXPIRY_DAYS
    dns_record_type: str = "A"
    dns_server: str | None = None
    dns_expected: str | None = None


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
    options: Options = Options()


class Result(msgspec.Struct, gc=False):
    endpoint_id: int
    token: int
    status: str
    checked_at: float  # epoch seconds when the probe started
    response_ms: int  # elapsed ms, also for a failure
    status_code: int | None
    error: str | None
    interval: int
    cert_expires_at: float | None = None  # epoch seconds; None without a certificate


def failed(claim: Claim, checked_at: float, started: float, exc: BaseException) -> Result:
    """The ``down`` result of a probe that raised ``exc``."""
    error = describe_error(exc, claim.timeout)
    return Result(
        claim.endpoint_id, claim.token, "down", checked_at, ms(started), None, error, claim.interval
    )


def host_port(url: str) -> tuple[str, int]:
    """``tcp://db.internal:5432`` -> ("db.internal", 5432); the API made sure both are there."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or 0


def ms(started: float) -> int:
    """Milliseconds since ``started`` (a ``time.perf_counter()``)."""
    return int((time.perf_counter() - started) * 1000)


def describe_error(exc: BaseException, timeout: int) -> str:
    """``timeout after 10 s``, ``connection refused``, ``DNS lookup failed`` ... never a repr."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return f"timeout after {timeout} s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return tls_verify_error(exc.certificate_error)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return tls_verify_error(exc)
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
    if isinstance(exc, socket.gaierror):
        return "DNS lookup failed"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        if exc.errno == errno.ECONNRESET:
            return "connection reset"
        if exc.errno == errno.ECONNREFUSED or _all_refused(exc):
            return "connection refused"
        reason = _strerror(exc)
        return reason if reason.startswith("connection") else f"connection failed: {reason}"
    return f"request failed ({type(exc).__name__})"


def tls_verify_error(exc: BaseException) -> str:
    """``TLS error: certificate has expired``, ``TLS error: hostname mismatch, ...``."""
    reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
    if not reason:
        return "TLS error: certificate rejected"
    reason = str(reason).rstrip(".")
    if reason[1:2].islower():  # "Hostname mismatch" -> "hostname mismatch"; "IP" stays
        reason = reason[:1].lower() + reason[1:]
    return f"TLS error: {reason}"


def _all_refused(exc: OSError) -> bool:
    """asyncio's error when every address of a name refused (3.11 keeps only the text)."""
    text = str(exc)
    return text.startswith("Multiple exceptions") and text.count("[Errno") == text.count(
        f"[Errno {errno.ECONNREFUSED}]"
    )


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

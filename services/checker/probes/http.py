"""http:// and https://: one request, judged by the status rules; https also by its certificate."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

from services.checker.probe import Claim, Result, _version, describe_error, ms
from services.checker.probes.cert import Validity, peer_validity, tls_context
from shared.kinds import body_content_type
from shared.status import judge, judge_certificate, parse_expected_status, with_certificate

MAX_BODY = 1024 * 1024  # the keyword rule reads at most 1 MiB of the body


USER_AGENT = f"Uptimatum/{_version()} (+status checker)"


class _Connector(aiohttp.TCPConnector):
    """Notes the peer certificate's validity on each new TLS connection's protocol.

    The response of an empty body (HEAD, 204) has released its connection by the
    time the probe sees it, so the certificate is read here, when it is made.
    """

    async def _create_connection(self, *args: Any, **kwargs: Any) -> ResponseHandler:
        protocol = await super()._create_connection(*args, **kwargs)
        transport = protocol.transport
        if transport is not None:
            protocol.uptimatum_validity = peer_validity(  # type: ignore[attr-defined]
                transport.get_extra_info("ssl_object")
            )
        return protocol


def new_session() -> aiohttp.ClientSession:
    """The one session all probes share; its connector opens a new connection per probe.

    force_close: the response time includes connecting and the TLS handshake, and
    a dead server cannot hide behind a pooled keep-alive connection.
    """
    connector = _Connector(force_close=True, limit=0, ttl_dns_cache=10)
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


def _request_options(claim: Claim) -> dict[str, Any]:
    """The request's headers, body and TLS, as the endpoint says (no header is logged)."""
    options = claim.options
    kw: dict[str, Any] = {
        "allow_redirects": options.follow_redirects,
        "ssl": tls_context(options.verify_tls),
    }
    headers = options.headers
    if options.body is not None:
        kind = body_content_type(options.body, options.body_content_type) or "text/plain"
        headers = {"Content-Type": kind, **headers}  # a Content-Type header given wins
        kw["data"] = options.body.encode()
    if headers:
        kw["headers"] = headers
    return kw


async def probe_http(session: aiohttp.ClientSession, claim: Claim) -> Result:
    """Request the endpoint once and judge the answer (and an https certificate)."""
    checked_at = time.time()
    started = time.perf_counter()
    code: int | None = None
    validity: Validity | None = None
    try:
        async with session.request(
            claim.method, claim.url, timeout=_timeout(claim.timeout), **_request_options(claim)
        ) as resp:
            code = resp.status
            validity = getattr(resp._protocol, "uptimatum_validity", None)
            found = None
            if claim.keyword is not None:
                found = await _body_contains(resp, claim.keyword.encode())
            elapsed = ms(started)
    except Exception as exc:  # every failure becomes a short, human error text
        return Result(
            claim.endpoint_id,
            claim.token,
            "down",
            checked_at,
            ms(started),
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
    expires = None
    if validity is not None:
        expires = validity[1]
        rule = judge_certificate(validity, time.time(), claim.options.cert_expiry_days)
        status, error = with_certificate((status, error), rule)
    return Result(
        claim.endpoint_id,
        claim.token,
        status,
        checked_at,
        elapsed,
        code,
        error,
        claim.interval,
        expires,
    )


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

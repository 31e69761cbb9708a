"""dns://name: resolve one record type, optionally against an expected answer."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from functools import lru_cache
from urllib.parse import urlsplit

import aiohttp
import dns.asyncresolver
import dns.exception
import dns.resolver
from dns.rdata import Rdata

from services.checker.probe import Claim, Result, failed, ms
from shared.kinds import parse_dns_server


class DnsFailure(Exception):
    """A lookup that got no usable answer; its text is the error recorded."""


async def probe_dns(_session: aiohttp.ClientSession, claim: Claim) -> Result:
    """Resolve the name; the response time is the lookup time."""
    checked_at = time.time()
    started = time.perf_counter()
    options = claim.options
    rdtype = options.dns_record_type
    try:
        name = urlsplit(claim.url).hostname or ""
        resolver = await _resolver(options.dns_server)
        try:
            answer = await resolver.resolve(
                name, rdtype, lifetime=claim.timeout, search=False, raise_on_no_answer=True
            )
        except dns.resolver.NXDOMAIN:
            raise DnsFailure("no such domain (NXDOMAIN)") from None
        except dns.resolver.NoAnswer:
            raise DnsFailure(f"no {rdtype} record") from None
        except dns.resolver.NoNameservers as exc:
            raise DnsFailure(_server_failure(exc)) from None
        except dns.exception.Timeout:
            raise TimeoutError from None
        elapsed = ms(started)
    except DnsFailure as exc:
        return _result(claim, checked_at, ms(started), "down", str(exc))
    except Exception as exc:  # every failure becomes a short, human error text
        return failed(claim, checked_at, started, exc)
    if options.dns_expected is not None:
        got = [_text(r) for r in answer]
        if not any(_matches(options.dns_expected, r) for r in answer):
            error = f"expected {options.dns_expected}, got {', '.join(got)}"[:500]
            return _result(claim, checked_at, elapsed, "down", error)
    return _result(claim, checked_at, elapsed, "up", None)


def _result(
    claim: Claim, checked_at: float, elapsed: int, status: str, error: str | None
) -> Result:
    return Result(
        claim.endpoint_id, claim.token, status, checked_at, elapsed, None, error, claim.interval
    )


async def _resolver(server: str | None) -> dns.asyncresolver.Resolver:
    if server is None:
        return _system_resolver()
    parsed = parse_dns_server(server)
    if parsed is None:  # the API refuses such a value
        raise DnsFailure(f"dns_server {server!r} is not a host or host:port")
    host, port = parsed
    try:
        ipaddress.ip_address(host)
        address = host
    except ValueError:  # a name: look it up with the system's resolver
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
        address = str(infos[0][4][0])
    return _server_resolver(address, port)


@lru_cache(maxsize=1)
def _system_resolver() -> dns.asyncresolver.Resolver:
    """The system's resolver (/etc/resolv.conf, read once)."""
    return dns.asyncresolver.Resolver()


@lru_cache(maxsize=256)
def _server_resolver(address: str, port: int) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [address]
    resolver.port = port
    return resolver


def _text(rdata: Rdata) -> str:
    """An answer as a person writes it: an address, a name, ``10 mail.example.com``, the text."""
    kind = rdata.rdtype.name
    if kind in ("A", "AAAA"):
        return str(rdata.address)  # type: ignore[attr-defined]
    if kind == "MX":
        return f"{rdata.preference} {_name(rdata.exchange)}"  # type: ignore[attr-defined]
    if kind == "TXT":
        return b"".join(rdata.strings).decode(errors="replace")  # type: ignore[attr-defined]
    return _name(rdata.target)  # type: ignore[attr-defined]  # CNAME, NS


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def _matches(expected: str, rdata: Rdata) -> bool:
    """Equal as values of their kind: addresses as addresses, names without case or final dot."""
    kind = rdata.rdtype.name
    if kind in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(expected) == ipaddress.ip_address(rdata.address)  # type: ignore[attr-defined]
        except ValueError:
            return False
    if kind == "TXT":
        return expected == _text(rdata)
    wanted = expected.strip().rstrip(".").lower()
    text = _text(rdata).lower()
    if kind == "MX":  # the exchange alone, or "preference exchange"
        return wanted in (text, text.partition(" ")[2])
    return wanted == text


def _server_failure(exc: dns.resolver.NoNameservers) -> str:
    """``server failure (SERVFAIL)``, ``server refused (REFUSED)``, from dnspython's errors."""
    text = str(exc)
    for code, words in (("SERVFAIL", "server failure"), ("REFUSED", "server refused")):
        if code in text:
            return f"{words} ({code})"
    return "no DNS server answered"

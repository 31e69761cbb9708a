"""One probe function per kind of check, chosen by the url's scheme (``shared/kinds.py``).

Each takes the shared HTTP session and a ``Claim`` and returns a ``Result``; none
touches the database. A new kind is a module here and a line in ``PROBES``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp

from services.checker.probe import Claim, Result
from services.checker.probes.dns import probe_dns
from services.checker.probes.http import new_session, probe_http
from services.checker.probes.tcp import probe_tcp
from services.checker.probes.tls import probe_tls
from shared.kinds import kind_of

Probe = Callable[[aiohttp.ClientSession, Claim], Awaitable[Result]]
PROBES: dict[str, Probe] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "tls": probe_tls,
}

__all__ = ["PROBES", "new_session", "probe", "probe_dns", "probe_http", "probe_tcp", "probe_tls"]


def probe(session: aiohttp.ClientSession, claim: Claim) -> Awaitable[Result]:
    """Probe ``claim`` with the function of its kind (an unknown scheme: as HTTP, which fails)."""
    return PROBES.get(kind_of(claim.url) or "http", probe_http)(session, claim)

"""The kinds of check, chosen by the url's scheme, and the facts the API and the checker share.

The API validates against these; the checker's probe module has one probe
function per kind (services/checker/probe.py, ``PROBES``).
"""

from __future__ import annotations

import ipaddress
import json
import re
from functools import lru_cache

# scheme -> kind: http(s) pages, a TCP connect, a DNS lookup, a TLS handshake.
KINDS = {"http": "http", "https": "http", "tcp": "tcp", "dns": "dns", "tls": "tls"}
DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS")
# Request headers an endpoint may not set: the HTTP client owns the message framing.
FORBIDDEN_HEADERS = ("host", "content-length", "transfer-encoding", "connection")
DEFAULT_CERT_EXPIRY_DAYS = 14


def kind_of(url: str) -> str | None:
    """``"tcp"`` for ``tcp://db:5432``; None for a scheme no probe handles."""
    scheme, sep, _ = url.partition("://")
    return KINDS.get(scheme.lower()) if sep else None


@lru_cache(maxsize=128)  # bodies are up to 64 KiB: a small cache
def body_content_type(body: str | None, given: str | None) -> str | None:
    """The Content-Type sent with ``body``: the one given, else JSON's when it parses as JSON."""
    if body is None:
        return None
    if given:
        return given
    try:
        json.loads(body)
    except ValueError:
        return "text/plain"
    return "application/json"


_HOST = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})$")


def parse_dns_server(text: str) -> tuple[str, int] | None:
    """``"192.0.2.53"``, ``"[::1]:5353"``, ``"ns1.example.com:53"`` -> (host, port); None if bad."""
    host, port = text, "53"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if text.startswith("[") or not _HOST.match(host):
            return None
    return host, int(port)

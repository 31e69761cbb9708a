"""Notification channels: which URLs are valid, and what of them may be shown (``target``).

A channel's URL carries credentials (a webhook token in the path, a bot token
as an Apprise "host", a password in the user part), so it is never shown nor
logged: ``target`` keeps the scheme and the host only, and only a host that
looks like one (an Apprise "host" that is a token or a topic is hidden too).
Apprise's own log lines repeat URLs, so its logger never reaches ours.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from typing import Literal
from urllib.parse import urlsplit

ChannelType = Literal["webhook", "apprise"]

# Apprise logs "Unparseable URL <the url>" and the like: keep it to itself (a
# LogCapture, which the checker uses for an attempt's error, still sees it).
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.propagate = False
_APPRISE_LOG.addHandler(logging.NullHandler())

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ChannelError(ValueError):
    """The URL cannot be used; the message names the problem (never the URL)."""


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host, a valid port and no whitespace or control bytes."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port out of range
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(host)
        and not any(c.isspace() or ord(c) < 0x20 for c in url)
    )


def check_channel(kind: ChannelType, url: str) -> str:
    """Validate ``url`` for a channel of type ``kind``; returns its ``target``."""
    if kind == "webhook":
        if not is_http_url(url):
            raise ChannelError("url of a webhook must be an absolute http(s) URL with a host")
        parts = urlsplit(url)
        return _target(parts.scheme.lower(), parts.hostname)
    return _check_apprise(url)


def _check_apprise(url: str) -> str:
    import apprise  # loaded on first use: ~100 plugins

    if any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in url):
        raise ChannelError(
            "url of an apprise channel must not contain spaces or control characters"
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        raise ChannelError("url of an apprise channel must look like scheme://… (e.g. slack://…)")
    if scheme not in _apprise_schemes():
        raise ChannelError(
            f"url scheme '{_safe(scheme)}://' is not one Apprise knows"
            " (e.g. slack://, discord://, tgram://, mailto://, ntfy://, json://)"
        )
    try:
        instance = apprise.Apprise.instantiate(url)
    except Exception:  # a plugin that trips over odd input: not a URL it can use either
        instance = None
    if instance is None:
        raise ChannelError(
            f"url is not a valid {_safe(scheme)}:// URL: Apprise could not parse it"
            " (see the Apprise documentation of this service for its URL format)"
        )
    try:
        host = urlsplit(url).hostname
        shown = urlsplit(instance.url(privacy=True)).hostname
    except ValueError:
        host = shown = None
    # A host Apprise masks (a token) or that is no host name (a topic, an id) stays hidden.
    return _target(scheme, host if host and host == shown and _looks_like_host(host) else None)


@functools.cache
def _apprise_schemes() -> frozenset[str]:
    from apprise.manager_plugins import NotificationManager

    return frozenset(s.lower() for s in NotificationManager().schemas())


def _looks_like_host(host: str) -> bool:
    if host == "localhost" or _HOSTNAME.match(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _target(scheme: str, host: str | None) -> str:
    return f"{scheme}://{host}/…" if host else f"{scheme}://…"


def _safe(scheme: str) -> str:
    return scheme[:20] if re.fullmatch(r"[a-z0-9+.-]+", scheme) else "?"

"""The API: ``create_app()`` builds the Litestar app; the pool lives in its lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import cast

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from loguru import logger
from psycopg_pool import AsyncConnectionPool

from services.api import openapi
from services.api.allow import AllowHeader
from services.api.audit import audit_middleware
from services.api.auth import WRITES, Access
from services.api.cache import FlightCache, TTLCache
from services.api.errors import EXCEPTION_HANDLERS
from services.api.routes import (
    alert_rules,
    audit,
    badges,
    channels,
    endpoints,
    events,
    feeds,
    health,
    incidents,
    keys,
    maintenances,
    pages,
    pages_html,
    session,
    statuspage,
)
from shared.db import DatabaseUnavailable, create_pool, start_timing
from shared.settings import Settings, load_settings

MAX_BODY = 64 * 1024
DRAIN_LIMIT = 16 * 1024 * 1024  # a refused body is read this far so the 413 arrives

ROUTES = [
    health.health,
    health.ready,
    health.doc,
    health.reference,
    pages.list_pages,
    pages.get_page,
    pages.timeline,
    pages.create_page,
    pages.update_page,
    pages.delete_page,
    endpoints.get_endpoint,
    endpoints.history,
    endpoints.create_endpoint,
    endpoints.update_endpoint,
    endpoints.delete_endpoint,
    incidents.list_incidents,
    incidents.create_incident,
    incidents.update_incident,
    incidents.delete_incident,
    incidents.add_update,
    incidents.delete_update,
    maintenances.list_maintenances,
    maintenances.get_maintenance,
    maintenances.create_maintenance,
    maintenances.update_maintenance,
    maintenances.delete_maintenance,
    badges.badge,
    keys.create_key,
    keys.list_keys,
    keys.get_key,
    keys.revoke_key,
    audit.list_audit,
    session.login_form,
    session.login,
    session.logout,
    *pages_html.ROUTES,
    *statuspage.ROUTES,
    *feeds.ROUTES,
    events.list_events,
    events.list_deliveries,
    channels.list_channels,
    channels.get_channel,
    channels.create_channel,
    channels.update_channel,
    channels.delete_channel,
    channels.test_channel,
    alert_rules.list_alert_rules,
    alert_rules.create_alert_rule,
    alert_rules.delete_alert_rule,
]


class Observe:
    """Outermost ASGI layer: one log line per request, and the ``Server-Timing`` header.

    A successful write empties this process's caches before its answer leaves, so
    a client never reads back its own change stale (other replicas' caches age
    out within seconds).
    """

    def __init__(self, app: ASGIApp, on_write: Callable[[], None]) -> None:
        self.app = app
        self.on_write = on_write

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        method, path = http["method"], http["path"]
        if method == "HEAD":  # a GET without its body (curl -I, HEAD monitors)
            scope = cast("Scope", {**http, "method": "GET"})
        started = time.perf_counter()
        timing = start_timing()
        status = 0

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 413:
                    await _drain(receive)
                if method in WRITES and 200 <= status < 300:
                    self.on_write()
                headers = _no_framing([*message.get("headers", ())])
                headers.append((b"server-timing", timing.header().encode()))
                message = {**message, "headers": headers}
            elif method == "HEAD" and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            ms = (time.perf_counter() - started) * 1000
            # The path only: never headers (Authorization) nor the query string.
            logger.bind(method=method, path=path, status=status, duration_ms=round(ms, 2)).info(
                "{} {} {} {:.1f} ms", method, path, status, ms
            )


def _no_framing(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Every HTML page refuses to be framed unless its policy says otherwise (the embed).

    ``frame-ancestors 'none'`` joins a page's own Content-Security-Policy, or is
    its policy when it has none (the login form, the API reference).
    """
    html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
    if not html:
        return headers
    out, found = [], False
    for key, value in headers:
        if key.lower() == b"content-security-policy":
            found = True
            if b"frame-ancestors" not in value:
                value += b"; frame-ancestors 'none'"
        out.append((key, value))
    if not found:
        out.append((b"content-security-policy", b"frame-ancestors 'none'"))
    return out


async def _drain(receive: Receive) -> None:
    """Read the rest of a refused body before answering 413.

    A server that answers while the client is still sending and then closes with
    unread data makes the kernel reset the connection, and the client often sees
    that reset instead of the 413. Reading (and dropping) up to DRAIN_LIMIT bytes
    lets every ordinary oversized request get its answer; beyond that we stop.
    """
    seen = 0
    while seen < DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _log_write_access(settings: Settings) -> None:
    if settings.admin_token:
        logger.info("writes (POST, PATCH, DELETE) need an API key, the admin token or a session")
    else:
        logger.warning(
            "ADMIN_TOKEN is not set: every write (POST, PATCH, DELETE) is refused"
            " but for API keys made earlier"
        )


def create_app(settings: Settings | None = None) -> Litestar:
    """The app for ``settings`` (default: read from the environment, logging set up)."""
    if settings is None:
        from shared.logging import setup_logging

        settings = load_settings()
        setup_logging(settings, service="api")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = create_pool(settings, name="api")
        # wait=False: the API starts (and /health answers) while PostgreSQL is down.
        await pool.open(wait=False)
        app.state.pool = pool
        app.state.access.pool = pool
        _log_write_access(settings)
        try:
            yield
        finally:
            await pool.close(timeout=5)

    app = Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "badges": badges.BadgeCache(),
                "long_uptimes": TTLCache(pages.LONG_TTL),
                "stories": TTLCache(pages.LONG_TTL),
                "access": Access(settings),
                # The status pages: while the database is unreachable, the last render.
                "html": FlightCache(pages_html.CACHE_SECONDS, keep_on=(DatabaseUnavailable,)),
            }
        ),
        dependencies={
            "pool": Provide(_pool, sync_to_thread=False),
            "settings": Provide(_settings, sync_to_thread=False),
            "badges": Provide(_badges, sync_to_thread=False),
            "long_uptimes": Provide(_long_uptimes, sync_to_thread=False),
            "stories": Provide(_stories, sync_to_thread=False),
            "html": Provide(_html, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[audit_middleware],
        cors_config=CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match"],
            expose_headers=["ETag", "Link", "Server-Timing"],
            max_age=600,
        ),
        # A browser asks for gzip: a 24 h timeline of 100 endpoints is ~600 kB of
        # JSON and ~60 kB on the wire. Level 3 costs ~2 ms there (level 9: ~20 ms);
        # small answers (badges, single rows) are sent as they are.
        # (The status pages gzip each render once themselves: skip_compression.)
        compression_config=CompressionConfig(
            backend="gzip",
            gzip_compress_level=3,
            minimum_size=2048,
            exclude_opt_key="skip_compression",
        ),
        template_config=pages_html.template_config(),
        openapi_config=openapi.config(),
        request_max_body_size=MAX_BODY,
        logging_config=None,
        debug=False,
    )
    app.asgi_handler = Observe(
        AllowHeader(app.asgi_handler, app), on_write=lambda: _clear_caches(app.state)
    )
    return app


def _clear_caches(state: State) -> None:
    state.badges.clear()
    state.long_uptimes.clear()
    state.stories.clear()
    state.html.clear()


# Dependencies: what lives in app.state, handed to handlers by name.
def _pool(state: State) -> AsyncConnectionPool:
    return state.pool


def _settings(state: State) -> Settings:
    return state.settings


def _badges(state: State) -> badges.BadgeCache:
    return state.badges


def _long_uptimes(state: State) -> TTLCache[pages.Long]:
    return state.long_uptimes


def _stories(state: State) -> TTLCache[pages.Story]:
    return state.stories


def _html(state: State) -> FlightCache[pages_html.Body | None]:
    return state.html

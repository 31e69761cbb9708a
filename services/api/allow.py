"""``Allow``: every OPTIONS answer and every 405 names exactly the methods of its path.

Litestar writes a path's OPTIONS answer when the path's first handler is
registered, so a path whose GET, PATCH and DELETE are separate handlers said
``Allow: GET, OPTIONS``; its CORS preflights (answered before routing) carried no
``Allow`` at all, and neither listed HEAD, which ``Observe`` answers for every
GET. This layer sets the header from the app's routes as they finally are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from litestar.utils import normalize_path


def allow_value(methods: Iterable[str]) -> str:
    """``{"GET", "PATCH"}`` -> ``"GET, HEAD, OPTIONS, PATCH"`` (RFC 9110: HEAD with GET)."""
    allowed = {m.strip().upper() for m in methods if m.strip()} | {"OPTIONS"}
    if "GET" in allowed:
        allowed.add("HEAD")
    return ", ".join(sorted(allowed))


class AllowHeader:
    """ASGI layer: the ``Allow`` header of every OPTIONS answer and every 405."""

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar
        self._by_template: dict[str, bytes] | None = None

    def allow(self, path: str) -> bytes | None:
        """The ``Allow`` value of the route serving ``path`` (None: no route there)."""
        if self._by_template is None:  # routes are final once requests arrive
            self._by_template = {
                route.path_format: allow_value(route.methods).encode()
                for route in self.litestar.routes
                if isinstance(route, HTTPRoute)
            }
        try:
            template = self.litestar.asgi_router.handle_routing(normalize_path(path), "OPTIONS")[4]
        except HTTPException:  # no route: the 404 (or preflight) needs no Allow
            return None
        return self._by_template.get(template)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        http = cast("HTTPScope", scope)
        path, options = http["path"], http["method"] == "OPTIONS"

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and (options or message["status"] == 405):
                allow = self.allow(path)
                if allow is not None:
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", ())
                        if name.lower() != b"allow"
                    ]
                    message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_allow)

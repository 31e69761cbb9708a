"""Writes need ``Authorization: Bearer <ADMIN_TOKEN>``; bodies are decoded strictly."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from services.api.errors import ApiError, body_error
from shared.settings import Settings

# The OpenAPI security requirement of every write.
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"adminToken": []}]


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every POST, PATCH and DELETE."""
    settings: Settings = connection.app.state.settings
    token = settings.admin_token
    if not token:  # never an open API by accident (start-up logs it too)
        raise ApiError(401, "writes are disabled: the server has no ADMIN_TOKEN configured")
    header = connection.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise ApiError(401, "this needs the header 'Authorization: Bearer <ADMIN_TOKEN>'")


# Spread into every POST, PATCH and DELETE route: the guard and its OpenAPI requirement.
WRITE: dict[str, Any] = {"guards": [require_admin], "security": ADMIN_SECURITY}


def strict_body(
    kind: type[msgspec.Struct],
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A ``before_request`` hook that decodes the body strictly as ``kind``.

    Litestar converts bodies leniently ("30" would pass for 30); this rejects
    wrong types, unknown fields and non-JSON with a 400 before the handler runs.
    """
    decoder = msgspec.json.Decoder(kind)

    async def check(request: Request[Any, Any, Any]) -> None:
        body = await request.body()
        try:
            decoder.decode(body or b"")
        except msgspec.DecodeError as exc:
            raise body_error(exc) from None

    return check

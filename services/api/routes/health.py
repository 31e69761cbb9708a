"""Liveness, readiness and the API documentation pages."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import MediaType, Request, Response, get

from services.api import openapi
from services.api import queries as q
from services.api.deps import Pool
from services.api.errors import errors
from services.api.models import HealthBody
from shared.db import fetch_one

HEALTH_PATH = "/health"
READY_PATH = "/ready"
DOC_PATH = "/doc"
REFERENCE_PATH = "/reference"


@get(HEALTH_PATH, tags=["health"], summary="Liveness: the process answers (no database)")
async def health() -> HealthBody:
    return HealthBody(status="ok")


@get(
    READY_PATH,
    tags=["health"],
    summary="Readiness: the database answers",
    responses=errors(503),
)
async def ready(pool: Pool) -> HealthBody:
    await fetch_one(pool, q.READY)
    return HealthBody(status="ready")


_SCALAR = """<!doctype html>
<html>
  <head>
    <title>Uptimatum API reference</title>
    <meta charset="utf-8"/>
    <meta name="viewport" content="width=device-width, initial-scale=1"/>
  </head>
  <body>
    <script id="api-reference" data-url="{doc}"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>
"""


@get(DOC_PATH, include_in_schema=False, media_type=MediaType.JSON)
async def doc(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI 3 document (JSON), encoded once per app."""
    state = request.app.state
    body = state.get("openapi_json")
    if body is None:
        body = state.openapi_json = msgspec.json.encode(openapi.document(request.app))
    return Response(body, media_type=MediaType.JSON)


@get(REFERENCE_PATH, include_in_schema=False, media_type=MediaType.HTML)
async def reference() -> Response[str]:
    """Scalar's interactive reference, reading the OpenAPI document at ``/doc``."""
    return Response(_SCALAR.replace("{doc}", DOC_PATH), media_type=MediaType.HTML)

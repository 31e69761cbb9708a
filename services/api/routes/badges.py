"""``GET /badge/{slug}``: the page's status and 24 h uptime as an SVG badge."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter

from services.api import queries as q
from services.api.cache import TTLCache, etag_matches
from services.api.deps import Pool
from services.api.errors import ApiError, errors, page_slug
from shared.badge import BADGE_COLORS, render_badge
from shared.db import fetch_one

MAX_AGE = 15  # seconds browsers and proxies may keep a badge
CACHE_SECONDS = 5.0  # how stale this process lets a badge get
SVG = "image/svg+xml"

Label = Annotated[
    str | None, QueryParameter(max_length=200, description="Text on the left (default: page name)")
]
Style = Annotated[Literal["flat", "flat-square"], QueryParameter(description="Badge style")]


class Badge:
    """One rendered badge: the SVG and its strong ETag."""

    __slots__ = ("etag", "svg")

    def __init__(self, svg: str) -> None:
        self.svg = svg.encode()
        self.etag = '"' + hashlib.blake2b(self.svg, digest_size=12).hexdigest() + '"'


class BadgeCache:
    """Page facts and rendered badges, each at most ``CACHE_SECONDS`` old."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.facts: TTLCache[dict[str, Any]] = TTLCache(ttl)
        self.rendered: TTLCache[Badge] = TTLCache(ttl)

    def clear(self) -> None:
        self.facts.clear()
        self.rendered.clear()


def page_status(row: dict[str, Any]) -> str | None:
    """The worst status outside maintenance; ``maintenance`` when every endpoint
    that is not up is in a window."""
    if row["down"]:
        return "down"
    if row["degraded"]:
        return "degraded"
    if row["maintenance"]:
        return "maintenance"
    return "up" if row["up"] else None


def render(row: dict[str, Any], label: str | None, style: str) -> Badge:
    status = page_status(row)
    uptime = row["uptime_24h"]
    message = status or "unknown"
    if status and uptime is not None:
        message = f"{status} \u00b7 {uptime:.2f}%"
    return Badge(render_badge(label or row["name"], message, BADGE_COLORS[status], style=style))


@get(
    "/badge/{slug:str}",
    tags=["badges"],
    summary="The page's status and 24 h uptime as an SVG badge",
    media_type=SVG,
    responses={
        304: ResponseSpec(data_container=None, description="Not modified (If-None-Match)"),
        **errors(400, 404),
    },
)
async def badge(
    slug: FromPath[str],
    request: Request[Any, Any, Any],
    pool: Pool,
    badges: NamedDependency[BadgeCache],
    label: Label = None,
    style: Style = "flat",
) -> Response[bytes]:
    key = (page_slug(slug), label, style)
    rendered = badges.rendered.get(key)
    if rendered is None:
        row = badges.facts.get(slug)
        if row is None:
            row = await fetch_one(pool, q.BADGE, {"slug": slug})
            if row is None:
                raise ApiError(404, f"no page with slug {slug!r}")
            badges.facts.put(slug, row)
        rendered = badges.rendered.put(key, render(row, label, style))
    headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "ETag": rendered.etag}
    if etag_matches(request.headers.get("if-none-match"), rendered.etag):
        return Response(b"", status_code=304, headers=headers, media_type=SVG)
    return Response(rendered.svg, headers=headers, media_type=SVG)

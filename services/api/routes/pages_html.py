"""The public status page: server-rendered HTML at ``/status``, ``/status/{slug}`` and its embed.

The data comes from the JSON routes' named statements (``pages.read_page``'s
PAGE_STATUS, the page list, the maintenance windows) plus the daily bars and the
recent incidents with their timelines, a fixed number of statements whatever the
number of endpoints. Templates (``services/api/templates``) render through
Litestar's Jinja engine with autoescaping; Markdown is CommonMark with raw HTML
disabled (``services/api/markdown.py``, as the feeds). A rendered page is kept
``CACHE_SECONDS`` in this process (gzipped once), answered with an ETag (304 on a
match) and ``Cache-Control: public, max-age=MAX_AGE``; a write through this
process empties the cache (app.py).
These routes are not in the OpenAPI document: they are pages, not the API.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from services.api import markdown
from services.api import queries as q
from services.api.cache import FlightCache, TTLCache, etag_matches
from services.api.deps import Pool
from services.api.models import (
    Incident,
    Maintenance,
    PageEndpoint,
    incident_from_row,
    maintenance_from_row,
)
from services.api.routes import pages
from shared.db import fetch_all
from shared.page_status import indicator

MAX_AGE = 10  # seconds browsers and proxies may keep a page
CACHE_SECONDS = 5.0  # how stale this process lets a rendered page get
DAYS = 90  # daily bars per endpoint
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")  # as models.Slug: else a 404

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# No inline script or style anywhere: everything comes from 'self'.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors "
)
CSP = _CSP + "'none'"
CSP_EMBED = _CSP + "*"  # the widget may be framed by any site

STATUS_WORDS = {
    "up": "Up",
    "degraded": "Degraded",
    "down": "Down",
    "maintenance": "In maintenance",
    "unknown": "No data yet",
}
INCIDENT_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
IMPACT_WORDS = {
    "none": "No impact",
    "minor": "Minor impact",
    "major": "Major impact",
    "critical": "Critical impact",
}


# -- assets ----------------------------------------------------------------------


class Body:
    """A response body, gzipped once, with its strong ETag."""

    __slots__ = ("etag", "gzipped", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.gzipped = gzip.compress(raw, compresslevel=4, mtime=0)
        # of the gzipped bytes (the same for the same page: mtime 0), ~35x fewer to hash
        self.etag = '"' + hashlib.blake2b(self.gzipped, digest_size=12).hexdigest() + '"'


class Asset(Body):
    """A static file at a content-hashed URL: it never changes, so it is cached for a year."""

    __slots__ = ("media_type", "url")

    def __init__(self, path: Path, media_type: str) -> None:
        super().__init__(path.read_bytes())
        self.media_type = media_type
        digest = hashlib.sha256(self.raw).hexdigest()[:12]
        self.url = f"/static/{path.stem}.{digest}{path.suffix}"


ASSETS = {
    "css": Asset(STATIC / "status.css", "text/css"),
    "js": Asset(STATIC / "status.js", "text/javascript"),
    "icon": Asset(STATIC / "favicon.svg", "image/svg+xml"),
}
_BY_URL = {a.url.rsplit("/", 1)[1]: a for a in ASSETS.values()}
ASSET_URLS = {name: a.url for name, a in ASSETS.items()}


# -- templates -------------------------------------------------------------------


def _markdown(text: str | None) -> Markup:
    return Markup(markdown.render(text))  # noqa: S704 - raw HTML is escaped


def _when(value: datetime | None) -> Markup:
    """A time in UTC with the offset named; status.js shows it in the reader's zone."""
    if value is None:
        return Markup("")
    utc = value.astimezone(UTC)
    label = f"{utc.day} {utc:%b %Y, %H:%M} UTC"
    return Markup('<time datetime="{}" data-local>{}</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), label
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = _markdown
    env.filters["when"] = _when
    env.globals["assets"] = ASSET_URLS
    # The state macro's markup (icon and word) rendered once per state: a page
    # of 100 endpoints otherwise calls it and its icon macro 100 times (~0.7 ms).
    state = env.get_template("_macros.html").module.state  # type: ignore[attr-defined]
    env.globals["states"] = {key: state(_state(key)) for key in STATUS_WORDS}
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def _render(request: Request[Any, Any, Any], name: str, context: dict[str, Any]) -> Body:
    engine = request.app.template_engine
    assert engine is not None, "create_app sets template_config"
    return Body(engine.get_template(name).render(**context).encode())


# -- answering -------------------------------------------------------------------


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _send(
    request: Request[Any, Any, Any],
    body: Body,
    *,
    media_type: str = MediaType.HTML,
    status: int = 200,
    cache_control: str = f"public, max-age={MAX_AGE}",
    csp: str | None = CSP,
) -> Response[bytes]:
    headers = {
        "Cache-Control": cache_control,
        "ETag": body.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if csp:
        headers["Content-Security-Policy"] = csp
        if csp == CSP:
            headers["X-Frame-Options"] = "DENY"  # for browsers without frame-ancestors
    if status == 200 and etag_matches(request.headers.get("if-none-match"), body.etag):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    content = body.raw
    if _accepts_gzip(request) and len(body.raw) > 1024:
        content = body.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(content, status_code=status, headers=headers, media_type=media_type)


def _not_found(request: Request[Any, Any, Any], slug: str) -> Response[bytes]:
    body = _render(request, "status_404.html", {"slug": slug})
    return _send(request, body, status=404, cache_control="no-cache")


# -- what a page shows -----------------------------------------------------------


def _state(key: str) -> dict[str, str]:
    return {"key": key, "word": STATUS_WORDS[key]}


def _endpoint_key(ep: PageEndpoint) -> str:
    return "maintenance" if ep.in_maintenance else ep.status or "unknown"


def page_status(endpoints: list[PageEndpoint], incidents: list[Incident]) -> dict[str, str]:
    """The page's indicator and description, as GET /api/pages/{slug} says (shared rule)."""
    level, description = indicator(
        [(ep.status, ep.in_maintenance) for ep in endpoints],
        [i.impact for i in incidents if i.status != "resolved"],
    )
    return {"indicator": level, "description": description}


def _pct(value: float | None) -> Markup | None:
    if value is None:
        return None
    # a number formatted is digits, a sign and a point: nothing to escape (and
    # Markup.format, which escapes, costs 3 us a call: 0.6 ms for 100 endpoints)
    return Markup(f'<span class="num">{value:.2f} %</span>')  # noqa: S704 - a number only


def _day_class(value: float | None) -> str:
    if value is None:
        return "none"
    if value >= 99.9:
        return "ok"
    if value >= 99:
        return "minor"
    if value >= 95:
        return "major"
    return "critical"


class Days:
    """One endpoint's 90 days: each day's uptime (None: no data) and the 90-day figure."""

    __slots__ = ("first_day", "total", "uptimes")

    def __init__(self, row: dict[str, Any] | None) -> None:
        if row is None:
            self.first_day = datetime.now(UTC).date() - timedelta(days=DAYS - 1)
            self.uptimes: list[float | None] = [None] * DAYS
            self.total: float | None = None
            return
        self.first_day = row["first_day"]
        available: list[float] = [0.0] * DAYS
        covered: list[float] = [0.0] * DAYS
        lo = (row["lo"] - self.first_day).days
        rolled = zip(
            row["rolled_offsets"] or (),
            row["rolled_available"] or (),
            row["rolled_covered"] or (),
            strict=True,
        )
        raw = zip(
            row["raw_offsets"] or (),
            row["raw_available"] or (),
            row["raw_covered"] or (),
            strict=True,
        )
        for offset, up, seen in rolled:
            if offset < lo:  # from lo on, the raw runs answer
                available[offset], covered[offset] = up, seen
        for offset, up, seen in raw:
            available[offset], covered[offset] = up, seen
        self.uptimes = [
            100 * a / c if c > 0 else None for a, c in zip(available, covered, strict=True)
        ]
        seen_total = sum(covered)
        self.total = 100 * sum(available) / seen_total if seen_total > 0 else None

    def bars(self) -> Markup:
        """The bars, oldest first, each with its date and figure (shown on hover and focus).

        A day with no data or at 100 % (most days) is a string made once per
        first day (_day_bars); only the others are formatted here.
        """
        ok, none, labels = _day_bars(self.first_day)
        out = [
            none[i]
            if value is None
            else ok[i]
            if value == 100
            else f"{labels[i][0]}{_day_class(value)}{labels[i][1]}{value:.2f} % uptime</span></li>"
            for i, value in enumerate(self.uptimes)
        ]
        return Markup("".join(out))  # noqa: S704 - dates and numbers only


@functools.lru_cache(maxsize=4)
def _day_bars(first_day: date) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Per day: its whole bar at 100 %, its bar with no data, and the markup around its
    class and figure for the other days (the same for every endpoint)."""
    days = [first_day + timedelta(days=i) for i in range(DAYS)]
    labels = [('<li class="d-', f'" tabindex="0"><span>{d.day} {d:%b %Y}: ') for d in days]
    ok = [f"{a}ok{b}100.00 % uptime</span></li>" for a, b in labels]
    none = [f"{a}none{b}no data</span></li>" for a, b in labels]
    return ok, none, labels


def _endpoint_view(ep: PageEndpoint, days: Days) -> dict[str, Any]:
    return {
        "id": ep.id,
        "name": ep.name,
        "state": _state(_endpoint_key(ep)),
        "uptime_90d": _pct(days.total),
        "uptime_24h": _pct(ep.uptimes.h24),
        "bars": days.bars(),
    }


def _incident_view(incident: Incident, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "status_word": INCIDENT_WORDS[incident.status],
        "impact": incident.impact,
        "impact_word": IMPACT_WORDS[incident.impact],
        "created_at": incident.created_at,
        "resolved_at": incident.resolved_at,
        "postmortem": incident.postmortem,
        "affected": [names[i] for i in incident.affected_endpoint_ids if i in names],
        "updates": [  # newest first
            {
                "status_word": INCIDENT_WORDS[u.status],
                "message": u.message,
                "created_at": u.created_at,
            }
            for u in incident.updates
        ],
    }


def _maintenance_view(window: Maintenance, names: dict[int, str]) -> dict[str, Any]:
    """A window with its current or next occurrence (a recurring one: its rule and zone)."""
    return {
        "id": window.id,
        "title": window.title,
        "description": window.description,
        "starts_at": window.next_starts_at or window.starts_at,
        "ends_at": window.next_ends_at or window.ends_at,
        "recurring": window.rrule is not None,
        "rrule": window.rrule,
        "timezone": window.timezone,
        "affected": [names[i] for i in window.endpoint_ids if i in names],
        "state": _state("maintenance"),
    }


def _links(slug: str) -> dict[str, Any]:
    base = f"/status/{slug}"
    return {
        "feeds": [
            {"href": f"{base}/feed.atom", "label": "Atom feed", "type": "application/atom+xml"},
            {"href": f"{base}/feed.rss", "label": "RSS feed", "type": "application/rss+xml"},
        ],
        "json": [
            {"href": f"{base}/api/v2/summary.json", "label": "Statuspage JSON (summary.json)"},
            {"href": f"/api/pages/{slug}", "label": "This page's API (JSON)"},
        ],
        "embed": f"{base}/embed",
        "page": base,
    }


async def _page_data(pool: Pool, slug: str) -> dict[str, Any] | None:
    """The page's context: four statements at once, whatever the number of endpoints.

    The endpoints as GET /api/pages/{slug} reads them (PAGE_STATUS), their daily
    bars, the incidents of the last 14 days with their timelines, and the
    windows in progress or to come.
    """
    params = {"slug": slug, "days": None}
    # the bars first: the longest of the four (~7 ms of database time at 100 endpoints)
    bar_rows, detail, incident_rows, window_rows = await asyncio.gather(
        fetch_all(pool, q.PAGE_DAILY_UPTIMES, params, binary=True),  # 27,000 figures
        pages.read_page(pool, _NO_LONG_CACHE, slug, long=False, story=False),
        fetch_all(pool, q.PAGE_RECENT_INCIDENTS, params),
        fetch_all(pool, q.PAGE_MAINTENANCES, params),
    )
    if detail is None:
        return None
    bars = {r["endpoint_id"]: r for r in bar_rows}
    names = {ep.id: ep.name for ep in detail.endpoints}
    incidents = [incident_from_row(r) for r in incident_rows]
    windows = [maintenance_from_row(r) for r in window_rows]
    return {
        "page": {"name": detail.name, "slug": detail.slug},
        "status": page_status(detail.endpoints, incidents),
        "endpoints": [_endpoint_view(ep, Days(bars.get(ep.id))) for ep in detail.endpoints],
        "active_incidents": [_incident_view(i, names) for i in incidents if i.status != "resolved"],
        "past_incidents": [_incident_view(i, names) for i in incidents if i.status == "resolved"],
        "maintenances": {
            "in_progress": [
                _maintenance_view(w, names) for w in windows if w.status == "in_progress"
            ],
            "upcoming": [_maintenance_view(w, names) for w in windows if w.status == "scheduled"],
        },
        "links": _links(detail.slug),
        "generated_at": datetime.now(UTC),
    }


# -- routes ----------------------------------------------------------------------

HTML = NamedDependency[FlightCache[Body | None]]
_OPT = {"skip_compression": True}  # gzipped once per render, here
_NO_LONG_CACHE: TTLCache[pages.Long] = TTLCache(0)  # the page reads no 7/30/90-day figures


@get("/status", include_in_schema=False, media_type=MediaType.HTML, opt=_OPT)
async def status_index(request: Request[Any, Any, Any], pool: Pool, html: HTML) -> Response[bytes]:
    async def fill() -> Body:
        rows = await fetch_all(pool, q.LIST_PAGES)
        return _render(request, "status_index.html", {"pages": rows})

    body = await html.get(("index",), fill)
    assert body is not None
    return _send(request, body)


@get("/status/{slug:str}", include_in_schema=False, media_type=MediaType.HTML, opt=_OPT)
async def status_page(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool, html: HTML
) -> Response[bytes]:
    async def fill() -> Body | None:
        context = await _page_data(pool, slug)
        return None if context is None else _render(request, "status_page.html", context)

    body = await html.get(("page", slug), fill) if SLUG.fullmatch(slug) else None
    return _not_found(request, slug) if body is None else _send(request, body)


@get("/status/{slug:str}/embed", include_in_schema=False, media_type=MediaType.HTML, opt=_OPT)
async def status_embed(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool, html: HTML
) -> Response[bytes]:
    async def fill() -> Body | None:
        detail, incidents = await asyncio.gather(
            pages.read_page(pool, _NO_LONG_CACHE, slug, long=False, story=False),
            fetch_all(pool, q.PAGE_RECENT_INCIDENTS, {"slug": slug}),
        )
        if detail is None:
            return None
        open_incidents = [incident_from_row(r) for r in incidents if r["status"] != "resolved"]
        context = {
            "page": {"name": detail.name, "slug": detail.slug},
            "status": page_status(detail.endpoints, open_incidents),
            "endpoints": [
                {"id": ep.id, "name": ep.name, "state": _state(_endpoint_key(ep))}
                for ep in detail.endpoints
            ],
            "links": _links(detail.slug),
        }
        return _render(request, "status_embed.html", context)

    body = await html.get(("embed", slug), fill) if SLUG.fullmatch(slug) else None
    if body is None:
        return _not_found(request, slug)
    return _send(request, body, csp=CSP_EMBED)


@get("/static/{name:str}", include_in_schema=False, opt=_OPT)
async def static_asset(name: FromPath[str], request: Request[Any, Any, Any]) -> Response[bytes]:
    """The stylesheet and script at their content-hashed names; any other name is a 404."""
    asset = _BY_URL.get(name)
    if asset is None:
        return Response(
            b"not found\n", status_code=404, media_type=MediaType.TEXT,
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )  # fmt: skip
    return _send(
        request,
        asset,
        media_type=asset.media_type,
        cache_control="public, max-age=31536000, immutable",
        csp=None,
    )


ROUTES = [status_index, status_page, status_embed, static_asset]

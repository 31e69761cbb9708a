"""Pages: list, read with live status and uptimes, timeline, create, rename, delete."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from services.api import queries as q
from services.api.audit import note
from services.api.auth import page_of, scope, strict_body
from services.api.cache import TTLCache, as_float
from services.api.deps import Pool
from services.api.errors import ApiError, errors, is_slug, page_slug
from services.api.models import (
    Check,
    Endpoint,
    Incident,
    Maintenance,
    Page,
    PageCreate,
    PageDetail,
    PageEndpoint,
    PageStatus,
    PageUpdate,
    Success,
    Uptimes,
    check_picker,
    endpoint_picker,
    incident_from_row,
    maintenance_from_row,
    patch_of,
    sent_fields,
)
from services.api.params import TIMELINE_LIMIT, Before, TimelineLimit, parse_before
from shared.db import execute, fetch_all, fetch_rows, fetch_structs
from shared.page_status import indicator

# An endpoint's 7, 30 and 90-day uptimes, by endpoint id.
Long = dict[int, tuple[float | None, float | None, float | None]]
# A page's unresolved incidents and coming maintenance windows.
Story = tuple[list[Incident], list[Maintenance]]
LONG_TTL = 5.0  # seconds a large page's 7/30/90-day figures are reused
LONG_CACHE_FROM = 50  # active endpoints: smaller pages are always computed afresh
UPCOMING_DAYS = 7  # a page lists the windows in progress and those starting this soon

Hours = Annotated[
    int, QueryParameter(ge=1, le=2160, description="How many hours back (1 to 2,160)")
]


def _not_found(slug: str) -> ApiError:
    return ApiError(404, f"no page with slug {slug!r}")


@get("/api/pages", tags=["pages"], summary="Every page, by id", responses=errors())
async def list_pages(pool: Pool) -> list[Page]:
    return [Page(**row) for row in await fetch_all(pool, q.LIST_PAGES)]


@get(
    "/api/pages/{slug:str}",
    tags=["pages"],
    summary="A page with its endpoints (latest check, uptimes), status, open incidents"
    " and maintenance windows",
    responses=errors(404),
)
async def get_page(
    slug: FromPath[str],
    pool: Pool,
    long_uptimes: NamedDependency[TTLCache[Long]],
    stories: NamedDependency[TTLCache[Story]],
) -> PageDetail:
    page = await read_page(pool, long_uptimes, slug, stories=stories)
    if page is None:
        raise _not_found(slug)
    return page


async def read_page(
    pool: Pool,
    long_uptimes: TTLCache[Long],
    slug: str,
    *,
    long: bool = True,
    story: bool = True,
    stories: TTLCache[Story] | None = None,
) -> PageDetail | None:
    """The page with its active endpoints (None when unknown); the status page reads it too.

    ``long=False`` leaves the 7/30/90-day figures out (null), one statement fewer;
    ``story=False`` the open incidents and coming windows (empty), two fewer. All
    of it is read at once (one connection per statement), the 7/30/90-day
    figures after: four statements, whatever the size. A page of LONG_CACHE_FROM
    active endpoints or more reuses its incidents and windows (``stories``) for
    LONG_TTL seconds too, as its 7/30/90-day figures; a write through this
    process empties both.
    """
    if not is_slug(slug):  # no query: a NUL would be the driver's error
        return None
    told: Story | None = stories.get(slug) if stories is not None and story else None
    status = fetch_rows(pool, q.PAGE_STATUS, {"slug": slug})
    story_rows: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None
    if story and told is None:
        (names, rows), *read = await asyncio.gather(
            status,
            fetch_all(pool, q.PAGE_OPEN_INCIDENTS, {"slug": slug}),
            fetch_all(pool, q.PAGE_MAINTENANCES, {"slug": slug, "days": UPCOMING_DAYS}),
        )
        story_rows = (read[0], read[1])
    else:
        names, rows = await status
    if not rows:
        return None
    first, ident = rows[0], names.index("id")
    rows = [row for row in rows if row[ident] is not None]
    if told is None:
        incident_rows, window_rows = story_rows or ([], [])
        told = (
            [incident_from_row(row) for row in incident_rows],
            [maintenance_from_row(row) for row in window_rows],
        )
        if story_rows and stories is not None and len(rows) >= LONG_CACHE_FROM:
            stories.put(slug, told)
    open_incidents, windows = told
    figures = {}
    if rows and long:
        page_id = first[names.index("p_id")]
        figures = await _long_uptimes(pool, long_uptimes, page_id, len(rows))
    endpoint = _page_endpoints(names)
    endpoints = [endpoint(row, figures.get(row[ident])) for row in rows]
    level, description = indicator(
        [(e.status, e.in_maintenance) for e in endpoints], [i.impact for i in open_incidents]
    )
    return PageDetail(
        id=first[names.index("p_id")],
        slug=first[names.index("page_slug")],
        name=first[names.index("page_name")],
        created_at=first[names.index("page_created_at")],
        endpoints=endpoints,
        status=PageStatus(indicator=level, description=description),
        incidents=open_incidents,
        maintenances=windows,
    )


async def _long_uptimes(pool: Pool, cache: TTLCache[Long], page_id: int, endpoints: int) -> Long:
    """7/30/90 days: daily rollups (the missing days computed, never stored) plus raw edges.

    A page of LONG_CACHE_FROM active endpoints or more (about 18 ms of database
    time at 100) reuses its figures for LONG_TTL seconds; smaller pages are
    always computed afresh, so they follow new history at once.
    """
    large = endpoints >= LONG_CACHE_FROM
    cached = cache.get(page_id) if large else None
    if cached is not None:
        return cached
    rows = await fetch_all(pool, q.PAGE_LONG_UPTIMES, {"page_id": page_id})
    long = {
        r["endpoint_id"]: (
            as_float(r["uptime_7d"]),
            as_float(r["uptime_30d"]),
            as_float(r["uptime_90d"]),
        )
        for r in rows
    }
    if large:
        cache.put(page_id, long)
    return long


_STATUS_AT = Endpoint.__struct_fields__.index("status")


def _page_endpoints(
    names: list[str],
) -> Callable[[tuple[Any, ...], tuple[Any, Any, Any] | None], PageEndpoint]:
    """Builds a PageEndpoint from a PAGE_STATUS row (columns ``names``) and its 7/30/90 days.

    The columns are looked up once per result; each row is then picked by
    position into the Structs' positional constructors.
    """
    fields = endpoint_picker(names)
    latest_of = check_picker(names, "l_", "id")
    latest_id, day_at = names.index("l_id"), names.index("uptime_24h")

    def build(row: tuple[Any, ...], long: tuple[Any, Any, Any] | None) -> PageEndpoint:
        latest = latest_of(row) if row[latest_id] is not None else None
        day = row[day_at]
        d7, d30, d90 = long or (None, None, None)
        values = fields(row)
        values[_STATUS_AT] = values[_STATUS_AT] or (latest.status if latest else None)
        # PageEndpoint's own fields follow Endpoint's: latest, uptime, uptimes
        values += (
            latest,
            "100.00" if day is None else f"{day:.2f}",
            Uptimes(as_float(day), d7, d30, d90),
        )
        return PageEndpoint(*values)

    return build


@get(
    "/api/pages/{slug:str}/timeline",
    tags=["pages"],
    summary="The checks of the page's active endpoints in the last hours, newest first",
    description=(
        "At most `limit` rows; when more are left, the `Link` header names the next page"
        " (the same query with `before` set to the last row's `checkedAt`)."
    ),
    response_headers=[
        ResponseHeader(
            name="Link",
            description='<next page>; rel="next", when rows are left out',
            documentation_only=True,
        )
    ],
    responses=errors(400, 404),
)
async def timeline(
    slug: FromPath[str],
    pool: Pool,
    hours: Hours = 24,
    limit: TimelineLimit = TIMELINE_LIMIT,
    before: Before = None,
) -> Response[list[Check]]:
    params = {
        "slug": page_slug(slug),
        "hours": hours,
        "before": parse_before(before),
        "rows": limit + 1,
    }
    # planned for its parameters each time: a generic plan (psycopg prepares a
    # statement after five runs) takes the row cap for a small one, ~1.6x slower
    rows = await fetch_structs(pool, q.PAGE_TIMELINE, params, Check, prepare=False)
    if not rows:
        raise _not_found(slug)
    checks = [check for check in rows if check is not None]
    if len(checks) <= limit:
        return Response(checks)
    page = _whole_instants(checks, limit)
    after = page[-1].checked_at.isoformat().replace("+00:00", "Z")
    query = urlencode({"hours": hours, "limit": limit, "before": after})
    return Response(page, headers={"Link": f'</api/pages/{slug}/timeline?{query}>; rel="next"'})


def _whole_instants(checks: list[Check], limit: int) -> list[Check]:
    """The first ``limit`` checks, less the rows of a last instant the limit cuts in two.

    The next page starts before the last row's ``checkedAt``; rows of that same
    instant left out here would be skipped, so they all go to the next page
    (unless every row shares it, when the cut stands).
    """
    page, cut = checks[:limit], checks[limit].checked_at
    whole = [check for check in page if check.checked_at != cut]
    return whole or page


@post(
    "/api/pages",
    tags=["pages"],
    summary="Create a page",
    before_request=strict_body(PageCreate),
    **scope("write", 400, 409, 413),  # a new page: keys limited to pages may not
)
async def create_page(data: JSONBody[PageCreate], pool: Pool) -> Page:
    rows = await execute(pool, q.INSERT_PAGE, {"slug": data.slug, "name": data.name})
    return Page(**rows[0])


@patch(
    "/api/pages/{slug:str}",
    tags=["pages"],
    summary="Rename a page or change its slug",
    before_request=strict_body(PageUpdate),
    **scope("write", 400, 404, 409, 413, page=page_of("slug", q.PAGE_BY_SLUG)),
)
async def update_page(slug: FromPath[str], data: JSONBody[PageUpdate], pool: Pool) -> Page:
    params = {"slug": page_slug(slug), "patch": patch_of(sent_fields(data))}
    rows = await execute(pool, q.UPDATE_PAGE, params)
    if not rows:
        raise _not_found(slug)
    return Page(**rows[0])


@delete(
    "/api/pages/{slug:str}",
    tags=["pages"],
    summary="Delete a page with its endpoints, history and incidents",
    status_code=200,
    **scope("write", 404, page=page_of("slug", q.PAGE_BY_SLUG)),
)
async def delete_page(slug: FromPath[str], pool: Pool, request: Request) -> Success:
    rows = await execute(pool, q.DELETE_PAGE, {"slug": page_slug(slug)})
    if not rows:
        raise _not_found(slug)
    note(request.scope, target=f"page {rows[0]['id']}")  # by id, as its create and PATCH rows
    return Success()

"""Atlassian Statuspage's public v2 JSON, per page, under ``/status/{slug}/api/v2/``.

Grafana's Statuspage data source, Prometheus exporters and status aggregators
read this format, so the shapes are Statuspage's, field by field: snake_case
(not our camelCase), ids as strings, ISO-8601 times. Public, and readable from
any origin (``Access-Control-Allow-Origin: *``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import msgspec
from litestar import Request, get
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath

from services.api import queries as q
from services.api.deps import Pool
from services.api.errors import errors
from services.api.models import Incident, Maintenance
from services.api.story import Component, Story, load
from shared.page_status import component_status

BASE = "/status/{slug:str}/api/v2"


class Sp(msgspec.Struct):
    """Base of the Statuspage shapes: their own snake_case wire names."""


class SpPage(Sp):
    id: str
    name: str
    url: str
    time_zone: str
    updated_at: datetime


class SpStatus(Sp):
    indicator: str
    description: str


class SpComponent(Sp):
    id: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    position: int
    description: str | None
    showcase: bool
    start_date: date
    group_id: None
    page_id: str
    group: bool
    only_show_if_degraded: bool


class SpUpdate(Sp):
    id: str
    incident_id: str
    status: str
    body: str
    created_at: datetime
    updated_at: datetime
    display_at: datetime
    affected_components: list[dict[str, str]] | None


class SpIncident(Sp):
    id: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    started_at: datetime
    shortlink: str
    page_id: str
    incident_updates: list[SpUpdate]
    components: list[SpComponent]


class SpMaintenance(SpIncident):
    scheduled_for: datetime
    scheduled_until: datetime


class StatusBody(Sp):
    page: SpPage
    status: SpStatus


class ComponentsBody(Sp):
    page: SpPage
    components: list[SpComponent]


class IncidentsBody(Sp):
    page: SpPage
    incidents: list[SpIncident]


class MaintenancesBody(Sp):
    page: SpPage
    scheduled_maintenances: list[SpMaintenance]


class SummaryBody(Sp):
    page: SpPage
    status: SpStatus
    components: list[SpComponent]
    incidents: list[SpIncident]
    scheduled_maintenances: list[SpMaintenance]


# -- our rows in Statuspage's shapes ------------------------------------------------


def page_url(request: Request[Any, Any, Any], slug: str) -> str:
    """The page's public address: under PUBLIC_URL when set, else where it was asked."""
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + f"/status/{slug}"


def sp_page(story: Story, url: str) -> SpPage:
    return SpPage(
        id=str(story.page_id),
        name=story.name,
        url=url,
        time_zone="Etc/UTC",
        updated_at=story.updated_at,
    )


def sp_status(story: Story) -> SpStatus:
    level, description = story.status()
    return SpStatus(indicator=level, description=description)


def sp_component(story: Story, c: Component) -> SpComponent:
    return SpComponent(
        id=str(c.id),
        name=c.name,
        status=component_status(c.status, c.in_maintenance),
        created_at=c.created_at,
        updated_at=c.updated_at,
        position=c.position,
        description=None,
        showcase=True,
        start_date=c.created_at.date(),
        group_id=None,
        page_id=str(story.page_id),
        group=False,
        only_show_if_degraded=False,
    )


def _components(story: Story, ids: list[int]) -> list[SpComponent]:
    found = (story.component(i) for i in ids)
    return [sp_component(story, c) for c in found if c is not None]


def sp_incident(story: Story, incident: Incident, url: str) -> SpIncident:
    ident = str(incident.id)
    updates = [
        SpUpdate(
            id=str(u.id),
            incident_id=ident,
            status=u.status,
            body=u.message or "",
            created_at=u.created_at,
            updated_at=u.created_at,
            display_at=u.created_at,
            affected_components=None,
        )
        for u in incident.updates
    ]
    monitoring = [u.created_at for u in incident.updates if u.status == "monitoring"]
    return SpIncident(
        id=ident,
        name=incident.title,
        status=incident.status,
        impact=incident.impact,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        monitoring_at=min(monitoring) if monitoring else None,
        resolved_at=incident.resolved_at,
        started_at=incident.created_at,
        shortlink=f"{url}#incident-{ident}",
        page_id=str(story.page_id),
        incident_updates=updates,
        components=_components(story, incident.affected_endpoint_ids),
    )


def sp_maintenance(story: Story, m: Maintenance, url: str) -> SpMaintenance:
    ident = str(m.id)
    updates = []
    if m.description:  # the announcement is the window's one update
        updates.append(
            SpUpdate(
                id=ident,
                incident_id=ident,
                status=m.status,
                body=m.description,
                created_at=m.created_at,
                updated_at=m.updated_at,
                display_at=m.created_at,
                affected_components=None,
            )
        )
    return SpMaintenance(
        id=ident,
        name=m.title,
        status=m.status,
        impact="maintenance",
        created_at=m.created_at,
        updated_at=m.updated_at,
        monitoring_at=None,
        resolved_at=m.updated_at if m.status == "completed" else None,
        started_at=m.starts_at,
        shortlink=f"{url}#maintenance-{ident}",
        page_id=str(story.page_id),
        incident_updates=updates,
        components=_components(story, m.endpoint_ids),
        # the current or next occurrence; a completed window: its first one
        scheduled_for=m.next_starts_at or m.starts_at,
        scheduled_until=m.next_ends_at or m.ends_at,
    )


_DOC: dict[str, Any] = {
    "tags": ["statuspage"],
    "responses": errors(404),
    "response_headers": [
        ResponseHeader(name="Access-Control-Allow-Origin", value="*", description="Any origin")
    ],
}


@get(f"{BASE}/summary.json", summary="Statuspage v2 summary", **_DOC)
async def summary(slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool) -> SummaryBody:
    story = await load(
        pool,
        slug,
        incidents=q.PAGE_OPEN_INCIDENTS,
        maintenances=q.PAGE_MAINTENANCES,
        open_incidents=True,
    )
    url = page_url(request, slug)
    body = SummaryBody(
        page=sp_page(story, url),
        status=sp_status(story),
        components=[sp_component(story, c) for c in story.components],
        incidents=[sp_incident(story, i, url) for i in story.incidents],
        scheduled_maintenances=[sp_maintenance(story, m, url) for m in story.maintenances],
    )
    return body


@get(f"{BASE}/status.json", summary="Statuspage v2 status", **_DOC)
async def status(slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool) -> StatusBody:
    story = await load(pool, slug, open_incidents=True)
    body = StatusBody(page=sp_page(story, page_url(request, slug)), status=sp_status(story))
    return body


@get(f"{BASE}/components.json", summary="Statuspage v2 components", **_DOC)
async def components(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> ComponentsBody:
    story = await load(pool, slug)
    body = ComponentsBody(
        page=sp_page(story, page_url(request, slug)),
        components=[sp_component(story, c) for c in story.components],
    )
    return body


async def _incidents(
    slug: str, request: Request[Any, Any, Any], pool: Pool, statement: Any
) -> IncidentsBody:
    story = await load(pool, slug, incidents=statement)
    url = page_url(request, slug)
    body = IncidentsBody(
        page=sp_page(story, url), incidents=[sp_incident(story, i, url) for i in story.incidents]
    )
    return body


@get(f"{BASE}/incidents.json", summary="Statuspage v2 incidents: the 50 newest", **_DOC)
async def incidents(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> IncidentsBody:
    return await _incidents(slug, request, pool, q.PAGE_NEWEST_INCIDENTS)


@get(f"{BASE}/incidents/unresolved.json", summary="Statuspage v2 unresolved incidents", **_DOC)
async def unresolved(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> IncidentsBody:
    return await _incidents(slug, request, pool, q.PAGE_OPEN_INCIDENTS)


async def _maintenances(
    slug: str,
    request: Request[Any, Any, Any],
    pool: Pool,
    statement: Any,
    only: Literal["scheduled", "in_progress"] | None = None,
) -> MaintenancesBody:
    story = await load(pool, slug, maintenances=statement)
    url = page_url(request, slug)
    body = MaintenancesBody(
        page=sp_page(story, url),
        scheduled_maintenances=[
            sp_maintenance(story, m, url)
            for m in story.maintenances
            if only is None or m.status == only
        ],
    )
    return body


@get(
    f"{BASE}/scheduled-maintenances.json",
    summary="Statuspage v2 scheduled maintenances: the 50 newest",
    **_DOC,
)
async def scheduled_maintenances(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> MaintenancesBody:
    return await _maintenances(slug, request, pool, q.PAGE_ALL_MAINTENANCES)


@get(
    f"{BASE}/scheduled-maintenances/upcoming.json",
    summary="Statuspage v2 upcoming maintenances",
    **_DOC,
)
async def upcoming(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> MaintenancesBody:
    return await _maintenances(slug, request, pool, q.PAGE_MAINTENANCES, "scheduled")


@get(
    f"{BASE}/scheduled-maintenances/active.json",
    summary="Statuspage v2 maintenances in progress",
    **_DOC,
)
async def active(
    slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool
) -> MaintenancesBody:
    return await _maintenances(slug, request, pool, q.PAGE_MAINTENANCES, "in_progress")


ROUTES = [
    summary,
    status,
    components,
    incidents,
    unresolved,
    scheduled_maintenances,
    upcoming,
    active,
]

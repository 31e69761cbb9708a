"""A page's public story, read once for the Statuspage JSON, the feeds (and HTML).

Each part is one named statement (queries.py); ``load`` runs the ones asked
for at the same time, so a route runs a fixed number of statements.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, LiteralString

from services.api import queries as q
from services.api.deps import Pool
from services.api.errors import ApiError
from services.api.models import Incident, Maintenance, incident_from_row, maintenance_from_row
from shared.db import fetch_all
from shared.page_status import indicator

RECENT = 50  # incidents.json and scheduled-maintenances.json: the newest this many


@dataclass
class Component:
    """An active endpoint as the page shows it."""

    id: int
    name: str
    status: str | None
    in_maintenance: bool
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass
class Story:
    page_id: int
    slug: str
    name: str
    updated_at: datetime
    components: list[Component]
    incidents: list[Incident] = field(default_factory=list)
    maintenances: list[Maintenance] = field(default_factory=list)
    open_incidents: list[Incident] | None = None  # for the indicator, when loaded

    def component(self, ident: int) -> Component | None:
        return next((c for c in self.components if c.id == ident), None)

    def status(self) -> tuple[str, str]:
        """The page's indicator and description (from the open incidents, if loaded)."""
        impacts = [i.impact for i in self.open_incidents or []]
        return indicator([(c.status, c.in_maintenance) for c in self.components], impacts)


async def load(
    pool: Pool,
    slug: str,
    *,
    incidents: LiteralString | None = None,
    maintenances: LiteralString | None = None,
    open_incidents: bool = False,
    days: int | None = None,
) -> Story:
    """The page's components, plus the incidents and windows of the statements named."""
    params: dict[str, Any] = {"slug": slug, "limit": RECENT, "days": days}
    statements: list[LiteralString] = [q.PAGE_COMPONENTS]
    for statement in (incidents, maintenances):
        if statement is not None:
            statements.append(statement)
    if open_incidents and incidents != q.PAGE_OPEN_INCIDENTS:
        statements.append(q.PAGE_OPEN_INCIDENTS)
    results = await asyncio.gather(*(fetch_all(pool, s, params) for s in statements))
    found = dict(zip(statements, results, strict=True))
    rows = found[q.PAGE_COMPONENTS]
    if not rows:
        raise ApiError(404, f"no page with slug {slug!r}")
    first = rows[0]
    story = Story(
        page_id=first["p_id"],
        slug=first["page_slug"],
        name=first["page_name"],
        updated_at=first["page_updated_at"],
        components=[
            Component(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                in_maintenance=r["in_maintenance"],
                position=n,
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for n, r in enumerate((r for r in rows if r["id"] is not None), start=1)
        ],
    )
    if incidents is not None:
        story.incidents = [incident_from_row(r) for r in found[incidents]]
    if maintenances is not None:
        story.maintenances = [maintenance_from_row(r) for r in found[maintenances]]
    if open_incidents:
        story.open_incidents = [incident_from_row(r) for r in found[q.PAGE_OPEN_INCIDENTS]]
    return story

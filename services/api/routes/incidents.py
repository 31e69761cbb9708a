"""Incidents: a page's log of what went wrong and how it was handled."""

from __future__ import annotations

from litestar import delete, get, patch, post
from litestar.params import JSONBody

from services.api import queries as q
from services.api.auth import page_of, scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, errors, parse_id
from services.api.models import (
    Incident,
    IncidentCreate,
    IncidentUpdate,
    Success,
    patch_of,
    sent_fields,
)
from services.api.params import IdPath, PageIdQuery
from shared.db import execute, fetch_all

IncidentId = IdPath


def _not_found(incident_id: int) -> ApiError:
    return ApiError(404, f"no incident with id {incident_id}")


@get(
    "/api/incidents",
    tags=["incidents"],
    summary="A page's incidents, newest first (an unknown page has none)",
    responses=errors(400),
)
async def list_incidents(page_id: PageIdQuery, pool: Pool) -> list[Incident]:
    ident = parse_id(page_id, "page_id")
    rows = await fetch_all(pool, q.LIST_INCIDENTS, {"page_id": ident})
    return [Incident(**row) for row in rows]


@post(
    "/api/incidents",
    tags=["incidents"],
    summary="Open an incident (one created as resolved is resolved at once)",
    before_request=strict_body(IncidentCreate),
    **scope("incidents", 400, 404, 413, page=page_of(body="page_id")),
)
async def create_incident(data: JSONBody[IncidentCreate], pool: Pool) -> Incident:
    params = {
        "page_id": data.page_id,
        "title": data.title,
        "description": data.description or None,
        "status": data.status,
    }
    rows = await execute(pool, q.INSERT_INCIDENT, params)
    return Incident(**rows[0])


@patch(
    "/api/incidents/{incident_id:str}",
    tags=["incidents"],
    summary="Change an incident's title, description or status",
    before_request=strict_body(IncidentUpdate),
    **scope("incidents", 400, 404, 413, page=page_of("incident_id", q.INCIDENT_PAGE)),
)
async def update_incident(
    incident_id: IncidentId,
    data: JSONBody[IncidentUpdate],
    pool: Pool,
) -> Incident:
    ident = parse_id(incident_id, "incident id")
    fields = sent_fields(data)
    if "description" in fields:  # an empty description is stored as none
        fields["description"] = fields["description"] or None
    rows = await execute(pool, q.UPDATE_INCIDENT, {"id": ident, "patch": patch_of(fields)})
    if not rows:
        raise _not_found(ident)
    return Incident(**rows[0])


@delete(
    "/api/incidents/{incident_id:str}",
    tags=["incidents"],
    summary="Delete an incident",
    status_code=200,
    **scope("write", 400, 404, page=page_of("incident_id", q.INCIDENT_PAGE)),
)
async def delete_incident(incident_id: IncidentId, pool: Pool) -> Success:
    ident = parse_id(incident_id, "incident id")
    if not await execute(pool, q.DELETE_INCIDENT, {"id": ident}):
        raise _not_found(ident)
    return Success()

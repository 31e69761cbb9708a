"""Incidents: a page's log of what went wrong, how it was handled, and its timeline."""

from __future__ import annotations

from typing import Any

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
    TimelineUpdate,
    TimelineUpdateCreate,
    incident_from_row,
    patch_of,
    sent_fields,
)
from services.api.params import IdPath, PageIdQuery
from shared.db import execute, fetch_all, fetch_one

IncidentId = IdPath
UpdateId = IdPath


# A write to an incident (or its timeline) touches the incident's page.
INCIDENT_OF_PATH = page_of("incident_id", q.INCIDENT_PAGE)


def _not_found(incident_id: int) -> ApiError:
    return ApiError(404, f"no incident with id {incident_id}")


def foreign_endpoint(endpoint_id: int) -> ApiError:
    """An id that names another page's (or no) endpoint: a 400, as issue 9 states.

    JSON Schema cannot say "an endpoint of this page", so this is one of the
    exceptions to "a valid body is accepted" (tests/api/schemathesis.toml).
    """
    return ApiError(400, f"endpoint {endpoint_id} is not an endpoint of this page")


async def _read(pool: Pool, ident: int) -> Incident:
    row = await fetch_one(pool, q.GET_INCIDENT, {"id": ident})
    if row is None:  # deleted meanwhile
        raise _not_found(ident)
    return incident_from_row(row)


@get(
    "/api/incidents",
    tags=["incidents"],
    summary="A page's incidents with their timelines, newest first (an unknown page has none)",
    responses=errors(400),
)
async def list_incidents(page_id: PageIdQuery, pool: Pool) -> list[Incident]:
    ident = parse_id(page_id, "page_id")
    rows = await fetch_all(pool, q.LIST_INCIDENTS, {"page_id": ident})
    return [incident_from_row(row) for row in rows]


@post(
    "/api/incidents",
    tags=["incidents"],
    summary="Open an incident; its description is the first update of its timeline",
    before_request=strict_body(IncidentCreate),
    **scope("incidents", 400, 404, 413, page=page_of(body="page_id")),
)
async def create_incident(data: JSONBody[IncidentCreate], pool: Pool) -> Incident:
    params = {
        "page_id": data.page_id,
        "title": data.title,
        "description": data.description or None,
        "status": data.status,
        "impact": data.impact,
        "postmortem": data.postmortem or None,
        "endpoint_ids": data.affected_endpoint_ids,
    }
    row = (await execute(pool, q.INSERT_INCIDENT, params))[0]
    if row["page_found"] is None:
        raise ApiError(404, f"no page with id {data.page_id}")
    if row["bad_endpoint"] is not None:
        raise foreign_endpoint(row["bad_endpoint"])
    return await _read(pool, row["id"])


def _patch_params(ident: int, data: IncidentUpdate) -> dict[str, Any]:
    """The sent columns as the statement's JSON patch; the endpoints apart."""
    fields = sent_fields(data)
    for name in ("description", "postmortem"):  # empty is stored as none
        if name in fields:
            fields[name] = fields[name] or None
    endpoints = fields.pop("affected_endpoint_ids", None)
    return {
        "id": ident,
        "patch": patch_of(fields),
        "set_endpoints": endpoints is not None,
        "endpoint_ids": endpoints or [],
    }


@patch(
    "/api/incidents/{incident_id:str}",
    tags=["incidents"],
    summary="Change an incident (a status change also adds an update to its timeline)",
    before_request=strict_body(IncidentUpdate),
    **scope("incidents", 400, 404, 413, page=INCIDENT_OF_PATH),
)
async def update_incident(
    incident_id: IncidentId,
    data: JSONBody[IncidentUpdate],
    pool: Pool,
) -> Incident:
    ident = parse_id(incident_id, "incident id")
    row = (await execute(pool, q.UPDATE_INCIDENT, _patch_params(ident, data)))[0]
    if row["found"] is None:
        raise _not_found(ident)
    if row["bad_endpoint"] is not None:
        raise foreign_endpoint(row["bad_endpoint"])
    return await _read(pool, ident)


@delete(
    "/api/incidents/{incident_id:str}",
    tags=["incidents"],
    summary="Delete an incident",
    status_code=200,
    **scope("write", 400, 404, page=INCIDENT_OF_PATH),
)
async def delete_incident(incident_id: IncidentId, pool: Pool) -> Success:
    ident = parse_id(incident_id, "incident id")
    if not await execute(pool, q.DELETE_INCIDENT, {"id": ident}):
        raise _not_found(ident)
    return Success()


@post(
    "/api/incidents/{incident_id:str}/updates",
    tags=["incidents"],
    summary="Add an update to the timeline; the incident takes its status",
    before_request=strict_body(TimelineUpdateCreate),
    **scope("incidents", 400, 404, 413, page=INCIDENT_OF_PATH),
)
async def add_update(
    incident_id: IncidentId, data: JSONBody[TimelineUpdateCreate], pool: Pool
) -> TimelineUpdate:
    ident = parse_id(incident_id, "incident id")
    params = {"id": ident, "status": data.status or None, "message": data.message}
    rows = await execute(pool, q.INSERT_INCIDENT_UPDATE, params)
    if not rows:
        raise _not_found(ident)
    return TimelineUpdate(**rows[0])


@delete(
    "/api/incidents/{incident_id:str}/updates/{update_id:str}",
    tags=["incidents"],
    summary="Remove a mistaken update from the timeline",
    status_code=200,
    **scope("incidents", 400, 404, page=INCIDENT_OF_PATH),
)
async def delete_update(incident_id: IncidentId, update_id: UpdateId, pool: Pool) -> Success:
    ident = parse_id(incident_id, "incident id")
    update = parse_id(update_id, "update id")
    if not await execute(pool, q.DELETE_INCIDENT_UPDATE, {"id": ident, "update_id": update}):
        raise ApiError(404, f"incident {ident} has no update with id {update}")
    return Success()

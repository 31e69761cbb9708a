"""Maintenance windows: planned work on a page's endpoints, one-off or recurring."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import delete, get, patch, post
from litestar.params import JSONBody
from msgspec import UNSET

from services.api import queries as q
from services.api.auth import page_of, scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, errors, parse_id
from services.api.models import (
    Maintenance,
    MaintenanceCreate,
    MaintenanceUpdate,
    Success,
    maintenance_from_row,
    sent_fields,
)
from services.api.params import IdPath, PageIdQuery
from services.api.routes.incidents import foreign_endpoint
from shared.db import execute, fetch_all, fetch_one
from shared.maintenance import WindowError, check_window, expand

MaintenanceId = IdPath
# A write to a window touches its page (announcing work is the incidents scope's).
MAINTENANCE_OF_PATH = page_of("maintenance_id", q.MAINTENANCE_PAGE)
PATCH_ATTEMPTS = 5  # a PATCH that raced another write starts over this often


def _not_found(ident: int) -> ApiError:
    return ApiError(404, f"no maintenance with id {ident}")


def _window(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a (merged) window and expand its occurrences: the write's parameters."""
    try:
        check_window(values["starts_at"], values["ends_at"], values["rrule"], values["timezone"])
        occurrences = expand(
            values["starts_at"],
            values["ends_at"],
            values["rrule"],
            values["timezone"],
            since=values["starts_at"],
            now=datetime.now(UTC),
        )
    except WindowError as exc:
        raise ApiError(400, str(exc)) from None
    endpoint_ids = values["endpoint_ids"]
    return {
        **values,
        "description": values["description"] or None,
        "all_endpoints": endpoint_ids is None,
        "endpoint_ids": endpoint_ids or [],
        **occurrences,
    }


async def _read(pool: Pool, ident: int) -> Maintenance:
    row = await fetch_one(pool, q.GET_MAINTENANCE, {"id": ident})
    if row is None:
        raise _not_found(ident)
    return maintenance_from_row(row)


@get(
    "/api/maintenances",
    tags=["maintenances"],
    summary="A page's maintenance windows: in progress, then upcoming, then completed",
    responses=errors(400),
)
async def list_maintenances(page_id: PageIdQuery, pool: Pool) -> list[Maintenance]:
    ident = parse_id(page_id, "page_id")
    rows = await fetch_all(pool, q.LIST_MAINTENANCES, {"page_id": ident})
    return [maintenance_from_row(row) for row in rows]


@get(
    "/api/maintenances/{maintenance_id:str}",
    tags=["maintenances"],
    summary="A maintenance window with its status and current or next occurrence",
    responses=errors(400, 404),
)
async def get_maintenance(maintenance_id: MaintenanceId, pool: Pool) -> Maintenance:
    return await _read(pool, parse_id(maintenance_id, "maintenance id"))


@post(
    "/api/maintenances",
    tags=["maintenances"],
    summary="Announce a maintenance window (one-off, or recurring by an RRULE)",
    before_request=strict_body(MaintenanceCreate),
    **scope("incidents", 400, 404, 413, page=page_of(body="page_id")),
)
async def create_maintenance(data: JSONBody[MaintenanceCreate], pool: Pool) -> Maintenance:
    values = {f: getattr(data, f) for f in MaintenanceCreate.__struct_fields__}
    row = (await execute(pool, q.INSERT_MAINTENANCE, _window(values)))[0]
    if row["page_found"] is None:
        raise ApiError(404, f"no page with id {data.page_id}")
    if row["bad_endpoint"] is not None:
        raise foreign_endpoint(row["bad_endpoint"])
    return await _read(pool, row["id"])


def _ends_current(current: dict[str, Any], data: MaintenanceUpdate) -> bool:
    """Whether this PATCH ends the occurrence in progress of a recurring window early."""
    rule = current["rrule"] if data.rrule is UNSET else data.rrule
    ends_at = data.ends_at
    if rule is None or ends_at is UNSET or current["status"] != "in_progress":
        return False
    return bool(current["next_starts_at"] < ends_at <= current["next_ends_at"])


@patch(
    "/api/maintenances/{maintenance_id:str}",
    tags=["maintenances"],
    summary="Change a window (ends_at = now ends it, or a recurring one's current occurrence)",
    before_request=strict_body(MaintenanceUpdate),
    **scope("incidents", 400, 404, 413, page=MAINTENANCE_OF_PATH),
)
async def update_maintenance(
    maintenance_id: MaintenanceId, data: JSONBody[MaintenanceUpdate], pool: Pool
) -> Maintenance:
    ident = parse_id(maintenance_id, "maintenance id")
    sent = sent_fields(data)
    for _attempt in range(PATCH_ATTEMPTS):
        current = await fetch_one(pool, q.GET_MAINTENANCE, {"id": ident})
        if current is None:
            raise _not_found(ident)
        ending = _ends_current(current, data)
        values = {f: current[f] for f in MaintenanceUpdate.__struct_fields__}
        values["endpoint_ids"] = None if current["all_endpoints"] else current["endpoint_ids"]
        values.update({k: v for k, v in sent.items() if not (ending and k == "ends_at")})
        params = {**_window(values), "id": ident, "page_id": current["page_id"]}
        row = (
            await execute(pool, q.UPDATE_MAINTENANCE, {**params, "seen": current["updated_at"]})
        )[0]
        if row["bad_endpoint"] is not None:
            raise foreign_endpoint(row["bad_endpoint"])
        if row["id"] is None:
            continue  # changed (or deleted) since it was read: start over
        if ending:
            await execute(pool, q.END_OCCURRENCE, {"id": ident, "ends_at": data.ends_at})
        return await _read(pool, ident)
    raise ApiError(503, "the maintenance window is being changed by another request; try again")


@delete(
    "/api/maintenances/{maintenance_id:str}",
    tags=["maintenances"],
    summary="Delete a maintenance window (past occurrences too)",
    status_code=200,
    **scope("write", 400, 404, page=MAINTENANCE_OF_PATH),
)
async def delete_maintenance(maintenance_id: MaintenanceId, pool: Pool) -> Success:
    ident = parse_id(maintenance_id, "maintenance id")
    if not await execute(pool, q.DELETE_MAINTENANCE, {"id": ident}):
        raise _not_found(ident)
    return Success()

"""The audit log, newest first (admin only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from services.api import queries as q
from services.api.auth import scope
from services.api.deps import Pool
from services.api.errors import ApiError, parse_id
from services.api.models import DATETIME_PATTERN, AuditEntry
from shared.db import fetch_all

Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="How many rows (1 to 1,000)")]
Before = Annotated[
    str | None,
    QueryParameter(
        description="Only rows older than this: a row id, or an ISO 8601 time",
        schema_extra={"pattern": f"^(?:0*[1-9][0-9]{{0,17}}|{DATETIME_PATTERN})?$"},
    ),
]


def _before(value: str | None) -> tuple[int | None, datetime | None]:
    if value is None or value == "":
        return None, None
    if value.isascii() and value.isdigit():
        return parse_id(value, "before"), None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"before must be a row id or an ISO 8601 time, got {value!r}") from None
    return None, at if at.tzinfo else at.replace(tzinfo=UTC)


@get(
    "/api/audit",
    tags=["audit"],
    summary="Who changed what: one row per successful write, newest first",
    **scope("admin", 400),
)
async def list_audit(pool: Pool, limit: Limit = 100, before: Before = None) -> list[AuditEntry]:
    before_id, before_at = _before(before)
    params = {"limit": limit, "before": before_id, "before_at": before_at}
    return [AuditEntry(**row) for row in await fetch_all(pool, q.LIST_AUDIT, params)]

"""Path and query parameters (shared, or read by hand), as OpenAPI describes them.

Ids arrive as text and are read by ``parse_id`` (plain ASCII digits only, so
``1e3``, ``+5``, `` 5``, ``5.0`` and ``0x10`` are a 400, not a number Litestar
coerced); the document still says what a valid one is: a positive int64.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType
from litestar.params import PathParameter, QueryParameter

from services.api.errors import MAX_ID, ApiError

_ID_SCHEMA: dict[str, Any] = {
    "type": OpenAPIType.INTEGER,
    "format": "int64",
    "minimum": 1,
    "maximum": MAX_ID,
}
_ID_TEXT = "a positive 64-bit integer in plain decimal digits"

IdPath = Annotated[str, PathParameter(description=f"The id: {_ID_TEXT}", schema_extra=_ID_SCHEMA)]
PageIdQuery = Annotated[
    str, QueryParameter(description=f"The page's id: {_ID_TEXT}", schema_extra=_ID_SCHEMA)
]

TIMELINE_LIMIT, TIMELINE_MAX = 5_000, 20_000
TimelineLimit = Annotated[
    int,
    QueryParameter(
        ge=1, le=TIMELINE_MAX, description="At most this many rows (1 to 20,000; default 5,000)"
    ),
]
Before = Annotated[
    str | None,
    QueryParameter(
        description=(
            "Only rows whose last check is earlier than this ISO-8601 time with an offset or Z"
            " (a page's next one is in its Link rel=next header)"
        ),
        # a string when given (absent is "no bound"), not "string or null"
        schema_extra={
            "one_of": None,
            "type": OpenAPIType.STRING,
            "format": OpenAPIFormat.DATE_TIME,
        },
    ),
]


def parse_before(value: str | None) -> datetime:
    """``before``: an ISO-8601 time with an offset or ``Z``; none is the end of time."""
    if value is None:
        return datetime.max.replace(tzinfo=UTC)
    try:
        at = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        hint = " (send a '+' in a query string as %2B)" if " " in value.strip() else ""
        raise ApiError(
            400,
            "before must be an ISO-8601 time with an offset or Z, such as"
            f" 2026-12-01T09:30:00Z, got {value!r}{hint}",
        )
    return at


def id_filter(what: str) -> Any:
    """An optional query parameter: only the rows of the ``what`` with this id."""
    return QueryParameter(
        description=f"Only those of this {what}: {_ID_TEXT}",
        # an id when given (absent is "no filter"), not "string or null"
        schema_extra={"one_of": None, **_ID_SCHEMA},
    )


def parse_optional_id(value: str | None, what: str) -> int | None:
    from services.api.errors import parse_id

    return None if value is None else parse_id(value, what)

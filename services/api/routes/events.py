"""Events (public: the confirmed status changes) and deliveries (private: who was told what)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import get
from litestar.params import QueryParameter

from services.api import queries as q
from services.api.auth import scope
from services.api.deps import Pool
from services.api.errors import errors
from services.api.models import Delivery, Event
from services.api.params import id_filter, parse_optional_id
from shared.db import fetch_all

PageFilter = Annotated[str | None, id_filter("page")]
EndpointFilter = Annotated[str | None, id_filter("endpoint")]
ChannelFilter = Annotated[str | None, id_filter("channel")]
EventFilter = Annotated[str | None, id_filter("event")]
StateFilter = Annotated[
    Literal["pending", "delivered", "failed"] | None,
    QueryParameter(name="state", description="Only deliveries in this state"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="How many (1 to 1,000)")]


@get(
    "/api/events",
    tags=["alerting"],
    summary="Status changes, reminders, maintenance windows starting and ending; newest first",
    responses=errors(400),
)
async def list_events(
    pool: Pool,
    page_id: PageFilter = None,
    endpoint_id: EndpointFilter = None,
    limit: Limit = 100,
) -> list[Event]:
    params = {
        "page_id": parse_optional_id(page_id, "page_id"),
        "endpoint_id": parse_optional_id(endpoint_id, "endpoint_id"),
        "limit": limit,
    }
    rows = await fetch_all(pool, q.LIST_EVENTS, params)
    return [
        Event(
            id=r["id"],
            type=r["type"],
            page_id=r["page_id"],
            endpoint_id=r["endpoint_id"],
            from_=r["from_status"],
            to=r["to_status"],
            occurred_at=r["occurred_at"],
            status_code=r["status_code"],
            response_time=r["response_time"],
            error=r["error"],
            suppressed=r["suppressed"],
            maintenance_id=r["maintenance_id"],
        )
        for r in rows
    ]


@get(
    "/api/deliveries",
    tags=["alerting"],
    summary="Deliveries of events to channels, newest first",
    **scope("read", 400),
)
async def list_deliveries(
    pool: Pool,
    channel_id: ChannelFilter = None,
    event_id: EventFilter = None,
    delivery_state: StateFilter = None,  # ?state= ("state" is a reserved name in Litestar)
    limit: Limit = 100,
) -> list[Delivery]:
    params = {
        "channel_id": parse_optional_id(channel_id, "channel_id"),
        "event_id": parse_optional_id(event_id, "event_id"),
        "state": delivery_state,
        "limit": limit,
    }
    return [Delivery(**row) for row in await fetch_all(pool, q.LIST_DELIVERIES, params)]

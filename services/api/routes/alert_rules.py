"""Alert rules (private): which channel hears about a page's or an endpoint's status changes."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, post
from litestar.params import JSONBody
from msgspec import UNSET

from services.api import queries as q
from services.api.auth import page_of, scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, parse_id
from services.api.models import AlertRule, AlertRuleCreate, Success
from services.api.params import IdPath, id_filter, parse_optional_id
from shared.db import execute, fetch_all

RuleId = IdPath
PageFilter = Annotated[str | None, id_filter("page (and its endpoints)")]
NOTIFY_ORDER = ("down", "degraded", "up", "reminder", "maintenance")


def _notify_on(data: AlertRuleCreate) -> list[str]:
    if data.notify_on is UNSET:  # the default; with a reminder interval, reminders too
        return ["down", "up", "reminder"] if data.reminder_interval else ["down", "up"]
    wanted = set(data.notify_on)
    if "reminder" in wanted and data.reminder_interval is None:
        raise ApiError(400, "notify_on 'reminder' needs a reminder_interval (300 to 86400 s)")
    return [k for k in NOTIFY_ORDER if k in wanted]


@get(
    "/api/alert-rules",
    tags=["alerting"],
    summary="Alert rules (of one page and its endpoints with page_id)",
    **scope("read", 400),
)
async def list_alert_rules(pool: Pool, page_id: PageFilter = None) -> list[AlertRule]:
    params = {"page_id": parse_optional_id(page_id, "page_id")}
    rows = await fetch_all(pool, q.LIST_ALERT_RULES, params)
    return [AlertRule(**row) for row in rows]


@post(
    "/api/alert-rules",
    tags=["alerting"],
    summary="Send a page's (or one endpoint's) status changes to a channel",
    description=(
        "Exactly one of `page_id` (every endpoint of the page, present and future) or "
        "`endpoint_id`. `notify_on`: a non-empty subset of down, degraded, up (the recovery "
        "notice), reminder and maintenance (maintenance.started and maintenance.ended of "
        "the windows of the page, or affecting the endpoint); default "
        '["down", "up"] (with `reminder_interval`, reminders too). `reminder_interval`: null '
        "or 300 to 86400 s, reminders while confirmed down. Inside a maintenance window an "
        "endpoint's events are recorded suppressed and not sent; when the window ends, an "
        "endpoint whose status differs from the one it had when the window began gets one "
        "event."
    ),
    before_request=strict_body(AlertRuleCreate),
    **scope(
        "write",
        400,
        404,
        413,
        page=page_of(body="page_id", body_ref=("endpoint_id", q.ENDPOINT_PAGE)),
    ),
)
async def create_alert_rule(data: JSONBody[AlertRuleCreate], pool: Pool) -> AlertRule:
    if (data.page_id is None) == (data.endpoint_id is None):
        raise ApiError(400, "exactly one of page_id or endpoint_id is required")
    params = {
        "channel_id": data.channel_id,
        "page_id": data.page_id,
        "endpoint_id": data.endpoint_id,
        "notify_on": _notify_on(data),
        "reminder_interval": data.reminder_interval,
    }
    row = (await execute(pool, q.INSERT_ALERT_RULE, params))[0]
    if not row["channel_found"]:
        raise ApiError(404, f"no channel with id {data.channel_id}")
    if not row["page_found"]:
        raise ApiError(404, f"no page with id {data.page_id}")
    if not row["endpoint_found"]:
        raise ApiError(404, f"no endpoint with id {data.endpoint_id}")
    return AlertRule(**{f: row[f] for f in AlertRule.__struct_fields__})


@delete(
    "/api/alert-rules/{rule_id:str}",
    tags=["alerting"],
    summary="Delete an alert rule",
    status_code=200,
    **scope("write", 400, 404, page=page_of("rule_id", q.ALERT_RULE_PAGE)),
)
async def delete_alert_rule(rule_id: RuleId, pool: Pool) -> Success:
    ident = parse_id(rule_id, "alert rule id")
    if not await execute(pool, q.DELETE_ALERT_RULE, {"id": ident}):
        raise ApiError(404, f"no alert rule with id {ident}")
    return Success()

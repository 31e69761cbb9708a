"""Notification channels (private: every route needs the admin token) and their test."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import delete, get, patch, post
from litestar.params import JSONBody
from msgspec import UNSET

from services.api import queries as q
from services.api.auth import scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, parse_id
from services.api.models import Channel, ChannelCreate, ChannelTest, ChannelUpdate, Success
from services.api.params import IdPath
from shared.channels import ChannelError, check_channel
from shared.db import execute, fetch_all, fetch_one

ChannelId = IdPath
TEST_WAIT = 10.0  # seconds POST /api/channels/{id}/test waits for the outcome
TEST_POLL = 0.1


def _not_found(channel_id: int) -> ApiError:
    return ApiError(404, f"no channel with id {channel_id}")


def _target(kind: Any, url: str) -> str:
    try:
        return check_channel(kind, url)
    except ChannelError as exc:
        raise ApiError(400, str(exc)) from None


@get(
    "/api/channels",
    tags=["alerting"],
    summary="Every notification channel (urls and secrets are never shown)",
    **scope("read"),
)
async def list_channels(pool: Pool) -> list[Channel]:
    return [Channel(**row) for row in await fetch_all(pool, q.LIST_CHANNELS)]


@get(
    "/api/channels/{channel_id:str}",
    tags=["alerting"],
    summary="A notification channel",
    **scope("read", 400, 404),
)
async def get_channel(channel_id: ChannelId, pool: Pool) -> Channel:
    ident = parse_id(channel_id, "channel id")
    row = await fetch_one(pool, q.GET_CHANNEL, {"id": ident})
    if row is None:
        raise _not_found(ident)
    return Channel(**row)


@post(
    "/api/channels",
    tags=["alerting"],
    summary="Create a channel: a webhook (http(s) URL) or an Apprise URL (slack://, mailto:// …)",
    before_request=strict_body(ChannelCreate),
    **scope("write", 400, 413),
)
async def create_channel(data: JSONBody[ChannelCreate], pool: Pool) -> Channel:
    params = {
        "name": data.name,
        "type": data.type,
        "url": data.url,
        "target": _target(data.type, data.url),
        "secret": data.secret,
        "active": data.active,
    }
    rows = await execute(pool, q.INSERT_CHANNEL, params)
    return Channel(**rows[0])


@patch(
    "/api/channels/{channel_id:str}",
    tags=["alerting"],
    summary="Change a channel (secret: null removes it)",
    before_request=strict_body(ChannelUpdate),
    **scope("write", 400, 404, 413),
)
async def update_channel(
    channel_id: ChannelId, data: JSONBody[ChannelUpdate], pool: Pool
) -> Channel:
    ident = parse_id(channel_id, "channel id")
    params: dict[str, Any] = {
        "id": ident,
        "name": data.name or None,
        "type": None,
        "url": None,
        "target": None,
        "was_type": None,
        "was_url": None,
        "set_secret": data.secret is not UNSET,
        "secret": data.secret or None,
        "active": None if data.active is UNSET else data.active,
    }
    for _ in range(5):  # a concurrent change of the address: validate again
        if data.type is not UNSET or data.url is not UNSET:
            was = await fetch_one(pool, q.GET_CHANNEL_ADDRESS, {"id": ident})
            if was is None:
                raise _not_found(ident)
            kind = was["type"] if data.type is UNSET else data.type
            url = was["url"] if data.url is UNSET else data.url
            params |= {"type": kind, "url": url, "target": _target(kind, url)}
            params |= {"was_type": was["type"], "was_url": was["url"]}
        rows = await execute(pool, q.UPDATE_CHANNEL, params)
        if rows:
            return Channel(**rows[0])
        if params["was_type"] is None:
            break
    raise _not_found(ident)


@delete(
    "/api/channels/{channel_id:str}",
    tags=["alerting"],
    summary="Delete a channel, its alert rules and its deliveries",
    status_code=200,
    **scope("write", 400, 404),
)
async def delete_channel(channel_id: ChannelId, pool: Pool) -> Success:
    ident = parse_id(channel_id, "channel id")
    if not await execute(pool, q.DELETE_CHANNEL, {"id": ident}):
        raise _not_found(ident)
    return Success()


@post(
    "/api/channels/{channel_id:str}/test",
    tags=["alerting"],
    summary="Send a test notification through the outbox; waits up to 10 s for the outcome",
    description=(
        "A `test` event with one delivery to this channel, attempted once by a checker. "
        "The answer is the delivery's state after at most 10 s: `pending` if no checker "
        "attempted it yet (at once when no checker is running), else `delivered` or "
        "`failed` (with `lastError`)."
    ),
    status_code=200,
    **scope("write", 400, 404),
)
async def test_channel(channel_id: ChannelId, pool: Pool) -> ChannelTest:
    ident = parse_id(channel_id, "channel id")
    rows = await execute(pool, q.TEST_CHANNEL, {"id": ident})
    if not rows:
        raise _not_found(ident)
    delivery = rows[0]["id"]
    deadline = time.monotonic() + TEST_WAIT
    while True:
        row = await fetch_one(pool, q.DELIVERY_OUTCOME, {"id": delivery})
        if row is None:  # the channel was deleted meanwhile
            raise _not_found(ident)
        # No checker connected: none will attempt it now (it goes out when one starts).
        done = row["state"] != "pending" or not row["checkers"]
        if done or time.monotonic() + TEST_POLL > deadline:
            return ChannelTest(
                state=row["state"], attempts=row["attempts"], last_error=row["last_error"]
            )
        await asyncio.sleep(TEST_POLL)

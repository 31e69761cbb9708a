"""Alerting in a real checker: thresholds and retries, events, and deliveries to real receivers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

import pytest

from services.checker.queries import RETENTION_DELETE_EVENTS
from services.checker.retention import delete_expired

from .conftest import (
    Receiver,
    Target,
    eventually,
    free_port,
    make_channel,
    make_endpoint,
    make_page,
    make_rule,
    rows,
    running_checker,
    start_receiver,
    state,
)


async def events_of(db, endpoint_id: int) -> list[dict]:
    return await rows(db, "SELECT * FROM events WHERE endpoint_id = %s ORDER BY id", endpoint_id)


async def deliveries(db) -> list[dict]:
    return await rows(db, "SELECT * FROM deliveries ORDER BY id")


async def confirmed_up(db, *endpoint_ids: int) -> None:
    """As if each endpoint had been up for a while (its next check due now)."""
    await db.execute(
        "UPDATE endpoint_state SET status = 'up', last_status = 'up', streak = 5,"
        " status_since = now() - interval '1 hour', last_checked_at = now() - interval '1 minute',"
        " next_check_at = now() WHERE endpoint_id = ANY(%s)",
        (list(endpoint_ids),),
    )


# -- confirmed status ------------------------------------------------------------------


@pytest.mark.slow
async def test_thresholds_confirm_a_change_only_after_n_equal_results(db, settings, target: Target):
    page = await make_page(db)
    # failure_threshold 3: up, down, down, up, down, down, down -> one endpoint.down, at the 7th.
    failing = target.answer("/f", status=500, script=[200, 500, 500, 200, 500, 500])
    f = await make_endpoint(db, page, failing, interval=5, timeout=2, failure_threshold=3)
    # success_threshold 2: up, down (confirmed at once), up, down, up, up -> endpoint.up at the 6th.
    healing = target.answer("/s", status=200, script=[200, 500, 200, 500, 200])
    s = await make_endpoint(db, page, healing, interval=5, timeout=2, success_threshold=2)
    async with running_checker(settings):
        await eventually(lambda: target.count("/f") >= 7 and target.count("/s") >= 6, 45)
        await asyncio.sleep(1.0)  # the last results are flushed
    f_events = await events_of(db, f)
    assert [(e["type"], e["from_status"], e["to_status"]) for e in f_events] == [
        ("endpoint.down", "up", "down")
    ]
    seventh = target.hits["/f"][6].at
    assert f_events[0]["occurred_at"].timestamp() >= seventh - 0.5  # not before the third failure
    assert f_events[0]["status_code"] == 500
    assert f_events[0]["error"]
    s_events = await events_of(db, s)
    assert [(e["type"], e["to_status"]) for e in s_events] == [
        ("endpoint.down", "down"),
        ("endpoint.up", "up"),
    ]
    assert s_events[1]["occurred_at"].timestamp() >= target.hits["/s"][5].at - 0.5
    # History keeps every raw result; the state's status is the confirmed one.
    cur = await db.execute("SELECT sum(count) FROM checks WHERE endpoint_id = %s", (f,))
    assert (await cur.fetchone())[0] >= 7
    assert (await state(db, f))["status"] == "down"


async def test_a_new_endpoint_alerts_only_when_its_first_status_is_not_up(
    db, settings, target: Target
):
    page = await make_page(db)
    up = await make_endpoint(db, page, target.answer("/up"), interval=60)
    down = await make_endpoint(db, page, target.answer("/down", status=500), interval=60)
    async with running_checker(settings):
        await eventually(lambda: target.count("/up") and target.count("/down"), 10)
        await eventually(lambda: events_of(db, down), 5)
    assert await events_of(db, up) == []
    assert [(e["type"], e["from_status"]) for e in await events_of(db, down)] == [
        ("endpoint.down", None)
    ]


async def test_retry_interval_shortens_the_time_to_confirm(db, settings, target: Target):
    page = await make_page(db)
    url = target.answer("/x", status=500)
    quick = await make_endpoint(
        db, page, url, name="quick", interval=60, timeout=2, failure_threshold=3, retry_interval=5
    )
    slow = await make_endpoint(
        db, page, target.answer("/y", status=500), interval=60, timeout=2, failure_threshold=3
    )
    await confirmed_up(db, quick, slow)
    async with running_checker(settings):
        await eventually(lambda: target.count("/x") >= 1, 10)
        first = target.hits["/x"][0].at
        await eventually(lambda: events_of(db, quick), 20)
        confirmed = (await events_of(db, quick))[0]["occurred_at"].timestamp()
        assert 9 <= confirmed - first < 14  # the 3rd failure, ~5 s apart
        assert target.count("/y") == 1  # without a retry interval: next probe in 60 s
        assert await events_of(db, slow) == []
        # Confirmed: back to the interval.
        await asyncio.sleep(6)
        assert target.count("/x") == 3


# -- webhook ----------------------------------------------------------------------------


async def test_webhook_gets_the_exact_body_and_headers_and_a_valid_signature(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db, "acme")
    endpoint = await make_endpoint(db, page, target.answer("/api", status=503), name="api.x.com")
    channel = await make_channel(db, receiver.url("/hook"), secret="s3cret")
    await make_rule(db, channel, page_id=page)
    async with running_checker(settings, public_url="https://status.example.com/"):
        await eventually(lambda: receiver.on("/hook"), 15)
        target.answer("/api", status=200)
        await db.execute("UPDATE endpoint_state SET next_check_at = now()")
        await eventually(lambda: len(receiver.on("/hook")) >= 2, 15)
    down, up = receiver.on("/hook")
    (event, recovered) = await events_of(db, endpoint)
    (d1, d2) = await deliveries(db)
    h = down.headers
    assert h["Content-Type"] == "application/json"
    assert h["User-Agent"] == f"Uptimatum/{version('uptimatum')}"
    assert h["Uptimatum-Event"] == "endpoint.down"
    assert h["Uptimatum-Event-Id"] == str(event["id"])
    assert h["Uptimatum-Delivery"] == str(d1["id"])
    t, v1 = (part.split("=", 1)[1] for part in h["Uptimatum-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{t}.".encode() + down.raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    assert abs(int(t) - down.at) < 5
    occurred = event["occurred_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert down.json() == {
        "version": 1,
        "id": str(event["id"]),
        "type": "endpoint.down",
        "occurredAt": occurred,
        "page": {
            "id": page,
            "slug": "acme",
            "name": "Acme",
            "url": "https://status.example.com/status/acme",
        },
        "endpoint": {
            "id": endpoint,
            "name": "api.x.com",
            "url": target.url("/api"),
            "status": "down",
            "previousStatus": None,
        },
        "check": {
            "statusCode": 503,
            "responseTime": event["response_time"],
            "error": event["error"],
            "checkedAt": occurred,
        },
        "text": f"api.x.com is DOWN (Acme): {event['error']}",
    }
    assert up.headers["Uptimatum-Event"] == "endpoint.up"
    assert up.headers["Uptimatum-Event-Id"] == str(recovered["id"])
    assert up.headers["Uptimatum-Delivery"] == str(d2["id"])
    assert up.json()["endpoint"]["status"] == "up"
    assert up.json()["endpoint"]["previousStatus"] == "down"
    assert up.json()["text"] == "api.x.com is UP (Acme), was down"
    assert [(d["state"], d["attempts"]) for d in (d1, d2)] == [("delivered", 1)] * 2


async def test_receiver_answering_500_twice_gets_it_on_the_third_attempt(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/a", status=500), interval=60)
    channel = await make_channel(db, receiver.url("/hook"))
    await make_rule(db, channel, page_id=page)
    receiver.scripts["/hook"] = [500, 500]
    async with running_checker(settings):
        await eventually(lambda: len(receiver.on("/hook")) >= 3, 15)
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'delivered'"), 5)
    (d,) = await deliveries(db)
    assert d["attempts"] == 3
    assert d["last_error"] == "HTTP 500"  # what went wrong before it got through
    assert d["delivered_at"] is not None
    got = receiver.on("/hook")
    assert len(got) == 3
    assert len({r.headers["Uptimatum-Event-Id"] for r in got}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert 0.8 < gaps[0] < 2.0  # back-off 1 s …
    assert 1.8 < gaps[1] < 3.5  # … then 2 s


@pytest.mark.slow
async def test_a_receiver_down_for_30_s_gets_it_when_it_comes_back(db, settings, target: Target):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/a", status=500), interval=300)
    port = free_port()
    channel = await make_channel(db, f"http://127.0.0.1:{port}/hook")
    await make_rule(db, channel, page_id=page)
    async with running_checker(settings):
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE attempts >= 1"), 10)
        await asyncio.sleep(30)
        (d,) = await deliveries(db)
        assert d["state"] == "pending"
        assert d["last_error"] == "connection refused"
        receiver, runner = await start_receiver(port)
        try:
            await eventually(lambda: receiver.on("/hook"), 40)
            await eventually(
                lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'delivered'"), 5
            )
        finally:
            await runner.cleanup()
    (d,) = await deliveries(db)
    assert d["attempts"] >= 5  # 1 s, 2 s, 4 s, 8 s, 16 s …
    assert len(receiver.on("/hook")) == 1


async def test_give_up_after_notify_give_up_seconds(db, settings, target: Target):
    page = await make_page(db)
    endpoint = await make_endpoint(db, page, target.answer("/a", status=500), interval=300)
    channel = await make_channel(db, f"http://127.0.0.1:{free_port()}/hook")
    await make_rule(db, channel, endpoint_id=endpoint)
    async with running_checker(settings, notify_give_up_seconds=60):
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE attempts >= 1"), 10)
        # As if the event were older than the give-up window: the next attempt is the last.
        await db.execute("UPDATE events SET occurred_at = occurred_at - interval '61 seconds'")
        await db.execute("UPDATE deliveries SET next_attempt_at = now()")
        await db.execute("NOTIFY deliveries")
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'failed'"), 10)
    (d,) = await deliveries(db)
    assert d["last_error"] == "connection refused"


async def test_redirects_are_not_followed(db, settings, target: Target, receiver: Receiver):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/a", status=500), interval=300)
    moved = target.answer("/moved", redirect_to=receiver.url("/hook"))
    channel = await make_channel(db, moved)
    await make_rule(db, channel, page_id=page)
    async with running_checker(settings):
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE attempts >= 1"), 10)
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE last_error IS NOT NULL"))
    (d,) = await deliveries(db)
    assert d["state"] == "pending"
    assert d["last_error"] == "HTTP 302 (redirects are not followed)"
    assert receiver.on("/hook") == []


# -- rules and channels ------------------------------------------------------------------


async def test_rules_choose_channels_and_kinds_and_inactive_channels_get_nothing(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    other = await make_page(db, "other")
    ep = await make_endpoint(db, page, target.answer("/a", status=500), interval=300)
    await make_endpoint(db, other, target.answer("/b", status=500), interval=300)
    by_page = await make_channel(db, receiver.url("/page"))
    by_endpoint = await make_channel(db, receiver.url("/endpoint"))
    only_up = await make_channel(db, receiver.url("/up"))
    off = await make_channel(db, receiver.url("/off"))
    await db.execute("UPDATE channels SET active = false WHERE id = %s", (off,))
    await make_rule(db, by_page, page_id=page)
    await make_rule(db, by_page, endpoint_id=ep)  # the same channel twice: one delivery
    await make_rule(db, by_endpoint, endpoint_id=ep, notify_on=["down"])
    await make_rule(db, only_up, page_id=page, notify_on=["up"])
    await make_rule(db, off, page_id=page)
    async with running_checker(settings):
        await eventually(lambda: receiver.on("/page") and receiver.on("/endpoint"), 15)
        await asyncio.sleep(1.5)
    assert len(receiver.on("/page")) == 1
    assert len(receiver.on("/endpoint")) == 1
    assert receiver.on("/up") == []
    assert receiver.on("/off") == []
    assert len(await rows(db, "SELECT * FROM events")) == 2  # both pages' endpoints went down
    assert {d["channel_id"] for d in await deliveries(db)} == {by_page, by_endpoint}


async def test_reminders_while_confirmed_down(db, settings, target: Target, receiver: Receiver):
    page = await make_page(db)
    ep = await make_endpoint(db, page, target.answer("/a", status=500), interval=5, timeout=2)
    reminded = await make_channel(db, receiver.url("/remind"))
    plain = await make_channel(db, receiver.url("/plain"))
    await make_rule(
        db, reminded, page_id=page, notify_on=["down", "up", "reminder"], reminder_interval=300
    )
    await make_rule(db, plain, page_id=page)
    async with running_checker(settings):
        await eventually(lambda: receiver.on("/remind") and receiver.on("/plain"), 15)
        # Confirmed down for just under 5 minutes: the next result crosses the mark.
        await db.execute(
            "UPDATE endpoint_state SET status_since = status_since - interval '299 seconds'"
        )
        await eventually(lambda: len(receiver.on("/remind")) >= 2, 15)
        await asyncio.sleep(6)  # one reminder per interval crossed, not per result
    reminder = receiver.on("/remind")[1]
    assert reminder.headers["Uptimatum-Event"] == "endpoint.reminder"
    assert reminder.json()["text"].startswith("a is still DOWN")
    assert len(receiver.on("/remind")) == 2
    assert len(receiver.on("/plain")) == 1
    kinds = [e["type"] for e in await events_of(db, ep)]
    assert kinds == ["endpoint.down", "endpoint.reminder"]


async def test_retention_deletes_old_events_and_their_deliveries(db):
    page = await make_page(db)
    channel = await make_channel(db, "http://127.0.0.1:9/hook")
    old = datetime.now(UTC) - timedelta(days=40)
    for occurred, state_ in ((old, "delivered"), (old, "pending"), (datetime.now(UTC), "failed")):
        cur = await db.execute(
            "INSERT INTO events (type, page_id, occurred_at) VALUES ('endpoint.down', %s, %s)"
            " RETURNING id",
            (page, occurred),
        )
        event = (await cur.fetchone())[0]
        await db.execute(
            "INSERT INTO deliveries (event_id, channel_id, state, delivered_at)"
            " VALUES (%s, %s, %s, CASE WHEN %s = 'delivered' THEN now() END)",
            (event, channel, state_, state_),
        )
    await delete_expired(db, datetime.now(UTC) - timedelta(days=30), RETENTION_DELETE_EVENTS)
    left = await rows(db, "SELECT d.state FROM deliveries d JOIN events e ON e.id = d.event_id")
    assert sorted(r["state"] for r in left) == ["failed", "pending"]  # a pending one stays


# -- Apprise -------------------------------------------------------------------------------


async def test_apprise_json_channel_delivers_to_a_loopback_receiver(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/a", status=500), name="api.example.com")
    channel = await make_channel(db, f"json://127.0.0.1:{receiver.port}/apprise", kind="apprise")
    await make_rule(db, channel, page_id=page)
    async with running_checker(settings, public_url="https://status.example.com"):
        await eventually(lambda: receiver.on("/apprise"), 15)
        await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'delivered'"), 5)
    doc = receiver.on("/apprise")[0].json()
    assert doc["title"] == "[Uptimatum] api.example.com is DOWN"
    assert "HTTP 500" in doc["message"]
    assert "https://status.example.com/status/status" in doc["message"]


async def test_apprise_mailto_channel_sends_a_real_email(db, settings, target: Target):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[bytes] = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope.content)
            return "250 OK"

    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        page = await make_page(db)
        await make_endpoint(db, page, target.answer("/a", status=500), name="api.example.com")
        url = (
            f"mailto://127.0.0.1:{port}?mode=insecure&from=alerts@example.com&to=oncall@example.com"
        )
        channel = await make_channel(db, url, kind="apprise")
        await make_rule(db, channel, page_id=page)
        async with running_checker(settings):
            await eventually(lambda: inbox.messages, 20)
        mail = inbox.messages[0].decode(errors="replace")
        assert "[Uptimatum] api.example.com is DOWN" in mail
        assert "oncall@example.com" in mail
    finally:
        smtp.stop()

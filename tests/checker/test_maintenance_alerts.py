"""Maintenance windows and alerts, through the API and real checkers, to a real receiver.

Inside a window an affected endpoint's events are recorded suppressed and sent to
nobody; when the window ends, an endpoint whose status differs from the one it had
when the window began gets one event; rules that want "maintenance" hear of
windows starting and ending. Each is sent once, with two checker replicas running.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import AUTH, serve

from .conftest import Receiver, Target, eventually, make_endpoint, make_page, rows, running_checker


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def kinds(receiver: Receiver, path: str) -> list[str]:
    return [r.headers["Uptimatum-Event"] for r in receiver.on(path)]


async def channel_with_rule(api, receiver: Receiver, path: str, **rule) -> dict:
    channel = (
        await api.post(
            "/api/channels",
            json={"name": path, "type": "webhook", "url": receiver.url(path)},
            headers=AUTH,
        )
    ).json()
    r = await api.post("/api/alert-rules", json={"channel_id": channel["id"], **rule}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def open_window(
    api, page: int, title: str, starts: timedelta, ends: timedelta, **fields
) -> dict:
    """POST a window from ``now + starts`` to ``now + ends``; the Maintenance."""
    now = datetime.now(UTC)
    body = {"page_id": page, "title": title, "starts_at": iso(now + starts)}
    r = await api.post(
        "/api/maintenances", json={**body, "ends_at": iso(now + ends), **fields}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    return r.json()


async def confirmed(db, endpoint_id: int, status: str) -> bool:
    (row,) = await rows(db, "SELECT status FROM endpoint_state WHERE endpoint_id = %s", endpoint_id)
    return row["status"] == status


async def probe_now(db, endpoint_id: int) -> None:
    await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() WHERE endpoint_id = %s", (endpoint_id,)
    )


async def events_of(db, endpoint_id: int) -> list[dict]:
    return await rows(db, "SELECT * FROM events WHERE endpoint_id = %s ORDER BY id", endpoint_id)


@pytest.mark.slow
async def test_a_window_hides_an_outage_and_tells_it_once_when_it_ends(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    inside = await make_endpoint(db, page, target.answer("/in"), name="db", interval=5, timeout=2)
    outside = await make_endpoint(db, page, target.answer("/out"), name="web", interval=60)
    async with serve(settings) as api, running_checker(settings), running_checker(settings):
        rule = await channel_with_rule(
            api, receiver, "/all", page_id=page, notify_on=["down", "up", "maintenance"]
        )
        assert rule["notifyOn"] == ["down", "up", "maintenance"]
        await channel_with_rule(api, receiver, "/plain", page_id=page)  # down, up
        await channel_with_rule(
            api, receiver, "/in-rule", endpoint_id=inside, notify_on=["maintenance"]
        )
        await channel_with_rule(
            api, receiver, "/out-rule", endpoint_id=outside, notify_on=["maintenance"]
        )
        await eventually(lambda: confirmed(db, inside, "up"), 10)

        window = await open_window(
            api,
            page,
            "Database <upgrade> & co",
            timedelta(seconds=-1),
            timedelta(seconds=14),
            endpoint_ids=[inside],
        )
        await eventually(lambda: kinds(receiver, "/all") == ["maintenance.started"], 8)

        # An outage inside the window: recorded, suppressed, sent to nobody.
        target.answer("/in", status=503)
        await probe_now(db, inside)
        await eventually(lambda: confirmed(db, inside, "down"), 8)
        (hidden,) = await events_of(db, inside)
        assert (hidden["type"], hidden["suppressed"]) == ("endpoint.down", True)
        assert await rows(db, "SELECT * FROM deliveries WHERE event_id = %s", hidden["id"]) == []
        listed = (await api.get(f"/api/events?endpoint_id={inside}")).json()
        assert [(e["type"], e["suppressed"]) for e in listed] == [("endpoint.down", True)]

        # The window ends with the endpoint still down: one endpoint.down, then.
        await eventually(lambda: len(receiver.on("/all")) >= 3, 20)
        await eventually(lambda: receiver.on("/plain"), 5)
        ended_at = datetime.fromisoformat(window["endsAt"]).timestamp()
        assert min(r.at for r in receiver.on("/plain")) >= ended_at - 0.5

    assert sorted(kinds(receiver, "/all")) == [
        "endpoint.down",
        "maintenance.ended",
        "maintenance.started",
    ]
    assert kinds(receiver, "/plain") == ["endpoint.down"]
    assert kinds(receiver, "/in-rule") == ["maintenance.started", "maintenance.ended"]
    assert kinds(receiver, "/out-rule") == []  # its endpoint is not in the window
    # Two replicas, each event once.
    sent = Counter((r.path, r.headers["Uptimatum-Event-Id"]) for r in receiver.got)
    assert len(sent) == 6
    assert set(sent.values()) == {1}
    told = [e for e in await events_of(db, inside) if not e["suppressed"]]
    assert [(e["type"], e["from_status"], e["to_status"]) for e in told] == [
        ("endpoint.down", "up", "down")
    ]
    down = next(r.json() for r in receiver.on("/plain"))
    assert down["endpoint"] == {
        "id": inside,
        "name": "db",
        "url": target.url("/in"),
        "status": "down",
        "previousStatus": "up",
    }
    assert down["check"]["statusCode"] == 503

    started = receiver.on("/all")[0]
    body = started.json()
    assert body["type"] == "maintenance.started"
    assert body["id"] == started.headers["Uptimatum-Event-Id"]
    assert body["maintenance"] == {
        "id": window["id"],
        "title": "Database <upgrade> & co",
        "startsAt": window["startsAt"].replace("+00:00", "Z"),
        "endsAt": window["endsAt"].replace("+00:00", "Z"),
    }
    assert body["page"]["id"] == page
    assert "endpoint" not in body
    assert body["text"].startswith("Maintenance started: Database <upgrade> & co")


@pytest.mark.slow
async def test_an_outage_and_its_recovery_inside_a_window_tell_nobody(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    endpoint = await make_endpoint(db, page, target.answer("/svc"), interval=5, timeout=2)
    async with serve(settings) as api, running_checker(settings):
        await channel_with_rule(
            api, receiver, "/all", page_id=page, notify_on=["down", "degraded", "up", "maintenance"]
        )
        await eventually(lambda: confirmed(db, endpoint, "up"), 10)
        # A window recorded after the fact announces nothing.
        await open_window(api, page, "Last night", timedelta(hours=-10), timedelta(hours=-9))
        window = await open_window(api, page, "Now", timedelta(seconds=-1), timedelta(hours=1))
        await eventually(lambda: kinds(receiver, "/all") == ["maintenance.started"], 8)

        target.answer("/svc", status=500)
        await probe_now(db, endpoint)
        await eventually(lambda: confirmed(db, endpoint, "down"), 8)
        target.answer("/svc", status=200)
        await probe_now(db, endpoint)
        await eventually(lambda: confirmed(db, endpoint, "up"), 8)

        # Ended early: maintenance.ended comes within a few seconds, and nothing else.
        r = await api.patch(
            f"/api/maintenances/{window['id']}",
            json={"ends_at": iso(datetime.now(UTC))},
            headers=AUTH,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed"
        await eventually(lambda: len(receiver.on("/all")) >= 2, 8)
        await asyncio.sleep(5.5)  # another pass: had anything else been due, it came
    assert kinds(receiver, "/all") == ["maintenance.started", "maintenance.ended"]
    assert [(e["type"], e["suppressed"]) for e in await events_of(db, endpoint)] == [
        ("endpoint.down", True),
        ("endpoint.up", True),
    ]
    announced = await rows(
        db, "SELECT type, maintenance_id FROM events WHERE maintenance_id IS NOT NULL ORDER BY id"
    )
    assert announced == [
        {"type": "maintenance.started", "maintenance_id": window["id"]},
        {"type": "maintenance.ended", "maintenance_id": window["id"]},
    ]


async def test_reminders_inside_a_window_are_suppressed_and_a_steady_outage_tells_nothing_new(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    endpoint = await make_endpoint(db, page, target.answer("/a", status=500), interval=5, timeout=2)
    async with serve(settings) as api, running_checker(settings):
        await channel_with_rule(
            api,
            receiver,
            "/remind",
            page_id=page,
            notify_on=["down", "up", "reminder"],
            reminder_interval=300,
        )
        await eventually(lambda: kinds(receiver, "/remind") == ["endpoint.down"], 15)
        window = await open_window(
            api, page, "Fixing it", timedelta(seconds=-1), timedelta(hours=2)
        )
        # Confirmed down for just under 5 minutes: the next result crosses the mark.
        await db.execute(
            "UPDATE endpoint_state SET status_since = status_since - interval '299 seconds'"
        )
        await eventually(lambda: _has_reminder(db, endpoint), 15)
        # Down when the window began, down when it ends: nothing to tell.
        await api.patch(
            f"/api/maintenances/{window['id']}",
            json={"ends_at": iso(datetime.now(UTC))},
            headers=AUTH,
        )
        await asyncio.sleep(6)
    assert kinds(receiver, "/remind") == ["endpoint.down"]
    assert [(e["type"], e["suppressed"]) for e in await events_of(db, endpoint)] == [
        ("endpoint.down", False),
        ("endpoint.reminder", True),
    ]


async def _has_reminder(db, endpoint_id: int) -> bool:
    return any(e["type"] == "endpoint.reminder" for e in await events_of(db, endpoint_id))


async def test_deleting_a_window_in_progress_announces_its_end_and_tells_what_it_hid(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    endpoint = await make_endpoint(db, page, target.answer("/svc"), interval=5, timeout=2)
    async with serve(settings) as api, running_checker(settings):
        await channel_with_rule(
            api, receiver, "/all", page_id=page, notify_on=["down", "up", "maintenance"]
        )
        await eventually(lambda: confirmed(db, endpoint, "up"), 10)
        window = await open_window(api, page, "Oops", timedelta(seconds=-1), timedelta(hours=1))
        await eventually(lambda: kinds(receiver, "/all") == ["maintenance.started"], 8)
        target.answer("/svc", status=500)
        await probe_now(db, endpoint)
        await eventually(lambda: confirmed(db, endpoint, "down"), 8)

        r = await api.delete(f"/api/maintenances/{window['id']}", headers=AUTH)
        assert r.status_code == 200
        await eventually(lambda: len(receiver.on("/all")) >= 3, 8)
        await asyncio.sleep(1)
        # Deleting it again: a 404, and nothing more is announced.
        assert (
            await api.delete(f"/api/maintenances/{window['id']}", headers=AUTH)
        ).status_code == 404
    assert kinds(receiver, "/all") == ["maintenance.started", "maintenance.ended", "endpoint.down"]
    ended = receiver.on("/all")[1].json()
    assert ended["maintenance"]["id"] is None  # the window is gone
    assert ended["maintenance"]["title"] == "Oops"
    assert (
        ended["maintenance"]["startsAt"] == receiver.on("/all")[0].json()["maintenance"]["startsAt"]
    )


async def test_a_window_written_is_announced_at_once_not_at_the_next_tick(
    db, settings, target: Target, receiver: Receiver
):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/svc"), interval=60)
    async with serve(settings) as api, running_checker(settings):
        await channel_with_rule(api, receiver, "/all", page_id=page, notify_on=["maintenance"])
        await asyncio.sleep(1)  # the checker's first pass is behind it
        written = time.time()
        window = await open_window(api, page, "Now", timedelta(seconds=-1), timedelta(hours=1))
        await eventually(lambda: receiver.on("/all"), 8)
        ended = time.time()
        r = await api.patch(
            f"/api/maintenances/{window['id']}",
            json={"ends_at": iso(datetime.now(UTC))},
            headers=AUTH,
        )
        assert r.status_code == 200
        await eventually(lambda: len(receiver.on("/all")) >= 2, 8)
    started_at, ended_at = (r.at for r in receiver.on("/all"))
    # NOTIFY maintenances wakes the pass: well within its 5 s tick, twice.
    assert started_at - written < 1.5
    assert ended_at - ended < 1.5
    assert kinds(receiver, "/all") == ["maintenance.started", "maintenance.ended"]

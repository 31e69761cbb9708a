"""The page's status (issue 9): indicator rules, open incidents, coming windows,
inMaintenance, and the badge in maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.api.routes.pages import LONG_CACHE_FROM
from shared.badge import BADGE_COLORS
from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page
from tests.api.test_badges import fills, visible_texts


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def endpoints_with(api, db, page_id: int, statuses: list[str]) -> list[int]:
    ids = []
    for n, status in enumerate(statuses):
        ident = (await make_endpoint(api, page_id, name=f"E{n}"))["id"]
        await insert_check(db, ident, status, ago(hours=2), ago(seconds=30), interval=60)
        ids.append(ident)
    return ids


async def window(api, page_id: int, start: datetime, end: datetime, **fields) -> dict:
    body = {"page_id": page_id, "title": "Work", "starts_at": iso(start), "ends_at": iso(end)}
    r = await api.post("/api/maintenances", json={**body, **fields}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def incident(api, page_id: int, **fields) -> dict:
    r = await api.post(
        "/api/incidents", json={"page_id": page_id, "title": "x", **fields}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    return r.json()


async def status_of(api, slug: str = "acme") -> dict:
    r = await api.get(f"/api/pages/{slug}")
    assert r.status_code == 200, r.text
    return r.json()["status"]


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([], "none", "All Systems Operational"),
        (["up", "up"], "none", "All Systems Operational"),
        (["up", "degraded"], "minor", "Minor Service Outage"),
        (["degraded", "down", "up"], "major", "Partial System Outage"),
        (["down", "down"], "critical", "Major System Outage"),
    ],
)
async def test_indicator_from_the_endpoints(api, db, statuses, indicator, description):
    page = await make_page(api)
    await endpoints_with(api, db, page["id"], statuses)
    assert await status_of(api) == {"indicator": indicator, "description": description}


@pytest.mark.parametrize(
    ("impacts", "statuses", "expected"),
    [
        (["none"], ["up"], "none"),
        (["minor"], ["up"], "minor"),
        (["critical", "minor"], ["up"], "critical"),
        (["minor"], ["up", "down"], "major"),  # the worst of both
        (["major"], ["degraded"], "major"),
    ],
)
async def test_indicator_from_unresolved_incidents(api, db, impacts, statuses, expected):
    page = await make_page(api)
    await endpoints_with(api, db, page["id"], statuses)
    for impact in impacts:
        await incident(api, page["id"], impact=impact)
    await incident(api, page["id"], impact="critical", status="resolved")  # does not count
    assert (await status_of(api))["indicator"] == expected


async def test_endpoints_in_maintenance_do_not_count(api, db):
    page = await make_page(api)
    down, up = await endpoints_with(api, db, page["id"], ["down", "up"])
    await window(
        api, page["id"], ago(minutes=10), ago(minutes=-50), endpoint_ids=[down]
    )  # only the down one
    body = (await api.get("/api/pages/acme")).json()
    assert body["status"]["indicator"] == "none"
    flags = {e["id"]: e["inMaintenance"] for e in body["endpoints"]}
    assert flags == {down: True, up: False}
    assert (await api.get(f"/api/endpoints/{down}")).json()["inMaintenance"] is True
    assert (await api.get(f"/api/endpoints/{up}")).json()["inMaintenance"] is False
    # every endpoint down, one in a window: the others are all down -> critical
    await insert_check(db, up, "down", ago(seconds=20), ago(seconds=10), interval=60)
    assert (await status_of(api))["indicator"] == "critical"


async def test_a_page_wide_window_covers_new_endpoints(api, db):
    page = await make_page(api)
    await window(api, page["id"], ago(minutes=10), ago(minutes=-50))
    created = await make_endpoint(api, page["id"], name="New")
    assert created["inMaintenance"] is True
    r = await api.patch(f"/api/endpoints/{created['id']}", json={"name": "N"}, headers=AUTH)
    assert r.json()["inMaintenance"] is True


async def test_page_lists_open_incidents_and_coming_windows(api, db):
    page = await make_page(api)
    await endpoints_with(api, db, page["id"], ["up"])
    t = datetime.now(UTC)
    active = await window(api, page["id"], t - timedelta(hours=1), t + timedelta(hours=1))
    soon = await window(api, page["id"], t + timedelta(days=6), t + timedelta(days=6, hours=1))
    await window(api, page["id"], t + timedelta(days=8), t + timedelta(days=8, hours=1))
    await window(api, page["id"], t - timedelta(days=1), t - timedelta(hours=23))
    weekly = await window(
        api,
        page["id"],
        t - timedelta(days=10),
        t - timedelta(days=10) + timedelta(hours=1),
        rrule="FREQ=WEEKLY",
    )  # next occurrence in 4 days
    old = await incident(api, page["id"], title="Old")
    new = await incident(api, page["id"], title="New", description="Looking")
    await incident(api, page["id"], title="Done", status="resolved")
    body = (await api.get("/api/pages/acme")).json()
    assert [i["id"] for i in body["incidents"]] == [new["id"], old["id"]]
    assert body["incidents"][0]["updates"][0]["message"] == "Looking"
    assert [m["id"] for m in body["maintenances"]] == [active["id"], weekly["id"], soon["id"]]
    assert body["maintenances"][0]["status"] == "in_progress"


async def test_page_read_runs_a_fixed_number_of_statements(api, db):
    page = await make_page(api)
    counts = []
    for n in (1, 5):
        ids = await endpoints_with(api, db, page["id"], ["up"] * n)
        await incident(api, page["id"], affected_endpoint_ids=ids)
        await window(api, page["id"], ago(minutes=5), ago(minutes=-5), rrule="FREQ=DAILY")
        r = await api.get("/api/pages/acme")
        counts.append(r.headers["server-timing"])
    assert counts[0].split("desc=")[1] == counts[1].split("desc=")[1] == '"4 statements"'


async def test_badge_in_maintenance_is_blue(api, db):
    page = await make_page(api, "acme", "Acme")
    down, _up = await endpoints_with(api, db, page["id"], ["down", "up"])
    r = await api.get("/badge/acme")
    assert visible_texts(r.text)[1].startswith("down")
    await window(api, page["id"], ago(minutes=10), ago(minutes=-50), endpoint_ids=[down])
    r = await api.get("/badge/acme")  # the write emptied the badge cache
    _label, message = visible_texts(r.text)
    assert message.startswith("maintenance")
    assert BADGE_COLORS["maintenance"] in fills(r.text)
    assert BADGE_COLORS["maintenance"] != BADGE_COLORS["up"]


async def test_badge_down_outside_maintenance_stays_down(api, db):
    page = await make_page(api, "acme", "Acme")
    down, _other = await endpoints_with(api, db, page["id"], ["down", "down"])
    await window(api, page["id"], ago(minutes=10), ago(minutes=-50), endpoint_ids=[down])
    _label, message = visible_texts((await api.get("/badge/acme")).text)
    assert message.startswith("down")


async def test_a_large_page_reuses_its_story_until_a_write(api, db):
    page = await make_page(api)
    await db.execute(
        "INSERT INTO endpoints (page_id, name, url)"
        " SELECT %s, 'e' || n, 'https://example.com/' FROM generate_series(1, %s) n",
        (page["id"], LONG_CACHE_FROM),
    )
    first, second = [await api.get("/api/pages/acme") for _ in range(2)]
    assert first.headers["server-timing"].endswith('desc="4 statements"')
    assert second.headers["server-timing"].endswith('desc="1 statements"')
    opened = await incident(api, page["id"], impact="critical")  # this write empties the cache
    third = await api.get("/api/pages/acme")
    assert [i["id"] for i in third.json()["incidents"]] == [opened["id"]]
    assert third.json()["status"]["indicator"] == "critical"

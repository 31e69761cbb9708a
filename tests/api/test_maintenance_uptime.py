"""Uptime with maintenance windows: a window's time counts neither as up nor as down,
in the 24 h figure, the badge, the daily rollups and the 7/30/90-day figures (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.checker.retention import roll_up
from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page
from tests.api.test_badges import visible_texts
from tests.api.test_rollup import midnight, page_uptimes, rollups


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def window(api, page_id: int, start: datetime, end: datetime, **fields) -> dict:
    body = {"page_id": page_id, "title": "Work", "starts_at": iso(start), "ends_at": iso(end)}
    r = await api.post("/api/maintenances", json={**body, **fields}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def failing(api, db):
    """Up for 6 h, then down for 2 h in the middle ([now-4h, now-2h)), then up again."""
    page = await make_page(api, "acme", "Acme")
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    other = (await make_endpoint(api, page["id"], name="Other"))["id"]
    await insert_check(db, endpoint, "up", ago(hours=8), ago(hours=4, seconds=60), interval=60)
    await insert_check(db, endpoint, "down", ago(hours=4), ago(hours=2, seconds=60), interval=60)
    await insert_check(db, endpoint, "up", ago(hours=2), ago(seconds=60), interval=60)
    await insert_check(db, other, "up", ago(hours=8), ago(seconds=60), interval=60)
    return page, endpoint, other


async def test_a_window_over_a_failure_leaves_it_out_of_the_24h_figure(api, db):
    page, endpoint, other = await failing(api, db)
    before = (await page_uptimes(api))[endpoint]
    assert before["24h"] == 75.0  # 6 h of 8 h available
    # a window covering the middle hour of the failure: 6 h of 7 h
    await window(api, page["id"], ago(hours=3.5), ago(hours=2.5), endpoint_ids=[endpoint])
    figures = await page_uptimes(api)
    assert figures[endpoint]["24h"] == 85.71
    assert figures[other]["24h"] == 100.0  # not affected
    # one covering the whole failure (and more): nothing down is counted
    await window(api, page["id"], ago(hours=5), ago(hours=1.5), endpoint_ids=[endpoint])
    figures = await page_uptimes(api)
    assert figures[endpoint]["24h"] == 100.0
    assert figures[endpoint]["7d"] == 100.0
    body = (await api.get("/api/pages/acme")).json()
    assert next(e for e in body["endpoints"] if e["id"] == endpoint)["uptime"] == "100.00"


async def test_the_badge_leaves_window_time_out(api, db):
    page, endpoint, _other = await failing(api, db)
    _label, message = visible_texts((await api.get("/badge/acme")).text)
    assert message == "up \u00b7 87.50%"  # 14 h of 16 h over both endpoints
    await window(api, page["id"], ago(hours=4), ago(hours=2), endpoint_ids=[endpoint])
    _label, message = visible_texts((await api.get("/badge/acme")).text)
    assert message == "up \u00b7 100.00%"


async def test_closed_days_rolled_up_before_the_window_are_computed_again(api, db):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    m = midnight(3)
    # a closed day: up all day but down from 10:00 to 12:00
    await insert_check(db, endpoint, "up", m, m + timedelta(hours=10) - timedelta(seconds=60))
    await insert_check(
        db, endpoint, "down", m + timedelta(hours=10), m + timedelta(hours=12, seconds=-60)
    )
    await insert_check(
        db, endpoint, "up", m + timedelta(hours=12), m + timedelta(days=1, seconds=-60)
    )
    await roll_up(db)
    day = [r for r in await rollups(db) if r[1] == m.date()]
    assert day[0][2:] == (22 * 3600.0, 24 * 3600.0, False)
    assert (await page_uptimes(api))[endpoint]["7d"] == 91.67

    # announced afterwards, over the failure: the rolled-up day is stale, then right
    await window(api, page["id"], m + timedelta(hours=10), m + timedelta(hours=12))
    assert next(r for r in await rollups(db) if r[1] == m.date())[4] is True
    assert (await page_uptimes(api))[endpoint]["7d"] == 100.0  # from the raw runs meanwhile
    await roll_up(db)
    assert next(r for r in await rollups(db) if r[1] == m.date())[2:] == (
        22 * 3600.0,
        22 * 3600.0,
        False,
    )
    assert (await page_uptimes(api))[endpoint]["7d"] == 100.0

    # deleting the window brings the failure back
    [listed] = (await api.get("/api/maintenances", params={"page_id": page["id"]})).json()
    assert (await api.delete(f"/api/maintenances/{listed['id']}", headers=AUTH)).status_code == 200
    await roll_up(db)
    assert (await page_uptimes(api))[endpoint]["7d"] == 91.67


async def test_a_recurring_window_in_every_figure(api, db):
    """A daily 02:00-03:00 window: each day's hour of failure there does not count."""
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    for days in range(1, 6):
        m = midnight(days)
        await insert_check(db, endpoint, "up", m, m + timedelta(hours=2, seconds=-60))
        await insert_check(
            db, endpoint, "down", m + timedelta(hours=2), m + timedelta(hours=3, seconds=-60)
        )
        await insert_check(
            db, endpoint, "up", m + timedelta(hours=3), m + timedelta(days=1, seconds=-60)
        )
    start = midnight(10) + timedelta(hours=2)
    await window(api, page["id"], start, start + timedelta(hours=1), rrule="FREQ=DAILY")
    await roll_up(db)
    figures = (await page_uptimes(api))[endpoint]
    assert figures["30d"] == 100.0
    assert figures["90d"] == 100.0
    assert all(r[2] == r[3] == 23 * 3600.0 for r in await rollups(db) if r[3])

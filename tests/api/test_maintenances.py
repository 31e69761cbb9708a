"""Maintenance windows over the API: shapes, validation, status, recurrence, ending early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.maintenance import extend_due
from tests.api.conftest import AUTH, make_endpoint, make_page
from tests.api.test_pages import ISO_Z

FIELDS = {
    "id",
    "pageId",
    "title",
    "description",
    "startsAt",
    "endsAt",
    "rrule",
    "timezone",
    "endpointIds",
    "status",
    "nextStartsAt",
    "nextEndsAt",
    "createdAt",
    "updatedAt",
}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def page(api):
    return await make_page(api)


async def create(api, page_id: int, start: datetime, end: datetime, **fields) -> dict:
    body = {"page_id": page_id, "title": "Upgrade", "starts_at": iso(start), "ends_at": iso(end)}
    r = await api.post("/api/maintenances", json={**body, **fields}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def occurrences(db, maintenance_id: int) -> list[tuple[datetime, datetime]]:
    cur = await db.execute(
        "SELECT starts_at, ends_at FROM maintenance_occurrences WHERE maintenance_id = %s"
        " ORDER BY starts_at",
        (maintenance_id,),
    )
    return [(s, e) for s, e in await cur.fetchall()]


async def test_one_off_shape_and_default_endpoints(api, page):
    a = await make_endpoint(api, page["id"], name="A")
    start = now() + timedelta(days=1)
    m = await create(api, page["id"], start, start + timedelta(hours=2), description="**DB**")
    assert set(m) == FIELDS
    assert m["pageId"] == page["id"]
    assert m["description"] == "**DB**"
    assert m["rrule"] is None
    assert m["timezone"] == "UTC"
    assert m["status"] == "scheduled"
    assert parse(m["startsAt"]) == parse(iso(start))
    assert m["nextStartsAt"] == m["startsAt"]
    assert m["nextEndsAt"] == m["endsAt"]
    for key in ("startsAt", "endsAt", "createdAt", "updatedAt"):
        assert ISO_Z.match(m[key]), key
    assert m["endpointIds"] == [a["id"]]
    b = await make_endpoint(api, page["id"], name="B")  # future endpoints are covered too
    r = await api.get(f"/api/maintenances/{m['id']}")
    assert r.status_code == 200
    assert r.json()["endpointIds"] == [a["id"], b["id"]]


async def test_offsets_are_kept_as_instants(api, page):
    body = {
        "page_id": page["id"],
        "title": "t",
        "starts_at": "2027-01-10T02:00:00+01:00",
        "ends_at": "2027-01-10T04:00:00+01:00",
    }
    r = await api.post("/api/maintenances", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["startsAt"] == "2027-01-10T01:00:00Z"
    assert r.json()["endsAt"] == "2027-01-10T03:00:00Z"


async def test_chosen_endpoints(api, page):
    a = await make_endpoint(api, page["id"], name="A")
    await make_endpoint(api, page["id"], name="B")
    start = now() + timedelta(days=1)
    m = await create(api, page["id"], start, start + timedelta(hours=1), endpoint_ids=[a["id"]])
    assert m["endpointIds"] == [a["id"]]


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"starts_at": "2027-01-10T02:00:00"}, "starts_at"),
        ({"ends_at": "2027-01-10T04:00:00"}, "ends_at"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"ends_at": "2027-01-10T01:00:00Z"}, "ends_at"),
        ({"ends_at": "2027-02-12T00:00:00Z"}, "31 days"),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"rrule": "BYDAY=SU"}, "rrule"),
        ({"rrule": "FREQ=WEEKLY;DTSTART=20270101T000000Z"}, "DTSTART"),
        ({"rrule": "FREQ=WEEKLY;UNTIL=20271231T000000"}, "UNTIL"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
        ({"rrule": "FREQ=MINUTELY"}, "FREQ"),
        ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"title": ""}, "title"),
        ({"extra": 1}, "extra"),
        ({"endpoint_ids": [0]}, "endpoint_ids"),
    ],
)
async def test_validation_is_a_400_that_writes_nothing(api, page, db, fields, word):
    body = {
        "page_id": page["id"],
        "title": "t",
        "starts_at": "2027-01-10T02:00:00Z",
        "ends_at": "2027-01-10T04:00:00Z",
        **fields,
    }
    r = await api.post("/api/maintenances", json=body, headers=AUTH)
    assert r.status_code == 400, r.text
    assert word in r.json()["error"]
    assert await (await db.execute("SELECT count(*) FROM maintenances")).fetchone() == (0,)


async def test_endpoints_of_another_page_and_unknown_page(api, page, db):
    other = await make_page(api, "other")
    foreign = await make_endpoint(api, other["id"])
    start = now() + timedelta(days=1)
    body = {
        "page_id": page["id"],
        "title": "t",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=1)),
    }
    r = await api.post(
        "/api/maintenances", json={**body, "endpoint_ids": [foreign["id"]]}, headers=AUTH
    )
    assert r.status_code == 400  # another page's endpoint (issue 9: a 400)
    assert str(foreign["id"]) in r.json()["error"]
    r = await api.post("/api/maintenances", json={**body, "page_id": 4242}, headers=AUTH)
    assert r.status_code == 404
    assert await (await db.execute("SELECT count(*) FROM maintenances")).fetchone() == (0,)
    assert (await api.post("/api/maintenances", json=body)).status_code == 401


async def test_status_from_the_clock_and_list_order(api, page):
    t = now()
    done_old = await create(api, page["id"], t - timedelta(days=3), t - timedelta(days=3, hours=-1))
    done_new = await create(api, page["id"], t - timedelta(days=1), t - timedelta(hours=23))
    later = await create(api, page["id"], t + timedelta(days=5), t + timedelta(days=6))
    soon = await create(api, page["id"], t + timedelta(days=1), t + timedelta(days=2))
    active = await create(api, page["id"], t - timedelta(hours=1), t + timedelta(hours=1))
    assert active["status"] == "in_progress"
    assert done_new["status"] == "completed"
    assert done_new["nextStartsAt"] is None
    assert done_new["nextEndsAt"] is None
    assert soon["status"] == "scheduled"
    r = await api.get("/api/maintenances", params={"page_id": page["id"]})
    assert r.status_code == 200
    assert [m["id"] for m in r.json()] == [
        active["id"],
        soon["id"],
        later["id"],
        done_new["id"],
        done_old["id"],
    ]
    other = await make_page(api, "other")
    assert (await api.get("/api/maintenances", params={"page_id": other["id"]})).json() == []
    assert (await api.get("/api/maintenances")).status_code == 400
    assert (await api.get("/api/maintenances/0")).status_code == 400
    assert (await api.get("/api/maintenances/999")).status_code == 404


async def test_berlin_window_keeps_its_wall_clock_across_dst(api, page, db):
    """Sunday 02:00-04:00 Europe/Berlin, weekly, from January 2027 into the next winter."""
    body = {
        "page_id": page["id"],
        "title": "Weekly",
        "starts_at": "2027-01-03T02:00:00+01:00",
        "ends_at": "2027-01-03T04:00:00+01:00",
        "rrule": "FREQ=WEEKLY;BYDAY=SU",
        "timezone": "Europe/Berlin",
    }
    r = await api.post("/api/maintenances", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["rrule"] == "FREQ=WEEKLY;BYDAY=SU"
    assert m["timezone"] == "Europe/Berlin"
    rows = {s.strftime("%Y-%m-%d"): (s, e) for s, e in await occurrences(db, m["id"])}

    def utc(day: str) -> tuple[str, str]:
        s, e = rows[day]
        return s.astimezone(UTC).strftime("%H:%M"), e.astimezone(UTC).strftime("%H:%M")

    assert utc("2027-03-21") == ("01:00", "03:00")  # CET, UTC+1
    # 28 March: clocks jump 02:00 -> 03:00; the window starts at the same instant
    # (03:00 CEST) and lasts its two hours
    assert utc("2027-03-28") == ("01:00", "03:00")
    assert utc("2027-04-04") == ("00:00", "02:00")  # CEST, UTC+2: still 02:00 in Berlin
    assert utc("2027-10-24") == ("00:00", "02:00")
    assert utc("2027-10-31") == ("00:00", "02:00")  # 02:00 happens twice: the first one
    assert utc("2027-11-07") == ("01:00", "03:00")  # back to CET
    assert all(s.astimezone(UTC).weekday() == 6 for s, _ in rows.values())
    horizon = max(s for s, _ in rows.values())
    assert horizon > now() + timedelta(days=390)  # about 400 days ahead


async def test_recurring_status_next_and_count(api, page):
    t = now().replace(microsecond=0)
    daily = await create(
        api, page["id"], t - timedelta(days=2, hours=1), t - timedelta(days=2), rrule="FREQ=DAILY"
    )
    assert daily["status"] == "scheduled"  # today's occurrence starts in 23 hours
    assert parse(daily["nextStartsAt"]) == t + timedelta(hours=23)
    assert parse(daily["nextEndsAt"]) == t + timedelta(days=1)
    assert parse(daily["startsAt"]) == t - timedelta(days=2, hours=1)  # the first occurrence
    used_up = await create(
        api,
        page["id"],
        t - timedelta(days=5),
        t - timedelta(days=5) + timedelta(hours=1),
        rrule="FREQ=DAILY;COUNT=3",
    )
    assert used_up["status"] == "completed"  # after its last occurrence only
    assert used_up["nextStartsAt"] is None
    running = await create(
        api,
        page["id"],
        t - timedelta(days=7, hours=1),
        t - timedelta(days=7) + timedelta(hours=1),
        rrule="FREQ=WEEKLY;UNTIL=" + (t + timedelta(days=30)).strftime("%Y%m%dT%H%M%SZ"),
    )
    assert running["status"] == "in_progress"
    assert parse(running["nextStartsAt"]) == t - timedelta(hours=1)


async def test_patch_is_validated_as_the_merged_window(api, page, db):
    start = now() + timedelta(days=1)
    m = await create(api, page["id"], start, start + timedelta(hours=2))
    path = f"/api/maintenances/{m['id']}"
    r = await api.patch(path, json={"ends_at": iso(start - timedelta(hours=1))}, headers=AUTH)
    assert r.status_code == 400
    assert "ends_at" in r.json()["error"]
    r = await api.patch(path, json={"starts_at": iso(start - timedelta(days=40))}, headers=AUTH)
    assert r.status_code == 400
    assert "31 days" in r.json()["error"]
    r = await api.patch(path, json={"rrule": "FREQ=NEVER"}, headers=AUTH)
    assert r.status_code == 400
    assert "rrule" in r.json()["error"]
    assert (await api.get(path)).json() == m  # nothing changed

    r = await api.patch(
        path,
        json={"title": "Bigger", "rrule": "FREQ=WEEKLY", "timezone": "Asia/Tokyo"},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["title"] == "Bigger"
    assert changed["rrule"] == "FREQ=WEEKLY"
    assert changed["timezone"] == "Asia/Tokyo"
    assert changed["startsAt"] == m["startsAt"]
    assert changed["updatedAt"] > m["updatedAt"]
    assert len(await occurrences(db, m["id"])) > 50
    once = (await api.patch(path, json={"rrule": None}, headers=AUTH)).json()
    assert once["rrule"] is None
    assert len(await occurrences(db, m["id"])) == 1


async def test_ending_a_one_off_window_early(api, page):
    t = now()
    m = await create(api, page["id"], t - timedelta(hours=1), t + timedelta(hours=3))
    assert m["status"] == "in_progress"
    end = now()
    r = await api.patch(f"/api/maintenances/{m['id']}", json={"ends_at": iso(end)}, headers=AUTH)
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["status"] == "completed"
    assert parse(ended["endsAt"]) == parse(iso(end))
    assert ended["nextStartsAt"] is None


async def test_ending_the_current_occurrence_of_a_recurring_window(api, page, db):
    t = now().replace(microsecond=0)
    first = t - timedelta(days=3, hours=1)
    m = await create(api, page["id"], first, first + timedelta(hours=3), rrule="FREQ=DAILY")
    assert m["status"] == "in_progress"
    end = now()
    r = await api.patch(f"/api/maintenances/{m['id']}", json={"ends_at": iso(end)}, headers=AUTH)
    assert r.status_code == 200, r.text
    ended = r.json()
    assert ended["status"] == "scheduled"
    assert ended["endsAt"] == m["endsAt"]  # the series keeps its length
    assert ended["rrule"] == "FREQ=DAILY"
    assert parse(ended["nextStartsAt"]) == t + timedelta(hours=23)
    rows = dict(await occurrences(db, m["id"]))
    assert rows[t - timedelta(hours=1)] == parse(iso(end))
    assert rows[t + timedelta(hours=23)] == t + timedelta(days=1, hours=2)
    # a later change keeps the early end
    await api.patch(f"/api/maintenances/{m['id']}", json={"title": "Renamed"}, headers=AUTH)
    assert dict(await occurrences(db, m["id"]))[t - timedelta(hours=1)] == parse(iso(end))


async def test_delete(api, page, db):
    start = now() + timedelta(days=1)
    m = await create(api, page["id"], start, start + timedelta(hours=1), rrule="FREQ=DAILY")
    path = f"/api/maintenances/{m['id']}"
    assert (await api.delete(path)).status_code == 401
    r = await api.delete(path, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    assert (await api.get(path)).status_code == 404
    assert (await api.delete(path, headers=AUTH)).status_code == 404
    assert await occurrences(db, m["id"]) == []


async def test_the_hourly_job_extends_the_horizon(api, page, db):
    start = now() + timedelta(hours=1)
    m = await create(api, page["id"], start, start + timedelta(hours=1), rrule="FREQ=DAILY")
    full = await occurrences(db, m["id"])
    # as if written 30 days ago: the last 30 days of the horizon are missing
    await db.execute(
        "DELETE FROM maintenance_occurrences WHERE maintenance_id = %s AND starts_at > %s",
        (m["id"], full[-31][0]),
    )
    await db.execute(
        "UPDATE maintenances SET expanded_until = %s WHERE id = %s",
        (full[-31][0] + timedelta(seconds=1), m["id"]),
    )
    assert await extend_due(db) == 1
    assert await occurrences(db, m["id"]) == full
    assert await extend_due(db) == 0  # nothing left to do

"""Daily uptime rollups: the 7/30/90-day figures read them and equal the raw-run arithmetic.

Rollups are written by the checker's ROLLUP_DAYS only; the API's page statement
computes the days not stored yet on the fly (the same SQL function), and stores
nothing. Here both are driven against a real PostgreSQL and compared with a
reference computed in Python from the raw rows, and with figures worked by hand.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import msgspec
import psycopg

from services.api.routes.pages import LONG_CACHE_FROM
from services.checker.retention import roll_up, run_retention
from tests.api.conftest import insert_check, make_endpoint, make_page
from tests.api.test_uptime import statements

WINDOWS = {"7d": 7, "30d": 30, "90d": 90}


def midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def last_closed_day() -> date:
    """The newest day a rollup may hold: days close 5 minutes after they end."""
    return (datetime.now(UTC) - timedelta(days=1, minutes=5)).date()


async def runs_of(db: psycopg.AsyncConnection, endpoint_id: int) -> list[tuple]:
    cur = await db.execute(
        "SELECT first_checked_at, last_checked_at, interval, status, id FROM checks"
        " WHERE endpoint_id = %s ORDER BY first_checked_at, id",
        (endpoint_id,),
    )
    return await cur.fetchall()


def reference(runs: list[tuple], since: datetime, until: datetime) -> float | None:
    """The README rule, straight from the raw runs."""
    available = covered = 0.0
    for i, (first, last, interval, status, _) in enumerate(runs):
        end = min(last + timedelta(seconds=interval), until)
        if i + 1 < len(runs):
            end = min(end, runs[i + 1][0])
        seconds = (end - max(first, since)).total_seconds()
        if seconds > 0:
            covered += seconds
            available += seconds if status != "down" else 0.0
    return None if covered == 0 else round(100 * available / covered, 2)


async def page_uptimes(api, slug: str = "acme") -> dict[int, dict]:
    r = await api.get(f"/api/pages/{slug}")
    assert r.status_code == 200, r.text
    return {e["id"]: e["uptimes"] for e in r.json()["endpoints"]}


async def rollups(db: psycopg.AsyncConnection) -> list[tuple]:
    cur = await db.execute(
        "SELECT endpoint_id, day, available_seconds, covered_seconds, stale"
        " FROM uptime_daily ORDER BY endpoint_id, day"
    )
    return await cur.fetchall()


async def checker_rollup(settings) -> int:
    """The checker's rollup job, once over every endpoint; the day rows it wrote."""
    async with await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True) as c:
        return await roll_up(c)


async def known_runs(db: psycopg.AsyncConnection, endpoint: int, now: datetime) -> None:
    """Runs around midnights, gaps, degraded and down (see the sums in the test)."""
    m = midnight(3)
    # straddles the start of the 7-day window: 1800 s inside it, 3600 s in all
    await insert_check(db, endpoint, "up", now - timedelta(days=7, minutes=30),
                       now - timedelta(days=7, minutes=-29), interval=60)  # fmt: skip
    # straddles a midnight: [m - 1 h, m + 1 h) = 7200 s up
    await insert_check(db, endpoint, "up", m - timedelta(hours=1),
                       m + timedelta(minutes=59), interval=60)  # fmt: skip
    await insert_check(db, endpoint, "down", m + timedelta(hours=1),
                       m + timedelta(minutes=89), interval=60)  # 1800 s down  # fmt: skip
    # (a gap: counts neither way) degraded counts as available: 3600 s
    await insert_check(db, endpoint, "degraded", m + timedelta(hours=5),
                       m + timedelta(minutes=359), interval=60)  # fmt: skip
    # would cover to 00:50 of the next day, clipped by the next run at 00:20: 3000 s up
    await insert_check(db, endpoint, "up", m + timedelta(hours=23, minutes=30),
                       m + timedelta(hours=23, minutes=50), interval=3600)  # fmt: skip
    await insert_check(db, endpoint, "down", m + timedelta(days=1, minutes=20),
                       interval=60)  # 60 s down  # fmt: skip
    # recent, not rolled up yet: 3660 s up
    await insert_check(db, endpoint, "up", now - timedelta(hours=2),
                       now - timedelta(hours=1), interval=60)  # fmt: skip


async def test_figures_with_rollups_equal_the_raw_arithmetic(api, db, settings):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    now = datetime.now(UTC)
    await known_runs(db, endpoint, now)
    runs = await runs_of(db, endpoint)
    assert await rollups(db) == []

    first = (await page_uptimes(api))[endpoint]  # the closed days computed on the fly
    assert await rollups(db) == []  # and not stored: a read never writes
    # 7 d: available 1800 + 7200 + 3600 + 3000 + 3660 = 19260, covered + 1800 + 60 = 21120
    assert first["7d"] == 91.19
    # 30 d and 90 d see the whole first run: 21060 / 22920
    assert first["30d"] == first["90d"] == 91.88
    end = datetime.now(UTC)
    for name, days in WINDOWS.items():
        assert abs(first[name] - reference(runs, end - timedelta(days=days), end)) <= 0.01

    assert await checker_rollup(settings) > 0
    rolled = {day: (a, c) for _, day, a, c, _ in await rollups(db)}
    m = midnight(3).date()
    # every closed day from the first run on, empty ones included, none open
    first_day = runs[0][0].date()
    assert sorted(rolled) == [
        first_day + timedelta(days=i) for i in range((last_closed_day() - first_day).days + 1)
    ]
    assert rolled[m - timedelta(days=1)] == (3600.0, 3600.0)  # the hour before midnight
    assert rolled[m] == (3600.0 + 3600 + 1800, 3600.0 + 1800 + 3600 + 1800)
    assert rolled[m + timedelta(days=1)] == (1200.0, 1260.0)  # 00:00-00:20 up, 60 s down
    assert rolled[m + timedelta(days=2)] == (0.0, 0.0) or m + timedelta(days=2) > last_closed_day()

    again = (await page_uptimes(api))[endpoint]  # now from the rollups
    assert again == first


async def test_random_history_matches_the_reference(api, db, settings):
    page = await make_page(api)
    rng = random.Random(20261129)
    now = datetime.now(UTC)
    endpoints = [(await make_endpoint(api, page["id"], name=f"e{i}"))["id"] for i in range(3)]
    for endpoint in endpoints:
        t = now - timedelta(days=12, minutes=rng.randint(0, 600))
        while t < now - timedelta(hours=4):
            interval = rng.choice([30, 60, 300, 3600])
            length = timedelta(seconds=interval * rng.randint(0, 90))
            status = rng.choices(["up", "degraded", "down"], [6, 1, 2])[0]
            await insert_check(db, endpoint, status, t, t + length, interval=interval)
            # the next run starts before, at or after this one's coverage ends
            t = t + length + timedelta(seconds=rng.randint(0, 3 * interval))
    before = await page_uptimes(api)  # computes the closed days on the fly
    assert await checker_rollup(settings) > 0
    at = datetime.now(UTC)
    after = await page_uptimes(api)  # reads them stored
    assert before == after
    assert await rollups(db)
    for endpoint in endpoints:
        runs = await runs_of(db, endpoint)
        for name, days in WINDOWS.items():
            expected = reference(runs, at - timedelta(days=days), at)
            assert expected is not None
            assert abs(after[endpoint][name] - expected) <= 0.01, (endpoint, name)


async def test_a_back_dated_run_marks_its_rolled_days_stale(api, db, settings):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    m = midnight(4)
    await insert_check(db, endpoint, "up", m + timedelta(hours=1), m + timedelta(hours=2))
    assert (await page_uptimes(api))[endpoint]["7d"] == 100.0
    await checker_rollup(settings)
    assert (await rollups(db))[0][1:] == (m.date(), 3660.0, 3660.0, False)
    # written later into a day already rolled up (an import, a late writer)
    await insert_check(db, endpoint, "down", m + timedelta(hours=3), interval=3600)
    cur = await db.execute("SELECT stale FROM uptime_daily WHERE day = %s", (m.date(),))
    assert await cur.fetchone() == (True,)
    # read from the raw runs until the next rollup, which computes the day again
    assert (await page_uptimes(api))[endpoint]["7d"] == 50.41  # 3660 / 7260
    assert (await rollups(db))[0][1:] == (m.date(), 3660.0, 3660.0, True)
    await checker_rollup(settings)
    assert (await rollups(db))[0][1:] == (m.date(), 3660.0, 7260.0, False)
    assert (await page_uptimes(api))[endpoint]["7d"] == 50.41


async def test_rollup_is_idempotent_and_race_safe(api, db, settings):
    page = await make_page(api)
    endpoints = [(await make_endpoint(api, page["id"], name=f"e{i}"))["id"] for i in range(5)]
    now = datetime.now(UTC)
    for i, endpoint in enumerate(endpoints):
        for d in range(10):
            start = now - timedelta(days=d, hours=i)
            status = "down" if (d + i) % 4 == 0 else "up"
            await insert_check(db, endpoint, status, start, start + timedelta(hours=3))

    async def fill(batch: int) -> int:
        async with await psycopg.AsyncConnection.connect(
            settings.conninfo(), autocommit=True
        ) as conn:
            return await roll_up(conn, batch=batch)

    # four replicas at once, in different batch sizes: no error, no deadlock
    results = await asyncio.gather(*(fill(b) for b in (1, 2, 3, 100)))
    once = await rollups(db)
    assert sum(results) == len(once) > 0
    assert len({(e, d) for e, d, *_ in once}) == len(once)
    assert await fill(100) == 0  # nothing left to do
    assert await rollups(db) == once
    # the same rows as one rollup on an empty table
    await db.execute("DELETE FROM uptime_daily")
    async with await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True) as c:
        assert await roll_up(c) == len(once)
    assert await rollups(db) == once


async def test_a_day_is_rolled_up_only_once_closed(api, db, settings):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    now = datetime.now(UTC)
    today = midnight(0)
    await insert_check(db, endpoint, "up", today - timedelta(days=2), today - timedelta(days=2))
    await insert_check(
        db, endpoint, "up", today - timedelta(minutes=10), today - timedelta(minutes=9)
    )
    if now > today + timedelta(minutes=1):
        await insert_check(db, endpoint, "down", today + timedelta(seconds=30), interval=30)
    await checker_rollup(settings)
    days = [day for _, day, *_ in await rollups(db)]
    assert today.date() not in days  # today is never closed
    assert max(days) == last_closed_day()  # yesterday only from 00:05 on
    assert (today - timedelta(days=1)).date() in days or now < today + timedelta(minutes=5)


async def test_rollups_survive_retention(api, db, settings):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    now = datetime.now(UTC)
    await known_runs(db, endpoint, now)
    before = (await page_uptimes(api))[endpoint]
    # A one-day retention deletes every run but the recent one.
    short = msgspec.structs.replace(settings, check_retention_days=1)
    async with await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True) as c:
        assert await run_retention(c, short) == 6
    assert len(await runs_of(db, endpoint)) == 1
    after = (await page_uptimes(api))[endpoint]
    # Whole days inside the windows come from the rollups: 30 d and 90 d are unchanged.
    assert after["30d"] == before["30d"] == 91.88
    assert after["90d"] == before["90d"] == 91.88
    # 7 d loses the part of the oldest run that lay in its partial first day (all of
    # it, unless a midnight falls in that half hour): those raw rows are gone, and
    # that part is simply uncovered. Without it: 17460 / 19320.
    assert 90.37 <= after["7d"] <= before["7d"] == 91.19


async def test_only_a_large_page_reuses_its_long_figures_for_a_few_seconds(api, db):
    for slug, count in (("small", LONG_CACHE_FROM - 1), ("large", LONG_CACHE_FROM)):
        page = await make_page(api, slug)
        await db.execute(
            "INSERT INTO endpoints (page_id, name, url)"
            " SELECT %s, 'e' || n, 'https://example.com/' FROM generate_series(1, %s) n",
            (page["id"], count),
        )
        first, second = [await api.get(f"/api/pages/{slug}") for _ in range(2)]
        # the endpoints, the open incidents and the coming windows, then the figures
        assert statements(first) == 4
        # a large page also reuses its incidents and windows: the endpoints alone
        assert statements(second) == (1 if slug == "large" else 4)
        assert first.json() == second.json()

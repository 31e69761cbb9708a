"""Retention keeps the uptime: a run is deleted only once its days are rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.checker.retention import delete_expired, roll_up, run_retention

from .conftest import make_endpoint, make_page
from .test_retention import add_run


async def rolled_days(db, endpoint_id: int) -> list:
    cur = await db.execute(
        "SELECT day FROM uptime_daily WHERE endpoint_id = %s ORDER BY day", (endpoint_id,)
    )
    return [r[0] for r in await cur.fetchall()]


async def test_retention_never_deletes_a_day_that_is_not_rolled_up(db, settings):
    now = datetime.now(UTC)
    endpoint = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    old = [
        await add_run(db, endpoint, now - timedelta(days=d, hours=2), now - timedelta(days=d))
        for d in (45, 40, 35)
    ]
    cutoff = now - timedelta(days=30)
    # Nothing rolled up yet: the deletion itself refuses.
    assert await delete_expired(db, cutoff) == 0
    assert await rolled_days(db, endpoint) == []
    # Rolled up: now they go, and their days stay in uptime_daily.
    assert await roll_up(db) > 0
    days = await rolled_days(db, endpoint)
    assert {(now - timedelta(days=d, hours=1)).date() for d in (45, 40, 35)} <= set(days)
    assert await delete_expired(db, cutoff) == len(old)
    assert await rolled_days(db, endpoint) == days


async def test_a_retention_run_rolls_up_before_it_deletes(db, settings):
    now = datetime.now(UTC)
    endpoint = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/b")
    first = now.replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=40)
    await add_run(db, endpoint, first, first + timedelta(minutes=59))
    recent = await add_run(db, endpoint, now - timedelta(hours=3), now - timedelta(hours=2))
    assert await run_retention(db, settings, now=now) == 1
    cur = await db.execute("SELECT id FROM checks WHERE endpoint_id = %s", (endpoint,))
    assert [r[0] for r in await cur.fetchall()] == [recent]
    cur = await db.execute(
        "SELECT available_seconds, covered_seconds FROM uptime_daily"
        " WHERE endpoint_id = %s AND day = %s",
        (endpoint, first.date()),
    )
    assert await cur.fetchone() == (3570.0, 3570.0)  # 59 min + one 30 s interval
    # every day from the first run to the last closed one is rolled up, empty ones too
    days = await rolled_days(db, endpoint)
    assert days[0] == first.date()
    assert days[-1] == (now - timedelta(days=1, minutes=5)).date()
    assert len(days) == (days[-1] - days[0]).days + 1

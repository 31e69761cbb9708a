"""Retention: exactly what is past the window goes, in batches, once across replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from services.checker.db import Link
from services.checker.metrics import Metrics
from services.checker.retention import BATCH, run_retention
from shared.db import create_pool

from .conftest import eventually, make_endpoint, make_page


async def add_run(db, endpoint_id: int, first: datetime, last: datetime) -> int:
    cur = await db.execute(
        "INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count,"
        " interval, response_time, response_time_min, response_time_max, response_time_sum)"
        " VALUES (%s, 'up', %s, %s, 1, 30, 5, 5, 5, 5) RETURNING id",
        (endpoint_id, first, last),
    )
    return (await cur.fetchone())[0]


async def arrange(db, now: datetime) -> tuple[set[int], int]:
    """History around a 30-day window; returns (ids that must stay, rows to delete)."""
    page = await make_page(db)
    live = await make_endpoint(db, page, "http://127.0.0.1:9/live")
    paused = await make_endpoint(db, page, "http://127.0.0.1:9/paused", active=False)
    cutoff = now - timedelta(days=30)
    # Many old runs, so that deleting takes several batches.
    old = BATCH * 2 + 17
    await db.execute(
        "INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count,"
        " interval, response_time, response_time_min, response_time_max, response_time_sum)"
        " SELECT %s, 'up', t, t + interval '59 minutes', 120, 30, 5, 5, 5, 600"
        "   FROM generate_series(1, %s) g, LATERAL (SELECT %s - g * interval '1 hour') x(t)",
        (live, old, cutoff - timedelta(minutes=61)),
    )
    keep = {
        # straddles the cutoff: its last check is inside the window
        await add_run(db, live, cutoff - timedelta(minutes=30), cutoff + timedelta(minutes=29)),
        await add_run(db, live, now - timedelta(days=1), now - timedelta(days=1, minutes=-5)),
    }
    just_out = await add_run(db, live, cutoff - timedelta(hours=1), cutoff - timedelta(seconds=1))
    assert just_out
    # A paused endpoint's open row is kept even when old: it holds its last known status.
    open_old = await add_run(db, paused, now - timedelta(days=90), now - timedelta(days=89))
    await db.execute(
        "UPDATE endpoint_state SET open_check_id = %s, status = 'up' WHERE endpoint_id = %s",
        (open_old, paused),
    )
    keep.add(open_old)
    return keep, old + 1


async def remaining(db) -> set[int]:
    cur = await db.execute("SELECT id FROM checks")
    return {r[0] for r in await cur.fetchall()}


async def test_deletes_exactly_what_is_past_the_window_once(db, settings):
    now = datetime.now(UTC)
    keep, expected = await arrange(db, now)
    links = [Link(settings.conninfo(), name=f"r{i}", metrics=Metrics()) for i in range(2)]
    try:
        results = await asyncio.gather(*(run_retention(k, settings, now=now) for k in links))
        # One replica took the lock and did the work; the other found it taken (or,
        # coming later, found nothing left to delete).
        assert sorted(results, key=lambda r: r or 0) in ([None, expected], [0, expected])
        assert await remaining(db) == keep
        assert await run_retention(links[0], settings, now=now) == 0  # idempotent
    finally:
        for k in links:
            await k.close()
    # Callable with a pool too (one connection holds the lock for the whole run).
    pool = create_pool(settings, name="retention-test", min_size=1, max_size=1)
    await pool.open()
    try:
        await add_run(
            db,
            await make_endpoint(db, await make_page(db, "more"), "http://x.invalid/"),
            now - timedelta(days=31),
            now - timedelta(days=31),
        )
        assert await run_retention(pool, settings, now=now) == 1
    finally:
        await pool.close()


@pytest.mark.slow
async def test_two_checker_replicas_run_retention_once(db, spawn):
    now = datetime.now(UTC)
    keep, expected = await arrange(db, now)
    hour = str(now.hour)
    replicas = [spawn(CLEANUP_HOUR=hour, CHECK_RETENTION_DAYS="30") for _ in range(2)]

    def both_decided() -> bool:
        return all("retention:" in r.log() for r in replicas)

    await eventually(both_decided, 15)
    for r in replicas:
        r.terminate()
    assert [r.wait() for r in replicas] == [0, 0]
    logs = [r.log() for r in replicas]
    ran = [log for log in logs if f"retention: deleted {expected} history rows" in log]
    skipped = [log for log in logs if "retention: another replica runs it today" in log]
    assert (len(ran), len(skipped)) == (1, 1), logs
    assert await remaining(db) & set(range(max(keep) + 1)) == keep  # (the replicas probed too)

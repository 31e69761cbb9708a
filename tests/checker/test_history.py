"""The batched writer: run-length history, buckets, and the claim-token fence.

Results are fed to the real writer with explicit timestamps, after a real claim.
"""

from __future__ import annotations

import math
import time

import pytest
from loguru import logger

from services.checker.claim import claim_due
from services.checker.db import Link
from services.checker.metrics import Metrics
from services.checker.probe import Result
from services.checker.record import Writer

from .conftest import eventually, history, make_endpoint, make_page, running_checker, state


@pytest.fixture
async def pool(settings, metrics):
    link = Link(settings.conninfo(), name="test", metrics=metrics)
    yield link
    await link.close()


@pytest.fixture
def metrics():
    return Metrics()


async def claim_one(pool, metrics, endpoint_id: int) -> int:
    claims, _ = await claim_due(pool, limit=50, claimer="test")
    token = {c.endpoint_id: c.token for c in claims}[endpoint_id]
    return token


def aligned(bucket: int) -> float:
    """The start of the current clock-aligned bucket, plus a second."""
    return math.floor(time.time() / bucket) * bucket + 1.0


async def test_fifty_up_results_make_one_row(db, pool, metrics):
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    token = await claim_one(pool, metrics, eid)
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    base = aligned(3600)
    times = [40 + (i * 7) % 23 for i in range(50)]
    for i, ms in enumerate(times):
        writer.add(Result(eid, token, "up", base + i, ms, 200, None, 30))
    assert await writer.flush()  # 50 results of one endpoint in one batch: handled in order
    rows = await history(db, eid)
    assert len(rows) == 1
    row = rows[0]
    assert row["count"] == 50
    assert (row["response_time_min"], row["response_time_max"]) == (min(times), max(times))
    assert row["response_time_sum"] / row["count"] == pytest.approx(sum(times) / 50)
    assert row["response_time"] == times[-1]
    assert row["first_checked_at"].timestamp() == pytest.approx(base)
    assert row["last_checked_at"].timestamp() == pytest.approx(base + 49)
    assert (row["status"], row["interval"], row["status_code"], row["error"]) == (
        "up",
        30,
        200,
        None,
    )
    st = await state(db, eid)
    assert (st["status"], st["open_check_id"]) == ("up", row["id"])


async def test_status_flip_inserts_a_row(db, pool, metrics):
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    token = await claim_one(pool, metrics, eid)
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    base = aligned(3600)
    statuses = ["up", "up", "down", "down", "down", "up"]
    for i, s in enumerate(statuses):
        err = None if s == "up" else "HTTP 503"
        writer.add(Result(eid, token, s, base + i, 10 + i, 200 if s == "up" else 503, err, 30))
        assert await writer.flush()
    rows = await history(db, eid)
    assert [(r["status"], r["count"]) for r in rows] == [("up", 2), ("down", 3), ("up", 1)]
    assert rows[1]["error"] == "HTTP 503"
    assert rows[1]["status_code"] == 503
    assert (await state(db, eid))["open_check_id"] == rows[-1]["id"]
    assert metrics.rows_inserted._value.get() == 3
    assert metrics.rows_updated._value.get() == 3


async def test_bucket_rollover_inserts_a_row(db, pool, metrics):
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    token = await claim_one(pool, metrics, eid)
    writer = Writer(pool, bucket_seconds=60, batch_size=200, metrics=metrics)
    base = aligned(60) - 1.0 - 120  # two whole minutes ago, on the minute
    for offset in (0, 30, 59.5, 60, 90, 125):
        writer.add(Result(eid, token, "up", base + offset, 5, 200, None, 30))
    assert await writer.flush()
    rows = await history(db, eid)
    assert [r["count"] for r in rows] == [3, 2, 1]
    for r in rows:  # no row spans two clock-aligned buckets
        assert r["first_checked_at"].timestamp() // 60 == r["last_checked_at"].timestamp() // 60


async def test_a_repeated_flush_changes_nothing(db, pool, metrics):
    """A flush whose reply was lost is sent again: the fence makes it idempotent."""
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    token = await claim_one(pool, metrics, eid)
    base = aligned(3600)
    batch = [Result(eid, token, "up", base + i, 5, 200, None, 30) for i in range(3)]
    for _ in range(2):
        writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
        for r in batch:
            writer.add(r)
        assert await writer.flush()
    assert [r["count"] for r in await history(db, eid)] == [3]


async def test_result_of_a_voided_claim_is_dropped(db, pool, metrics):
    """The endpoint changed while it was being probed: that probe's result is not recorded."""
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/old")
    old_token = await claim_one(pool, metrics, eid)
    await db.execute("UPDATE endpoints SET url = 'http://127.0.0.1:9/new' WHERE id = %s", (eid,))
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    writer.add(Result(eid, old_token, "down", time.time(), 5, None, "connection refused", 30))
    assert await writer.flush()
    assert await history(db, eid) == []
    assert (await state(db, eid))["status"] is None
    # The new claim (a new token generation) is recorded.
    new_token = await claim_one(pool, metrics, eid)
    assert new_token >> 32 != old_token >> 32
    writer.add(Result(eid, new_token, "up", time.time(), 5, 200, None, 30))
    writer.add(Result(eid, old_token, "down", time.time() + 1, 5, None, "late", 30))
    assert await writer.flush()
    assert [(r["status"], r["count"]) for r in await history(db, eid)] == [("up", 1)]
    assert metrics.results_dropped._value.get() == 2


async def test_a_superseded_older_result_cannot_rewind_history(db, pool, metrics):
    """A slow checker's result arriving after a newer slot was recorded is dropped."""
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    slow_token = await claim_one(pool, metrics, eid)
    await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() WHERE endpoint_id = %s", (eid,)
    )
    fast_token = await claim_one(pool, metrics, eid)  # the next slot, by another replica
    assert fast_token > slow_token
    now = time.time()
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    writer.add(Result(eid, fast_token, "up", now, 5, 200, None, 30))
    assert await writer.flush()
    writer.add(Result(eid, slow_token, "down", now - 10, 10000, None, "timeout after 10 s", 30))
    assert await writer.flush()
    rows = await history(db, eid)
    assert [(r["status"], r["count"]) for r in rows] == [("up", 1)]


async def test_deleted_endpoint_result_is_dropped(db, pool, metrics):
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/a")
    token = await claim_one(pool, metrics, eid)
    await db.execute("DELETE FROM endpoints WHERE id = %s", (eid,))
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    writer.add(Result(eid, token, "up", time.time(), 5, 200, None, 30))
    assert await writer.flush()
    cur = await db.execute("SELECT count(*) FROM checks")
    assert (await cur.fetchone())[0] == 0


async def test_a_refused_result_drops_only_itself(db, pool, metrics):
    """One result of a flush violates a constraint: the others are written, it alone is
    dropped and logged with its endpoint id, and the metrics count the rows really written."""
    page = await make_page(db)
    eids = [await make_endpoint(db, page, f"http://127.0.0.1:9/{i}") for i in range(5)]
    claims, _ = await claim_due(pool, limit=50, claimer="test")
    tokens = {c.endpoint_id: c.token for c in claims}
    bad = eids[2]
    writer = Writer(pool, bucket_seconds=3600, batch_size=200, metrics=metrics)
    now = time.time()
    for eid in eids:  # a negative response time breaks checks_response_times
        writer.add(Result(eid, tokens[eid], "up", now, -1 if eid == bad else 7, 200, None, 30))
    logs: list[str] = []
    sink = logger.add(lambda m: logs.append(str(m)), level="INFO")
    try:
        assert await writer.flush()
    finally:
        logger.remove(sink)
    for eid in eids:
        assert [r["count"] for r in await history(db, eid)] == ([] if eid == bad else [1])
    assert writer.pending == 0  # the refused one is not retried for ever
    assert metrics.rows_inserted._value.get() == 4
    assert metrics.results_refused._value.get() == 1
    refused = [line for line in logs if "refused" in line]
    assert len(refused) == 1
    assert f"endpoint {bad} " in refused[0]
    assert all(f"endpoint {eid} " not in refused[0] for eid in eids if eid != bad)


async def test_checker_records_runs_end_to_end(db, settings, target):
    """Through the real loop: an endpoint that flips from up to down gets two rows."""
    eid = await make_endpoint(
        db, await make_page(db), target.answer("/flip"), interval=5, timeout=2
    )
    async with running_checker(settings, history_bucket_seconds=3600):
        await eventually(lambda: target.count("/flip") >= 2, 12)
        target.answer("/flip", status=500)
        await eventually(lambda: target.count("/flip") >= 3, 7)
    rows = await history(db, eid)
    statuses = [(r["status"], r["count"]) for r in rows]
    up = sum(c for s, c in statuses if s == "up")
    assert statuses[-1][0] == "down"
    assert up >= 2
    assert rows[-1]["error"] == "HTTP 500"
    assert rows[-1]["status_code"] == 500
    assert sum(c for _, c in statuses) == target.count("/flip")

"""Claiming (one statement, SKIP LOCKED, next slot on the grid) and waking on NOTIFY."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.checker.claim import claim_due
from services.checker.db import Link
from services.checker.metrics import Metrics

from .conftest import Target, eventually, make_endpoint, make_page, running_checker, state


@pytest.fixture
def metrics():
    return Metrics()


@pytest.fixture
async def pool(settings, metrics):
    link = Link(settings.conninfo(), name="test", metrics=metrics)
    yield link
    await link.close()


async def set_due(db, endpoint_id: int, seconds_ago: float) -> float:
    cur = await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() - make_interval(secs => %s)"
        " WHERE endpoint_id = %s RETURNING extract(epoch FROM next_check_at)::float8",
        (seconds_ago, endpoint_id),
    )
    return (await cur.fetchone())[0]


async def test_claim_returns_what_the_probe_needs_and_moves_to_the_next_slot(db, pool):
    page = await make_page(db, "shop")
    eid = await make_endpoint(
        db,
        page,
        "http://127.0.0.1:9/x",
        name="Checkout",
        method="POST",
        interval=10,
        timeout=3,
        expected_status=["200-299", "418"],
        degraded_threshold_ms=250,
        keyword="ok",
    )
    due = await set_due(db, eid, 1.0)
    claims, next_due = await claim_due(pool, limit=10, claimer="me")
    [c] = claims
    assert (c.endpoint_id, c.url, c.method, c.timeout, c.interval) == (
        eid,
        "http://127.0.0.1:9/x",
        "POST",
        3,
        10,
    )
    assert c.expected_status == ("200-299", "418")
    assert (c.degraded_threshold_ms, c.keyword) == (250, "ok")
    assert (c.endpoint_name, c.page_name) == ("Checkout", "Shop")
    assert c.due_at == pytest.approx(due, abs=1e-5)
    st = await state(db, eid)
    assert st["next_check_at"].timestamp() == pytest.approx(due + 10, abs=1e-5)
    assert (st["claimed_by"], st["claim_token"]) == ("me", c.token)
    assert next_due == pytest.approx(due + 10, abs=1e-3)  # the earliest slot left
    again, _ = await claim_due(pool, limit=10, claimer="other")
    assert again == []  # the lease holds until the next slot


async def test_a_checker_behind_skips_missed_slots(db, pool):
    eid = await make_endpoint(db, await make_page(db), "http://127.0.0.1:9/x", interval=10)
    due = await set_due(db, eid, 35.0)  # three and a half slots late
    [c], _ = await claim_due(pool, limit=10, claimer="me")
    assert c.due_at == pytest.approx(due, abs=1e-5)
    st = await state(db, eid)
    assert st["next_check_at"].timestamp() == pytest.approx(due + 40, abs=1e-5)  # not due+10
    again, _ = await claim_due(pool, limit=10, claimer="me")
    assert again == []  # no burst of catch-up probes


async def test_concurrent_claims_never_overlap_and_tokens_are_fresh(db, pool):
    page = await make_page(db)
    ids = [await make_endpoint(db, page, f"http://127.0.0.1:9/{i}") for i in range(120)]
    inactive = await make_endpoint(db, page, "http://127.0.0.1:9/off", active=False)
    links = [Link(pool._conninfo, name=f"r{i}", metrics=Metrics()) for i in range(3)]
    results = await asyncio.gather(
        *(claim_due(link, limit=50, claimer=f"r{i}") for i, link in enumerate(links))
    )
    for link in links:
        await link.close()
    taken = [c.endpoint_id for claims, _ in results for c in claims]
    assert len(taken) == len(set(taken)) == 120
    assert set(taken) == set(ids)
    assert inactive not in taken
    tokens = [c.token for claims, _ in results for c in claims]
    assert len(set(tokens)) == len(tokens)


async def test_created_endpoint_is_probed_within_a_second(db, settings, target: Target):
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/old"), interval=60, timeout=5)
    async with running_checker(settings):
        await eventually(lambda: target.count("/old") == 1, 5)
        await asyncio.sleep(2.5)  # the loop is asleep now: only the NOTIFY can wake it
        created = time.time()
        await make_endpoint(db, page, target.answer("/new"), interval=60, timeout=5)
        await eventually(lambda: target.count("/new") == 1, 1.0, every=0.01)
        assert target.hits["/new"][0].at - created < 1.0


async def test_changed_deactivated_and_deleted_endpoints(db, settings, target: Target):
    page = await make_page(db)
    moving = await make_endpoint(db, page, target.answer("/a"), interval=5, timeout=2)
    paused = await make_endpoint(db, page, target.answer("/paused"), interval=5, timeout=2)
    gone = await make_endpoint(db, page, target.answer("/gone"), interval=5, timeout=2)
    slower = await make_endpoint(db, page, target.answer("/slower"), interval=5, timeout=2)
    first = ("/a", "/paused", "/gone", "/slower")
    async with running_checker(settings):
        await eventually(lambda: all(target.count(p) == 1 for p in first), 5)
        await db.execute("UPDATE endpoints SET url = %s WHERE id = %s", (target.url("/b"), moving))
        await db.execute("UPDATE endpoints SET interval = 60 WHERE id = %s", (slower,))
        await db.execute("UPDATE endpoints SET active = false WHERE id = %s", (paused,))
        await db.execute("DELETE FROM endpoints WHERE id = %s", (gone,))
        changed = time.time()
        await eventually(lambda: target.count("/b") == 1, 1.0, every=0.01)
        assert target.hits["/b"][0].at - changed < 1.0
        await eventually(lambda: target.count("/slower") == 2, 1.0, every=0.01)
        st = await state(db, slower)  # the new interval takes effect at once
        assert st["next_check_at"].timestamp() == pytest.approx(changed + 60, abs=1.5)
        await asyncio.sleep(5.5)  # past the next slot of all three
    assert target.count("/paused") == 1
    assert target.count("/gone") == 1
    assert target.count("/a") == 1
    assert target.count("/b") == 2
    assert target.count("/slower") == 2
    cur = await db.execute(
        "SELECT next_check_at = 'infinity' FROM endpoint_state WHERE endpoint_id = %s", (paused,)
    )
    assert (await cur.fetchone())[0]


async def test_an_idle_checker_does_not_spin(db, settings, target: Target):
    await make_endpoint(db, await make_page(db), target.answer("/x"), interval=60, timeout=5)
    async with running_checker(settings) as checker:
        await eventually(lambda: target.count("/x") == 1, 5)
        await asyncio.sleep(0.6)
        before = checker.metrics.round_trips._value.get()
        await asyncio.sleep(4.0)
        sent = checker.metrics.round_trips._value.get() - before
    assert 1 <= sent <= 4  # a claim every couple of seconds, nothing more


async def test_probe_slots_bound_concurrency_and_a_backlog_drains(db, settings, target: Target):
    page = await make_page(db)
    paths = [f"/slow{i}" for i in range(60)]
    for p in paths:
        await make_endpoint(db, page, target.answer(p, delay=0.2), interval=60, timeout=5)
    started = time.time()
    async with running_checker(settings, check_concurrency=10) as checker:
        await eventually(lambda: all(target.count(p) == 1 for p in paths), 5)
        drained = time.time() - started
        claims = checker.metrics.claim_batch._sum.get()
        rounds = sum(b.get() for b in checker.metrics.claim_batch._buckets)
    assert target.max_in_flight <= 10
    assert drained < 3.0  # 6 waves of 0.2 s, each claimed as soon as half the slots are free
    assert claims == 60
    assert rounds <= 15  # claimed in batches, not one by one

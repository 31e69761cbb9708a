"""`uptimatum checker` processes: exactly-once across replicas, kill -9, SIGTERM hand-back."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from datetime import UTC, datetime

import pytest

from .conftest import Target, eventually, make_endpoint, make_page, wait_healthy

pytestmark = pytest.mark.slow

INTERVAL = 5


async def test_three_replicas_probe_each_endpoint_once_per_slot_and_survive_a_kill(
    db, spawn, target: Target
):
    page = await make_page(db)
    paths = [f"/e{i}" for i in range(300)]
    ids = {}
    for p in paths:
        ids[p] = await make_endpoint(db, page, target.answer(p), interval=INTERVAL, timeout=2)
    # Start every endpoint on its own point of the 5 s grid, as a real schedule is.
    await db.execute(
        "UPDATE endpoint_state"
        " SET next_check_at = now() + make_interval(secs => 1 + (endpoint_id % 50) / 10.0)"
    )
    replicas = [spawn(CHECK_CONCURRENCY=100) for _ in range(3)]
    await asyncio.gather(*(wait_healthy(r.metrics_port) for r in replicas))
    started = time.time()
    await asyncio.sleep(3 * INTERVAL + 1.5)

    # Every endpoint probed in each slot, none twice: requests 5 s apart.
    for p in paths:
        hits = [h.at for h in target.hits[p] if h.at >= started]
        assert len(hits) in (3, 4), (p, hits)
        gaps = [b - a for a, b in itertools.pairwise(hits)]
        assert all(INTERVAL - 1.0 < g < INTERVAL + 1.0 for g in gaps), (p, gaps)
    cur = await db.execute("SELECT count(DISTINCT claimed_by) FROM endpoint_state")
    assert (await cur.fetchone())[0] == 3, [r.log()[-3000:] for r in replicas]  # shared

    # kill -9 one replica: its endpoints are probed by the others by their next slot.
    victim = replicas[0]
    cur = await db.execute(
        "SELECT endpoint_id, extract(epoch FROM next_check_at)::float8 FROM endpoint_state"
        " WHERE claimed_by LIKE %s",
        (f"%:{victim.proc.pid}:%",),
    )
    orphans = dict(await cur.fetchall())
    assert orphans
    victim.kill()
    victim.wait()
    killed = time.time()
    await asyncio.sleep(INTERVAL + 1.5)
    by_id = {v: k for k, v in ids.items()}
    for eid, next_slot in orphans.items():
        after = [h.at for h in target.hits[by_id[eid]] if h.at > killed]
        assert after, f"endpoint {eid} was not probed again after the kill"
        assert after[0] < max(next_slot, killed) + 1.0
    for p in paths:  # still exactly once per slot
        hits = [h.at for h in target.hits[p]]
        gaps = [b - a for a, b in itertools.pairwise(hits)]
        assert all(g > INTERVAL - 1.0 for g in gaps), (p, gaps)

    for r in replicas[1:]:
        r.terminate()
    assert [r.wait() for r in replicas[1:]] == [0, 0]

    # History: one row per endpoint (no duplicate runs), and every recorded result is a
    # probe the target saw; only the killed replica's last unflushed half second is missing.
    cur = await db.execute(
        "SELECT endpoint_id, count(*), sum(count) FROM checks GROUP BY endpoint_id"
    )
    rows = {eid: (n, total) for eid, n, total in await cur.fetchall()}
    assert set(rows) == set(ids.values())
    hour_changed = datetime.fromtimestamp(started, UTC).hour != datetime.now(UTC).hour
    for p, eid in ids.items():
        n, total = rows[eid]
        assert n == 1 or (hour_changed and n == 2)
        assert total <= target.count(p)
    lost = sum(target.count(p) for p in paths) - sum(total for _, total in rows.values())
    assert 0 <= lost <= 60  # at most ~0.5 s of one replica's results (+ its in-flight probes)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_sigterm_hands_back_unfinished_claims_and_exits_0(db, spawn, target: Target, sig):
    page = await make_page(db)
    hang = target.answer("/hang", hang=True)
    stuck = await make_endpoint(db, page, hang, interval=60, timeout=30)
    quick = await make_endpoint(db, page, target.answer("/quick"), interval=60, timeout=5)
    checker = spawn()
    await eventually(lambda: target.count("/hang") == 1 and target.count("/quick") == 1, 10)
    await asyncio.sleep(0.2)
    checker.proc.send_signal(sig)
    stopped = time.time()
    assert await asyncio.to_thread(checker.wait, 10) == 0
    assert time.time() - stopped < 5  # well within the shortest endpoint timeout
    cur = await db.execute(
        "SELECT endpoint_id, extract(epoch FROM next_check_at)::float8, claim_token, claimed_by"
        " FROM endpoint_state ORDER BY endpoint_id"
    )
    st = {r[0]: r[1:] for r in await cur.fetchall()}
    next_at, token, by = st[stuck]
    assert abs(next_at - time.time()) < 5  # due now: another replica takes it at once
    assert (token, by) == (None, None)
    assert st[quick][0] > time.time() + 50  # finished: keeps its next slot
    cur = await db.execute("SELECT endpoint_id, count FROM checks")
    assert await cur.fetchall() == [(quick, 1)]  # the finished result was flushed
    assert "handed back" in checker.log()

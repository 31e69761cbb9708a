"""One clock: checkers whose own clocks are minutes off still record every result, on the
database's clock (they learn the offset at each claim).

The skew is real: each checker process runs under libfaketime (Debian package
``faketime``), which shifts the process's wall clock (time.time) by FAKETIME seconds
while its monotonic clock (asyncio's and uvloop's timers) stays true.
"""

from __future__ import annotations

import asyncio
import glob
import json
import time

import pytest

from .conftest import Target, make_endpoint, make_page, wait_healthy

LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        LIBFAKETIME is None,
        reason="needs libfaketime: the Debian package faketime (.ci/run installs it)",
    ),
]

INTERVAL = 5
SKEW = 600  # seconds: ten minutes, two replicas skewed either way


def skewed(seconds: int) -> dict[str, str]:
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"{seconds:+d}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # timers and sleeps keep real time
        "LOG_FORMAT": "json",  # log lines carry the process's (skewed) time
    }


async def test_replicas_with_skewed_clocks_record_every_result_on_the_database_clock(
    db, spawn, target: Target
):
    page = await make_page(db)
    paths = [f"/c{i}" for i in range(20)]
    ids = {
        p: await make_endpoint(db, page, target.answer(p), interval=INTERVAL, timeout=2)
        for p in paths
    }
    # Each endpoint on its own point of the grid, so that the replicas take turns.
    await db.execute(
        "UPDATE endpoint_state"
        " SET next_check_at = now() + make_interval(secs => 2 + (endpoint_id % 20) / 4.0)"
    )
    ahead, behind = spawn(**skewed(SKEW)), spawn(**skewed(-SKEW))
    await asyncio.gather(wait_healthy(ahead.metrics_port), wait_healthy(behind.metrics_port))
    # The skew is real: the processes stamp their log lines ten minutes off this clock.
    for r, sign in ((ahead, 1), (behind, -1)):
        started = json.loads(r.log().splitlines()[0])["record"]["time"]["timestamp"]
        assert abs(started - time.time() - sign * SKEW) < 30
    await asyncio.sleep(3 * INTERVAL)
    cur = await db.execute("SELECT count(DISTINCT claimed_by) FROM endpoint_state")
    claimers = (await cur.fetchone())[0]
    for r in (ahead, behind):
        r.terminate()
    assert [r.wait() for r in (ahead, behind)] == [0, 0]

    # Every probe the target saw is recorded: no replica fenced the other out ...
    cur = await db.execute("SELECT coalesce(sum(count), 0) FROM checks")
    recorded = (await cur.fetchone())[0]
    assert recorded == sum(target.count(p) for p in paths) > 2 * len(paths)
    # ... at the time the target saw it (this process's clock is the database's).
    for p in paths:
        cur = await db.execute(
            "SELECT extract(epoch FROM min(first_checked_at))::float8,"
            " extract(epoch FROM max(last_checked_at))::float8 FROM checks WHERE endpoint_id = %s",
            (ids[p],),
        )
        first, last = await cur.fetchone()
        hits = [h.at for h in target.hits[p]]
        assert abs(first - hits[0]) < 1.0, (p, first - hits[0])
        assert abs(last - hits[-1]) < 1.0, (p, last - hits[-1])
    # Both replicas took part (a skewed one does not sleep too long or spin either).
    assert claimers == 2

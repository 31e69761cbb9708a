"""Uptime computed from what the checker wrote matches what the API reports."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.conftest import serve

from .conftest import Target, eventually, history, make_endpoint, make_page, running_checker


def uptime(rows: list[dict], now: float, window: float = 86400) -> float | None:
    """The shared contract: a run covers [first, last + interval), clipped to the window,
    to now and to the next run's start; up and degraded count as available."""
    start = now - window
    covered = available = 0.0
    for i, r in enumerate(rows):
        lo = max(r["first_checked_at"].timestamp(), start)
        hi = min(r["last_checked_at"].timestamp() + r["interval"], now)
        if i + 1 < len(rows):
            hi = min(hi, rows[i + 1]["first_checked_at"].timestamp())
        if hi > lo:
            covered += hi - lo
            if r["status"] in ("up", "degraded"):
                available += hi - lo
    return round(100 * available / covered, 2) if covered else None


@pytest.mark.slow
async def test_api_uptime_matches_the_checkers_history(db, settings, target: Target):
    page = await make_page(db, "acme")
    flip = await make_endpoint(db, page, target.answer("/flip"), interval=5, timeout=2)
    slow = await make_endpoint(
        db, page, target.answer("/slow", body=b"no match"), interval=5, timeout=2, keyword="ok!"
    )
    async with running_checker(settings):
        await eventually(lambda: target.count("/flip") >= 2, 12)
        target.answer("/flip", status=503)
        await eventually(lambda: target.count("/flip") >= 3, 7)
    rows = {eid: await history(db, eid) for eid in (flip, slow)}
    assert [r["status"] for r in rows[flip]] == ["up", "down"]
    assert {r["status"] for r in rows[slow]} == {"degraded"}
    # Once every run's interval has passed, the figures no longer move with the clock.
    last = max(r["last_checked_at"].timestamp() + r["interval"] for rs in rows.values() for r in rs)
    await asyncio.sleep(max(0.0, last - time.time()) + 0.1)
    async with serve(settings) as api:
        resp = await api.get("/api/pages/acme")
    assert resp.status_code == 200
    reported = {e["id"]: e for e in resp.json()["endpoints"]}
    now = time.time()
    expected = uptime(rows[flip], now)
    assert expected is not None
    assert 0 < expected < 100
    assert reported[flip]["uptimes"]["24h"] == expected
    assert reported[flip]["uptime"] == f"{expected:.2f}"
    assert reported[slow]["uptimes"]["24h"] == uptime(rows[slow], now) == 100.0

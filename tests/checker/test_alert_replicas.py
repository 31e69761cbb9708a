"""Deliveries across `uptimatum checker` processes: exactly once, kill -9, SIGTERM."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from aiohttp import web

from .conftest import (
    Receiver,
    Target,
    eventually,
    make_channel,
    make_endpoint,
    make_page,
    make_rule,
    rows,
    wait_healthy,
)

pytestmark = pytest.mark.slow

FLAP_SECONDS = 120
INTERVAL = 5


async def one_pending_delivery(db, target: Target, receiver: Receiver) -> None:
    page = await make_page(db)
    await make_endpoint(db, page, target.answer("/down", status=500), interval=300)
    channel = await make_channel(db, receiver.url("/hook"))
    await make_rule(db, channel, page_id=page)


async def delivered_count(port: int) -> float:
    import aiohttp

    async with (
        aiohttp.ClientSession() as s,
        s.get(f"http://127.0.0.1:{port}/metrics") as r,
    ):
        text = await r.text()
    for line in text.splitlines():
        if line.startswith("uptimatum_notifications_total{") and 'result="delivered"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def the_delivery(db) -> dict:
    (d,) = await rows(
        db, "SELECT *, extract(epoch FROM next_attempt_at)::float8 AS next_at FROM deliveries"
    )
    return d


async def test_kill_9_mid_delivery_another_replica_delivers_it(
    db, spawn, target: Target, receiver: Receiver
):
    receiver.hold()  # the receiver keeps the first request open
    await one_pending_delivery(db, target, receiver)
    replicas = [spawn(), spawn()]
    await eventually(lambda: receiver.waiting == 1, 20)
    holder = (await the_delivery(db))["claimed_by"]
    (victim,) = [r for r in replicas if f":{r.proc.pid}:" in holder]
    victim.kill()
    victim.wait()
    killed = time.time()
    receiver.release()
    await eventually(lambda: len(receiver.on("/hook")) >= 2, 60)
    await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'delivered'"), 10)
    first, second = receiver.on("/hook")
    assert second.at - killed < 60  # within the lease (30 s) and a tick
    # At-least-once after a kill: the same event id twice, deduplicable by it.
    assert first.headers["Uptimatum-Event-Id"] == second.headers["Uptimatum-Event-Id"]
    d = await the_delivery(db)
    assert d["attempts"] == 2
    (survivor,) = [r for r in replicas if r is not victim]
    await asyncio.sleep(2)
    assert len(receiver.on("/hook")) == 2  # delivered: never sent again
    survivor.terminate()
    assert await asyncio.to_thread(survivor.wait, 15) == 0


async def test_sigterm_mid_delivery_hands_it_back_and_nothing_is_lost(
    db, spawn, target: Target, receiver: Receiver
):
    receiver.hold()
    await one_pending_delivery(db, target, receiver)
    first = spawn()
    await eventually(lambda: receiver.waiting == 1, 20)
    first.terminate()
    stopped = time.time()
    assert await asyncio.to_thread(first.wait, 15) == 0
    assert time.time() - stopped < 8
    d = await the_delivery(db)
    assert d["state"] == "pending"
    assert d["claimed_by"] is None
    assert abs(d["next_at"] - time.time()) < 10  # due at once, not after the lease
    assert "handed back" in first.log()
    receiver.release()
    second = spawn()
    await eventually(lambda: rows(db, "SELECT 1 FROM deliveries WHERE state = 'delivered'"), 15)
    second.terminate()
    assert await asyncio.to_thread(second.wait, 15) == 0
    # A restart never re-sends what was delivered.
    third = spawn()
    await wait_healthy(third.metrics_port)
    await asyncio.sleep(3)
    third.terminate()
    assert await asyncio.to_thread(third.wait, 15) == 0
    assert len(receiver.on("/hook")) == 2  # the cut-short attempt and the delivery


async def test_three_replicas_deliver_every_event_exactly_once(db, spawn, receiver: Receiver):
    """60 endpoints flap on a schedule for two minutes: each event arrives once, none missing."""
    flapping = {"on": True}

    async def answer(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        down = flapping["on"] and int((time.time() + i * 0.37) / (2 * INTERVAL)) % 2 == 1
        return web.Response(status=500 if down else 200)

    app = web.Application()
    app.router.add_get("/f/{i}", answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        pages = {}
        for p in range(6):
            page = await make_page(db, f"p{p}")
            channel = await make_channel(db, receiver.url(f"/page/{page}"))
            await make_rule(db, channel, page_id=page, notify_on=["down", "up"])
            pages[page] = channel
            for i in range(p * 10, p * 10 + 10):
                await make_endpoint(
                    db, page, f"http://127.0.0.1:{port}/f/{i}", interval=INTERVAL, timeout=2
                )
        replicas = [spawn(CHECK_CONCURRENCY=50) for _ in range(3)]
        await asyncio.gather(*(wait_healthy(r.metrics_port) for r in replicas))
        await asyncio.sleep(FLAP_SECONDS)
        flapping["on"] = False  # everything recovers; the last events go out
        await asyncio.sleep(2 * INTERVAL + 2)
        await eventually(
            lambda: rows(
                db, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending')"
            ),
            30,
        )
        await asyncio.sleep(1)
        delivered_by = [await delivered_count(r.metrics_port) for r in replicas]
        for r in replicas:
            r.terminate()
        assert [await asyncio.to_thread(r.wait, 20) for r in replicas] == [0, 0, 0]
    finally:
        await runner.cleanup()

    events = await rows(db, "SELECT id, page_id FROM events")
    assert len(events) > 400  # ~15 transitions per endpoint
    got = Counter((r.path, r.headers["Uptimatum-Event-Id"]) for r in receiver.got)
    expected = Counter((f"/page/{e['page_id']}", str(e["id"])) for e in events)
    assert got == expected  # each event once at its page's channel: none twice, none missing
    states = await rows(db, "SELECT state, attempts, count(*) AS n FROM deliveries GROUP BY 1, 2")
    assert [(s["state"], s["attempts"]) for s in states] == [("delivered", 1)]
    assert sum(delivered_by) == len(events)
    assert sum(1 for n in delivered_by if n > 0) >= 2, delivered_by  # shared by the replicas
    logs = "".join(r.log() for r in replicas)
    assert "outcome dropped" not in logs

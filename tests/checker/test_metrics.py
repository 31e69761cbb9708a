"""/metrics (Prometheus text) and /health on METRICS_PORT."""

from __future__ import annotations

import aiohttp

from services.checker.metrics import HEALTH_PATH, METRICS_PATH

from .conftest import Target, eventually, make_endpoint, make_page, running_checker

NAMES = (
    "uptimatum_checks_total",
    "uptimatum_probe_duration_seconds_bucket",
    "uptimatum_schedule_lag_seconds_bucket",
    "uptimatum_probes_in_flight",
    "uptimatum_claim_batch_size_bucket",
    "uptimatum_flush_duration_seconds_bucket",
    "uptimatum_history_rows_written_total",
    "uptimatum_db_round_trips_total",
    "uptimatum_endpoint_status",
    "uptimatum_notifications_pending",
    "process_cpu_seconds_total",
)
LOOPS = ("scheduler", "writer", "listen", "retention", "housekeeping", "metrics", "notify")


async def test_metrics_and_health(db, settings, target: Target):
    page = await make_page(db, "shop")
    up = await make_endpoint(db, page, target.answer("/up"), name="Home", interval=60)
    down = await make_endpoint(
        db, page, target.answer("/down", status=503), name="Cart", interval=60
    )
    async with running_checker(settings) as checker, aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{checker.settings.metrics_port}"
        await eventually(lambda: target.count("/up") and target.count("/down"), 5)
        await eventually(lambda: checker.metrics.rows_inserted._value.get() == 2, 3)
        async with http.get(base + METRICS_PATH) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            text = await r.text()
        for name in NAMES:
            assert f"\n{name}" in text, name
        assert 'uptimatum_checks_total{result="up"} 1.0' in text
        assert 'uptimatum_checks_total{result="down"} 1.0' in text
        assert 'uptimatum_history_rows_written_total{kind="insert"} 2.0' in text
        assert (
            f'uptimatum_endpoint_status{{endpoint="Home",endpoint_id="{up}",page="Shop"}} 1.0'
            in text
        )
        assert (
            f'uptimatum_endpoint_status{{endpoint="Cart",endpoint_id="{down}",page="Shop"}} 0.0'
            in text
        )

        async with http.get(base + HEALTH_PATH) as r:
            assert r.status == 200
            health = await r.json()
        assert (health["status"], health["failing"]) == ("ok", [])
        assert {name: loop["state"] for name, loop in health["loops"].items()} == dict.fromkeys(
            LOOPS, "running"
        )

"""The page's story under load: `python -m tests.benchmarks story`.

GET /api/pages/{slug} of a page with 100 endpoints and 90 days of history, 10
recurring maintenance windows and 50 incidents of 5 updates, against today's
page read of the same page without them, and the Statuspage ``summary.json``
of the first page, side by side in one run: the routes take turns in rounds
(so a busy machine slows them alike), each measured at a fixed concurrency
for ``BENCH_SECONDS`` (default 3) per round. "Today's page read" is the code
before issue 9 (the parent of the commit that added incident updates,
extracted with ``git archive``) serving the page without windows from the
same database; without git it is this code on that page. Goal: the page with
windows and incidents no worse than 1.2x today's p50, and ``summary.json`` at
least as fast; and a fixed statement count per route.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psycopg

from services.api import queries as q
from services.checker.retention import roll_up
from shared.maintenance import expand
from tests.benchmarks import bench_database, code_before
from tests.benchmarks.bench_api import Figures, api_server, hammer, percentile, statement_count
from tests.benchmarks.seed import seed_page

TODAY, STORY = "today", "story"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONCURRENCY = 8
WINDOWS, INCIDENTS, UPDATES = 10, 50, 5
HEADERS = {"Accept-Encoding": "identity"}

INSERT_INCIDENTS = """
WITH p AS (SELECT id FROM pages WHERE slug = %(slug)s::text),
inc AS (
    INSERT INTO incidents (page_id, title, description, status, impact, created_at, updated_at,
                           resolved_at)
    SELECT p.id, 'Incident ' || g, 'What we saw, *in Markdown*',
           CASE WHEN g <= 5 THEN 'identified' ELSE 'resolved' END,
           (ARRAY['none', 'minor', 'major', 'critical'])[1 + g %% 4],
           now() - g * interval '1 day', now() - g * interval '1 day' + interval '2 hours',
           CASE WHEN g > 5 THEN now() - g * interval '1 day' + interval '2 hours' END
      FROM p CROSS JOIN generate_series(1, %(incidents)s::int) g
    RETURNING id, created_at
), upd AS (
    INSERT INTO incident_updates (incident_id, status, message, created_at)
    SELECT inc.id, (ARRAY['investigating', 'identified', 'monitoring', 'resolved',
                          'resolved'])[k],
           'Update ' || k || ': what we did, and what is next.',
           inc.created_at + k * interval '20 minutes'
      FROM inc CROSS JOIN generate_series(1, %(updates)s::int) k
)
INSERT INTO incident_endpoints (incident_id, endpoint_id)
SELECT inc.id, e.id FROM inc
  JOIN endpoints e ON e.page_id = (SELECT id FROM p) AND e.id %% 25 = inc.id %% 25
"""


def seed_story(conninfo: str) -> None:
    """10 recurring windows (weekly and daily, since 90 days ago) and the incidents."""
    started = time.monotonic()
    now = datetime.now(UTC)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        page = conn.execute("SELECT id FROM pages WHERE slug = %s", (STORY,)).fetchone()
        assert page is not None
        endpoints = [r[0] for r in conn.execute(
            "SELECT id FROM endpoints WHERE page_id = %s ORDER BY id", page
        ).fetchall()]  # fmt: skip
        for n in range(WINDOWS):
            start = (now - timedelta(days=90 - n)).replace(hour=2 + n, minute=0, second=0)
            end = start + timedelta(hours=1)
            rule = "FREQ=DAILY" if n < 2 else f"FREQ=WEEKLY;INTERVAL={1 + n % 2}"
            chosen = None if n % 3 == 0 else endpoints[n * 10 : n * 10 + 10]
            params = {
                "page_id": page[0],
                "title": f"Window {n}",
                "description": "Planned work",
                "starts_at": start,
                "ends_at": end,
                "rrule": rule,
                "timezone": "Europe/Berlin",
                "all_endpoints": chosen is None,
                "endpoint_ids": chosen or [],
                **expand(start, end, rule, "Europe/Berlin", since=start, now=now),
            }
            conn.execute(q.INSERT_MAINTENANCE, params)
        conn.execute(INSERT_INCIDENTS, {"slug": STORY, "incidents": INCIDENTS, "updates": UPDATES})
        conn.execute("ANALYZE")
    written = asyncio.run(_roll_up(conninfo))  # the days the windows made stale, as hourly
    with psycopg.connect(conninfo, autocommit=True) as conn:  # as autovacuum would, soon
        for table in ("uptime_daily", "maintenance_occurrences", "incident_updates", "incidents"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(
        f"  seeded {WINDOWS} recurring windows and {INCIDENTS} incidents x {UPDATES} updates"
        f" ({written} rollup days recomputed) in {time.monotonic() - started:.1f} s",
        flush=True,
    )


async def _roll_up(conninfo: str) -> int:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        return await roll_up(conn)


async def run(targets: dict[str, str]) -> dict[str, tuple[Figures, list[float], float]]:
    results = {name: (Figures(route=name), [], 0.0) for name in targets}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        for url in targets.values():  # warm-up (and the first, uncached rollup reads)
            await hammer(session, url, CONCURRENCY, 1.0, Figures(route="warm-up"))
        for n in range(ROUNDS):
            print(f"  round {n + 1}/{ROUNDS} ...", flush=True)
            for name, url in targets.items():
                figures, latencies, wall = results[name]
                started = time.perf_counter()
                latencies += await hammer(session, url, CONCURRENCY, SECONDS, figures)
                results[name] = (figures, latencies, wall + time.perf_counter() - started)
        for name, url in targets.items():  # then one uncached request's statements, last
            async with session.get(url, headers=HEADERS) as resp:
                await resp.read()
                results[name][0].statements.append(statement_count(resp.headers) or 0)
    return results


def mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def report(results: dict[str, tuple[Figures, list[float], float]], base: str | None) -> None:
    print(
        f"\n  {ROUNDS} rounds x {SECONDS:.0f} s per route at concurrency {CONCURRENCY}, one API"
        " worker each (aiohttp client on the same machine); stmts: SQL statements of one"
        " uncached request, mean: per request under load (Server-Timing)\n"
    )
    print(
        f"  {'route':<58} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bytes':>9}"
        f" {'stmts':>6} {'mean':>5}"
    )
    p50s, rps = {}, {}
    for name, (figures, latencies, wall) in results.items():
        latencies.sort()
        p50s[name] = percentile(latencies, 0.5) * 1e3
        rps[name] = len(latencies) / wall if wall else 0.0
        print(
            f"  {name:<58} {rps[name]:>8,.0f} {p50s[name]:>8.2f}"
            f" {percentile(latencies, 0.99) * 1e3:>8.2f} {figures.size:>9,}"
            f" {figures.statements[-1]:>6} {mean(figures.statements[:-1]):>5.2f}"
        )
        bad = {c: k for c, k in figures.statuses.items() if c != 200}
        if bad:
            print(f"  {'':<58} non-200 answers: {bad}")
    names = list(results)
    today, story, summary = names[0], names[-2], names[-1]
    print(
        f"\n  today's page read: {'commit ' + base if base else 'this code, page without windows'}"
        f"\n  page with windows and incidents vs today's: p50 {p50s[story] / p50s[today]:.2f}x,"
        f" req/s {rps[story] / rps[today]:.2f}x (goal: p50 at most 1.2x)"
        f"\n  summary.json vs the page with windows: p50 {p50s[summary] / p50s[story]:.2f}x,"
        f" req/s {rps[summary] / rps[story]:.2f}x (goal: at least as fast)"
    )


def main() -> int:
    started = time.monotonic()
    with bench_database() as url, tempfile.TemporaryDirectory(prefix="uptimatum-base-") as tmp:
        seed_page(url, TODAY, endpoints=100, days=90)
        seed_page(url, STORY, endpoints=100, days=90)
        seed_story(url)
        base = code_before("migrations/0007_incident_updates.sql", Path(tmp))  # issue 9
        old_code = Path(tmp) if base else None
        with api_server(url, code=old_code) as (old, _), api_server(url) as (new, _):
            targets = {
                f"today's GET /api/pages/{TODAY}": f"{old}/api/pages/{TODAY}",
                f"GET /api/pages/{TODAY} (this code, no windows)": f"{new}/api/pages/{TODAY}",
                f"GET /api/pages/{STORY} (windows, incidents)": f"{new}/api/pages/{STORY}",
                f"GET /status/{STORY}/api/v2/summary.json": (
                    f"{new}/status/{STORY}/api/v2/summary.json"
                ),
            }
            results = asyncio.run(run(targets))
    report(results, base)
    print(f"\n  story benchmark done in {time.monotonic() - started:.0f} s", flush=True)
    failures = sum(n for f, _, _ in results.values() for c, n in f.statuses.items() if c != 200)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""covered_runs (migrations/0005): the uptime rule's coverage, stated once, and inlined.

Every uptime figure (24 h, daily rollups, the 7/30/90-day edges) reads its runs
through this one SQL function; here it is checked against a case worked by
hand, and the statements that call it are checked to plan it inline (index
probes of checks_endpoint_first per endpoint), not as a function scan that
would read every run of an endpoint from a separate executor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from services.api.queries import BADGE, PAGE_LONG_UPTIMES, PAGE_STATUS
from services.checker.queries import ROLLUP_DAYS

LO = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HI = LO + timedelta(hours=1)


def at(seconds: float) -> datetime:
    return LO + timedelta(seconds=seconds)


async def _endpoint(db: psycopg.AsyncConnection) -> int:
    page = await (
        await db.execute("INSERT INTO pages (slug, name) VALUES ('rule', 'Rule') RETURNING id")
    ).fetchone()
    assert page is not None
    row = await (
        await db.execute(
            "INSERT INTO endpoints (page_id, name, url) VALUES (%s, 'Site', 'http://127.0.0.1:9/')"
            " RETURNING id",
            (page[0],),
        )
    ).fetchone()
    assert row is not None
    return int(row[0])


async def _run(
    db: psycopg.AsyncConnection,
    endpoint_id: int,
    status: str,
    first: datetime,
    last: datetime,
    interval: int,
) -> None:
    await db.execute(
        "INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count,"
        " interval, response_time, response_time_min, response_time_max, response_time_sum)"
        " VALUES (%s, %s, %s, %s, 1, %s, 100, 100, 100, 100)",
        (endpoint_id, status, first, last, interval),
    )


async def test_runs_are_clipped_to_the_range_and_to_their_successor(db):
    endpoint_id = await _endpoint(db)
    # an older run, superseded by the next one before lo: never read
    await _run(db, endpoint_id, "down", at(-1000), at(-900), 60)
    # the run before lo reaches lo + 20 s but the next run starts at lo + 10 s
    await _run(db, endpoint_id, "up", at(-100), at(-40), 60)
    # down from lo + 10 s to lo + 130 s (last check + interval), then uncovered
    await _run(db, endpoint_id, "down", at(10), at(100), 30)
    # degraded from lo + 500 s, reaching past hi: clipped at hi
    await _run(db, endpoint_id, "degraded", at(500), HI - timedelta(seconds=10), 60)
    # starts at hi: outside the range
    await _run(db, endpoint_id, "up", HI, HI + timedelta(seconds=30), 30)

    cur = await db.execute(
        "SELECT status, s_at, e_at FROM covered_runs(%s::bigint, %s::timestamptz,"
        " %s::timestamptz) ORDER BY s_at",
        (endpoint_id, LO, HI),
    )
    assert await cur.fetchall() == [
        ("up", LO, at(10)),
        ("down", at(10), at(130)),
        ("degraded", at(500), HI),
    ]


async def test_a_run_ending_before_lo_covers_nothing(db):
    endpoint_id = await _endpoint(db)
    await _run(db, endpoint_id, "up", at(-300), at(-120), 60)
    cur = await db.execute(
        "SELECT count(*) FROM covered_runs(%s::bigint, %s::timestamptz, %s::timestamptz)",
        (endpoint_id, LO, HI),
    )
    assert await cur.fetchone() == (0,)


async def test_maintenance_windows_cut_runs_into_the_pieces_outside(db):
    endpoint_id = await _endpoint(db)
    other = await (
        await db.execute(
            "INSERT INTO endpoints (page_id, name, url) SELECT page_id, 'Other', url"
            " FROM endpoints WHERE id = %s RETURNING id",
            (endpoint_id,),
        )
    ).fetchone()
    await _run(db, endpoint_id, "down", at(0), at(3000), 60)
    # a window of the page over [lo + 600 s, lo + 1200 s), one of another endpoint only,
    # and one of the page over [lo + 1800 s, lo + 2400 s)
    for start, end, everyone, endpoint in [
        (600, 1200, True, None),
        (900, 2000, False, other[0]),
        (1800, 2400, False, endpoint_id),
    ]:
        m = await (
            await db.execute(
                "INSERT INTO maintenances (page_id, title, starts_at, ends_at, all_endpoints,"
                " expanded_until) SELECT page_id, 'w', %s, %s, %s, 'infinity' FROM endpoints"
                " WHERE id = %s RETURNING id, page_id",
                (at(start), at(end), everyone, endpoint_id),
            )
        ).fetchone()
        await db.execute(
            "INSERT INTO maintenance_occurrences (maintenance_id, page_id, starts_at, ends_at)"
            " VALUES (%s, %s, %s, %s)",
            (m[0], m[1], at(start), at(end)),
        )
        if endpoint is not None:
            await db.execute("INSERT INTO maintenance_endpoints VALUES (%s, %s)", (m[0], endpoint))
    cur = await db.execute(
        "SELECT status, s_at, e_at FROM covered_runs(%s::bigint, %s::timestamptz,"
        " %s::timestamptz) ORDER BY s_at",
        (endpoint_id, LO, HI),
    )
    assert await cur.fetchall() == [
        ("down", at(0), at(600)),
        ("down", at(1200), at(1800)),
        ("down", at(2400), at(3060)),
    ]


@pytest.mark.parametrize(
    ("name", "sql", "params"),
    [
        ("PAGE_STATUS", PAGE_STATUS, {"slug": "rule"}),
        ("BADGE", BADGE, {"slug": "rule"}),
        ("PAGE_LONG_UPTIMES", PAGE_LONG_UPTIMES, {"page_id": 1}),
        ("ROLLUP_DAYS", ROLLUP_DAYS, {"after_id": 0, "batch": 100}),
    ],
)
async def test_callers_plan_covered_runs_inline(db, name, sql, params):
    await _endpoint(db)
    cur = await db.execute("EXPLAIN (VERBOSE, COSTS OFF) " + sql, params)
    plan = "\n".join(row[0] for row in await cur.fetchall())
    # inlined, as are the rollup contract's functions (migrations/0010) and the
    # maintenance windows' (migrations/0009, 0011)
    for function in (
        "covered_runs",
        "missing_uptime_days",
        "last_closed_day",
        "rollup_horizon",
        "maintenance_spans",
    ):
        assert function not in plan, plan
    # the run before the range, and the runs that start inside it
    assert "first_checked_at < " in plan, plan
    assert "first_checked_at >= " in plan, plan
    assert "checks_endpoint_first" in plan, plan


async def test_page_maintenance_spans_are_maintenance_spans_of_every_endpoint(db):
    """page_maintenance_spans (migrations/0016) states maintenance_spans' rule for a whole page."""
    first = await _endpoint(db)
    rows = await (
        await db.execute(
            "INSERT INTO endpoints (page_id, name, url) SELECT page_id, n, url FROM endpoints,"
            " unnest(ARRAY['Second', 'Third']) n WHERE id = %s RETURNING id",
            (first,),
        )
    ).fetchall()
    second, third = (r[0] for r in rows)
    other_page = await (
        await db.execute("INSERT INTO pages (slug, name) VALUES ('else', 'Else') RETURNING id")
    ).fetchone()
    assert other_page is not None
    # (page, all endpoints, endpoints listed, occurrences as [start, end) seconds from LO)
    windows = [
        ("rule", True, [], [(-40 * 86400, -39 * 86400), (-600, 600), (3000, 4000)]),
        ("rule", False, [second], [(-30 * 86400, 200), (1000, 1500)]),
        ("rule", False, [first, third], [(3600, 7200)]),
        ("else", True, [], [(0, 3600)]),
    ]
    for slug, everyone, listed, occurrences in windows:
        m = await (
            await db.execute(
                "INSERT INTO maintenances (page_id, title, starts_at, ends_at, all_endpoints,"
                " expanded_until) SELECT id, 'w', %s, %s, %s, 'infinity' FROM pages"
                " WHERE slug = %s RETURNING id, page_id",
                (at(occurrences[0][0]), at(occurrences[0][1]), everyone, slug),
            )
        ).fetchone()
        assert m is not None
        for start, end in occurrences:
            await db.execute(
                "INSERT INTO maintenance_occurrences (maintenance_id, page_id, starts_at, ends_at)"
                " VALUES (%s, %s, %s, %s)",
                (m[0], m[1], at(start), at(end)),
            )
        for endpoint in listed:
            await db.execute("INSERT INTO maintenance_endpoints VALUES (%s, %s)", (m[0], endpoint))
    for lo, hi in [(0, 3600), (-86400, 0), (-600, -599), (3600, 3600.000001), (5000, 90000)]:
        params = {"lo": at(lo), "hi": at(hi)}
        each = await (
            await db.execute(
                "SELECT e.id, s.maintenance_id, s.s_at, s.e_at FROM endpoints e"
                " CROSS JOIN LATERAL maintenance_spans(e.id, e.page_id, %(lo)s::timestamptz,"
                " %(hi)s::timestamptz) s WHERE e.page_id = (SELECT page_id FROM endpoints"
                " WHERE id = %(first)s::bigint) ORDER BY 1, 2, 3",
                {**params, "first": first},
            )
        ).fetchall()
        once = await (
            await db.execute(
                "SELECT e.id, s.maintenance_id, s.s_at, s.e_at FROM endpoints e"
                " CROSS JOIN LATERAL page_maintenance_spans(e.page_id, %(lo)s::timestamptz,"
                " %(hi)s::timestamptz) s WHERE e.page_id = (SELECT page_id FROM endpoints"
                " WHERE id = %(first)s::bigint) AND (s.endpoint_id IS NULL OR s.endpoint_id = e.id)"
                " ORDER BY 1, 2, 3",
                {**params, "first": first},
            )
        ).fetchall()
        assert once == each, (lo, hi)
        assert each or (lo, hi) == (5000, 90000), (lo, hi)

"""Benchmark data: a page with N endpoints and D days of history as the checker leaves it.

Run-length rows, one per endpoint per UTC hour while an endpoint is stable
(``count = 3600 / interval``); about one endpoint-hour in 500 has a ten-minute
outage (up, down, up: three rows) and one in 300 is degraded for the hour, so
uptime is not trivially 100%. The current hour's rows end at now. Each
endpoint's ``endpoint_state`` row carries its status and the id of its newest
row, and the closed days are rolled up into ``uptime_daily`` by the checker's
own job. Everything is set-based: 216,000 rows in a few seconds.
"""

from __future__ import annotations

import asyncio
import time

import psycopg

from services.checker.retention import roll_up

INTERVAL = 30  # seconds between checks of every seeded endpoint

INSERT_PAGE = """
INSERT INTO pages (slug, name, created_at)
VALUES (%(slug)s::text, %(name)s::text, now() - make_interval(days => %(days)s::int))
RETURNING id
"""

DELETE_PAGE = "DELETE FROM pages WHERE slug = %(slug)s::text"

INSERT_ENDPOINTS = """
INSERT INTO endpoints (page_id, name, url, interval, timeout, degraded_threshold_ms, created_at)
SELECT %(page_id)s::bigint, format('Service %%s', n), format('http://127.0.0.1:9/svc/%%s', n),
       %(interval)s::int, 5, 1500, now() - make_interval(days => %(days)s::int)
FROM generate_series(1, %(endpoints)s::int) AS n
"""

# Segments of an hour by kind; an outage hour is up 20 min, down 10, up 30.
INSERT_HISTORY = """
WITH eps AS (
    SELECT id, interval, row_number() OVER (ORDER BY id) AS rn
    FROM endpoints WHERE page_id = %(page_id)s::bigint
), hours AS (
    SELECT at, (extract(epoch FROM at) / 3600)::bigint AS hi
    FROM generate_series(date_trunc('hour', now()) - make_interval(days => %(days)s::int),
                         date_trunc('hour', now()), interval '1 hour') AS at
), cells AS (
    SELECT e.id, e.interval, h.at, 40 + (e.rn * 7 + h.hi * 13) %% 160 AS rt,
           CASE WHEN (e.rn * 31 + h.hi * 17) %% 500 = 0 THEN 'outage'
                WHEN (e.rn * 11 + h.hi * 7) %% 300 = 0 THEN 'degraded'
                ELSE 'up' END AS kind
    FROM eps e CROSS JOIN hours h
), segments (kind, status, start_s, end_s) AS (
    VALUES ('up', 'up', 0, 3600), ('degraded', 'degraded', 0, 3600),
           ('outage', 'up', 0, 1200), ('outage', 'down', 1200, 1800),
           ('outage', 'up', 1800, 3600)
), runs AS (
    SELECT c.id, c.interval, s.status,
           CASE s.status WHEN 'down' THEN 3 WHEN 'degraded' THEN c.rt + 1800 ELSE c.rt END AS rt,
           c.at + make_interval(secs => s.start_s) AS first_at,
           LEAST((s.end_s - s.start_s) / c.interval,
                 floor(extract(epoch FROM now() - c.at - make_interval(secs => s.start_s))
                       / c.interval)::int + 1) AS n
    FROM cells c JOIN segments s USING (kind)
    WHERE c.at + make_interval(secs => s.start_s) <= now()
)
INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count, interval,
                    response_time, response_time_min, response_time_max, response_time_sum,
                    status_code, error)
SELECT id, status, first_at, first_at + make_interval(secs => (n - 1) * interval), n, interval,
       rt, rt / 2, rt * 3, n::bigint * rt,
       CASE WHEN status = 'down' THEN NULL ELSE 200 END,
       CASE status WHEN 'down' THEN 'connection refused'
                   WHEN 'degraded' THEN 'slower than 1500 ms' END
FROM runs
ORDER BY first_at, id
"""

UPDATE_STATE = """
UPDATE endpoint_state st
   SET status = c.status, open_check_id = c.id,
       next_check_at = c.last_checked_at + make_interval(secs => c.interval)
  FROM (SELECT DISTINCT ON (endpoint_id) id, endpoint_id, status, last_checked_at, interval
          FROM checks
         WHERE endpoint_id IN (SELECT id FROM endpoints WHERE page_id = %(page_id)s::bigint)
         ORDER BY endpoint_id, first_checked_at DESC) c
 WHERE st.endpoint_id = c.endpoint_id
"""


def seed_page(
    conninfo: str, slug: str, *, endpoints: int = 100, days: int = 90, name: str | None = None
) -> int:
    """(Re)create page ``slug`` with its endpoints and history; returns the rows written."""
    started = time.monotonic()
    params: dict[str, object] = {
        "slug": slug,
        "name": name or f"Benchmark ({endpoints} endpoints)",
        "days": days,
        "endpoints": endpoints,
        "interval": INTERVAL,
    }
    with psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(DELETE_PAGE, params)
            row = conn.execute(INSERT_PAGE, params).fetchone()
            assert row is not None
            params["page_id"] = row[0]
            conn.execute(INSERT_ENDPOINTS, params)
            rows = conn.execute(INSERT_HISTORY, params).rowcount
            conn.execute(UPDATE_STATE, params)
        conn.execute("VACUUM (ANALYZE) checks")
        conn.execute("VACUUM (ANALYZE) endpoint_state")
        conn.execute("ANALYZE endpoints")
    days_rolled = asyncio.run(_roll_up(conninfo))
    print(
        f"  seeded page {slug!r}: {endpoints} endpoints, {days} days,"
        f" {rows:,} history rows, {days_rolled:,} daily rollups"
        f" in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return rows


async def _roll_up(conninfo: str) -> int:
    """The closed days rolled up, as the checker's hourly job leaves them."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        written = await roll_up(conn)
        await conn.execute("ANALYZE uptime_daily")
    return written

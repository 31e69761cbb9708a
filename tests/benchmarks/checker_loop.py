"""The two reference designs the checker benchmark measures the checker against.

``--mode bare``: the limit. A bare aiohttp loop on uvloop, a new connection per
request, making the same requests as the checker at the same rate and
concurrency, with nothing else: no database, no scheduling state, no metrics.

``--mode naive``: the original backend's design. The same probe loop, and after
every probe one transaction of its own: BEGIN; SELECT the endpoint's latest
history row FOR UPDATE; INSERT a new history row (the original inserted one
row per check); COMMIT — four round trips per check, on a psycopg pool.

Both read the endpoints (id, url, method, timeout, interval) from the database
before they start, fire requests at ``--rate`` per second round-robin over them
for ``--duration`` seconds (everything that fell due, every ``--tick`` seconds:
the checker's own claim rhythm, so both pay the same per-wake-up costs), print
``ready`` when loaded and one JSON line of counts at the end. Run by
bench_checker.py in a process of its own, so that its CPU can be read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import aiohttp
import psycopg
from psycopg_pool import AsyncConnectionPool

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
    uvloop = None  # type: ignore[assignment]

USER_AGENT = "Uptimatum/bench (+checker_loop)"

ENDPOINTS = "SELECT id, url, method, timeout, interval FROM endpoints WHERE active ORDER BY id"
NAIVE_LATEST = (
    "SELECT id, status FROM checks WHERE endpoint_id = %(endpoint_id)s"
    " ORDER BY first_checked_at DESC LIMIT 1 FOR UPDATE"
)
NAIVE_INSERT = (
    "INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count,"
    " interval, response_time, response_time_min, response_time_max, response_time_sum,"
    " status_code, error)"
    " VALUES (%(endpoint_id)s, %(status)s, now(), now(), 1, %(interval)s, %(ms)s, %(ms)s,"
    " %(ms)s, %(ms)s, %(status_code)s, %(error)s)"
)
NAIVE_STATEMENTS_PER_CHECK = 4  # BEGIN, SELECT … FOR UPDATE, INSERT, COMMIT


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    url: str
    method: str
    timeout: int
    interval: int


@dataclass(slots=True)
class Counts:
    requests: int = 0
    errors: int = 0
    statements: int = 0


@lru_cache(maxsize=256)
def _timeout(seconds: int) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds)


async def probe(session: aiohttp.ClientSession, ep: Endpoint) -> tuple[str, int | None, int, str]:
    """What the checker's probe does for an endpoint without a keyword: status only."""
    start = time.perf_counter()
    try:
        async with session.request(
            ep.method, ep.url, timeout=_timeout(ep.timeout), allow_redirects=True
        ) as resp:
            code: int | None = resp.status
            status, error = ("up", "") if 200 <= resp.status < 300 else ("down", "HTTP")
    except (aiohttp.ClientError, TimeoutError) as exc:
        code, status, error = None, "down", type(exc).__name__
    return status, code, int((time.perf_counter() - start) * 1000), error


async def record_naive(pool: AsyncConnectionPool, ep: Endpoint, result: tuple[Any, ...]) -> None:
    status, code, ms, error = result
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(NAIVE_LATEST, {"endpoint_id": ep.id})
        await cur.fetchone()
        await conn.execute(
            NAIVE_INSERT,
            {
                "endpoint_id": ep.id,
                "status": status,
                "interval": ep.interval,
                "ms": ms,
                "status_code": code,
                "error": error or None,
            },
        )


async def run(args: argparse.Namespace) -> Counts:
    with psycopg.connect(args.database_url) as conn:
        endpoints = [Endpoint(*row) for row in conn.execute(ENDPOINTS).fetchall()]
    pool: AsyncConnectionPool | None = None
    if args.mode == "naive":
        pool = AsyncConnectionPool(
            args.database_url,
            min_size=args.pool,
            max_size=args.pool,
            open=False,
            kwargs={"autocommit": True, "application_name": "bench-naive"},
        )
        await pool.open(wait=True)
    counts = Counts()
    slots = asyncio.Semaphore(args.concurrency)
    tasks: set[asyncio.Task[None]] = set()
    # The checker's session: a new connection per request, no cookies, no proxies.
    connector = aiohttp.TCPConnector(force_close=True, limit=0, ttl_dns_cache=10)

    async def one(session: aiohttp.ClientSession, ep: Endpoint) -> None:
        try:
            result = await probe(session, ep)
            counts.requests += 1
            counts.errors += result[0] != "up"
            if pool is not None:
                await record_naive(pool, ep, result)
                counts.statements += NAIVE_STATEMENTS_PER_CHECK
        finally:
            slots.release()

    async with aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    ) as session:
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + args.duration
        fired = 0
        while (now := loop.time()) < end:
            due = int((now - start) * args.rate) + 1
            while fired < due:
                await slots.acquire()
                task = loop.create_task(one(session, endpoints[fired % len(endpoints)]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                fired += 1
            await asyncio.sleep(max(args.tick, start + fired / args.rate - loop.time()))
        if tasks:
            await asyncio.wait(tasks, timeout=15)
    if pool is not None:
        await pool.close()
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("bare", "naive"), required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--pool", type=int, default=10, help="naive: pool connections")
    parser.add_argument(
        "--tick", type=float, default=0.2, help="seconds between firings of what fell due"
    )
    args = parser.parse_args(argv)
    runner = uvloop.run if uvloop is not None else asyncio.run
    counts = runner(run(args))
    print(json.dumps(asdict(counts)), flush=True)


if __name__ == "__main__":
    main()

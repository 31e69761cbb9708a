"""The cost of access control: `python -m tests.benchmarks auth`.

Starts the real API (`uptimatum api`, one worker) and, in one run, sends the
same write — `PATCH /api/endpoints/{id}` of the endpoint's name — with an API
key (`write` scope) and with the admin token, in alternating rounds so that
both meet the same machine: requests/s at a fixed concurrency, p50 latency one
request at a time, the API's CPU per request and SQL statements per request
(``Server-Timing``). The goal: a key costs within 1.1x of the admin token.

Then the public reads: GETs of a page and a badge with and without a
credential header, and the ``api_keys`` lookups PostgreSQL counted meanwhile
(``pg_stat_user_tables``): a public GET never looks a credential up.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import sys
import time
from dataclasses import dataclass, field

import aiohttp
import psycopg

from tests.benchmarks import bench_database, cpu_seconds
from tests.benchmarks.bench_api import _runner, api_server, percentile, statement_count

CONCURRENCY = 8
ROUNDS = 16  # per credential, alternating (and the order too, round by round)
ROUND_S = float(os.environ.get("BENCH_SECONDS", "5")) / 10  # seconds per round
SEQUENTIAL = 300  # one-at-a-time requests per credential, interleaved
GETS = 2000  # public GETs per variant
STATS_FLUSH_S = 10.5  # PostgreSQL flushes an idle backend's counters within 10 s
GOAL = 1.1

LOOKUPS = (
    "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans"
    " FROM pg_stat_user_tables WHERE relname = 'api_keys'"
)


@dataclass
class Side:
    name: str
    headers: dict[str, str]
    requests: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    sequential: list[float] = field(default_factory=list)
    statements: set[int] = field(default_factory=set)
    failures: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def patch_load(
    session: aiohttp.ClientSession, url: str, side: Side, seconds: float, concurrency: int
) -> list[float]:
    deadline = time.perf_counter() + seconds
    names = itertools.count()
    latencies: list[float] = []

    async def worker() -> None:
        while (started := time.perf_counter()) < deadline:
            body = {"name": f"{side.name} {next(names)}"}
            async with session.patch(url, json=body, headers=side.headers) as resp:
                await resp.read()
                latencies.append(time.perf_counter() - started)
                if resp.status != 200:
                    side.failures += 1
                count = statement_count(resp.headers)
                if count is not None:
                    side.statements.add(count)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def writes(session: aiohttp.ClientSession, base: str, endpoint: int, pid: int, sides):
    """Alternating rounds; returns the median over rounds of admin/key requests per second."""
    url = f"{base}/api/endpoints/{endpoint}"
    for side in sides:  # warm-up: connections, caches, the key's first lookup
        await patch_load(session, url, side, 0.5, CONCURRENCY)
    pairs: list[float] = []
    for number in range(ROUNDS):
        rates = {}
        for side in sides if number % 2 == 0 else sides[::-1]:
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            done = await patch_load(session, url, side, ROUND_S, CONCURRENCY)
            seconds = time.perf_counter() - wall
            side.seconds += seconds
            side.cpu += cpu_seconds(pid) - cpu
            side.requests += len(done)
            rates[side.name] = len(done) / seconds
        pairs.append(rates["admin"] / rates["key"])
    for _ in range(SEQUENTIAL):
        for side in sides:
            started = time.perf_counter()
            async with session.patch(url, json={"name": "one"}, headers=side.headers) as resp:
                await resp.read()
            side.sequential.append(time.perf_counter() - started)
    return sorted(pairs)[len(pairs) // 2]


async def public_gets(session: aiohttp.ClientSession, base: str, key: str, db_url: str):
    """(path, variant, req/s, statements) rows, and the api_keys scans meanwhile.

    The variants of a path take turns, batch by batch, so they meet the same machine.
    """
    variants = {
        "no credential": {},
        "with the key": {"Authorization": f"Bearer {key}"},
        "unknown key": {"Authorization": "Bearer upt_" + "x" * 43},
    }
    rows = []
    with psycopg.connect(db_url, autocommit=True) as conn:
        await asyncio.sleep(STATS_FLUSH_S)
        before = _scans(conn)
        for path in ("/api/pages/bench", "/badge/bench"):
            seconds = dict.fromkeys(variants, 0.0)
            counts: dict[str, set[int]] = {name: set() for name in variants}
            for _ in range(GETS // 40):
                for name, headers in variants.items():
                    started = time.perf_counter()
                    for _ in range(10):
                        batch = [session.get(base + path, headers=headers) for _ in range(4)]
                        for resp in await asyncio.gather(*batch):
                            await resp.read()
                            assert resp.status == 200, resp.status
                            if (n := statement_count(resp.headers)) is not None:
                                counts[name].add(n)
                            resp.release()
                    seconds[name] += time.perf_counter() - started
            rows += [(path, name, GETS / seconds[name], counts[name]) for name in variants]
        await asyncio.sleep(STATS_FLUSH_S)
        after = _scans(conn)
    return rows, after - before


def _scans(conn: psycopg.Connection) -> int:
    row = conn.execute(LOOKUPS).fetchone()
    assert row is not None
    return int(row[0])


def _arrange(base: str, token: str) -> tuple[int, str]:
    import json
    import urllib.request

    def call(method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            base + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    page = call("POST", "/api/pages", {"slug": "bench", "name": "Bench"})
    endpoint = call(
        "POST",
        "/api/endpoints",
        {"page_id": page["id"], "name": "Web", "url": "http://127.0.0.1:9/", "active": False},
    )
    key = call("POST", "/api/keys", {"name": "bench", "scope": "write"})
    return endpoint["id"], key["token"]


async def run(base: str, pid: int, admin: str, db_url: str) -> int:
    endpoint, key = _arrange(base, admin)
    sides = [
        Side("key", {"Authorization": f"Bearer {key}"}),
        Side("admin", {"Authorization": f"Bearer {admin}"}),
    ]
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        print(
            f"  PATCH /api/endpoints/{{id}}: {ROUNDS} alternating rounds of {ROUND_S:.1f} s"
            f" per credential at concurrency {CONCURRENCY}, then {SEQUENTIAL} one at a time ...",
            flush=True,
        )
        paired = await writes(session, base, endpoint, pid, sides)
        print(f"  public GETs: {GETS} per variant, 4 at a time ...", flush=True)
        gets, lookups = await public_gets(session, base, key, db_url)
    key_side, admin_side = sides
    print(f"\n  {'write with':<16} {'req/s':>8} {'p50 c=1 ms':>11} {'CPU ms/req':>11} {'stmts':>6}")
    for side in sides:
        p50 = percentile(sorted(side.sequential), 0.5) * 1e3
        cpu = side.cpu * 1e3 / max(1, side.requests)
        stmts = ",".join(str(n) for n in sorted(side.statements))
        print(f"  {side.name:<16} {side.rps:8.0f} {p50:11.2f} {cpu:11.2f} {stmts:>6}")
    ratio = admin_side.rps / key_side.rps if key_side.rps else float("inf")
    seq_ratio = percentile(sorted(key_side.sequential), 0.5) / percentile(
        sorted(admin_side.sequential), 0.5
    )
    print(
        f"\n  a key costs {ratio:.3f}x the admin token in throughput (median of the paired"
        f" rounds: {paired:.3f}x), {seq_ratio:.3f}x in p50 latency (goal: within {GOAL}x)"
    )
    print(f"\n  {'public GET':<18} {'variant':<14} {'req/s':>8} {'stmts':>6}")
    for path, variant, rps, counts in gets:
        stmts = ",".join(str(n) for n in sorted(counts))
        print(f"  {path:<18} {variant:<14} {rps:8.0f} {stmts:>6}")
    print(f"\n  api_keys lookups during the {len(gets) * GETS} public GETs: {lookups}")
    failures = key_side.failures + admin_side.failures
    return 1 if failures or lookups else 0


def main() -> int:
    started = time.monotonic()
    admin = secrets.token_urlsafe(24)
    with bench_database() as db_url:
        print("  starting the API (uptimatum api, one worker) ...", flush=True)
        with api_server(db_url, admin_token=admin) as (base, pid), _runner() as runner:
            code = runner.run(run(base, pid, admin, db_url))
    print(f"\n  auth benchmark done in {time.monotonic() - started:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The public status page under load: `python -m tests.benchmarks status`.

Seeds a page with 100 endpoints and 90 days of history (bench_api's seed),
starts the real API (`uptimatum api`, one worker) and measures, side by side in
one run, `GET /status/{slug}` and `GET /api/pages/{slug}` (and the badge, the
lightest cached route, as a measure of what the machine gives any route):

- uncached p50 at concurrency 1: each timed request follows a write (a PATCH
  of the page's name to itself) that empties the process's caches, so every
  one renders from the database;
- p50 at concurrency 1 as a reader sees it (the in-process cache answers);
- req/s, p50 and p99 at concurrency 64 over keep-alive connections, asking for
  gzip as browsers do (the outage crowd);
- the answer's size raw and gzipped, and SQL statements per uncached request.
"""

from __future__ import annotations

import os
import secrets
import sys
import time

import aiohttp

from tests.benchmarks import bench_database
from tests.benchmarks.bench_api import (
    Figures,
    _runner,
    api_server,
    hammer,
    percentile,
    statement_count,
)
from tests.benchmarks.seed import seed_page

SLUG = "bench"
ROUTES = {
    "status page (HTML)": f"/status/{SLUG}",
    "page JSON": f"/api/pages/{SLUG}",
    "badge (reference: the lightest cached route)": f"/badge/{SLUG}",
}
CONCURRENCY = 64
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
UNCACHED = int(os.environ.get("BENCH_UNCACHED", "40"))  # timed requests after a write
GZIP = {"Accept-Encoding": "gzip"}


async def uncached(
    session: aiohttp.ClientSession, base: str, path: str, token: str
) -> tuple[list[float], list[int]]:
    """Latencies of requests that each follow a cache-emptying write; their statements."""
    auth = {"Authorization": f"Bearer {token}"}
    latencies, counts = [], []
    for _ in range(UNCACHED):
        async with session.patch(
            f"{base}/api/pages/{SLUG}", json={"name": "Bench"}, headers=auth
        ) as resp:
            assert resp.status == 200, await resp.text()
        started = time.perf_counter()
        async with session.get(base + path, headers=GZIP) as resp:
            await resp.read()
            latencies.append(time.perf_counter() - started)
            assert resp.status == 200
            counts.append(statement_count(resp.headers) or 0)
    return sorted(latencies), counts


async def sizes(session: aiohttp.ClientSession, url: str) -> tuple[int, int]:
    async with session.get(url, headers={"Accept-Encoding": "identity"}) as resp:
        raw = len(await resp.read())
    async with session.get(url, headers=GZIP) as resp:
        zipped = len(await resp.read())
    return raw, zipped


async def run(base: str, token: str) -> list[dict[str, object]]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    results = []
    # Asking for gzip as browsers do, and not inflating it here: a crowd inflates
    # on its own machines, not on the server's cores as this client would.
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        for name, path in ROUTES.items():
            url = base + path
            print(f"  {name}: {UNCACHED} uncached, {SECONDS:.0f} s at c=1 and c={CONCURRENCY}")
            lat, counts = await uncached(session, base, path, token)
            seq = sorted(await hammer(session, url, 1, SECONDS / 2, Figures(route=name), GZIP))
            crowd = Figures(route=name)
            await hammer(session, url, CONCURRENCY, 1.0, Figures(route=name), GZIP)  # warm-up
            started = time.perf_counter()
            many = sorted(await hammer(session, url, CONCURRENCY, SECONDS, crowd, GZIP))
            wall = time.perf_counter() - started
            raw, zipped = await sizes(session, url)
            results.append(
                {
                    "route": f"GET {path}",
                    "uncached_p50": percentile(lat, 0.5) * 1e3,
                    "cached_p50": percentile(seq, 0.5) * 1e3,
                    "rps": len(many) / wall,
                    "p50": percentile(many, 0.5) * 1e3,
                    "p99": percentile(many, 0.99) * 1e3,
                    "bytes": raw,
                    "gzip": zipped,
                    "stmts": f"{min(counts)}-{max(counts)}"
                    if min(counts) != max(counts)
                    else str(counts[0]),
                    "non200": {k: v for k, v in crowd.statuses.items() if k != 200},
                }
            )
    return results


def report(results: list[dict[str, object]]) -> None:
    print(
        f"\n  Status page vs page JSON: 100 endpoints, 90 days; one API worker;"
        f" c={CONCURRENCY} for {SECONDS:.0f} s asking for gzip (aiohttp on the same machine)\n"
    )
    head = (
        f"  {'route':<24} {'uncached p50 c=1':>16} {'p50 c=1':>8} {'req/s c=64':>10}"
        f" {'p50 c=64':>9} {'p99 c=64':>9} {'bytes':>9} {'gzip':>7} {'stmts':>6}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in results:
        print(
            f"  {r['route']:<24} {r['uncached_p50']:>13.2f} ms {r['cached_p50']:>5.2f} ms"
            f" {r['rps']:>10,.0f} {r['p50']:>6.2f} ms {r['p99']:>6.2f} ms"
            f" {r['bytes']:>9,} {r['gzip']:>7,} {r['stmts']:>6}"
        )
        if r["non200"]:
            print(f"  {'':<24} non-200 answers: {r['non200']}")
    print(
        "\n  uncached: each request follows a write that empties the caches (statements: of"
        " those requests);\n  p50 c=1 and c=64: as readers see it, the in-process cache"
        " answering the HTML (5 s) and the JSON's 7/30/90-day figures."
    )


def main() -> int:
    started = time.monotonic()
    with bench_database() as database_url:
        seed_page(database_url, SLUG, endpoints=100, days=90)
        print("  starting the API (uptimatum api, one worker) ...", flush=True)
        token = secrets.token_urlsafe(24)
        with api_server(database_url, token) as (base, _pid), _runner() as runner:
            results = runner.run(run(base, token))
    report(results)
    print(f"\n  status page benchmark done in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if any(r["non200"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The API under load: `python -m tests.benchmarks api`.

Seeds a page with 100 endpoints and 90 days of history (and one with 10, to
show the statement count does not grow with the endpoints), starts the real
API (`uptimatum api`, one worker) on a free loopback port, and measures each
route side by side: requests/s and p50/p99 latency at a fixed concurrency
over keep-alive connections, p50 of one request at a time, response size,
the server's CPU per request (its process tree, from /proc), and SQL
statements per request (the API's ``Server-Timing`` header, cross-checked
with ``pg_stat_database`` commits: autocommit makes one commit per statement).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString

import aiohttp
import psycopg

from tests.benchmarks import bench_database, cpu_seconds, free_port
from tests.benchmarks.seed import seed_page

SLUG, SLUG_SMALL = "bench", "bench-10"
ROUTES = {
    "health": "/health",
    "page": "/api/pages/{slug}",
    "timeline": "/api/pages/{slug}/timeline?hours=24",
    "badge": "/badge/{slug}",
}
CONCURRENCY = 16
WARMUP_S = 1.0
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))  # measured load per route
SEQUENTIAL_S, SEQUENTIAL_MAX = 1.0, 300  # one-at-a-time latency sample
STATS_FLUSH_S = 10.5  # PostgreSQL flushes an idle backend's counters within 10 s
HEADERS = {"Accept-Encoding": "identity"}  # sizes as sent, comparable with the original

# The original backend on this machine, same data (issue 2).
ORIGINAL = {
    "page": "1.3 s per request, 1.5 s CPU per request",
    "timeline": "1.9 s per request, 38.5 MB",
    "badge": "123 ms per request, about 17 req/s",
}
ORIGINAL_PAGE_MS, ORIGINAL_PAGE_CPU_MS = 1300.0, 1500.0
ORIGINAL_TIMELINE_MS, ORIGINAL_TIMELINE_BYTES = 1900.0, 38.5e6
ORIGINAL_BADGE_MS, ORIGINAL_BADGE_RPS = 123.0, 17.0

STATEMENTS = re.compile(r'db;[^,]*desc="?(\d+) statements?', re.IGNORECASE)


@dataclass
class Figures:
    route: str
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    seq_p50_ms: float = 0.0
    size: int = 0
    gzip_size: int = 0  # on the wire for a client that sends Accept-Encoding: gzip
    cpu_ms: float = 0.0  # server CPU per request
    cpu_share: float = 0.0  # server CPU seconds per wall second during the load
    db_cpu_ms: float | None = None  # CPU of the API's PostgreSQL backends per request
    statements: list[int] = field(default_factory=list)  # from Server-Timing
    xacts: float | None = None  # pg_stat_database commits per request
    statuses: Counter[int] = field(default_factory=Counter)


def statement_count(headers: Mapping[str, str]) -> int | None:
    match = STATEMENTS.search(headers.get("Server-Timing", ""))
    return int(match.group(1)) if match else None


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def hammer(
    session: aiohttp.ClientSession,
    url: str,
    concurrency: int,
    seconds: float,
    figures: Figures,
    headers: Mapping[str, str] = HEADERS,
) -> list[float]:
    """Requests from ``concurrency`` workers until ``seconds`` pass; latencies in seconds."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while (started := time.perf_counter()) < deadline:
            async with session.get(url, headers=headers) as resp:
                body = await resp.read()
                latencies.append(time.perf_counter() - started)
                figures.statuses[resp.status] += 1
                figures.size = len(body)
                count = statement_count(resp.headers)
                if count is not None:
                    figures.statements.append(count)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


class DbProbe:
    """One autocommit connection to the benchmark database, counting its own statements.

    Reads commit counts (``pg_stat_database``) and the CPU time of the API's
    PostgreSQL backends, when the server runs on this machine (/proc).
    """

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.statements = 0  # ours, to leave out of the commit counts

    def _scalars(self, query: LiteralString) -> list[Any]:
        self.statements += 1
        return [row[0] for row in self.conn.execute(query).fetchall()]

    def xacts(self) -> int:
        return int(self._scalars(XACTS)[0])

    def backend_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each local backend serving the API (empty when remote)."""
        out = {}
        for pid in self._scalars(API_BACKENDS):
            try:
                if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
            except OSError:
                continue
            out[pid] = cpu_seconds(pid, tree=False)
        return out

    def close(self) -> None:
        self.conn.close()


XACTS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
)
API_BACKENDS = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE 'uptimatum-api%'"
)


async def measure(
    session: aiohttp.ClientSession, base: str, name: str, server_pid: int, db: DbProbe
) -> Figures:
    url = base + ROUTES[name].format(slug=SLUG)
    figures = Figures(route="GET " + ROUTES[name].format(slug=SLUG))
    print(
        f"  {figures.route}: warm-up {WARMUP_S:.0f} s, {SECONDS:.0f} s at concurrency"
        f" {CONCURRENCY}, one-at-a-time sample, {STATS_FLUSH_S:.0f} s for statistics ...",
        flush=True,
    )
    own_before, xacts_before = db.statements, db.xacts()
    warm = Figures(route=figures.route)
    sent = len(await hammer(session, url, CONCURRENCY, WARMUP_S, warm))

    backends_before = db.backend_cpu()
    cpu_before, wall_before = cpu_seconds(server_pid), time.perf_counter()
    latencies = sorted(await hammer(session, url, CONCURRENCY, SECONDS, figures))
    cpu, wall = cpu_seconds(server_pid) - cpu_before, time.perf_counter() - wall_before
    backends_after = db.backend_cpu()
    n = max(1, len(latencies))
    figures.requests = len(latencies)
    figures.rps = len(latencies) / wall
    figures.p50_ms = percentile(latencies, 0.5) * 1e3
    figures.p99_ms = percentile(latencies, 0.99) * 1e3
    figures.cpu_ms = cpu * 1e3 / n
    figures.cpu_share = cpu / wall
    if backends_after:
        db_cpu = sum(t - backends_before.get(pid, 0.0) for pid, t in backends_after.items())
        figures.db_cpu_ms = db_cpu * 1e3 / n
    sequential = sorted(await hammer(session, url, 1, SEQUENTIAL_S, Figures(route=name)))
    sequential = sequential[:SEQUENTIAL_MAX]
    figures.seq_p50_ms = percentile(sequential, 0.5) * 1e3
    sent += len(latencies) + len(sequential)
    async with session.get(url, headers={"Accept-Encoding": "gzip"}) as resp:
        await resp.read()
        figures.gzip_size = int(resp.headers.get("Content-Length", figures.size))
    sent += 1

    await asyncio.sleep(STATS_FLUSH_S)
    own = db.statements - own_before
    figures.xacts = max(0, db.xacts() - xacts_before - own) / sent
    return figures


async def statements_by_size(session: aiohttp.ClientSession, base: str) -> dict[str, list[str]]:
    """Statements per route for 10 and for 100 endpoints (first, uncached request)."""
    table: dict[str, list[str]] = {}
    for name, path in ROUTES.items():
        cells = []
        for slug in (SLUG_SMALL, SLUG):
            counts = []
            for _ in range(3):
                async with session.get(base + path.format(slug=slug), headers=HEADERS) as resp:
                    await resp.read()
                    counts.append(statement_count(resp.headers))
            known = [c for c in counts if c is not None]
            cells.append(str(max(known)) if known else "n/a")
        table[name] = cells
    return table


@contextlib.contextmanager
def api_server(
    database_url: str, admin_token: str | None = None, code: Path | None = None
) -> Iterator[tuple[str, int]]:
    """`uptimatum api` with one worker on a free port; yields (base URL, pid).

    ``code``: a directory holding other sources of ``services`` and ``shared`` to
    run instead of these (bench_story runs the code before a change beside it).
    """
    port = free_port()
    env = {
        **os.environ,
        **({"PYTHONPATH": str(code)} if code else {}),
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ADMIN_TOKEN": admin_token or secrets.token_urlsafe(24),
        "LOG_LEVEL": "WARNING",
        "APP_ENV": "development",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "api", "--workers", "1"],
        env=env,
        cwd=code,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API was not ready within {timeout:.0f} s")


def ratio(before: float, after: float) -> str:
    return f"{before / after:,.0f}x" if after > 0 else "n/a"


def report(results: list[Figures], by_size: dict[str, list[str]]) -> None:
    print(
        f"\n  API, one worker, {CONCURRENCY} keep-alive connections, {SECONDS:.0f} s per route"
        " (aiohttp client on the same machine)\n"
    )
    head = (
        f"  {'route':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p50 c=1':>8}"
        f" {'bytes':>9} {'gzip':>8} {'CPU ms/req':>10} {'srv CPU':>7} {'DB CPU ms':>9}"
        f" {'stmts/req':>13} {'xacts/req':>9}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for f in results:
        stmts = "n/a"
        if f.statements:
            lo, hi = min(f.statements), max(f.statements)
            mean = sum(f.statements) / len(f.statements)
            stmts = str(hi) if lo == hi else f"{mean:.3f} ({lo}-{hi})"
        xacts = "n/a" if f.xacts is None else f"{f.xacts:.2f}"
        db_cpu = "n/a" if f.db_cpu_ms is None else f"{f.db_cpu_ms:.3f}"
        print(
            f"  {f.route:<42} {f.rps:>8,.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f}"
            f" {f.seq_p50_ms:>8.2f} {f.size:>9,} {f.gzip_size:>8,}"
            f" {f.cpu_ms:>10.3f} {f.cpu_share:>6.0%}"
            f" {db_cpu:>9} {stmts:>13} {xacts:>9}"
        )
        bad = {code: n for code, n in f.statuses.items() if code != 200}
        if bad:
            print(f"  {'':<42} non-200 answers: {dict(sorted(bad.items()))}")
    print(
        "\n  bytes: the answer as sent without compression; gzip: as sent to a client that asks"
        " for gzip (browsers do).\n  p50 c=1: one request at a time."
        " CPU ms/req: the API's process tree."
        " srv CPU: its CPU per wall second (well below\n  100%: the client or PostgreSQL,"
        " sharing the machine, is the limit). DB CPU ms: the API's PostgreSQL backends"
        " per request\n  (n/a when the server is not local). stmts/req: from Server-Timing"
        " (mean (min-max) when a cache answers some);\n  xacts/req: pg_stat_database"
        " commits per request (autocommit: one per statement)."
    )

    by_name = dict(zip(ROUTES, results, strict=True))
    page, timeline, badge = by_name["page"], by_name["timeline"], by_name["badge"]
    print("\n  Against the original backend (issue 2; 100 endpoints, 24 h of rows):")
    rows = [
        ("page", f"{page.seq_p50_ms:.2f} ms, {page.cpu_ms:.2f} ms CPU",
         f"{ratio(ORIGINAL_PAGE_MS, page.seq_p50_ms)} faster,"
         f" {ratio(ORIGINAL_PAGE_CPU_MS, page.cpu_ms)} less CPU"),
        ("timeline", f"{timeline.seq_p50_ms:.2f} ms, {timeline.size / 1e3:,.1f} kB"
         f" ({timeline.gzip_size / 1e3:,.1f} kB gzip)",
         f"{ratio(ORIGINAL_TIMELINE_MS, timeline.seq_p50_ms)} faster,"
         f" {ratio(ORIGINAL_TIMELINE_BYTES, timeline.size)} smaller"
         f" ({ratio(ORIGINAL_TIMELINE_BYTES, timeline.gzip_size)} with gzip)"),
        ("badge", f"{badge.seq_p50_ms:.2f} ms, {badge.rps:,.0f} req/s",
         f"{ratio(ORIGINAL_BADGE_MS, badge.seq_p50_ms)} faster,"
         f" {ratio(badge.rps, ORIGINAL_BADGE_RPS)} the throughput"),
    ]  # fmt: skip
    for name, ours, better in rows:
        print(f"  {name:<9} original {ORIGINAL[name]:<42} ours {ours:<28} {better}")

    print("\n  SQL statements per request by page size (Server-Timing, uncached request):")
    print(f"  {'route':<40} {'10 endpoints':>13} {'100 endpoints':>14}")
    for name, (small, large) in by_size.items():
        flag = "" if small == large else "  <- grows with the endpoints"
        print(f"  {ROUTES[name]:<40} {small:>13} {large:>14}{flag}")


async def run_load(base: str, pid: int, database_url: str) -> list[Figures]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=CONCURRENCY)
    db = DbProbe(database_url)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            by_size = await statements_by_size(session, base)
            results = [await measure(session, base, name, pid, db) for name in ROUTES]
    finally:
        db.close()
    report(results, by_size)
    return results


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main() -> int:
    started = time.monotonic()
    with bench_database() as database_url:
        seed_page(database_url, SLUG, endpoints=100, days=90)
        seed_page(database_url, SLUG_SMALL, endpoints=10, days=90)
        print("  starting the API (uptimatum api, one worker) ...", flush=True)
        with api_server(database_url) as (base, pid), _runner() as runner:
            results = runner.run(run_load(base, pid, database_url))
    print(f"\n  API benchmark done in {time.monotonic() - started:.0f} s", flush=True)
    failures = sum(n for f in results for code, n in f.statuses.items() if code != 200)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checker figures, side by side in one run: capacity, the limit, the naive design, scale-out.

``python -m tests.benchmarks.bench_checker`` (about 7 minutes), or with
``BENCH_QUICK=1`` a one-minute smoke version (fewer endpoints, 5 s interval, short windows).

1. Capacity: one ``uptimatum checker`` process (CHECK_CONCURRENCY default) with
   10,000 endpoints at a 30 s interval (333 checks/s): schedule lag, CPU per check
   (the checker process and its PostgreSQL backends, from /proc), DB round trips
   and history rows written per check, over a window after a warm-up longer than
   one interval (so each endpoint's first, inserting, check is behind us).
2. The limit: a bare aiohttp loop (checker_loop.py --mode bare) making the same
   requests at the same rate and concurrency; the checker's CPU per check as a
   multiple of the bare loop's CPU per request.
3. The naive design (checker_loop.py --mode naive): the same probe loop, plus the
   original backend's transaction per check (BEGIN; SELECT the latest history row
   FOR UPDATE; INSERT a row; COMMIT), on the same 10,000 endpoints.
4. Scale-out: 1, 2 and 3 replicas on 30,000 endpoints (1,000 checks/s): checks/s,
   lag, and the probes the target saw per endpoint per interval slot (never two).

The target (checker_target.py) runs in a process of its own, so its CPU is never
counted; it records every probe with its arrival time. Lag is measured twice: from
arrival times at the target against each endpoint's due slot (exact; includes the
TCP connect), and from the checker's own uptimatum_schedule_lag_seconds histogram
(bucketed). Endpoints are seeded with one set-based INSERT and their first due times
are spread uniformly over the interval, so the load is steady, not a thundering herd.
Every byte stays on loopback.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from shared.settings import FIELDS
from tests.benchmarks import bench_database, cpu_seconds, free_port, server_conninfo
from tests.benchmarks.checker_target import addresses

REPO = Path(__file__).resolve().parents[2]
ADDRESSES = 8  # loopback destinations the target listens on (127.0.0.2 …)
CHECK_TIMEOUT = 5
HISTORY_BUCKET_SECONDS = 3600  # the checker's default; rows/check for a stable endpoint


@dataclass(frozen=True)
class Plan:
    interval: int
    endpoints: int  # capacity, limit and naive runs
    warmup: float  # a fresh schedule: longer than one interval
    window: float
    loop_warmup: float
    loop_window: float
    scale_endpoints: int
    replicas: tuple[int, ...]
    rewarm: float  # after a replica joins
    scale_window: float


FULL = Plan(30, 10_000, 35, 60, 5, 30, 30_000, (1, 2, 3), 10, 60)
QUICK = Plan(5, 1_000, 6, 8, 2, 6, 3_000, (1, 2), 3, 8)

# The bench's own statements (the benchmark is not a service; kept together all the same).
SEED_PAGE = "INSERT INTO pages (slug, name) VALUES ('bench-checker', 'Checker bench') RETURNING id"
SEED_ENDPOINTS = """
INSERT INTO endpoints (id, page_id, name, url, interval, timeout)
SELECT g, %(page_id)s::bigint, 'bench ' || g,
       'http://127.0.0.' || (2 + g %% %(addrs)s::int) || ':' || %(port)s::int || '/e/' || g,
       %(interval)s::int, %(timeout)s::int
  FROM generate_series(1, %(count)s::int) AS g
"""
# One due time per endpoint, spread uniformly over the interval: a steady load.
SPREAD_DUE = """
UPDATE endpoint_state
   SET next_check_at = now() + random() * %(interval)s::int * interval '1 second'
"""
DUE_TIMES = "SELECT endpoint_id, extract(epoch FROM next_check_at)::float8 FROM endpoint_state"
COUNT_CHECKS = "SELECT count(*) FROM checks"
DB_XACTS = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %(db)s"
DB_BACKENDS = """
SELECT pid, extract(epoch FROM backend_start)::float8 FROM pg_stat_activity
 WHERE datname = %(db)s AND backend_type = 'client backend'
   AND application_name <> 'bench-monitor'
"""


def log(message: str) -> None:
    print(f"  [checker] {message}", flush=True)


# --------------------------------------------------------------------------- numbers


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


# --------------------------------------------------------------------------- /proc


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads), None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU of the PostgreSQL backends serving the bench database, over a window.

    Backends are listed from pg_stat_activity (on the maintenance connection) and
    read from /proc, so this works when PostgreSQL runs on this machine; it is
    None otherwise. A backend that starts within the window counts from zero.
    """

    def __init__(self, admin: psycopg.Connection[Any], dbname: str) -> None:
        self.admin, self.dbname = admin, dbname
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = time.time()
        # The server is on this machine if our own backend shows up in /proc.
        self.visible = cpu_of(admin.info.backend_pid) is not None

    def sample(self) -> None:
        rows = self.admin.execute(DB_BACKENDS, {"db": self.dbname}).fetchall()
        for pid, backend_start in rows:
            cpu = cpu_of(pid)
            if cpu is None:  # gone since the query (or not on this machine)
                continue
            if pid not in self.base:
                self.base[pid] = 0.0 if backend_start >= self.started else cpu
            self.last[pid] = cpu

    def total(self) -> float | None:
        if not self.visible:
            return None
        return sum(self.last[pid] - self.base[pid] for pid in self.last)


# --------------------------------------------------------------------------- metrics

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
WANTED = (
    "uptimatum_checks_total",
    "uptimatum_schedule_lag_seconds_bucket",
    "uptimatum_db_round_trips_total",
    "uptimatum_history_rows_written_total",
    "uptimatum_claim_batch_size_sum",
    "uptimatum_claim_batch_size_count",
    "uptimatum_flush_duration_seconds_count",
)

Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    samples: Samples = []
    for line in text.splitlines():
        if not line.startswith(WANTED):
            continue
        match = _LINE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def total(samples: Samples, name: str, **labels: str) -> float | None:
    values = [
        v for n, lb, v in samples if n == name and all(lb.get(k) == x for k, x in labels.items())
    ]
    return sum(values) if values else None


def buckets(samples: Samples, name: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for n, lb, v in samples:
        if n == f"{name}_bucket":
            le = float(lb["le"])
            out[le] = out.get(le, 0.0) + v
    return out


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> str:
    """Prometheus' histogram_quantile over the window's bucket deltas, as text."""
    delta = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return "n/a"
    rank, lower, prev = q * delta[-1][1], 0.0, 0.0
    for le, cum in delta:
        if cum >= rank:
            if math.isinf(le):
                return f">{lower:g}"
            inside = (rank - prev) / (cum - prev) if cum > prev else 1.0
            return f"{lower + (le - lower) * inside:.3f}"
        lower, prev = le, cum
    return "n/a"


def delta(before: list[Samples], after: list[Samples], name: str, **labels: str) -> float | None:
    values = [total(s, name, **labels) for s in after]
    bases = [total(s, name, **labels) for s in before]
    if all(v is None for v in values):
        return None
    return sum(v or 0 for v in values) - sum(b or 0 for b in bases)


# --------------------------------------------------------------------------- processes


def python_env(**extra: str) -> dict[str, str]:
    """The environment of a child: none of our settings leak in, only what we pass."""
    env = {k: v for k, v in os.environ.items() if k not in FIELDS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env.update(extra)
    return env


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Target:
    proc: subprocess.Popen[str]
    port: int

    def arrivals(self, since: float, until: float) -> tuple[array[int], array[float]]:
        url = f"http://127.0.0.2:{self.port}/_ctl/dump?since={since:.6f}"
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = resp.read()
        (count,) = struct.unpack("!q", body[:8])
        ids, times = array("q"), array("d")
        ids.frombytes(body[8 : 8 + 8 * count])
        times.frombytes(body[8 + 8 * count :])
        keep = [i for i, t in enumerate(times) if t < until]
        return array("q", (ids[i] for i in keep)), array("d", (times[i] for i in keep))

    def reset(self) -> None:
        urllib.request.urlopen(f"http://127.0.0.2:{self.port}/_ctl/reset", timeout=10).close()


@contextmanager
def serving(module: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``python -m tests.benchmarks.<module> args`` for the block: the process, and the
    port it prints first; stopped afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", f"tests.benchmarks.{module}", *args],
        cwd=REPO,
        env=python_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, int(proc.stdout.readline())
    finally:
        stop(proc)


@contextmanager
def target_server(tls: tuple[str, str] | None = None) -> Iterator[Target]:
    """checker_target.py; over HTTPS with ``tls``: (certificate chain, key) files."""
    args = ["--addrs", str(ADDRESSES), *(("--tls", *tls) if tls else ())]
    with serving("checker_target", *args) as (proc, port):
        yield Target(proc, port)


@dataclass
class Checker:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/health"
        with suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
        return False


def start_checker(db: str, logfile: IO[bytes], code: Path = REPO, **env: str) -> Checker:
    """`uptimatum checker` on a free metrics port, once healthy.

    ``code``: another checkout of ``services`` and ``shared`` to run instead of
    these (bench_kinds runs the code before a change beside it).
    """
    port = free_port()
    child = python_env(DATABASE_URL=db, METRICS_PORT=str(port), HOST="127.0.0.1", **env)
    if code != REPO:
        child["PYTHONPATH"] = os.pathsep.join([str(code), child["PYTHONPATH"]])
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "checker"],
        cwd=code,
        env=child,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    checker = Checker(proc, port)
    deadline = time.monotonic() + 30
    while not checker.healthy():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"the checker did not come up (log: {logfile.name})")
        time.sleep(0.2)
    return checker


def claim_rhythm() -> float:
    """How often the checker claims at most: the bare loop fires what fell due as often."""
    try:
        from services.checker.main import MIN_GAP
    except ImportError:
        return 0.2
    return float(MIN_GAP)


# --------------------------------------------------------------------------- seeding


def seed(db: str, count: int, plan: Plan, target: Target) -> None:
    started = time.monotonic()
    with psycopg.connect(db, autocommit=True) as conn:
        with conn.transaction():
            row = conn.execute(SEED_PAGE).fetchone()
            assert row is not None
            conn.execute(
                SEED_ENDPOINTS,
                {
                    "page_id": row[0],
                    "addrs": ADDRESSES,
                    "port": target.port,
                    "interval": plan.interval,
                    "timeout": min(CHECK_TIMEOUT, plan.interval),
                    "count": count,
                },
            )
        conn.execute("VACUUM ANALYZE endpoints")
        conn.execute("VACUUM ANALYZE endpoint_state")
    log(f"seeded {count:,} endpoints in {time.monotonic() - started:.1f} s")


def spread_due(db: str, interval: int) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(SPREAD_DUE, {"interval": interval})


# --------------------------------------------------------------------------- windows


@dataclass
class Window:
    """What happened between t0 and t1: CPU, statements, rows, and the target's view."""

    t0: float
    t1: float
    cpu: float  # client processes (checkers or loop)
    pg_cpu: float | None
    xacts: float | None
    arrivals: tuple[array[int], array[float]]
    rows: int | None = None
    before: list[Samples] = field(default_factory=list)
    after: list[Samples] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.t1 - self.t0

    @property
    def requests(self) -> int:
        return len(self.arrivals[0])


class Monitor:
    """The bench's connections: maintenance (for pg_stat_*) and the bench database."""

    def __init__(self, db: str, target: Target) -> None:
        self.db = db
        self.dbname = str(conninfo_to_dict(db)["dbname"])
        self.target = target
        self.admin = psycopg.connect(server_conninfo(), autocommit=True)
        self.bench = psycopg.connect(db, autocommit=True, application_name="bench-monitor")

    def close(self) -> None:
        self.admin.close()
        self.bench.close()

    def xacts(self) -> float | None:
        self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = self.admin.execute(DB_XACTS, {"db": self.dbname}).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def rows(self) -> int:
        row = self.bench.execute(COUNT_CHECKS).fetchone()
        return int(row[0]) if row else 0

    def due_times(self) -> dict[int, float]:
        return dict(self.bench.execute(DUE_TIMES).fetchall())

    def measure(
        self, pids: list[int], seconds: float, ports: list[int] | None = None, label: str = ""
    ) -> Window:
        rows0 = self.rows() if ports is not None else None
        before = [scrape(p) for p in ports or []]
        backends = BackendCpu(self.admin, self.dbname)
        backends.sample()
        xacts0 = self.xacts()
        cpu0 = sum(cpu_seconds(p) for p in pids)
        t0 = time.time()
        end = t0 + seconds
        next_note = t0 + 15
        while (now := time.time()) < end:
            time.sleep(min(2.0, end - now))
            backends.sample()  # catches backends that come and go
            if time.time() >= next_note and time.time() < end - 5:
                log(f"{label} {time.time() - t0:.0f} s of {seconds:.0f} s")
                next_note += 15
        t1 = time.time()
        cpu1 = sum(cpu_seconds(p) for p in pids)
        xacts1 = self.xacts()
        backends.sample()
        after = [scrape(p) for p in ports or []]
        rows1 = self.rows() if ports is not None else None
        return Window(
            t0=t0,
            t1=t1,
            cpu=cpu1 - cpu0,
            pg_cpu=backends.total(),
            xacts=None if xacts0 is None or xacts1 is None else xacts1 - xacts0,
            arrivals=self.target.arrivals(t0, t1),
            rows=None if rows0 is None or rows1 is None else rows1 - rows0,
            before=before,
            after=after,
        )


# --------------------------------------------------------------------------- analysis


@dataclass
class Schedule:
    """The target's view of a window against each endpoint's due slots."""

    lags: list[float]
    slots_probed: int
    duplicates: int  # slots probed more than once
    missed: int  # slots due well inside the window that no probe reached
    min_gap: float | None  # shortest time between two probes of one endpoint
    per_slot: float | None  # probes per endpoint per interval


def schedule(window: Window, due: dict[int, float], interval: int) -> Schedule:
    ids, times = window.arrivals
    per_slot: Counter[tuple[int, int]] = Counter()
    lags: list[float] = []
    last: dict[int, float] = {}
    min_gap = math.inf
    for eid, at in zip(ids, times, strict=True):
        phase = due.get(eid)
        if phase is None:
            continue
        lag = (at - phase) % interval
        if lag > interval - 0.05:  # a hair before the due time: clock granularity
            lag -= interval
        per_slot[(eid, round((at - lag - phase) / interval))] += 1
        lags.append(lag)
        if eid in last:
            min_gap = min(min_gap, at - last[eid])
        last[eid] = at
    # A slot counts as missed when it fell due early enough to have been probed
    # inside the window even at the observed p99 lag.
    horizon = window.t1 - max(2.0, quantile(lags, 0.99) or 0.0)
    missed = 0
    for eid, phase in due.items():
        k = math.ceil((window.t0 - phase) / interval)
        while phase + k * interval < horizon:
            missed += (eid, k) not in per_slot
            k += 1
    expected = len(due) * window.seconds / interval
    return Schedule(
        lags=lags,
        slots_probed=len(per_slot),
        duplicates=sum(1 for c in per_slot.values() if c > 1),
        missed=missed,
        min_gap=None if math.isinf(min_gap) else min_gap,
        per_slot=ratio(len(lags), expected),
    )


@dataclass
class Figures:
    name: str
    checks: float
    checks_per_s: float
    cpu_ms: float | None
    pg_cpu_ms: float | None
    round_trips: float | None
    xacts: float | None
    inserts: float | None
    updates: float | None
    rows: float | None
    down: float | None
    lag: Schedule | None = None
    hist_p50: str = "n/a"
    hist_p99: str = "n/a"
    cores: float | None = None  # client CPU seconds per second
    split: str = ""  # each replica's share of the checks, in percent

    @property
    def total_ms(self) -> float | None:
        if self.cpu_ms is None or self.pg_cpu_ms is None:
            return None
        return self.cpu_ms + self.pg_cpu_ms


def checker_figures(name: str, w: Window, due: dict[int, float], interval: int) -> Figures:
    checks = delta(w.before, w.after, "uptimatum_checks_total") or float(w.requests)
    lag_before = [buckets(s, "uptimatum_schedule_lag_seconds") for s in w.before]
    lag_after = [buckets(s, "uptimatum_schedule_lag_seconds") for s in w.after]
    merged_before = {le: sum(b.get(le, 0.0) for b in lag_before) for le in lag_after[0]}
    merged_after = {le: sum(b.get(le, 0.0) for b in lag_after) for le in lag_after[0]}

    def per_check(value: float | None) -> float | None:
        return ratio(value, checks)

    shares = [
        (total(a, "uptimatum_checks_total") or 0) - (total(b, "uptimatum_checks_total") or 0)
        for b, a in zip(w.before, w.after, strict=True)
    ]

    return Figures(
        name=name,
        checks=checks,
        checks_per_s=checks / w.seconds,
        cpu_ms=per_check(w.cpu * 1000),
        pg_cpu_ms=per_check(None if w.pg_cpu is None else w.pg_cpu * 1000),
        round_trips=per_check(delta(w.before, w.after, "uptimatum_db_round_trips_total")),
        xacts=per_check(w.xacts),
        inserts=per_check(
            delta(w.before, w.after, "uptimatum_history_rows_written_total", kind="insert")
        ),
        updates=per_check(
            delta(w.before, w.after, "uptimatum_history_rows_written_total", kind="update")
        ),
        rows=per_check(None if w.rows is None else float(w.rows)),
        down=delta(w.before, w.after, "uptimatum_checks_total", result="down"),
        lag=schedule(w, due, interval),
        hist_p50=histogram_quantile(0.5, merged_before, merged_after),
        hist_p99=histogram_quantile(0.99, merged_before, merged_after),
        cores=w.cpu / w.seconds,
        split="/".join(f"{100 * x / checks:.0f}" for x in shares) if checks else "",
    )


# --------------------------------------------------------------------------- runs


def run_capacity(mon: Monitor, plan: Plan, logs: Path) -> Figures:
    spread_due(mon.db, plan.interval)
    with open(logs / "checker-capacity.log", "wb") as out:
        checker = start_checker(mon.db, out)
        try:
            log(f"capacity: 1 checker up; warming up {plan.warmup:.0f} s")
            time.sleep(plan.warmup)
            due = mon.due_times()
            log(f"capacity: measuring {plan.window:.0f} s")
            w = mon.measure([checker.pid], plan.window, [checker.port], "capacity:")
        finally:
            stop(checker.proc)
    return checker_figures("checker (1 process)", w, due, plan.interval)


def run_loop(mon: Monitor, mode: str, plan: Plan, logs: Path) -> Figures:
    rate = plan.endpoints / plan.interval
    duration = plan.loop_warmup + plan.loop_window + 1
    with open(logs / f"loop-{mode}.log", "wb") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.benchmarks.checker_loop", "--mode", mode),
                *("--database-url", mon.db, "--rate", f"{rate:.3f}", "--duration", str(duration)),
                *("--tick", str(claim_rhythm())),
            ],
            cwd=REPO,
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"checker_loop --mode {mode} failed (log: {err.name})")
            log(f"{mode} loop: {rate:.0f} requests/s; warming up {plan.loop_warmup:.0f} s")
            time.sleep(plan.loop_warmup)
            log(f"{mode} loop: measuring {plan.loop_window:.0f} s")
            w = mon.measure([proc.pid], plan.loop_window, None, f"{mode} loop:")
            counts = json.loads(proc.stdout.read().strip().splitlines()[-1])
        finally:
            stop(proc)
    n = float(w.requests)
    statements = 4.0 if mode == "naive" else 0.0
    figures = Figures(
        name=mode,
        checks=n,
        checks_per_s=n / w.seconds,
        cpu_ms=ratio(w.cpu * 1000, n),
        pg_cpu_ms=ratio(None if w.pg_cpu is None else w.pg_cpu * 1000, n),
        round_trips=statements,
        xacts=ratio(w.xacts, n),
        inserts=1.0 if mode == "naive" else 0.0,
        updates=0.0,
        rows=None,
        down=float(counts.get("errors", 0)),
    )
    return figures


def run_scale_out(mon: Monitor, plan: Plan, logs: Path) -> list[tuple[int, Figures]]:
    spread_due(mon.db, plan.interval)
    results: list[tuple[int, Figures]] = []
    checkers: list[Checker] = []
    files: list[IO[bytes]] = []
    try:
        for replicas in plan.replicas:
            while len(checkers) < replicas:
                files.append(open(logs / f"checker-scale-{len(checkers) + 1}.log", "wb"))  # noqa: SIM115
                checkers.append(start_checker(mon.db, files[-1]))
            warm = plan.warmup if replicas == plan.replicas[0] else plan.rewarm
            log(f"scale-out: {replicas} replica(s) up; warming up {warm:.0f} s")
            time.sleep(warm)
            due = mon.due_times()
            log(f"scale-out: {replicas} replica(s), measuring {plan.scale_window:.0f} s")
            w = mon.measure(
                [c.pid for c in checkers],
                plan.scale_window,
                [c.port for c in checkers],
                f"scale-out {replicas}:",
            )
            results.append((replicas, checker_figures(f"{replicas}", w, due, plan.interval)))
            figs = results[-1][1]
            log(
                f"scale-out: {replicas} replica(s): {figs.checks_per_s:,.0f} checks/s,"
                f" lag p99 {fmt(quantile(figs.lag.lags, 0.99) if figs.lag else None, 3)} s"
            )
    finally:
        for checker in checkers:
            stop(checker.proc)
        for f in files:
            f.close()
    return results


# --------------------------------------------------------------------------- report


def lag_text(f: Figures, q: float) -> str:
    return fmt(quantile(f.lag.lags, q) if f.lag else None, 3)


def report(
    plan: Plan,
    ours: Figures,
    bare: Figures,
    naive: Figures,
    scale: list[tuple[int, Figures]],
    started: float,
) -> None:
    rate = plan.endpoints / plan.interval
    print(
        f"\n  Checker figures — target answering at once on loopback, interval {plan.interval} s,"
        f" {os.cpu_count()} cores shared with the target and PostgreSQL"
        f"{' (BENCH_QUICK: a smoke run, not the figures)' if plan is QUICK else ''}\n"
    )
    print(
        f"  1. Capacity: one checker, {plan.endpoints:,} endpoints ({rate:,.0f} checks/s),"
        f" {plan.window:.0f} s after a warm-up of {plan.warmup:.0f} s"
    )
    lag = ours.lag
    rows = [
        ("checks/s", fmt(ours.checks_per_s, 1)),
        (
            "schedule lag p50 / p99 (at the target)",
            f"{lag_text(ours, 0.5)} s / {lag_text(ours, 0.99)} s   (goal: p99 < 1 s)",
        ),
        (
            "schedule lag p50 / p99 (histogram)",
            f"{ours.hist_p50} s / {ours.hist_p99} s",
        ),
        (
            "CPU per check: checker + PostgreSQL",
            f"{fmt(ours.cpu_ms, 3)} + {fmt(ours.pg_cpu_ms, 3)} = {fmt(ours.total_ms, 3)} ms",
        ),
        (
            "DB round trips per check",
            f"{fmt(ours.round_trips, 4)}   (transactions: {fmt(ours.xacts, 4)}; goal < 0.05)",
        ),
        (
            "history rows inserted per check",
            f"{fmt(ours.inserts, 4)} in the window (checks rows added: {fmt(ours.rows, 4)});"
            f" steady state {plan.interval / HISTORY_BUCKET_SECONDS:.4f} (goal < 0.01)",
        ),
        ("history rows updated per check", fmt(ours.updates, 4)),
        ("probes per endpoint per slot", _slots(lag)),
        ("results down (should be 0)", fmt(ours.down, 0)),
    ]
    _table(rows)
    multiple = ratio(ours.cpu_ms, bare.cpu_ms)
    print(f"\n  2-3. Side by side, {plan.endpoints:,} endpoints at {rate:,.0f} requests/s")
    header = (
        "design",
        "req/s",
        "client CPU ms",
        "PG CPU ms",
        "total ms",
        "round trips",
        "xacts",
        "rows ins.",
    )
    lines = [
        (
            f.name,
            fmt(f.checks_per_s, 1),
            fmt(f.cpu_ms, 3),
            fmt(f.pg_cpu_ms, 3),
            fmt(f.total_ms, 3),
            fmt(f.round_trips, 4),
            fmt(f.xacts, 4),
            fmt(f.inserts, 4),
        )
        for f in (ours, bare, naive)
    ]
    _grid(header, lines)
    print(
        f"  (per check/request; client = the process's own CPU; PG = its PostgreSQL backends)\n"
        f"  checker CPU per check = {fmt(multiple, 2)}x the bare loop's (goal < 1.5x);"
        f" naive total CPU per check = {fmt(ratio(naive.total_ms, ours.total_ms), 1)}x ours,"
        f" round trips {fmt(ratio(naive.round_trips, ours.round_trips), 0)}x ours\n"
        f"  beyond the bare probe, per check (client + PG): ours"
        f" {fmt(_beyond(ours, bare), 3)} ms, naive {fmt(_beyond(naive, bare), 3)} ms;"
        f" the loops fire what fell due every {claim_rhythm():g} s, the checker's claim rhythm"
    )
    print(
        f"\n  4. Scale-out: {plan.scale_endpoints:,} endpoints at {plan.interval} s"
        f" ({plan.scale_endpoints / plan.interval:,.0f} checks/s due),"
        f" {plan.scale_window:.0f} s windows"
    )
    scale_header = (
        "replicas",
        "checks/s",
        "lag p50",
        "lag p99",
        "hist p99",
        "probes/slot",
        "dup",
        "missed",
        "CPU ms",
        "PG ms",
        "cores",
        "split %",
    )
    scale_lines = [
        (
            str(n),
            fmt(f.checks_per_s, 1),
            lag_text(f, 0.5),
            lag_text(f, 0.99),
            f.hist_p99,
            fmt(f.lag.per_slot if f.lag else None, 3),
            str(f.lag.duplicates if f.lag else "n/a"),
            str(f.lag.missed if f.lag else "n/a"),
            fmt(f.cpu_ms, 3),
            fmt(f.pg_cpu_ms, 3),
            fmt(f.cores, 2),
            f.split,
        )
        for n, f in scale
    ]
    _grid(scale_header, scale_lines)
    print(
        "  (lag in seconds, from probe arrival at the target; dup = slots probed twice;"
        " CPU = all replicas together, per check;\n   cores = checker CPU seconds per second;"
        " split = each replica's share of the checks)"
    )
    print(f"\n  checker bench: {time.monotonic() - started:.0f} s in all", flush=True)


def _beyond(f: Figures, bare: Figures) -> float | None:
    if f.total_ms is None or bare.cpu_ms is None:
        return None
    return f.total_ms - bare.cpu_ms


def _slots(lag: Schedule | None) -> str:
    if lag is None:
        return "n/a"
    return (
        f"{fmt(lag.per_slot, 3)} ({lag.slots_probed:,} slots probed, {lag.duplicates} twice,"
        f" {lag.missed} missed; shortest gap {fmt(lag.min_gap, 2)} s)"
    )


def _table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"     {key:<{width}}  {value}")


def _grid(header: Sequence[str], lines: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    for row in [header, *lines]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("     " + "  ".join(cells))


# --------------------------------------------------------------------------- main


def _network_note() -> None:
    def read(path: str) -> str:
        with suppress(OSError):
            return Path(path).read_text().split("\n")[0].replace("\t", "-")
        return "?"

    log(
        f"ephemeral ports {read('/proc/sys/net/ipv4/ip_local_port_range')},"
        f" tcp_tw_reuse={read('/proc/sys/net/ipv4/tcp_tw_reuse')};"
        f" probes spread over {', '.join(addresses(ADDRESSES)[:2])} … ({ADDRESSES} addresses)"
    )


def main() -> None:
    plan = QUICK if os.environ.get("BENCH_QUICK", "") not in ("", "0") else FULL
    started = time.monotonic()
    _network_note()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-checker-")))
        target = stack.enter_context(target_server())
        log(f"target on 127.0.0.2-{1 + ADDRESSES}:{target.port}; logs in {logs}")
        db = stack.enter_context(bench_database("uptimatum_bench_checker"))
        seed(db, plan.endpoints, plan, target)
        mon = Monitor(db, target)
        stack.callback(mon.close)
        ours = run_capacity(mon, plan, logs)
        log(
            f"capacity: {ours.checks_per_s:,.0f} checks/s, lag p99 {lag_text(ours, 0.99)} s,"
            f" {fmt(ours.cpu_ms, 3)} ms CPU/check"
        )
        bare = run_loop(mon, "bare", plan, logs)
        log(f"bare loop: {bare.checks_per_s:,.0f} req/s, {fmt(bare.cpu_ms, 3)} ms CPU/request")
        naive = run_loop(mon, "naive", plan, logs)
        log(f"naive: {naive.checks_per_s:,.0f} checks/s, {fmt(naive.total_ms, 3)} ms CPU/check")
        scale_db = stack.enter_context(bench_database("uptimatum_bench_checker"))
        seed(scale_db, plan.scale_endpoints, plan, target)
        target.reset()
        scale_mon = Monitor(scale_db, target)
        stack.callback(scale_mon.close)
        scale = run_scale_out(scale_mon, plan, logs)
        report(plan, ours, bare, naive, scale, started)


if __name__ == "__main__":
    main()

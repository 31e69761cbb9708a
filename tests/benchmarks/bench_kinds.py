"""Kinds of check, side by side in one run: CPU per check of each kind (issue 11).

``python -m tests.benchmarks kinds`` (about 7 minutes), or with ``BENCH_QUICK=1`` a
one-minute smoke version (fewer endpoints, 5 s interval, short windows).

1. ``tcp://`` against ``http://``: the same number of endpoints at the same
   interval, each probed by the real ``uptimatum checker`` (goal: TCP no more CPU
   per check than HTTP).
2. ``https://`` with the certificate rule (this code: the peer certificate read
   on every connection, ``cert_expiry_days`` 14) against plain ``https://`` as it
   was before the rule: the checker code of the commit before
   ``services/checker/probes/`` existed (``git archive`` into a temporary
   directory, the same venv and database schema). Goal: within 1.1x. The pair
   runs twice in the full run, in alternating order, so a drift of the shared
   machine's load weighs on both alike.

Each phase is a fresh database seeded with the endpoints of one kind (one
set-based INSERT, first due times spread over the interval), one checker
process, a warm-up longer than one interval (every endpoint's first, inserting
check behind us), then a window: the CPU of the checker process and of its
PostgreSQL backends (/proc) per check (``uptimatum_checks_total``). The targets
run in processes of their own (``checker_target.py``, HTTP, and the same with
``--tls``: a trustme CA the checker trusts through ``SSL_CERT_FILE``);
``tcp://`` endpoints connect to the HTTP target's port and close. Every byte
stays on loopback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tests.benchmarks import bench_database, code_before, cpu_seconds, server_conninfo
from tests.benchmarks.bench_checker import (
    ADDRESSES,
    CHECK_TIMEOUT,
    REPO,
    SPREAD_DUE,
    BackendCpu,
    delta,
    fmt,
    ratio,
    scrape,
    start_checker,
    stop,
    target_server,
)
from tests.benchmarks.checker_target import addresses


@dataclass(frozen=True)
class Plan:
    interval: int
    endpoints: int
    warmup: float
    window: float
    rounds: int  # of the https:// pair, in alternating order (drift cancels out)


FULL = Plan(30, 10_000, 35, 60, 2)
QUICK = Plan(5, 1_000, 7, 10, 1)

SEED_PAGE = "INSERT INTO pages (slug, name) VALUES ('bench-kinds', 'Kinds bench') RETURNING id"
SEED_ENDPOINTS = """
INSERT INTO endpoints (id, page_id, name, url, interval, timeout)
SELECT g, %(page_id)s::bigint, 'bench ' || g,
       %(scheme)s::text || '://127.0.0.' || (2 + g %% %(addrs)s::int) || ':' || %(port)s::int
           || CASE WHEN %(scheme)s::text = 'tcp' THEN '' ELSE '/e/' || g END,
       %(interval)s::int, %(timeout)s::int
  FROM generate_series(1, %(count)s::int) AS g
"""


def log(message: str) -> None:
    print(f"  [kinds] {message}", flush=True)


@dataclass
class Phase:
    """One kind (and code) measured over one or more windows; figures per check."""

    name: str
    scheme: str
    code: Path  # the checkout whose checker runs
    checks: float = 0.0
    down: float = 0.0
    seconds: float = 0.0
    cpu: float = 0.0  # checker CPU seconds, all windows
    pg: float | None = 0.0  # its PostgreSQL backends' (None: not on this machine)

    @property
    def cpu_ms(self) -> float | None:
        return ratio(self.cpu * 1000, self.checks)

    @property
    def pg_ms(self) -> float | None:
        return ratio(None if self.pg is None else self.pg * 1000, self.checks)

    @property
    def total_ms(self) -> float | None:
        if self.cpu_ms is None or self.pg_ms is None:
            return None
        return self.cpu_ms + self.pg_ms


def test_ca(directory: Path) -> tuple[str, str, str]:
    """A trustme CA and a leaf for the target's addresses: (ca, cert chain, key) files."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert(*addresses(ADDRESSES))
    paths = [str(directory / n) for n in ("ca.pem", "chain.pem", "key.pem")]
    ca.cert_pem.write_to_path(paths[0])
    Path(paths[1]).write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(paths[2])
    return paths[0], paths[1], paths[2]


def seed(db: str, plan: Plan, scheme: str, port: int) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        with conn.transaction():
            row = conn.execute(SEED_PAGE).fetchone()
            assert row is not None
            conn.execute(
                SEED_ENDPOINTS,
                {
                    "page_id": row[0],
                    "scheme": scheme,
                    "addrs": ADDRESSES,
                    "port": port,
                    "interval": plan.interval,
                    "timeout": min(CHECK_TIMEOUT, plan.interval),
                    "count": plan.endpoints,
                },
            )
        conn.execute("VACUUM ANALYZE endpoints")
        conn.execute("VACUUM ANALYZE endpoint_state")
        conn.execute(SPREAD_DUE, {"interval": plan.interval})


def run_phase(phase: Phase, plan: Plan, port: int, logs: Path, **env: str) -> Phase:
    with bench_database("uptimatum_bench_kinds") as db:
        seed(db, plan, phase.scheme, port)
        dbname = str(conninfo_to_dict(db)["dbname"])
        with (
            psycopg.connect(server_conninfo(), autocommit=True) as admin,
            open(logs / f"checker-{len(list(logs.glob('checker-*')))}.log", "wb") as out,
        ):
            checker = start_checker(db, out, phase.code, **env)
            try:
                log(f"{phase.name}: {plan.endpoints:,} endpoints; warming up {plan.warmup:.0f} s")
                time.sleep(plan.warmup)
                log(f"{phase.name}: measuring {plan.window:.0f} s")
                before = [scrape(checker.port)]
                backends = BackendCpu(admin, dbname)
                backends.sample()
                cpu0 = cpu_seconds(checker.pid)
                end = time.time() + plan.window
                while (now := time.time()) < end:
                    time.sleep(min(2.0, end - now))
                    backends.sample()
                cpu1 = cpu_seconds(checker.pid)
                backends.sample()
                after = [scrape(checker.port)]
            finally:
                stop(checker.proc)
    checks = delta(before, after, "uptimatum_checks_total") or 0.0
    phase.checks += checks
    phase.down += delta(before, after, "uptimatum_checks_total", result="down") or 0.0
    phase.seconds += plan.window
    phase.cpu += cpu1 - cpu0
    pg = backends.total()
    phase.pg = None if pg is None or phase.pg is None else phase.pg + pg
    log(
        f"{phase.name}: {checks / plan.window:,.0f} checks/s,"
        f" {fmt(ratio((cpu1 - cpu0) * 1000, checks), 3)} ms checker CPU/check,"
        f" {phase.down:,.0f} down"
    )
    return phase


def report(plan: Plan, phases: dict[str, Phase], started: float) -> None:
    rate = plan.endpoints / plan.interval
    print(
        f"\n  Kinds of check — {plan.endpoints:,} endpoints per phase at {plan.interval} s"
        f" ({rate:,.0f} checks/s), {plan.window:.0f} s windows after {plan.warmup:.0f} s"
        f" (the https:// pair {plan.rounds}x, alternating),"
        f" {os.cpu_count()} cores shared with the targets and PostgreSQL"
        f"{' (BENCH_QUICK: a smoke run, not the figures)' if plan is QUICK else ''}\n"
    )
    header = ("phase", "checks/s", "down", "checker CPU ms", "PG CPU ms", "total ms")
    rows = [
        (
            p.name,
            fmt(ratio(p.checks, p.seconds), 1),
            fmt(p.down, 0),
            fmt(p.cpu_ms, 3),
            fmt(p.pg_ms, 3),
            fmt(p.total_ms, 3),
        )
        for p in phases.values()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("     " + "  ".join(cells))
    tcp, http = phases["tcp://"], phases["http://"]
    print(
        f"\n  tcp:// / http:// checker CPU per check: {fmt(ratio(tcp.cpu_ms, http.cpu_ms), 2)}x"
        f" (total with PostgreSQL {fmt(ratio(tcp.total_ms, http.total_ms), 2)}x; goal <= 1x)"
    )
    rule, before = phases.get("https:// + cert rule"), phases.get("https:// before")
    if rule and before:
        print(
            "  https:// with the certificate rule / plain https:// before it, checker CPU per"
            f" check: {fmt(ratio(rule.cpu_ms, before.cpu_ms), 3)}x"
            f" (total {fmt(ratio(rule.total_ms, before.total_ms), 3)}x; goal <= 1.1x)"
        )
    else:
        print("  https:// before the certificate rule: not measured (no git history here)")
    print(f"\n  kinds bench: {time.monotonic() - started:.0f} s in all", flush=True)


def main() -> int:
    plan = QUICK if os.environ.get("BENCH_QUICK", "") not in ("", "0") else FULL
    started = time.monotonic()
    phases: dict[str, Phase] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-kinds-")))
        ca, chain, key = test_ca(tmp)
        http_port = stack.enter_context(target_server()).port
        https_port = stack.enter_context(target_server((chain, key))).port
        before = tmp / "baseline"  # the commit before the probes package
        baseline = before if code_before("services/checker/probes/__init__.py", before) else None
        log(f"targets: http :{http_port}, https :{https_port}; logs in {tmp}")
        log(f"baseline (https:// before the rule): {baseline or 'not found'}")
        tls_env: dict[str, Any] = {"SSL_CERT_FILE": ca}
        rule = Phase("https:// + cert rule", "https", REPO)
        pair = [rule] if baseline is None else [Phase("https:// before", "https", baseline), rule]
        runs = [
            (Phase("http://", "http", REPO), http_port, {}),
            (Phase("tcp://", "tcp", REPO), http_port, {}),
        ]
        for n in range(plan.rounds):  # before, rule, rule, before ...
            runs += [(p, https_port, tls_env) for p in (pair if n % 2 == 0 else pair[::-1])]
        for phase, port, env in runs:
            phases[phase.name] = run_phase(phase, plan, port, tmp, **env)
        report(plan, phases, started)
    bad = [p.name for p in phases.values() if p.checks == 0 or p.down > 0.01 * p.checks]
    if bad:
        log(f"phases whose probes failed (see the logs): {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Alerting figures, side by side in one run: what rules cost a check, and an outage storm.

``python -m tests.benchmarks.bench_alerting`` (about 6 minutes), or with ``BENCH_QUICK=1``
a shorter version (the same 10,000 endpoints, shorter windows).

1. Rules cost: one ``uptimatum checker`` on 10,000 endpoints at a 30 s interval, all up
   (no transitions), its CPU per check (the checker process and its PostgreSQL
   backends, from /proc) in alternating windows without alert rules and with one rule
   on every endpoint (rules are added and removed between windows, so both are
   measured on the same process, database and machine load). Goal: at most 1.05x.
2. Storm: 10,000 endpoints in 100 pages of 100, one webhook channel per page (page
   rules) to a receiver in its own process that answers at once; the probe target
   starts answering 500, so every endpoint goes down within one interval: every
   delivery must arrive once. Reported: event-to-delivery latency p50/p99 (arrival at
   the receiver minus the event's occurredAt, so it includes the flush and the wake-up;
   goal p99 < 2 s) and the delivery loop's DB round trips per delivery (goal < 0.1).
3. Throughput: the storm's 10,000 deliveries made due again at once (as after a
   receiver outage), drained by one replica: deliveries per second (goal >= 500) and
   round trips per delivery.

Every byte stays on loopback; the probe target and the receiver run in processes of
their own, so their CPU is never counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from tests.benchmarks import bench_database, server_conninfo
from tests.benchmarks.bench_checker import (
    ADDRESSES,
    BackendCpu,
    Target,
    cpu_of,
    fmt,
    quantile,
    serving,
    start_checker,
    stop,
    target_server,
)

ENDPOINTS = 10_000
PAGE_SIZE = 100
INTERVAL = 30


@dataclass(frozen=True)
class Plan:
    warmup: float  # longer than one interval: every endpoint confirmed up
    window: float  # each of the four rules-cost windows
    storm_wait: float  # longest wait for the storm's deliveries


FULL = Plan(warmup=40, window=30, storm_wait=120)
QUICK = Plan(warmup=35, window=12, storm_wait=90)

SEED_PAGES = """
INSERT INTO pages (id, slug, name)
SELECT p, 'storm-' || p, 'Storm ' || p FROM generate_series(1, %(pages)s::int) AS p
"""
SEED_ENDPOINTS = """
INSERT INTO endpoints (id, page_id, name, url, interval, timeout)
SELECT g, 1 + (g - 1) / %(page_size)s::int, 'e' || g || '.example.com',
       'http://127.0.0.' || (2 + g %% %(addrs)s::int) || ':' || %(port)s::int || '/e/' || g,
       %(interval)s::int, 5
  FROM generate_series(1, %(count)s::int) AS g
"""
SPREAD_DUE = (
    "UPDATE endpoint_state SET next_check_at = now() + random() * %(interval)s::int"
    " * interval '1 second'"
)
SEED_CHANNELS = """
INSERT INTO channels (id, name, type, url, target)
SELECT p, 'page ' || p, 'webhook', %(base)s::text || p, 'http://127.0.0.1/…'
  FROM generate_series(1, %(pages)s::int) AS p
"""
ADD_ENDPOINT_RULES = """
INSERT INTO alert_rules (channel_id, endpoint_id)
SELECT 1 + (e.id - 1) / %(page_size)s::int, e.id FROM endpoints e
"""
DROP_RULES = "DELETE FROM alert_rules"
ADD_PAGE_RULES = "INSERT INTO alert_rules (channel_id, page_id) SELECT id, id FROM pages"
COUNT_CHECKS = "SELECT coalesce(sum(count), 0)::bigint FROM checks"
COUNT_EVENTS = "SELECT count(*) FROM events"
COUNT_DELIVERIES = (
    "SELECT count(*) FILTER (WHERE state = 'delivered'),"
    " count(*) FILTER (WHERE state <> 'delivered') FROM deliveries"
)
REDO_DELIVERIES = (
    "UPDATE deliveries SET state = 'pending', attempts = 0, delivered_at = NULL,"
    " next_attempt_at = now()"
)


def log(message: str) -> None:
    print(f"  [alerting] {message}", flush=True)


# --------------------------------------------------------------------------- processes


@dataclass
class Receiver:
    proc: subprocess.Popen[str]
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def dump(self) -> list[tuple[float, str, float]]:
        with urllib.request.urlopen(self.url("/_ctl/dump"), timeout=60) as resp:
            return [tuple(x) for x in json.loads(resp.read())]  # type: ignore[misc]

    def reset(self) -> None:
        urllib.request.urlopen(self.url("/_ctl/reset"), timeout=10).close()


@contextmanager
def receiver_server() -> Iterator[Receiver]:
    with serving("alert_receiver") as (proc, port):
        yield Receiver(proc, port)


def target_ctl(target: Target, what: str) -> None:
    urllib.request.urlopen(f"http://127.0.0.2:{target.port}/_ctl/{what}", timeout=10).close()


def scrape(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


# --------------------------------------------------------------------------- seeding


def seed(db: str, target: Target, receiver: Receiver) -> None:
    started = time.monotonic()
    pages = ENDPOINTS // PAGE_SIZE
    with psycopg.connect(db, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(SEED_PAGES, {"pages": pages})
            conn.execute(
                SEED_ENDPOINTS,
                {
                    "page_size": PAGE_SIZE,
                    "addrs": ADDRESSES,
                    "port": target.port,
                    "interval": INTERVAL,
                    "count": ENDPOINTS,
                },
            )
            conn.execute(SEED_CHANNELS, {"base": receiver.url("/page/"), "pages": pages})
        conn.execute(SPREAD_DUE, {"interval": INTERVAL})
        for table in ("endpoints", "endpoint_state", "channels"):
            conn.execute(f"VACUUM ANALYZE {table}")  # bench set-up
    log(f"seeded {ENDPOINTS:,} endpoints in {pages} pages in {time.monotonic() - started:.1f} s")


# --------------------------------------------------------------------------- 1. rules cost


@dataclass
class Cost:
    rules: bool
    seconds: float
    checks: int
    cpu: float
    pg_cpu: float | None

    @property
    def ms_per_check(self) -> float | None:
        if not self.checks:
            return None
        return 1000 * (self.cpu + (self.pg_cpu or 0.0)) / self.checks


def cost_window(
    conn: psycopg.Connection[Any], admin: Any, dbname: str, pid: int, seconds: float, rules: bool
) -> Cost:
    backends = BackendCpu(admin, dbname)
    backends.sample()
    checks0 = conn.execute(COUNT_CHECKS).fetchone()[0]  # type: ignore[index]
    cpu0 = cpu_of(pid) or 0.0
    t0 = time.time()
    while time.time() - t0 < seconds:
        time.sleep(min(2.0, seconds - (time.time() - t0)))
        backends.sample()
    cpu1 = cpu_of(pid) or 0.0
    checks1 = conn.execute(COUNT_CHECKS).fetchone()[0]  # type: ignore[index]
    return Cost(rules, time.time() - t0, int(checks1 - checks0), cpu1 - cpu0, backends.total())


def run_rules_cost(db: str, plan: Plan, logs: Path) -> list[Cost]:
    dbname = str(conninfo_to_dict(db)["dbname"])
    with (
        psycopg.connect(db, autocommit=True, application_name="bench-monitor") as conn,
        psycopg.connect(server_conninfo(), autocommit=True) as admin,
        open(logs / "rules-cost.log", "wb") as out,
    ):
        checker = start_checker(db, out)
        try:
            log(f"warm-up {plan.warmup:.0f} s (every endpoint checked once, confirmed up)")
            time.sleep(plan.warmup)
            costs = []
            for rules in (False, True, False, True):
                conn.execute(DROP_RULES)
                if rules:
                    conn.execute(ADD_ENDPOINT_RULES, {"page_size": PAGE_SIZE})
                    conn.execute("ANALYZE alert_rules")  # bench set-up
                time.sleep(1.0)  # the first flush after the change
                cost = cost_window(conn, admin, dbname, checker.pid, plan.window, rules)
                log(
                    f"{'with' if rules else 'without'} rules: {cost.checks:,} checks,"
                    f" {fmt(cost.ms_per_check, 3)} ms CPU/check"
                )
                costs.append(cost)
            conn.execute(DROP_RULES)
            events = conn.execute(COUNT_EVENTS).fetchone()[0]  # type: ignore[index]
            if events:
                log(f"note: {events} events during the rules-cost windows (expected none)")
        finally:
            stop(checker.proc)
    return costs


# --------------------------------------------------------------------------- 2./3. storm


@dataclass
class Storm:
    events: int
    delivered: int
    arrived: int
    unique: int
    latency_p50: float | None
    latency_p99: float | None
    storm_rt: float
    drained_s: float
    drain_rate: float
    drain_rt: float


def wait_delivered(conn: psycopg.Connection[Any], want: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        delivered, _rest = conn.execute(COUNT_DELIVERIES).fetchone()  # type: ignore[misc]
        if delivered >= want:
            return time.monotonic() - started
        time.sleep(0.05)
    return float("nan")


def run_storm(db: str, plan: Plan, target: Target, receiver: Receiver, logs: Path) -> Storm:
    with (
        psycopg.connect(db, autocommit=True, application_name="bench-monitor") as conn,
        open(logs / "storm.log", "wb") as out,
    ):
        conn.execute(DROP_RULES)
        conn.execute(ADD_PAGE_RULES)
        target_ctl(target, "ok")
        checker = start_checker(db, out)
        try:
            log("storm: every endpoint is confirmed up; in 5 s every probe answers 500")
            time.sleep(5)
            receiver.reset()
            rt0 = scrape(checker.port, "uptimatum_notify_db_round_trips_total")
            target_ctl(target, "fail")
            took = wait_delivered(conn, ENDPOINTS, INTERVAL + plan.storm_wait)
            time.sleep(1.0)
            rt1 = scrape(checker.port, "uptimatum_notify_db_round_trips_total")
            events = conn.execute(COUNT_EVENTS).fetchone()[0]  # type: ignore[index]
            delivered, _ = conn.execute(COUNT_DELIVERIES).fetchone()  # type: ignore[misc]
            got = receiver.dump()
            latencies = [arrived - occurred for arrived, _id, occurred in got]
            log(f"storm: {events:,} events, {delivered:,} delivered in {took:.1f} s after the flip")

            # Throughput: the same deliveries due again at once, drained by the replica.
            stop(checker.proc)
            receiver.reset()
            conn.execute(REDO_DELIVERIES)
            checker = start_checker(db, out)  # a fresh process: its counters start at 0
            wait_delivered(conn, delivered, plan.storm_wait)
            rt3 = scrape(checker.port, "uptimatum_notify_db_round_trips_total")
            arrivals = sorted(a for a, _id, _o in receiver.dump())
            drained = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
            log(f"drain: {len(arrivals):,} deliveries in {drained:.1f} s")
        finally:
            stop(checker.proc)
            target_ctl(target, "ok")
    return Storm(
        events=events,
        delivered=delivered,
        arrived=len(got),
        unique=len({event_id for _a, event_id, _o in got}),
        latency_p50=quantile(latencies, 0.5),
        latency_p99=quantile(latencies, 0.99),
        storm_rt=(rt1 - rt0) / max(delivered, 1),
        drained_s=drained,
        drain_rate=delivered / drained if drained == drained and drained > 0 else 0.0,
        drain_rt=rt3 / max(delivered, 1),
    )


# --------------------------------------------------------------------------- report


def report(plan: Plan, costs: list[Cost], storm: Storm, started: float) -> int:
    def mean_ms(rules: bool) -> float | None:
        chosen = [c for c in costs if c.rules == rules]
        checks = sum(c.checks for c in chosen)
        cpu = sum(c.cpu + (c.pg_cpu or 0.0) for c in chosen)
        return 1000 * cpu / checks if checks else None

    without, with_ = mean_ms(False), mean_ms(True)
    ratio = with_ / without if with_ and without else None
    quick = " (BENCH_QUICK: shorter windows)" if plan is QUICK else ""
    print(
        f"\nAlerting benchmark{quick}, {ENDPOINTS:,} endpoints at {INTERVAL} s,"
        f" {os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s\n"
        "| figure | value | goal |\n| --- | --- | --- |\n"
        f"| checker CPU per check, no rules (checker + its PG backends) |"
        f" {fmt(without, 3)} ms | |\n"
        f"| checker CPU per check, a rule on every endpoint | {fmt(with_, 3)} ms | |\n"
        f"| ratio with / without rules | {fmt(ratio, 3)}x | <= 1.05x |\n"
        f"| storm: events / deliveries delivered / requests received (unique ids) |"
        f" {storm.events:,} / {storm.delivered:,} / {storm.arrived:,} ({storm.unique:,}) |"
        f" all, once |\n"
        f"| storm: event-to-delivery latency p50 / p99 | {fmt(storm.latency_p50, 3)} s /"
        f" {fmt(storm.latency_p99, 3)} s | p99 < 2 s |\n"
        f"| storm: delivery loop DB round trips per delivery | {fmt(storm.storm_rt, 4)} | < 0.1 |\n"
        f"| drain of {storm.delivered:,} due at once, one replica: deliveries/s"
        " (first to last arrival) |"
        f" {fmt(storm.drain_rate, 0)} ({fmt(storm.drained_s, 1)} s) | >= 500 |\n"
        f"| drain: DB round trips per delivery | {fmt(storm.drain_rt, 4)} | < 0.1 |\n",
        flush=True,
    )
    ok = storm.delivered == ENDPOINTS and storm.unique == storm.arrived == ENDPOINTS
    if not ok:
        print("  FAILED: the storm's deliveries did not all arrive exactly once", flush=True)
    return 0 if ok else 1


def main() -> int:
    plan = QUICK if os.environ.get("BENCH_QUICK", "") not in ("", "0") else FULL
    started = time.monotonic()
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-alerting-")))
        target = stack.enter_context(target_server())
        receiver = stack.enter_context(receiver_server())
        log(f"target on 127.0.0.2-{1 + ADDRESSES}:{target.port}, receiver on :{receiver.port}")
        db = stack.enter_context(bench_database("uptimatum_bench_alerting"))
        seed(db, target, receiver)
        costs = run_rules_cost(db, plan, logs)
        storm = run_storm(db, plan, target, receiver, logs)
        return report(plan, costs, storm, started)


if __name__ == "__main__":
    sys.exit(main())

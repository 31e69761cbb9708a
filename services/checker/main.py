"""The checker: claim what is due, probe it, record the results; repeat until told to stop.

The scheduler loop drains what is due (as many endpoints as it has free probe
slots), then waits for whichever comes first: a notification, the earliest due
time (capped at a few seconds), a freed slot when all were busy, or the stop
event. Probes run as tasks; results go to the batched writer. The background
loops (writer, LISTEN, retention, housekeeping, the metrics server, the delivery
loop of notify.py) run under a Supervisor (supervise.py): a failure is logged,
the loop restarted, and /health names it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import time
import uuid
from typing import Any

import aiohttp
import psycopg
from loguru import logger

from services.checker.claim import claim_due, hand_back
from services.checker.clock import DbClock
from services.checker.db import Link, first_line
from services.checker.listen import Listener
from services.checker.metrics import Metrics, MetricsServer, metrics_app
from services.checker.notify import Notifier
from services.checker.probe import Claim, Result
from services.checker.probes import new_session, probe
from services.checker.record import Writer
from services.checker.retention import RetentionJob
from services.checker.stop import cut_short, sleep, sleep_or_wake
from services.checker.supervise import Supervisor
from shared.settings import Settings

MAX_SLEEP = 2.0  # never sleep longer than this between claims: a lost NOTIFY costs <= 2 s
MIN_GAP = 0.2  # ~5 claims a second at most (but for a backlog): batches claims, never spins
SHUTDOWN_GRACE = 1.0  # longest wait for in-flight probes on SIGTERM (capped by their timeout)
JITTER = 0.05  # seconds added to a wake-up at a due time
MAX_BACKOFF = 2.0  # a database that comes back is used again within ~2 s
HEARTBEAT_STALE = 60.0  # /health fails if the scheduler has not gone round for this long


class Checker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = m = Metrics()
        self.claimer = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = DbClock()  # every time recorded or compared is the database's
        self.claim_link = Link(settings.conninfo(), name="claim", metrics=m)
        self.write_link = Link(settings.conninfo(), name="write", metrics=m)
        self.slots = settings.check_concurrency
        self.writer = Writer(
            self.write_link,
            bucket_seconds=settings.history_bucket_seconds,
            batch_size=self.slots,
            metrics=self.metrics,
        )
        self.notifier = Notifier(settings, claimer=self.claimer, metrics=self.metrics)
        self.listener = Listener(
            settings.conninfo(),
            self._changed,
            metrics=self.metrics,
            on_delivery=self.notifier.wake,
            on_maintenance=self.notifier.wake_maintenance,
        )
        self._in_flight: dict[asyncio.Task[None], Claim] = {}
        self._wake = asyncio.Event()
        self._starved = False  # every slot busy: finishing probes wake the loop ...
        self._wake_at_free = 1  # ... once this many slots are free
        self._session: aiohttp.ClientSession | None = None
        self._loops_stop = asyncio.Event()
        self.supervisor = Supervisor(self._loops_stop)
        self._heartbeat = time.monotonic()
        self._db_failing_since: float | None = None
        self._claim_error: str | None = None  # logged once until claiming works again
        self._unstarted: list[Claim] = []

    # -- the loops ---------------------------------------------------------------

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly (see ``_shutdown``)."""
        server = MetricsServer(
            metrics_app(self.metrics, self.health), self.settings.host, self.settings.metrics_port
        )
        await server.start()  # a taken port stops the checker at once (OSError)
        self._session = new_session()
        loops = self.supervisor
        loops.start("writer", self.writer.run)
        loops.start("listen", self.listener.run)
        loops.start("retention", RetentionJob(self.settings, metrics=self.metrics).run)
        loops.start("housekeeping", self._housekeeping)
        loops.start("metrics", server.run)
        loops.start("notify", self.notifier.run)
        logger.info(
            "checker {claimer} started: {slots} probe slots, metrics on :{port}",
            claimer=self.claimer,
            slots=self.slots,
            port=self.settings.metrics_port,
        )
        try:
            await self._schedule(stop)
        finally:
            await self._shutdown()
            await server.close()

    async def _schedule(self, stop: asyncio.Event) -> None:
        backoff = 0.0
        last_claim = 0.0
        while not stop.is_set():
            self._heartbeat = time.monotonic()
            self._wake.clear()  # a notification from now on wakes the next round
            free = self.slots - len(self._in_flight)
            wait = MAX_SLEEP
            if free > 0:
                last_claim = time.monotonic()
                try:
                    claims, next_due = await claim_due(
                        self.claim_link, limit=free, claimer=self.claimer, clock=self.clock
                    )
                except psycopg.OperationalError as exc:
                    backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF)
                    logger.debug("claim failed: {!r}", exc)
                    self._db_failed(exc)
                    await sleep(stop, backoff)
                    continue
                except psycopg.Error as exc:  # e.g. migrations not applied yet
                    backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF)
                    if self._claim_error is None:
                        logger.error("claiming failed ({}); retrying", first_line(exc))
                    self._claim_error = first_line(exc)
                    await sleep(stop, backoff)
                    continue
                backoff = 0.0
                self._db_ok()
                if stop.is_set():  # told to stop while claiming: hand these back unprobed
                    self._unstarted = claims
                    break
                if claims:
                    self.metrics.claim_batch.observe(len(claims))
                    for claim in claims:
                        self._start(claim)
                more_due = len(claims) == free  # every free slot filled: more may be due
                free -= len(claims)
                if next_due is not None and not more_due:
                    # A little jitter: replicas woken by the same due time take turns
                    # winning the claim, so the work spreads over all of them.
                    wait = min(MAX_SLEEP, next_due - self.clock.now()) + random.uniform(0, JITTER)
            else:
                more_due = False
            if free <= 0:
                # All slots busy: a finishing probe wakes us — after a full batch only
                # once half the slots are free, so the next claim is a big one too.
                self._wake_at_free = max(1, self.slots // 2) if more_due else 1
                self._starved = True
                wait = MAX_SLEEP
            if wait > 0:
                await sleep_or_wake(self._wake, stop, wait)
            if more_due:
                continue  # a backlog: claim again as soon as slots are free
            # Otherwise claim at most every ~MIN_GAP: batches the claims of a busy
            # schedule, and a hot loop cannot happen. The gap is jittered so that
            # replicas on the same schedule take turns winning the claims.
            gap = MIN_GAP * random.uniform(0.75, 1.25) - (time.monotonic() - last_claim)
            if gap > 0 and not stop.is_set():
                await sleep(stop, gap)

    def _start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._probe(claim))
        self._in_flight[task] = claim
        self.metrics.in_flight.inc()

    async def _probe(self, claim: Claim) -> None:
        m = self.metrics
        assert self._session is not None
        try:
            m.schedule_lag.observe(max(self.clock.now() - claim.due_at, 0.0))
            started = time.perf_counter()
            result: Result = await probe(self._session, claim)
            # The probe stamps this process's clock; the history and the fence are on
            # the database's (replicas whose clocks differ must not fence each other out).
            result.checked_at += self.clock.offset
            m.probe_duration.observe(time.perf_counter() - started)
            m.checks_by[result.status].inc()
            m.set_status(claim, result.status)
            m.set_certificate(claim, result.cert_expires_at)
            self.writer.add(result)
        except Exception:  # a bug, not a failed probe: keep going, the next slot retries
            logger.exception("probe of endpoint {} failed unexpectedly", claim.endpoint_id)
        finally:
            self._in_flight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            m.in_flight.dec()
            if self._starved and self.slots - len(self._in_flight) >= self._wake_at_free:
                self._starved = False
                self._wake.set()

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Drop status series of endpoints this replica stopped probing."""
        while not stop.is_set():
            await sleep(stop, 30.0)
            self.metrics.prune()

    def _changed(self, endpoint_id: int | None) -> None:
        if endpoint_id is not None:
            self.metrics.forget(endpoint_id)
        self._wake.set()

    # -- shutdown ----------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Stop claiming; finish or abandon probes; flush; hand back what is unfinished."""
        grace = min([SHUTDOWN_GRACE, *(c.timeout for c in self._in_flight.values())])
        unfinished = await cut_short(self._in_flight, grace) + self._unstarted
        self.writer.wake()
        # The writer flushes what it has; the delivery loop hands back its attempts.
        await self.supervisor.stop(finish=["writer", "notify"])
        flushed = await self.writer.flush()
        handed = 0
        try:
            handed = await hand_back(self.claim_link, unfinished)
        except psycopg.Error as exc:
            logger.warning("could not hand back {} claims: {}", len(unfinished), exc)
        if self._session:
            await self._session.close()
        await self.claim_link.close()
        await self.write_link.close()
        logger.info(
            "checker {claimer} stopped: results {outcome}, {handed} unfinished claims handed back",
            claimer=self.claimer,
            outcome="flushed" if flushed else "NOT flushed (database away)",
            handed=handed,
        )

    # -- helpers -----------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """/health: ``ok``, or ``failing`` and which loop; every loop's state."""
        loops = {
            "scheduler": {
                "state": "running" if self._scheduling() else "stalled",
                "secondsSinceRound": round(time.monotonic() - self._heartbeat, 1),
            },
            **self.supervisor.states(),
        }
        failing = self.supervisor.failing() + ([] if self._scheduling() else ["scheduler"])
        return {"status": "failing" if failing else "ok", "failing": failing, "loops": loops}

    def healthy(self) -> bool:
        return self.health()["status"] == "ok"

    def _scheduling(self) -> bool:
        return time.monotonic() - self._heartbeat < HEARTBEAT_STALE

    def _db_failed(self, exc: BaseException) -> None:
        if self._db_failing_since is None:
            self._db_failing_since = time.monotonic()
            logger.warning("database unavailable ({}); retrying with backoff", first_line(exc))

    def _db_ok(self) -> None:
        if self._claim_error is not None:
            logger.info("claiming works again")
            self._claim_error = None
        if self._db_failing_since is not None:
            logger.info(
                "database is back after {:.1f} s; checking resumes",
                time.monotonic() - self._db_failing_since,
            )
            self._db_failing_since = None


async def _main(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await Checker(settings).serve(stop)
    except OSError as exc:  # the metrics port is taken, most likely
        logger.error("cannot serve metrics on {}:{}: {}", settings.host, settings.metrics_port, exc)
        return 1
    return 0


def run(settings: Settings) -> int:
    """Entry point of ``uptimatum checker``: exit code 0 after a clean shutdown."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(_main(settings))
    return uvloop.run(_main(settings))

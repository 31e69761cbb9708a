"""The delivery loop: every checker replica delivers the outbox's notifications.

Like the scheduler, it drains what is due, then waits for whichever comes first:
a NOTIFY on ``deliveries`` (RECORD_RESULTS and the API's channel test send one
when they write deliveries), a finished attempt, the earliest due retry, a
periodic tick (a lost notification costs latency, never a delivery), or the
stop event.

* Claim: CLAIM_DELIVERIES takes a batch of due rows with FOR UPDATE SKIP LOCKED
  and leases them (LEASE seconds): no two replicas attempt a delivery at once.
* Attempt: a webhook POST or an Apprise notification, ATTEMPT_TIMEOUT at most.
* Acknowledge: the outcomes of every attempt finished meanwhile in one
  ACK_DELIVERIES: delivered, rescheduled with back-off, or failed after
  NOTIFY_GIVE_UP_SECONDS.
* A replica killed mid-attempt leaves its rows leased: another replica takes
  them once the lease runs out (then, and only then, a receiver may see an
  event twice: deduplicate by Uptimatum-Event-Id). On SIGTERM the attempts still
  running after SHUTDOWN_GRACE are cut short and handed back (due at once).
  A delivered row is never attempted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import aiohttp
import msgspec
import psycopg
from loguru import logger
from prometheus_client import Counter, Gauge, Histogram
from psycopg.rows import AsyncRowFactory, dict_row

from services.checker import notify_apprise, notify_webhook, queries
from services.checker.db import Link, first_line
from services.checker.metrics import Metrics
from services.checker.notify_maintenance import MaintenanceWatch
from services.checker.notify_message import Job, body, encode, payload, title
from services.checker.stop import cut_short, sleep, sleep_or_wake
from shared.settings import Settings

ATTEMPT_TIMEOUT = 10.0  # seconds per attempt
LEASE = 30  # seconds a claimed delivery is ours: beyond the attempt and its acknowledgement
CONCURRENCY = 200  # attempts in flight per replica
TICK = 5.0  # the longest sleep: lost notifications and expired leases are found by then
MIN_GAP = 0.05  # between rounds while attempts finish: batches the acknowledgements
SHUTDOWN_GRACE = 2.0  # seconds running attempts get to finish on SIGTERM
MAX_BACKOFF = 5.0
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400)


class NotifyMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.notifications = Counter(
            "uptimatum_notifications",
            "Delivery attempts by channel type and result (delivered, retry, failed: given up)",
            ["channel_type", "result"],
            registry=r,
        )
        self.latency = Histogram(
            "uptimatum_notification_latency_seconds",
            "From the event to its delivery",
            buckets=_LATENCY,
            registry=r,
        )
        self.pending = Gauge(
            "uptimatum_notifications_pending",
            "Deliveries pending (every replica's), as of this replica's last claim",
            registry=r,
        )
        self.round_trips = Counter(
            "uptimatum_notify_db_round_trips",
            "Statements the delivery loop sent to PostgreSQL",
            registry=r,
        )


class _Outcome(msgspec.Struct, gc=False):
    job: Job
    error: str | None


class Notifier:
    def __init__(self, settings: Settings, *, claimer: str, metrics: Metrics) -> None:
        self.settings = settings
        self.claimer = claimer
        self.metrics = NotifyMetrics(metrics)
        self._link = Link(settings.conninfo(), name="notify", metrics=metrics)
        self._wake = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], Job] = {}
        self._done: list[_Outcome] = []
        self._session: aiohttp.ClientSession | None = None
        self._failing_since: float | None = None
        self.heartbeat = time.monotonic()
        self.maintenance = MaintenanceWatch()

    def wake(self) -> None:
        """A NOTIFY on ``deliveries`` (or the LISTEN connection came back)."""
        self._wake.set()

    def wake_maintenance(self) -> None:
        """A NOTIFY on ``maintenances``: a window was written, the maintenance pass is due."""
        self.maintenance.due_now()
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop``; then hand back what is unfinished and return."""
        self._session = notify_webhook.new_session()
        backoff = 0.0
        try:
            while not stop.is_set():
                self.heartbeat = time.monotonic()
                self._wake.clear()
                try:
                    await self._acknowledge()
                    await self._watch_maintenance()
                    wait = min(await self._claim(), self.maintenance.wait())
                    self._db_ok()
                    backoff = 0.0
                except psycopg.OperationalError as exc:
                    self._db_failed(exc)
                    backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF)
                    await sleep(stop, backoff)
                    continue
                except psycopg.Error as exc:  # e.g. not migrated yet
                    logger.error("delivery loop: {}", first_line(exc))
                    backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF)
                    await sleep(stop, backoff)
                    continue
                if wait > 0:
                    await sleep_or_wake(self._wake, stop, wait)
                if self._done and not stop.is_set():
                    await sleep(stop, MIN_GAP)  # let more attempts finish: one ack for all
        finally:
            await self._shutdown()

    # -- one round -----------------------------------------------------------------

    async def _claim(self) -> float:
        """Claim and start what is due; returns how long the loop may sleep."""
        free = CONCURRENCY - len(self._in_flight)
        if free <= 0:
            return TICK
        cur = await self._execute(
            queries.CLAIM_DELIVERIES,
            {"limit": free, "lease": LEASE, "claimer": self.claimer},
            row_factory=dict_row,
        )
        next_due = None
        claimed = 0
        for row in await cur.fetchall():
            if row["delivery_id"] is None:
                next_due = row["next_due"]
                self.metrics.pending.set(row["pending"] or 0)
                continue
            self._start(msgspec.convert(row, Job))
            claimed += 1
        if claimed == free:
            return 0.0  # more may be due
        if next_due is None:
            return TICK
        return max(min(TICK, next_due - time.time() + random.uniform(0, 0.05)), 0.0)

    async def _watch_maintenance(self) -> None:
        """The maintenance pass when it is due (notify_maintenance.py).

        A statement the database refuses for another reason than the connection
        is logged and tried again a TICK later: it never stops the deliveries.
        """
        if self.maintenance.wait() > 0:
            return
        try:
            await self.maintenance.run(self._execute)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            self.maintenance.postpone()
            logger.error("maintenance pass: {}", first_line(exc))

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._attempt(job), name=f"delivery-{job.delivery_id}")
        self._in_flight[task] = job

    async def _attempt(self, job: Job) -> None:
        try:
            error = await self._send(job)
        except Exception as exc:  # a bug, not a failed delivery: retried like one
            logger.exception("delivery {} failed unexpectedly", job.delivery_id)
            error = f"internal error ({type(exc).__name__})"
        self._done.append(_Outcome(job, error))
        self._in_flight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
        self._wake.set()

    async def _send(self, job: Job) -> str | None:
        if job.channel_type == "webhook":
            assert self._session is not None
            raw = encode(payload(job, self.settings))
            return await notify_webhook.send(self._session, job, raw, ATTEMPT_TIMEOUT)
        return await notify_apprise.send(
            job.channel_url, title(job), body(job, self.settings), ATTEMPT_TIMEOUT
        )

    async def _acknowledge(self) -> None:
        """Write every finished attempt's outcome in one statement (kept on a DB error)."""
        if not self._done:
            return
        done, self._done = self._done, []
        params = {
            "ids": [o.job.delivery_id for o in done],
            "attempts": [o.job.attempts for o in done],
            "delivered": [o.error is None for o in done],
            "errors": [o.error for o in done],
            "give_up": self.settings.notify_give_up_seconds,
        }
        try:
            cur = await self._execute(queries.ACK_DELIVERIES, params, row_factory=dict_row)
            rows = {r["id"]: r for r in await cur.fetchall()}
        except psycopg.OperationalError:
            self._done[:0] = done  # kept for the next round
            raise
        except psycopg.Error as exc:  # not a connection problem: the same rows would fail again
            logger.error("dropping {} delivery outcomes the database refused: {}", len(done), exc)
            return
        for o in done:
            row = rows.get(o.job.delivery_id) or {}
            self._count(o, row.get("state"), row.get("latency"))

    def _count(self, o: _Outcome, state: str | None, latency: float | None) -> None:
        job = o.job
        kind = job.channel_type
        if state is None:  # another attempt owns the row now (our lease ran out)
            logger.warning(
                "delivery {} (event {}): outcome dropped, the delivery was claimed again",
                job.delivery_id,
                job.event_id,
            )
            return
        if state == "delivered":
            self.metrics.notifications.labels(kind, "delivered").inc()
            if latency is not None:
                self.metrics.latency.observe(max(latency, 0.0))
            return
        result = "failed" if state == "failed" else "retry"
        self.metrics.notifications.labels(kind, result).inc()
        log = logger.error if state == "failed" else logger.info
        log(
            "delivery {} of event {} ({}) to channel {} {} after attempt {}: {}",
            job.delivery_id,
            job.event_id,
            job.type,
            job.channel_id,
            "FAILED, giving up" if state == "failed" else "will be retried",
            job.attempts,
            o.error,
        )

    # -- helpers ---------------------------------------------------------------------

    async def _execute(
        self, query: Any, params: dict[str, Any], *, row_factory: AsyncRowFactory[Any] | None = None
    ) -> psycopg.AsyncCursor[Any]:
        self.metrics.round_trips.inc()
        return await self._link.execute(query, params, row_factory=row_factory)

    async def _shutdown(self) -> None:
        """Let running attempts finish for a moment; acknowledge; hand the rest back."""
        unfinished = await cut_short(self._in_flight, SHUTDOWN_GRACE)
        try:
            await self._acknowledge()
            if unfinished:
                await self._execute(
                    queries.HAND_BACK_DELIVERIES,
                    {
                        "ids": [j.delivery_id for j in unfinished],
                        "attempts": [j.attempts for j in unfinished],
                    },
                )
        except psycopg.Error as exc:
            logger.warning(
                "delivery loop: could not acknowledge or hand back on shutdown ({}); "
                "the leases run out in {} s and another replica delivers",
                first_line(exc),
                LEASE,
            )
        if unfinished:
            logger.info("{} unfinished deliveries handed back", len(unfinished))
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
        await self._link.close()

    def _db_failed(self, exc: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            logger.warning("delivery loop: database unavailable ({}); retrying", first_line(exc))

    def _db_ok(self) -> None:
        if self._failing_since is not None:
            logger.info(
                "delivery loop: database is back after {:.1f} s",
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None

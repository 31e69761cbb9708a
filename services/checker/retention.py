"""Step 6: roll up closed days hourly; delete history older than CHECK_RETENTION_DAYS daily
(and audit rows older than AUDIT_RETENTION_DAYS, and sessions no one can use any more).

Every hour, the replica that takes the session advisory lock first extends the
materialised occurrences of recurring maintenance windows (shared/maintenance.py;
400 days ahead), then rolls up every
endpoint's closed days into uptime_daily (ROLLUP_DAYS, a batch of
endpoints per statement) and, in the cleanup hour, then deletes old history in
small batches (each batch its own short statement, so no long lock is ever
held; a row goes only once its days are rolled up, so the 7/30/90-day uptimes
outlive it). It keeps the lock until the hour is over: a replica that comes by
later in the same hour finds it taken and skips, so the job runs once per hour
(and the deletion once per day) however many replicas there are. If the holder
dies, its connection and the lock go with it. The rollup is idempotent and
race-safe anyway. The API never stores rollups: it computes the days not
stored yet on the fly (the same function), so until the job runs pages are
only slower, never wrong.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, Protocol

import psycopg
from loguru import logger
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from services.checker import queries
from services.checker.db import Link
from services.checker.metrics import Metrics
from services.checker.stop import sleep
from shared.maintenance import extend_due
from shared.queries import (
    DELETE_DEAD_SESSIONS,
    SESSION_DEFAULTS,
    SESSION_IDLE_HOURS,
    SESSION_MAX_DAYS,
)
from shared.settings import Settings

RETENTION_LOCK = 0x0757_1A71  # advisory lock key shared by every checker replica
BATCH = 5000  # rows per DELETE: milliseconds of locks, never minutes
PAUSE = 0.05  # seconds between batches, so the writer and the API are never starved
ROLLUP_BATCH = 200  # endpoints per rollup statement
AUDIT_DELETE = queries.AUDIT_RETENTION_DELETE_BATCH


def cutoff_for(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.check_retention_days)


class Executor(Protocol):
    """A Link, or a plain autocommit psycopg connection (tests, one-off runs)."""

    async def execute(self, query: LiteralString, params: dict[str, Any] | None = ...) -> Any: ...


def audit_cutoff_for(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.audit_retention_days)


async def delete_expired(
    link: Executor, cutoff: datetime, query: LiteralString = queries.RETENTION_DELETE_BATCH
) -> int:
    """Delete, batch by batch, the history rows whose last check is before ``cutoff``
    (or, with ``query``, the audit rows written before it)."""
    total = 0
    while True:
        cur = await link.execute(query, {"cutoff": cutoff, "batch": BATCH})
        total += cur.rowcount
        if cur.rowcount < BATCH:
            return total
        await asyncio.sleep(PAUSE)


async def delete_dead_sessions(link: Executor) -> int:
    """Sessions no request can use any more: ended, idle too long, or too old."""
    params = {"idle_hours": SESSION_IDLE_HOURS, "max_days": SESSION_MAX_DAYS}
    cur = await link.execute(DELETE_DEAD_SESSIONS, params)
    return int(cur.rowcount)


async def roll_up(link: Executor, *, batch: int = ROLLUP_BATCH) -> int:
    """Roll up every endpoint's missing closed days, ``batch`` endpoints at a time."""
    # JIT off (and UTC) for this session: compiling the rollup costs more than running it.
    await link.execute(SESSION_DEFAULTS)
    after, written = 0, 0
    while True:
        cur = await link.execute(queries.ROLLUP_DAYS, {"after_id": after, "batch": batch})
        cur.row_factory = dict_row
        row = await cur.fetchone()
        if row is None or row["last_id"] is None:
            return written
        after, written = row["last_id"], written + row["written"]
        await asyncio.sleep(PAUSE)


async def _try_lock(link: Executor) -> bool:
    cur = await link.execute(queries.RETENTION_TRY_LOCK, {"key": RETENTION_LOCK})
    cur.row_factory = dict_row
    row = await cur.fetchone()
    return bool(row and row["locked"])


async def run_retention(
    db: Executor | AsyncConnectionPool, settings: Settings, *, now: datetime | None = None
) -> int | None:
    """One retention run (roll up, then delete): rows deleted, or None when another
    replica holds the lock.

    ``db``: the replica's Link, an autocommit connection, or a pool (one of its
    connections is used for the whole run: the advisory lock is per session).
    """
    if isinstance(db, AsyncConnectionPool):
        async with db.connection() as conn:
            return await run_retention(conn, settings, now=now)
    if not await _try_lock(db):
        return None
    now = now or datetime.now(UTC)
    try:
        await extend_due(db)
        await roll_up(db)
        deleted = await delete_expired(db, cutoff_for(settings, now))
        await delete_expired(db, cutoff_for(settings, now), queries.RETENTION_DELETE_EVENTS)
        await delete_expired(db, audit_cutoff_for(settings, now), AUDIT_DELETE)
        await delete_dead_sessions(db)
        return deleted
    finally:
        await db.execute(queries.RETENTION_UNLOCK, {"key": RETENTION_LOCK})


class RetentionJob:
    """Every hour (and at start-up): the rollup; in the CLEANUP_HOUR, then the deletion."""

    def __init__(self, settings: Settings, *, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._done_for: object = None  # the date of the cleanup hour already handled

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = datetime.now(UTC)
            cleanup = now.hour == self._settings.cleanup_hour and self._done_for != now.date()
            link = Link(self._settings.conninfo(), name="retention", metrics=self._metrics)
            try:
                held = await self._run_once(link, now, cleanup, stop)
                if cleanup:
                    self._done_for = now.date()
            except psycopg.OperationalError as exc:  # the database is away
                # Any other database error (e.g. the schema is not migrated yet) goes to
                # the supervisor: logged once with its traceback, retried with back-off.
                logger.warning("retention could not run ({}); retrying in a minute", exc)
                await sleep(stop, 60)
                continue
            finally:
                await link.close()  # and with it the advisory lock
            if not held:
                await sleep(stop, _seconds_to_next_hour(datetime.now(UTC)))

    async def _run_once(
        self, link: Link, now: datetime, cleanup: bool, stop: asyncio.Event
    ) -> bool:
        """The hour's work if this replica takes the lock (held until the hour is over)."""
        if not await _try_lock(link):
            if cleanup:
                logger.info("retention: another replica runs it today")
            return False
        extended = await extend_due(link)
        if extended:
            logger.info("maintenance: {extended} recurring windows extended", extended=extended)
        written = await roll_up(link)
        if written:
            logger.info("rollup: {written} endpoint-days rolled up", written=written)
        if cleanup:
            cutoff = cutoff_for(self._settings, now)
            deleted = await delete_expired(link, cutoff)
            logger.info(
                "retention: deleted {deleted} history rows last checked before {cutoff}",
                deleted=deleted,
                cutoff=cutoff.isoformat(timespec="seconds"),
            )
            # Alerting: events (and their deliveries) go after the same window.
            events = await delete_expired(link, cutoff, queries.RETENTION_DELETE_EVENTS)
            logger.info("retention: deleted {events} events and their deliveries", events=events)
            audit_cutoff = audit_cutoff_for(self._settings, now)
            audited = await delete_expired(link, audit_cutoff, AUDIT_DELETE)
            logger.info(
                "retention: deleted {audited} audit rows written before {cutoff}",
                audited=audited,
                cutoff=audit_cutoff.isoformat(timespec="seconds"),
            )
            sessions = await delete_dead_sessions(link)
            logger.info(
                "retention: deleted {sessions} ended or expired sessions", sessions=sessions
            )
        # Keep the lock (and so the job) to ourselves until the hour is over.
        await sleep(stop, _seconds_to_next_hour(datetime.now(UTC)))
        return True


def _seconds_to_next_hour(now: datetime) -> float:
    nxt = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return max((nxt - now).total_seconds(), 1.0)

"""Step 3: the batched, fenced writer. One statement (one round trip) per flush."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import psycopg
from loguru import logger
from psycopg.rows import dict_row

from services.checker import queries
from services.checker.db import Link, first_line
from services.checker.metrics import Metrics
from services.checker.probe import Result

FLUSH_EVERY = 0.5  # seconds: what a kill -9 may lose at most
MAX_PENDING = 100_000  # while the database is away; beyond this the oldest results go


class Writer:
    """Collects results and writes them in batches of at most ``batch_size``."""

    def __init__(
        self, link: Link, *, bucket_seconds: int, batch_size: int, metrics: Metrics
    ) -> None:
        self._link = link
        self._bucket = bucket_seconds
        self._batch_size = batch_size
        self._metrics = metrics
        self._pending: list[Result] = []
        self._full = asyncio.Event()
        self._failing_since: float | None = None

    def add(self, result: Result) -> None:
        self._pending.append(result)
        if len(self._pending) >= self._batch_size:
            self._full.set()

    def wake(self) -> None:
        self._full.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every FLUSH_EVERY seconds, or at once when a batch fills, until ``stop``."""
        backoff = 0.0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), FLUSH_EVERY + backoff)
            backoff = 0.0 if await self.flush() else min(max(backoff * 2, 0.5), 2.0)

    async def flush(self) -> bool:
        """Write everything pending; False (results kept for the next try) on a DB error."""
        self._full.clear()
        while self._pending:
            size = self._batch_size
            results, self._pending = self._pending[:size], self._pending[size:]
            remaining = results
            try:
                for batch in _unique_batches(results):
                    await self._write_or_split(batch)
                    remaining = [] if len(batch) == len(remaining) else _minus(remaining, batch)
            except psycopg.OperationalError as exc:
                self._keep(remaining)
                self._report_failure(exc)
                return False
            if self._failing_since is not None:
                logger.info(
                    "database writes work again after {:.1f} s",
                    time.monotonic() - self._failing_since,
                )
                self._failing_since = None
        return True

    async def _write_or_split(self, batch: list[Result]) -> None:
        """Write ``batch``; if the database refuses it, write its halves: only the refused
        results are dropped (a constraint, an endpoint gone meanwhile), each logged.

        Retrying the same rows would fail again, so a refused result is not kept. A
        connection problem (OperationalError) propagates: the caller keeps the batch.
        """
        try:
            await self._write(batch)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            if len(batch) == 1:
                r = batch[0]
                self._metrics.results_refused.inc()
                logger.error(
                    "dropped the result of endpoint {endpoint_id} the database refused: {error}",
                    endpoint_id=r.endpoint_id,
                    error=first_line(exc),
                )
                return
            half = len(batch) // 2
            await self._write_or_split(batch[:half])
            await self._write_or_split(batch[half:])

    async def _write(self, batch: list[Result]) -> None:
        started = time.perf_counter()
        params = {
            "endpoint_ids": [r.endpoint_id for r in batch],
            "tokens": [r.token for r in batch],
            "statuses": [r.status for r in batch],
            "checked_at": [r.checked_at for r in batch],
            "response_ms": [r.response_ms for r in batch],
            "status_codes": [r.status_code for r in batch],
            "errors": [r.error for r in batch],
            "intervals": [r.interval for r in batch],
            "cert_expires_at": [r.cert_expires_at for r in batch],
            "bucket": self._bucket,
        }
        cur = await self._link.execute(queries.RECORD_RESULTS, params, row_factory=dict_row)
        row = await cur.fetchone()
        inserted, updated = (row["inserted"], row["updated"]) if row else (0, 0)
        m = self._metrics
        m.flush_duration.observe(time.perf_counter() - started)
        m.rows_inserted.inc(inserted)
        m.rows_updated.inc(updated)
        if inserted + updated < len(batch):
            m.results_dropped.inc(len(batch) - inserted - updated)

    def _keep(self, results: list[Result]) -> None:
        self._pending[:0] = results
        if len(self._pending) > MAX_PENDING:
            lost = len(self._pending) - MAX_PENDING
            del self._pending[:lost]
            logger.warning("database away too long: dropped the {} oldest results", lost)

    def _report_failure(self, exc: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            logger.warning(
                "cannot write results ({}); keeping {} and retrying",
                first_line(exc),
                len(self._pending),
            )


def _unique_batches(results: list[Result]) -> Iterator[list[Result]]:
    """Split so that no batch holds two results of one endpoint (older results first)."""
    while results:
        seen: set[int] = set()
        batch: list[Result] = []
        rest: list[Result] = []
        for r in results:
            if r.endpoint_id in seen:
                rest.append(r)
            else:
                seen.add(r.endpoint_id)
                batch.append(r)
        yield batch
        results = rest


def _minus(results: list[Result], done: list[Result]) -> list[Result]:
    ids = {id(r) for r in done}
    return [r for r in results if id(r) not in ids]

"""Step 4: LISTEN endpoint_changes on a dedicated autocommit connection outside the pool.

A notification only says *that* an endpoint changed (payload: its id); the
handler just wakes the scheduler, which re-reads the table. A lost notification
costs latency, never correctness: the scheduler wakes every few seconds anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
from loguru import logger

from services.checker import queries
from services.checker.db import connect, first_line
from services.checker.metrics import Metrics
from services.checker.stop import sleep

PING_EVERY = 10.0  # seconds without a notification before the connection is proven alive
MAX_BACKOFF = 5.0


class Listener:
    def __init__(
        self,
        conninfo: str,
        on_change: Callable[[int | None], None],
        *,
        metrics: Metrics,
        on_delivery: Callable[[], None] | None = None,
        on_maintenance: Callable[[], None] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._on_change = on_change
        self._on_delivery = on_delivery  # alerting: deliveries were written
        self._on_maintenance = on_maintenance  # a maintenance window was written
        self._metrics = metrics
        self.connected = False

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        lost = False
        while not stop.is_set():
            try:
                conn = await connect(self._conninfo)
            except psycopg.OperationalError as exc:
                if not lost:
                    logger.warning("LISTEN connection failed ({}); retrying", first_line(exc))
                    lost = True
                await sleep(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            try:
                async with conn:
                    self._metrics.round_trips.inc()
                    await conn.execute(queries.LISTEN_CHANGES)
                    if self._on_delivery is not None:
                        self._metrics.round_trips.inc()
                        await conn.execute(queries.LISTEN_DELIVERIES)
                    if self._on_maintenance is not None:
                        self._metrics.round_trips.inc()
                        await conn.execute(queries.LISTEN_MAINTENANCES)
                    self.connected = True
                    backoff = 0.5
                    if lost:
                        logger.info("LISTEN connection is back")
                        lost = False
                        self._on_change(None)  # we may have missed something meanwhile
                        if self._on_delivery is not None:
                            self._on_delivery()
                        if self._on_maintenance is not None:
                            self._on_maintenance()
                    await self._listen(conn)
            except psycopg.OperationalError as exc:
                self.connected = False
                lost = True
                logger.warning("LISTEN connection lost ({}); reconnecting", first_line(exc))
                await sleep(stop, backoff)

    async def _listen(self, conn: psycopg.AsyncConnection) -> None:
        while True:
            async for note in conn.notifies(timeout=PING_EVERY):
                if note.channel == "deliveries" and self._on_delivery is not None:
                    self._on_delivery()
                    continue
                if note.channel == "maintenances" and self._on_maintenance is not None:
                    self._on_maintenance()
                    continue
                payload = note.payload
                self._on_change(int(payload) if payload.isdigit() else None)
            self._metrics.round_trips.inc()
            await conn.execute(queries.PING)

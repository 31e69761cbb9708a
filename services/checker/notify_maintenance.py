"""Maintenance windows and alerts: announce windows starting and ending, and tell what they hid.

Inside a window, RECORD_RESULTS records an affected endpoint's events
``suppressed`` (nobody is told) and leaves ``told_status`` (what subscribers
were last told) as it was. This pass, run by the delivery loop on its own
connection (notify.py), does the rest, each part in one transaction:

* MAINTENANCE_BOUNDARIES: every occurrence start or end that has come and was
  not announced yet becomes a ``maintenance.started`` / ``maintenance.ended``
  event for the rules that want ``"maintenance"``; the occurrence row is marked
  told in the same transaction (FOR UPDATE SKIP LOCKED: once, whichever replica).
* TELL_HIDDEN_CHANGES: an endpoint whose confirmed status differs from
  ``told_status`` while no window affects it gets one event from the one to the
  other (so a window that hid an outage ends with exactly one alert, and one
  that hid an outage and its recovery ends with none).

It runs at each boundary (the statement returns the next one), at once when a
window is written (the LISTEN connection hears ``NOTIFY maintenances``, sent
by a trigger of migrations/0017 on every write to occurrences or a window's
endpoints: a window ended early, moved, deleted, or an endpoint taken out of
one), and at least every TICK seconds, so a lost notification costs latency.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from loguru import logger
from psycopg.rows import dict_row

from services.checker import queries

TICK = 5.0  # seconds between passes at most
BATCH = 100  # occurrences or endpoints per statement

Execute = Callable[..., Awaitable[psycopg.AsyncCursor[Any]]]


class MaintenanceWatch:
    """When the next pass is due, and the pass itself."""

    def __init__(self) -> None:
        self._next_at = 0.0  # epoch seconds: at once
        self._poked = False  # a window was written while a pass ran: another one at once

    def due_now(self) -> None:
        """A window was written (NOTIFY maintenances): the next round makes the pass."""
        self._next_at = 0.0
        self._poked = True

    def postpone(self) -> None:
        """The pass failed: the next one in TICK seconds."""
        self._next_at = time.time() + TICK

    def wait(self) -> float:
        """Seconds until the next pass is due (0: now)."""
        return max(self._next_at - time.time(), 0.0)

    async def run(self, execute: Execute) -> int:
        """Announce what came, tell what was hidden; returns how many events were written."""
        written = 0
        boundary: float | None = None
        self._poked = False
        while True:
            cur = await execute(
                queries.MAINTENANCE_BOUNDARIES, {"limit": BATCH}, row_factory=dict_row
            )
            row = await cur.fetchone()
            assert row is not None
            written += row["events"]
            boundary = row["next_at"]
            if row["occurrences"] < BATCH:
                break
        while True:
            cur = await execute(queries.TELL_HIDDEN_CHANGES, {"limit": BATCH}, row_factory=dict_row)
            row = await cur.fetchone()
            assert row is not None
            written += row["events"]
            if row["events"] < BATCH:
                break
        now = time.time()
        if self._poked:  # what this pass read may predate that write
            self._next_at = 0.0
        elif boundary is None:
            self._next_at = now + TICK
        else:
            self._next_at = min(now + TICK, boundary + 0.01)
        if written:
            logger.info("maintenance: {written} events written", written=written)
        return written

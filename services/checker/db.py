"""The checker's database links: one autocommit connection per loop, reopened after a failure.

The scheduler and the writer each own one link and use it strictly in turn, so
a pool would add nothing but latency (and, after an outage, its own reconnect
back-off). A link is idle — no transaction, no lock — while probes run: every
statement commits on its own before the next probe starts.
"""

from __future__ import annotations

from typing import Any, LiteralString

import psycopg
from psycopg.rows import AsyncRowFactory

from services.checker.metrics import Metrics

CONNECT_TIMEOUT = 3
# Every checker connection (claim, write, LISTEN, retention) carries this name,
# so an operator finds them all in pg_stat_activity with one filter.
APPLICATION_NAME = "uptimatum-checker"
# A peer that vanished without closing (network partition) is noticed in ~25 s
# instead of hanging a statement for the kernel's two hours.
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


async def connect(conninfo: str) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection as every checker loop opens it (named, with keepalives)."""
    return await psycopg.AsyncConnection.connect(
        conninfo,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
        application_name=APPLICATION_NAME,
        **KEEPALIVES,
    )


def first_line(exc: BaseException) -> str:
    """A database error for a log line: its first line, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


class Link:
    def __init__(self, conninfo: str, *, name: str, metrics: Metrics) -> None:
        self._conninfo = conninfo
        self._name = name
        self._metrics = metrics
        self._conn: psycopg.AsyncConnection | None = None

    async def execute(
        self,
        query: LiteralString,
        params: dict[str, Any] | None = None,
        *,
        row_factory: AsyncRowFactory[Any] | None = None,
    ) -> psycopg.AsyncCursor[Any]:
        """Send one statement (one round trip); a broken connection is dropped and re-made.

        Rows come as tuples unless a ``row_factory`` (such as ``dict_row``) is given.
        """
        conn = self._conn
        if conn is None or conn.closed:
            conn = self._conn = await connect(self._conninfo)
        self._metrics.round_trips.inc()
        try:
            cur = conn.cursor() if row_factory is None else conn.cursor(row_factory=row_factory)
            return await cur.execute(query, params)
        except psycopg.OperationalError:
            await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

"""The connection pool, and running named statements through it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from shared.settings import Settings

# How long a request waits for a connection before it is answered 503: the
# database is down or saturated, and a fast "try again" beats a hung client.
ACQUIRE_TIMEOUT = 3.0


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached (or answers no connection in time)."""


def create_pool(
    settings: Settings, *, name: str, min_size: int | None = None, max_size: int | None = None
) -> AsyncConnectionPool:
    """A closed pool: open it with ``await pool.open(wait=False)`` inside a lifespan.

    Connections are autocommit: a statement that must be atomic is one statement,
    and the few multi-statement units use ``conn.transaction()``.
    """
    max_size = max_size or settings.db_pool_max
    min_size = min(settings.db_pool_min if min_size is None else min_size, max_size)
    return AsyncConnectionPool(
        settings.conninfo(),
        name=name,
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=ACQUIRE_TIMEOUT,
        reconnect_timeout=0,  # keep trying for ever: the database may come back
        kwargs={
            "autocommit": True,
            "connect_timeout": 3,
            "application_name": f"uptimatum-{name}",
        },
    )


Params = Sequence[Any] | dict[str, Any] | None


async def fetch_all(
    pool: AsyncConnectionPool, query: LiteralString, params: Params = None
) -> list[dict[str, Any]]:
    """Run a read statement; rows as dicts. Retried once on a dropped connection."""
    for attempt in (1, 2):
        try:
            async with pool.connection() as conn:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(query, params)
                return await cur.fetchall()
        except PoolTimeout as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        except psycopg.OperationalError as exc:
            # A connection broken by a server restart is discarded by the pool on
            # return; a read is safe to repeat once on a fresh one.
            if attempt == 2:
                raise DatabaseUnavailable(str(exc)) from exc
    raise AssertionError("unreachable")


async def fetch_one(
    pool: AsyncConnectionPool, query: LiteralString, params: Params = None
) -> dict[str, Any] | None:
    rows = await fetch_all(pool, query, params)
    return rows[0] if rows else None


async def execute(
    pool: AsyncConnectionPool, query: LiteralString, params: Params = None
) -> list[dict[str, Any]]:
    """Run a write statement once (never retried: it may have committed)."""
    try:
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []
    except PoolTimeout as exc:
        raise DatabaseUnavailable(str(exc)) from exc
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(str(exc)) from exc

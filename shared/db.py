"""The connection pool, and running named statements through it."""

from __future__ import annotations

import contextlib
import operator
import time
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any, LiteralString, TypeVar

import msgspec
import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from shared.queries import SESSION_DEFAULTS
from shared.settings import Settings

S = TypeVar("S", bound=msgspec.Struct)

# How long a request waits for a connection before it is answered 503: the
# database is down or saturated, and a fast "try again" beats a hung client.
ACQUIRE_TIMEOUT = 3.0


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached (or answers no connection in time)."""


class DbTiming:
    """Statements run and time spent in them, for one request (``Server-Timing``)."""

    __slots__ = ("seconds", "statements")

    def __init__(self) -> None:
        self.statements = 0
        self.seconds = 0.0

    def header(self) -> str:
        return f'db;dur={self.seconds * 1000:.2f};desc="{self.statements} statements"'


_timing: ContextVar[DbTiming | None] = ContextVar("uptimatum_db_timing", default=None)


def start_timing() -> DbTiming:
    """Count the statements run from here on in this context (one request)."""
    timing = DbTiming()
    _timing.set(timing)
    return timing


def _count(started: float) -> None:
    timing = _timing.get()
    if timing is not None:
        timing.statements += 1
        timing.seconds += time.perf_counter() - started


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
        configure=_session_defaults,
        kwargs={
            "autocommit": True,
            "connect_timeout": 3,
            "application_name": f"uptimatum-{name}",
        },
    )


async def _session_defaults(conn: psycopg.AsyncConnection[Any]) -> None:
    # Timestamps come back in UTC whatever the server's TimeZone is, so they
    # serialise as "...Z"; no JIT for short statements.
    await conn.execute(SESSION_DEFAULTS)


Params = Sequence[Any] | dict[str, Any] | None


async def fetch_all(
    pool: AsyncConnectionPool, query: LiteralString, params: Params = None, *, binary: bool = False
) -> list[dict[str, Any]]:
    """Run a read statement; rows as dicts. Retried once on a dropped connection.

    ``binary``: results in binary format, quicker to decode for large arrays.
    """
    return await _read(pool, query, params, dict_row, binary=binary)


async def fetch_structs(
    pool: AsyncConnectionPool,
    query: LiteralString,
    params: Params,
    cls: type[S],
    *,
    prepare: bool | None = None,
) -> list[S | None]:
    """Like ``fetch_all``, each row a ``cls`` in binary format: for reads of many rows.

    The columns are matched to the Struct's fields by name (extra columns are
    ignored); a row whose column for the first field is null (an outer join that
    matched nothing) is None. ``prepare=False`` plans the statement afresh each
    time (psycopg otherwise prepares it after a few runs, and PostgreSQL may then
    settle on a generic plan that guesses a ``LIMIT %(n)s`` keeps 10 % of the rows).
    """
    return await _read(pool, query, params, tuple_row, binary=True, into=cls, prepare=prepare)


async def fetch_rows(
    pool: AsyncConnectionPool, query: LiteralString, params: Params = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Like ``fetch_all``, the rows as plain tuples and the column names once.

    For reads of many rows of many columns that the caller picks by position
    (the page read: a dict per row of its 60 columns cost ~3 us more).
    """
    names: list[str] = []

    def rows_and_names(cursor: Any) -> Any:
        names[:] = [c.name for c in cursor.description or ()]
        return tuple_row(cursor)

    rows = await _read(pool, query, params, rows_and_names, binary=False)
    return names, rows


def to_structs(cls: type[S], names: Sequence[str], rows: list[tuple[Any, ...]]) -> list[S | None]:
    """``rows`` (plain tuples of the columns ``names``) as ``cls``, matched by name.

    The names are looked up once per result; each row is then one C-level pick
    of its values in field order and the Struct's positional constructor (rows
    stay psycopg's plain tuples: a Python row factory would cost ~3 us a row).
    """
    fields = cls.__struct_fields__
    missing = [f for f in fields if f not in names]
    if missing:
        raise LookupError(f"{cls.__name__}: the result has no column {', '.join(missing)}")
    positions = [names.index(f) for f in fields]
    key = positions[0]
    if len(positions) == 1:
        return [None if row[key] is None else cls(row[key]) for row in rows]
    pick = operator.itemgetter(*positions)
    return [None if row[key] is None else cls(*pick(row)) for row in rows]


async def _read(
    pool: AsyncConnectionPool,
    query: LiteralString,
    params: Params,
    row_factory: Any,
    *,
    binary: bool,
    into: type[msgspec.Struct] | None = None,
    prepare: bool | None = None,
) -> list[Any]:
    for attempt in (1, 2):
        started = time.perf_counter()
        try:
            async with pool.connection() as conn:
                cur = conn.cursor(row_factory=row_factory)
                await cur.execute(query, params, binary=binary, prepare=prepare)
                rows = await cur.fetchall()
                if into is None:
                    return rows
                return to_structs(into, [c.name for c in cur.description or ()], rows)
        except PoolTimeout as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        except psycopg.OperationalError as exc:
            # A connection broken by a server restart is discarded by the pool on
            # return; its idle siblings are most likely broken too, so have the pool
            # check them all before the read is repeated once on a fresh one.
            if attempt == 2:
                raise DatabaseUnavailable(str(exc)) from exc
            await _check_idle(pool)
        finally:
            _count(started)
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
    started = time.perf_counter()
    try:
        async with pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(query, params)
            return await cur.fetchall() if cur.description else []
    except PoolTimeout as exc:
        raise DatabaseUnavailable(str(exc)) from exc
    except psycopg.OperationalError as exc:
        await _check_idle(pool)
        raise DatabaseUnavailable(str(exc)) from exc
    finally:
        _count(started)


async def _check_idle(pool: AsyncConnectionPool) -> None:
    """Drop the pool's broken idle connections (after a server restart); never raises."""
    with contextlib.suppress(Exception):  # best effort: the caller reports the first error
        await pool.check()

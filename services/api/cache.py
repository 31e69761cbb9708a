"""Short-lived in-process caches, one set per app instance (kept in ``app.state``)."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

from loguru import logger
from psycopg_pool import AsyncConnectionPool

from services.api import queries as q
from shared.db import fetch_all

T = TypeVar("T")
Long = tuple[float | None, float | None, float | None]  # 7d, 30d, 90d


class TTLCache(Generic[T]):
    """A dict whose entries expire after ``ttl`` seconds; cleared when it grows too big."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[float, T]] = {}

    def get(self, key: Any) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Any, value: T) -> T:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)
        return value


def _ids(fingerprint: frozenset[Any]) -> set[int]:
    return {item[0] for item in fingerprint}


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class _Loaded:
    __slots__ = ("at", "cost", "fingerprint", "values")

    def __init__(self, fingerprint: frozenset[Any], values: dict[int, Long], cost: float) -> None:
        self.at = time.monotonic()
        self.fingerprint = fingerprint
        self.values = values
        self.cost = cost


class LongUptimes:
    """The 7/30/90-day uptimes of each page's endpoints, cached per page.

    ``fingerprint`` (from the live page statement: each active endpoint's id,
    newest run and number of runs in the last 24 h) tells when the history has
    changed. Figures are reloaded when the page's endpoints change, when the
    history changed or ``ttl`` passed — inline when that read is cheap (small
    pages, so they are always current), else by one background task while the
    previous figures are served: no request waits for a long 90-day scan after
    the first.
    """

    CHEAP = 0.05  # seconds: a reload this fast is done inline

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._loaded: dict[int, _Loaded] = {}
        self._refreshing: dict[int, asyncio.Task[None]] = {}

    async def get(
        self, pool: AsyncConnectionPool, page_id: int, fingerprint: frozenset[Any]
    ) -> dict[int, Long]:
        loaded = self._loaded.get(page_id)
        if loaded is None or not _ids(fingerprint) <= _ids(loaded.fingerprint):
            return (await self._load(pool, page_id, fingerprint)).values
        age = time.monotonic() - loaded.at
        if loaded.fingerprint == fingerprint and age <= self.ttl:
            return loaded.values
        if loaded.cost < self.CHEAP or age > 5 * self.ttl:
            return (await self._load(pool, page_id, fingerprint)).values
        if page_id not in self._refreshing:
            self._spawn(page_id, lambda: self._load(pool, page_id, fingerprint))
        return loaded.values

    async def _load(
        self, pool: AsyncConnectionPool, page_id: int, fingerprint: frozenset[Any]
    ) -> _Loaded:
        started = time.monotonic()
        rows = await fetch_all(pool, q.PAGE_LONG_UPTIMES, {"page_id": page_id})
        values = {
            r["endpoint_id"]: (
                as_float(r["uptime_7d"]),
                as_float(r["uptime_30d"]),
                as_float(r["uptime_90d"]),
            )
            for r in rows
        }
        if len(self._loaded) >= 10_000:
            self._loaded.clear()
        cost = time.monotonic() - started
        loaded = self._loaded[page_id] = _Loaded(fingerprint, values, cost)
        return loaded

    def _spawn(self, page_id: int, load: Callable[[], Awaitable[Any]]) -> None:
        async def refresh() -> None:
            try:
                await load()
            except Exception as exc:  # the stale figures stay; the next request retries
                logger.warning("refreshing the uptimes of page {} failed: {}", page_id, exc)
            finally:
                self._refreshing.pop(page_id, None)

        # A fresh context: the refresh's statements are not the current request's.
        task = asyncio.get_running_loop().create_task(refresh(), context=contextvars.Context())
        self._refreshing[page_id] = task

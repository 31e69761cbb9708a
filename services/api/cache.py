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


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class _Loaded:
    __slots__ = ("at", "endpoint_ids", "values")

    def __init__(self, endpoint_ids: frozenset[int], values: dict[int, Long]) -> None:
        self.at = time.monotonic()
        self.endpoint_ids = endpoint_ids
        self.values = values


class LongUptimes:
    """The 7/30/90-day uptimes of each page's endpoints, at most ``ttl`` seconds old.

    The first request for a page (or one that finds an endpoint the cached figures
    do not know) reads them inline; after that a stale entry is served while one
    background task refreshes it, so no request waits for the 90-day scan.
    """

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._loaded: dict[int, _Loaded] = {}
        self._refreshing: dict[int, asyncio.Task[None]] = {}

    async def get(
        self, pool: AsyncConnectionPool, page_id: int, endpoint_ids: frozenset[int]
    ) -> dict[int, Long]:
        loaded = self._loaded.get(page_id)
        if loaded is None or not endpoint_ids <= loaded.endpoint_ids:
            return (await self._load(pool, page_id, endpoint_ids)).values
        age = time.monotonic() - loaded.at
        if age > 5 * self.ttl:  # refreshes have been failing: do not serve very old figures
            return (await self._load(pool, page_id, endpoint_ids)).values
        if age > self.ttl and page_id not in self._refreshing:
            self._spawn(page_id, lambda: self._load(pool, page_id, endpoint_ids))
        return loaded.values

    async def _load(
        self, pool: AsyncConnectionPool, page_id: int, endpoint_ids: frozenset[int]
    ) -> _Loaded:
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
        loaded = self._loaded[page_id] = _Loaded(endpoint_ids, values)
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

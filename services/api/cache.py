"""Short-lived in-process caches, one set per app instance (kept in ``app.state``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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

    def clear(self) -> None:
        self._entries.clear()

    def put(self, key: Any, value: T) -> T:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, value)
        return value


def as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak or strong) or ``*``."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


class FlightCache(Generic[T]):
    """A TTL cache that fills each key once however many ask at the same time.

    When an entry expires, the first reader starts one fill and every reader
    meanwhile gets the expired value (for at most another ``ttl``), so a crowd
    never waits on the database nor stampedes it. Without a value (first use,
    or after ``clear``) readers wait for that one fill together. ``clear`` also
    discards fills started before it, so a write is never followed by a value
    read before the write. A fill failing with one of ``keep_on`` (the database
    is unreachable) answers the last value instead, however old.
    """

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        keep_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.keep_on = keep_on  # a fill failing so answers the last value, however old
        self._entries: dict[Any, tuple[float, T]] = {}
        self._fills: dict[Any, asyncio.Future[T]] = {}
        self._generation = 0

    def clear(self) -> None:
        self._entries.clear()
        self._fills.clear()
        self._generation += 1

    async def get(self, key: Any, fill: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now < entry[0]:
            return entry[1]
        future = self._fills.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fill(key, fill, self._generation))
            future.add_done_callback(_retrieve)
            self._fills[key] = future
        if entry is not None and now < entry[0] + self.ttl:
            return entry[1]  # stale while one fill runs
        try:
            return await asyncio.shield(future)
        except self.keep_on:
            if entry is None:
                raise
            return entry[1]

    async def _fill(self, key: Any, fill: Callable[[], Awaitable[T]], generation: int) -> T:
        try:
            value = await fill()
        finally:
            if self._generation == generation:
                self._fills.pop(key, None)
        if self._generation == generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, value)
        return value


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a fill's exception as seen (the readers who waited got it already)."""
    if not future.cancelled():
        future.exception()

"""Short-lived in-process caches, one set per app instance (kept in ``app.state``)."""

from __future__ import annotations

import time
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

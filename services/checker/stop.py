"""How the checker's loops wait: sleeps that the stop event (or a wake-up) cuts short,
and the grace running tasks get on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TypeVar

T = TypeVar("T")


async def sleep(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def sleep_or_wake(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``wake`` or ``stop`` is set meanwhile."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def cut_short(in_flight: dict[asyncio.Task[None], T], grace: float) -> list[T]:
    """Give the running tasks ``grace`` seconds, cancel the rest; what those were working on.

    ``in_flight`` is copied first: a finishing task may remove itself from it.
    """
    tasks = dict(in_flight)
    if not tasks:
        return []
    _done, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [tasks[t] for t in pending]

"""The one way the checker's loops wait: a sleep that the stop event cuts short."""

from __future__ import annotations

import asyncio
import contextlib


async def sleep(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)

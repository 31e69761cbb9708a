"""Supervision: the checker's background loops (writer, LISTEN, retention, housekeeping,
the metrics server) run under one Supervisor, and none dies silently.

A loop that raises (or returns before the stop event is set) is logged with its
traceback once per run of failures (the same error again only at DEBUG), then
restarted after a back-off: 1 s, doubling up to 30 s. Its state, for /health:

- ``running``: it runs, and has run SETTLE seconds since its last failure;
- ``failing``: it failed and has not yet run SETTLE seconds since (waiting to
  restart, or just restarted);
- ``stopped``: it ended because the stop event was set.

A loop is ``async def run(stop: asyncio.Event) -> None`` that returns once
``stop`` is set; the errors it expects (a database that is away) it handles
itself, everything else is the Supervisor's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from loguru import logger

from services.checker.db import first_line
from services.checker.stop import sleep

Loop = Callable[[asyncio.Event], Awaitable[None]]

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
SETTLE = 5.0  # seconds a restarted loop must run before it counts as recovered


class _Supervised:
    __slots__ = ("error", "failing", "failures", "name", "run", "task")

    def __init__(self, name: str, run: Loop) -> None:
        self.name = name
        self.run = run
        self.task: asyncio.Task[None] | None = None
        self.failing = False
        self.failures = 0  # in the current run of failures
        self.error: str | None = None  # the last failure's type and first line

    def state(self) -> dict[str, Any]:
        done = self.task is None or self.task.done()
        state = "failing" if self.failing else ("stopped" if done else "running")
        return {"state": state, "failures": self.failures, "lastError": self.error}


class Supervisor:
    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop
        self._loops: dict[str, _Supervised] = {}

    def start(self, name: str, run: Loop) -> None:
        """Run ``run(stop)`` as the loop ``name``, restarted whenever it fails."""
        loop = self._loops[name] = _Supervised(name, run)
        loop.task = asyncio.create_task(self._supervise(loop), name=name)

    def states(self) -> dict[str, dict[str, Any]]:
        return {name: loop.state() for name, loop in self._loops.items()}

    def failing(self) -> list[str]:
        """Loops failing now, or ended although nobody asked them to stop."""
        return [
            name
            for name, loop in self._loops.items()
            if loop.state()["state"] == "failing"
            or (loop.state()["state"] == "stopped" and not self._stop.is_set())
        ]

    async def stop(self, *, finish: Iterable[str] = ()) -> None:
        """Set the stop event; cancel every loop but those in ``finish`` (they end by
        themselves, e.g. the writer's last flush); wait for all of them."""
        self._stop.set()
        keep = set(finish)
        tasks = [loop.task for loop in self._loops.values() if loop.task is not None]
        for task in tasks:
            if task.get_name() not in keep:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _supervise(self, loop: _Supervised) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            inner = asyncio.ensure_future(loop.run(self._stop))
            try:
                done, _ = await asyncio.wait({inner}, timeout=SETTLE)
                if not done and loop.failing:
                    self._recovered(loop)
                    backoff = BACKOFF_FIRST
                await inner
            except asyncio.CancelledError:
                inner.cancel()
                with contextlib.suppress(BaseException):
                    await inner
                raise
            except Exception as exc:
                self._failed(loop, exc, backoff)
            else:
                if self._stop.is_set():
                    break
                self._failed(loop, RuntimeError("the loop returned unexpectedly"), backoff)
            await sleep(self._stop, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        loop.failing = False

    def _failed(self, loop: _Supervised, exc: BaseException, backoff: float) -> None:
        error = f"{type(exc).__name__}: {first_line(exc)}"
        again = loop.failing and error == loop.error
        loop.failing, loop.error = True, error
        loop.failures += 1
        if again:
            logger.debug(
                "{} loop failed again ({}); restarting in {:.0f} s", loop.name, error, backoff
            )
            return
        logger.opt(exception=exc).error(
            "{name} loop failed ({error}); restarting in {backoff:.0f} s",
            name=loop.name,
            error=error,
            backoff=backoff,
        )

    def _recovered(self, loop: _Supervised) -> None:
        logger.info(
            "{} loop recovered after {} failure(s) ({})", loop.name, loop.failures, loop.error
        )
        loop.failing = False
        loop.failures = 0

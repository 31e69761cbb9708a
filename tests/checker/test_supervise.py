"""No silent deaths: a failing loop is logged once with its traceback, restarted with
back-off, and /health names it until it runs again."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request

import pytest
from loguru import logger

from services.checker.supervise import BACKOFF_FIRST, SETTLE, Supervisor
from shared.migrate import migrate

from .conftest import CheckerProcess, eventually


async def test_a_loop_that_raises_is_logged_once_restarted_with_backoff_and_reported():
    starts: list[float] = []

    async def flaky(stop: asyncio.Event) -> None:
        starts.append(time.monotonic())
        if len(starts) <= 3:
            raise RuntimeError("boom")
        await stop.wait()

    logs: list[str] = []
    sink = logger.add(lambda m: logs.append(str(m)), level="INFO")
    stop = asyncio.Event()
    supervisor = Supervisor(stop)
    try:
        supervisor.start("flaky", flaky)
        await eventually(lambda: len(starts) == 2, 3)
        assert supervisor.failing() == ["flaky"]
        state = supervisor.states()["flaky"]
        assert (state["state"], state["lastError"]) == ("failing", "RuntimeError: boom")
        await eventually(lambda: len(starts) == 4, 10)
        assert supervisor.states()["flaky"]["state"] == "failing"  # not yet settled
        await eventually(lambda: supervisor.states()["flaky"]["state"] == "running", SETTLE + 2)
        assert supervisor.failing() == []
    finally:
        logger.remove(sink)
        await supervisor.stop()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert [round(g / BACKOFF_FIRST) for g in gaps] == [1, 2, 4]  # back-off doubles
    errors = [line for line in logs if "flaky loop failed" in line]
    assert len(errors) == 1  # the same failure again is not logged again
    assert "Traceback" in errors[0]
    assert "RuntimeError: boom" in errors[0]
    assert any("flaky loop recovered after 3 failure(s)" in line for line in logs)
    assert supervisor.states()["flaky"]["state"] == "stopped"


def _health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None


def _failing(port: int, *, times: int) -> tuple[int, dict] | None:
    got = _health(port)
    ok = got and got[0] == 503 and got[1]["loops"]["retention"]["failures"] >= times
    return got if ok else None


@pytest.mark.slow
async def test_a_checker_started_before_migrations_is_healthy_once_migrated(
    empty_database_url, tmp_path
):
    checker = CheckerProcess(empty_database_url, tmp_path / "checker.log")
    try:
        # Before the schema exists: /health is 503 and names the failing loop.
        # (Twice at least, so that "logged once" below means something.)
        _, body = await eventually(lambda: _failing(checker.metrics_port, times=2), 15, 0.2)
        assert "retention" in body["failing"]
        assert body["loops"]["retention"]["state"] == "failing"
        assert "UndefinedTable" in body["loops"]["retention"]["lastError"]
        assert body["loops"]["writer"]["state"] == "running"

        await asyncio.to_thread(migrate, empty_database_url)
        migrated = time.monotonic()
        await eventually(lambda: (_health(checker.metrics_port) or (0,))[0] == 200, 60, 0.5)
        healthy_after = time.monotonic() - migrated
    finally:
        checker.terminate()
        assert checker.wait() == 0
    log = checker.log()
    failures = [line for line in log.splitlines() if "retention loop failed" in line]
    assert len(failures) == 1, log  # logged once, however often it was retried ...
    assert "Traceback" in log
    assert "UndefinedTable" in log
    assert "retention loop recovered" in log
    assert log.count("claiming failed") == 1
    assert "claiming works again" in log
    assert healthy_after < 60

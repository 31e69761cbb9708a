"""Checker test kit: a loopback HTTP target each test steers, endpoints, running checkers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import psycopg
import pytest
from aiohttp import web

from services.checker.main import Checker
from services.checker.probe import Claim, Options
from services.checker.probes import new_session
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0
    body: bytes = b"ok"
    hang: bool = False
    redirect_to: str | None = None
    script: list[int] = field(default_factory=list)  # statuses of the next hits, then `status`


@dataclass
class Hit:
    at: float  # time.time()
    peer_port: int
    method: str
    user_agent: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class Target:
    """An aiohttp server on 127.0.0.1 whose answer per path each test controls."""

    port: int = 0
    answers: dict[str, Answer] = field(default_factory=dict)
    hits: dict[str, list[Hit]] = field(default_factory=lambda: defaultdict(list))
    in_flight: int = 0
    max_in_flight: int = 0

    def answer(self, path: str, **kw: Any) -> str:
        self.answers[path] = Answer(**kw)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        return len(self.hits.get(path, ()))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.hits[request.path].append(
            Hit(
                time.time(),
                peer[1] if peer else 0,
                request.method,
                request.headers.get("User-Agent", ""),
                dict(request.headers),
                await request.read(),
            )
        )
        a = self.answers.get(request.path, Answer())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if a.hang:
                await asyncio.sleep(3600)
            if a.delay:
                await asyncio.sleep(a.delay)
        finally:
            self.in_flight -= 1
        if a.redirect_to:
            raise web.HTTPFound(a.redirect_to)
        status = a.script.pop(0) if a.script else a.status
        return web.Response(status=status, body=a.body)


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", t.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    t.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield t
    finally:
        await runner.cleanup()


# -- probes ------------------------------------------------------------------------


def claim(url: str, **kw: Any) -> Claim:
    """A claim as CLAIM_DUE makes it; ``options`` (headers, TLS, DNS ...) as keywords too."""
    option_names = set(Options.__struct_fields__)
    options = Options(**{k: kw.pop(k) for k in list(kw) if k in option_names})
    base: dict[str, Any] = {
        "endpoint_id": 1,
        "token": 1,
        "url": url,
        "method": "GET",
        "timeout": 5,
        "expected_status": ("200-299",),
        "degraded_threshold_ms": None,
        "keyword": None,
        "interval": 30,
        "due_at": time.time(),
        "endpoint_name": "e",
        "page_name": "p",
        "options": options,
    }
    base.update(kw)
    return Claim(**base)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    s = new_session()
    yield s
    await s.close()


@pytest.fixture
def refused_url() -> str:
    """A loopback port nobody listens on: connecting is refused at once."""
    return f"http://127.0.0.1:{free_port()}/"


# -- rows ------------------------------------------------------------------------


async def make_page(db: psycopg.AsyncConnection, slug: str = "status") -> int:
    cur = await db.execute(
        "INSERT INTO pages (slug, name) VALUES (%s, %s) RETURNING id", (slug, slug.title())
    )
    row = await cur.fetchone()
    assert row
    return int(row[0])


async def make_endpoint(db: psycopg.AsyncConnection, page_id: int, url: str, **kw: Any) -> int:
    cols = {
        "page_id": page_id,
        "name": kw.pop("name", url.rsplit("/", 1)[-1] or "root"),
        "url": url,
    }
    cols.update(kw)
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    cur = await db.execute(
        f"INSERT INTO endpoints ({names}) VALUES ({marks}) RETURNING id",  # test helper
        list(cols.values()),
    )
    row = await cur.fetchone()
    assert row
    return int(row[0])


async def history(db: psycopg.AsyncConnection, endpoint_id: int) -> list[dict[str, Any]]:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    await cur.execute(
        "SELECT * FROM checks WHERE endpoint_id = %s ORDER BY first_checked_at, id", (endpoint_id,)
    )
    return await cur.fetchall()


async def state(db: psycopg.AsyncConnection, endpoint_id: int) -> dict[str, Any]:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    await cur.execute("SELECT * FROM endpoint_state WHERE endpoint_id = %s", (endpoint_id,))
    row = await cur.fetchone()
    assert row
    return row


async def eventually(check: Callable[[], Any], timeout: float = 5.0, every: float = 0.05) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)


# -- checkers --------------------------------------------------------------------


def checker_settings(settings: Settings, **overrides: Any) -> Settings:
    """Test settings: a free metrics port, retention out of the way unless asked for."""
    base: dict[str, Any] = {
        "metrics_port": free_port(),
        "cleanup_hour": (datetime.now(UTC).hour + 12) % 24,
    }
    base.update(overrides)
    return msgspec.structs.replace(settings, **base)


@asynccontextmanager
async def running_checker(settings: Settings, **overrides: Any) -> AsyncIterator[Checker]:
    """A checker in this event loop; stopped (cleanly, as on SIGTERM) on exit."""
    checker = Checker(checker_settings(settings, **overrides))
    stop = asyncio.Event()
    task = asyncio.create_task(checker.serve(stop))
    try:
        await asyncio.sleep(0)
        yield checker
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


class CheckerProcess:
    """``uptimatum checker`` as a subprocess, configured by environment variables only."""

    def __init__(self, database_url: str, log_path: Path, **env: Any) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        full = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
        full.update(
            DATABASE_URL=database_url,
            METRICS_PORT=str(self.metrics_port),
            HOST="127.0.0.1",
            LOG_LEVEL="INFO",
            CLEANUP_HOUR=str((datetime.now(UTC).hour + 12) % 24),
        )
        full.update({k: str(v) for k, v in env.items()})
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "checker"],
            cwd=ROOT,
            env=full,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.proc.kill()

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def spawn(database_url: str, tmp_path: Path):
    procs: list[CheckerProcess] = []

    def start(**env: Any) -> CheckerProcess:
        p = CheckerProcess(database_url, tmp_path / f"checker-{len(procs)}.log", **env)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.proc.poll() is None:
            p.kill()
            p.proc.wait(5)
        if not p._log.closed:
            p._log.close()


async def wait_healthy(port: int, timeout: float = 10) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            try:
                async with s.get(f"http://127.0.0.1:{port}/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("checker did not become healthy")
            await asyncio.sleep(0.1)


# -- alerting: a webhook receiver ----------------------------------------------------


@dataclass
class Received:
    at: float  # time.time()
    path: str
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.raw)


@dataclass
class Receiver:
    """An aiohttp server on 127.0.0.1 that records every request; each path answers
    the statuses of its script, then 200; while ``held`` is clear, requests wait."""

    port: int = 0
    got: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    def hold(self) -> None:
        self.held.clear()

    def release(self) -> None:
        self.held.set()

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append(
            Received(time.time(), request.path, dict(request.headers), await request.read())
        )
        self.waiting += 1
        try:
            await self.held.wait()
        finally:
            self.waiting -= 1
        script = self.scripts.get(request.path)
        return web.Response(status=script.pop(0) if script else 200, text="ok")


async def start_receiver(port: int = 0) -> tuple[Receiver, web.AppRunner]:
    r = Receiver()
    r.release()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", r.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    r.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return r, runner


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r, runner = await start_receiver()
    try:
        yield r
    finally:
        r.release()
        await runner.cleanup()


async def make_channel(
    db: psycopg.AsyncConnection, url: str, *, kind: str = "webhook", secret: str | None = None
) -> int:
    cur = await db.execute(
        "INSERT INTO channels (name, type, url, target, secret) VALUES ('Ops', %s, %s, 'x', %s)"
        " RETURNING id",
        (kind, url, secret),
    )
    row = await cur.fetchone()
    assert row
    return int(row[0])


async def make_rule(db: psycopg.AsyncConnection, channel_id: int, **kw: Any) -> int:
    cols = {"channel_id": channel_id, **kw}
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    cur = await db.execute(
        f"INSERT INTO alert_rules ({names}) VALUES ({marks}) RETURNING id",  # test helper
        list(cols.values()),
    )
    row = await cur.fetchone()
    assert row
    return int(row[0])


async def rows(db: psycopg.AsyncConnection, sql: str, *args: Any) -> list[dict[str, Any]]:
    cur = db.cursor(row_factory=psycopg.rows.dict_row)
    await cur.execute(sql, args)  # test helper
    return await cur.fetchall()

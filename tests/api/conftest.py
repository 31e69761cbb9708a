"""The API over real HTTP: Granian's embedded server in the test's event loop, on loopback."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server

from services.api.app import create_app
from shared.settings import Settings

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Serve ``create_app(settings)`` on a free loopback port; a client for it."""
    port = free_port()
    server = Server(
        create_app(settings),
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        log_enabled=False,
    )
    task = asyncio.create_task(server.serve())
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20)
    try:
        for _ in range(200):
            try:
                await client.get("/health")
                break
            except httpx.TransportError:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield client
    finally:
        await client.aclose()
        server.stop()
        await asyncio.wait_for(task, 20)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as client:
        yield client


@pytest.fixture
def live_api(settings: Settings) -> Iterator[str]:
    """The API (``serve``) on a loop in its own thread; its base URL, for blocking clients.

    Schemathesis calls are synchronous; the server cannot share their thread.
    """
    started: queue.Queue[Any] = queue.Queue()

    async def main() -> None:
        stop = asyncio.Event()
        try:
            async with serve(settings) as client:
                started.put((str(client.base_url).rstrip("/"), asyncio.get_running_loop(), stop))
                await stop.wait()
        except BaseException as exc:
            started.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    result = started.get(timeout=60)
    if isinstance(result, BaseException):
        raise result
    base, loop, stop = result
    try:
        yield base
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


# -- arranging data ------------------------------------------------------------


async def make_page(api: httpx.AsyncClient, slug: str = "acme", name: str = "Acme") -> dict:
    r = await api.post("/api/pages", json={"slug": slug, "name": name}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def make_endpoint(api: httpx.AsyncClient, page_id: int, **fields: Any) -> dict:
    body = {"page_id": page_id, "name": "Site", "url": "https://example.com/", **fields}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def insert_check(
    db: psycopg.AsyncConnection,
    endpoint_id: int,
    status: str,
    first: datetime,
    last: datetime | None = None,
    *,
    interval: int = 60,
    count: int = 1,
    response_time: int = 100,
    status_code: int | None = 200,
    error: str | None = None,
    update_state: bool = True,
) -> int:
    """A history row written directly, as the checker would leave it."""
    row = await (
        await db.execute(
            "INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count,"
            " interval, response_time, response_time_min, response_time_max, response_time_sum,"
            " status_code, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (
                endpoint_id,
                status,
                first,
                last or first,
                count,
                interval,
                response_time,
                response_time,
                response_time,
                response_time * count,
                status_code,
                error,
            ),
        )
    ).fetchone()
    assert row is not None
    if not update_state:
        return int(row[0])
    await db.execute(
        "UPDATE endpoint_state SET status = %s, open_check_id = %s WHERE endpoint_id = %s",
        (status, row[0], endpoint_id),
    )
    return int(row[0])


def ago(**kwargs: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kwargs)


# -- access (issue 12) -----------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_key(
    api: httpx.AsyncClient, scope: str = "write", name: str | None = None, **fields: Any
) -> dict:
    """An API key made with the admin token; the answer includes its ``token``."""
    body = {"name": name or f"{scope} key", "scope": scope, **fields}
    r = await api.post("/api/keys", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()

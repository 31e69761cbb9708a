"""tcp://host:port against real sockets on loopback: listening, closed, accepting nothing."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from services.checker.probes import probe

from .conftest import claim, free_port


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s
    s.close()


@pytest.fixture
def accepts_nothing() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops every new SYN, connects hang."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.1)
    yield port
    for c in fillers:
        c.close()
    s.close()


async def test_a_listening_port_is_up_and_the_time_is_the_connect_time(session, listening):
    port = listening.getsockname()[1]
    r = await probe(session, claim(f"tcp://127.0.0.1:{port}"))
    assert (r.status, r.status_code, r.error, r.cert_expires_at) == ("up", None, None, None)
    assert 0 <= r.response_ms < 1000
    conn, _ = listening.accept()  # the probe really connected
    conn.close()


async def test_a_name_is_looked_up(session, listening):
    port = listening.getsockname()[1]
    r = await probe(session, claim(f"tcp://localhost:{port}"))
    assert r.status == "up"


async def test_a_closed_port_is_down_refused(session):
    r = await probe(session, claim(f"tcp://127.0.0.1:{free_port()}"))
    assert (r.status, r.error) == ("down", "connection refused")


async def test_a_port_that_accepts_nothing_times_out(session, accepts_nothing):
    started = time.monotonic()
    r = await probe(session, claim(f"tcp://127.0.0.1:{accepts_nothing}", timeout=1))
    assert (r.status, r.error) == ("down", "timeout after 1 s")
    assert 1.0 <= time.monotonic() - started < 2.0
    assert r.response_ms >= 1000


async def test_an_unknown_host_is_down_dns(session):
    r = await probe(session, claim("tcp://no-such-host.invalid:5432"))
    assert (r.status, r.error) == ("down", "DNS lookup failed")

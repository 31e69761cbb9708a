"""`uptimatum dev` (what `make run` runs): the newcomer's first screen tells the truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psycopg
import pytest

from tests.checker.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def test_the_demo_page_is_green_and_100_percent_from_its_first_checks(database_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        PORT=str(port),
        METRICS_PORT=str(free_port()),
        HOST="127.0.0.1",
        DATA_DIR=str(tmp_path / "data"),
        LOG_LEVEL="INFO",
    )
    env.pop("ADMIN_TOKEN", None)
    log = open(tmp_path / "dev.log", "wb")  # noqa: SIM115 - closed below
    dev = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            page = _get(f"http://127.0.0.1:{port}/api/pages/demo")
            if page and page["endpoints"] and all(e["latest"] for e in page["endpoints"]):
                break
            time.sleep(0.2)
        # The first screen: every endpoint up, 100 % over 24 h, no red run at all.
        assert [e["name"] for e in page["endpoints"]] == ["API health", "API readiness"]
        for e in page["endpoints"]:
            assert (e["status"], e["latest"]["status"]) == ("up", "up"), e
            assert (e["uptime"], e["uptimes"]["24h"]) == ("100.00", 100.0), e
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT array_agg(DISTINCT status) FROM checks").fetchone() == (
                ["up"],
            )
        assert (tmp_path / "data" / "admin-token").exists()  # DATA_DIR, through Settings
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            assert dev.wait(30) == 0
        finally:
            log.close()

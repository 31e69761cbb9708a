"""`uptimatum dev`: everything in one process tree, an embedded PostgreSQL when none is configured.

Order matters for a newcomer's first screen: migrate, start the API, wait until
it answers, and only then seed the demo page (whose endpoints watch the API)
and start the checker, so the demo's first checks find the API up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg
from loguru import logger

from services.dev import queries
from shared.migrate import migrate
from shared.settings import Settings, generate_token, load_settings

API_START_TIMEOUT = 60.0  # seconds the API may take to answer /ready
STOP_TIMEOUT = 15.0


def run(settings: Settings) -> int:
    data_dir = Path(settings.data_dir)
    env = dict(os.environ)
    if not settings.database_configured:
        from shared.embedded import start_embedded

        pg_dir = data_dir.resolve() / "pg"
        logger.info("no DATABASE_URL: starting the embedded PostgreSQL in {}", pg_dir)
        env["DATABASE_URL"] = start_embedded(pg_dir)
        settings = load_settings(env, command="dev")
    migrate(settings.conninfo(), directory=settings.migrations_dir)
    token = settings.admin_token or _dev_token(data_dir)
    env["ADMIN_TOKEN"] = token

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    procs = {"api": _child("api", env)}
    base = f"http://{_local(settings.host)}:{settings.port}"
    if _wait_ready(base, procs["api"], lambda: stopping):
        seed_demo(settings)
        procs["checker"] = _child("checker", env)
        print(
            f"\n  Uptimatum is running\n"
            f"  API          {base}/api/pages\n"
            f"  Docs         {base}/reference  (OpenAPI: {base}/doc)\n"
            f"  Status page  {base}/status/demo   (all pages: {base}/status)\n"
            f"  Demo JSON    {base}/api/pages/demo   badge: {base}/badge/demo\n"
            f"  Admin token  {token}\n"
            f"  Ctrl-C stops everything.\n",
            flush=True,
        )
    while not stopping and all(p.poll() is None for p in procs.values()):
        time.sleep(0.2)
    _stop_all(procs)
    logger.info("stopped")
    return 0 if stopping else 1


def seed_demo(settings: Settings) -> None:
    """On an empty database, a demo page whose endpoints watch the API itself."""
    base = f"http://127.0.0.1:{settings.port}"
    with psycopg.connect(settings.conninfo(), autocommit=True) as conn:
        created = conn.execute(queries.SEED_DEMO, {"base": base}).rowcount
    if created:
        logger.info("created the demo page (slug 'demo')")


def _child(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "services.cli", command], env=env)  # noqa: S603


def _local(host: str) -> str:
    """Where this machine reaches an API listening on ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104


def _wait_ready(base: str, api: subprocess.Popen[bytes], stopping: Callable[[], bool]) -> bool:
    """Wait until the API answers /ready (it reaches the database); False if it died,
    did not answer within API_START_TIMEOUT, or we were told to stop."""
    deadline = time.monotonic() + API_START_TIMEOUT
    while not stopping() and api.poll() is None:
        try:
            with urllib.request.urlopen(base + "/ready", timeout=1) as resp:  # noqa: S310
                if resp.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            logger.error("the API did not answer {}/ready within {:.0f} s", base, API_START_TIMEOUT)
            return False
        time.sleep(0.1)
    return False


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for name, p in procs.items():
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("{} did not stop in time; killing it", name)
            p.kill()


def _dev_token(data_dir: Path) -> str:
    """A token generated once and kept beside the data, so it survives restarts."""
    path = data_dir / "admin-token"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token

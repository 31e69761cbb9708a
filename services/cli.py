"""The `uptimatum` command: migrate | api | checker | dev."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loguru import logger

from shared.logging import setup_logging
from shared.settings import Settings, SettingsError, generate_token, load_settings

DEFAULT_DATA_DIR = Path(".data")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"uptimatum: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.migrate import migrate

    settings = _settings()
    setup_logging(settings, service="migrate")
    ran = migrate(settings.conninfo(), rollback=args.rollback)
    logger.info("{} migration(s) {}", ran, "rolled back" if args.rollback else "applied")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings()
    setup_logging(settings, service="api")
    if settings.production and not settings.admin_token:
        logger.warning("ADMIN_TOKEN is not set: every write (POST, PATCH, DELETE) is refused")
    Granian(
        "services.api.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=args.workers,
        log_enabled=False,
    ).serve()
    return 0


def cmd_checker(args: argparse.Namespace) -> int:
    settings = _settings()
    setup_logging(settings, service="checker")
    try:
        from services.checker.main import run
    except ImportError:
        logger.error("the checker service is not built yet")
        return 2
    return run(settings)


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything in one process tree; an embedded PostgreSQL when none is configured."""
    from shared.migrate import migrate

    settings = _settings()
    setup_logging(settings, service="dev")
    env = dict(os.environ)
    if not settings.database_configured:
        from shared.embedded import start_embedded

        data_dir = Path(args.data_dir).resolve()
        logger.info("no DATABASE_URL: starting the embedded PostgreSQL in {}", data_dir / "pg")
        env["DATABASE_URL"] = start_embedded(data_dir / "pg")
        settings = load_settings(env)
    migrate(settings.conninfo())
    token = settings.admin_token or _dev_token(Path(args.data_dir))
    env["ADMIN_TOKEN"] = token
    _seed_demo(settings)

    children = {"api": [sys.executable, "-m", "services.cli", "api"]}
    try:
        import services.checker.main  # noqa: F401

        children["checker"] = [sys.executable, "-m", "services.cli", "checker"]
    except ImportError:
        logger.warning("the checker service is not built yet: no checks will arrive")
    procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in children.items()}  # noqa: S603
    base = f"http://localhost:{settings.port}"
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
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in procs.values()):
        time.sleep(0.2)
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for name, p in procs.items():
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            logger.warning("{} did not stop in time; killing it", name)
            p.kill()
    logger.info("stopped")
    return 0 if stopping else 1


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


def _seed_demo(settings: Settings) -> None:
    """On an empty database, a demo page whose endpoints watch the API itself."""
    import psycopg

    base = f"http://127.0.0.1:{settings.port}"
    with psycopg.connect(settings.conninfo(), autocommit=True) as conn, conn.transaction():
        conn.execute("LOCK TABLE pages IN EXCLUSIVE MODE")
        if conn.execute("SELECT 1 FROM pages LIMIT 1").fetchone():
            return
        row = conn.execute(
            "INSERT INTO pages (slug, name) VALUES ('demo', 'Uptimatum demo') RETURNING id"
        ).fetchone()
        assert row is not None
        for name, path in (("API health", "/health"), ("API readiness", "/ready")):
            conn.execute(
                "INSERT INTO endpoints (page_id, name, url, interval, timeout)"
                " VALUES (%s, %s, %s, 10, 5)",
                (row[0], name, base + path),
            )
    logger.info("created the demo page (slug 'demo')")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="uptimatum", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply the database migrations (idempotent)")
    p.add_argument("--rollback", action="store_true", help="roll back instead")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("api", help="serve the HTTP API on HOST:PORT")
    p.add_argument("--workers", type=int, default=int(os.environ.get("API_WORKERS", "1")))
    p.set_defaults(func=cmd_api)
    p = sub.add_parser("checker", help="probe the endpoints and record the results")
    p.set_defaults(func=cmd_checker)
    p = sub.add_parser("dev", help="migrate, then run the api and a checker together")
    p.add_argument("--data-dir", default=os.environ.get("DATA_DIR", str(DEFAULT_DATA_DIR)))
    p.set_defaults(func=cmd_dev)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

"""The `uptimatum` command: migrate | api | checker | dev."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

import msgspec
from loguru import logger

from shared.logging import setup_logging
from shared.settings import Settings, SettingsError, load_settings


def _settings(command: str) -> Settings:
    try:
        return load_settings(command=command)
    except SettingsError as exc:
        _stop(str(exc))


def _stop(message: str) -> NoReturn:
    """A configuration error: one line, exit code 2, no traceback."""
    print(f"uptimatum: {message}", file=sys.stderr)
    raise SystemExit(2)


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.migrate import migrate

    settings = _settings("migrate")
    setup_logging(settings, service="migrate")
    try:
        ran = migrate(
            settings.conninfo(), rollback=args.rollback, directory=settings.migrations_dir
        )
    except FileNotFoundError as exc:
        _stop(str(exc))
    logger.info("{} migration(s) {}", ran, "rolled back" if args.rollback else "applied")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings("api")
    setup_logging(settings, service="api")
    if settings.production and not settings.admin_token:
        logger.warning("ADMIN_TOKEN is not set: every write (POST, PATCH, DELETE) is refused")
    Granian(
        "services.api.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=args.workers or settings.api_workers,
        log_enabled=False,
    ).serve()
    return 0


def cmd_checker(args: argparse.Namespace) -> int:
    settings = _settings("checker")
    setup_logging(settings, service="checker")
    from services.checker.main import run

    return run(settings)


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything in one process tree; an embedded PostgreSQL when none is configured."""
    from services.dev.main import run

    settings = _settings("dev")
    if args.data_dir:
        settings = msgspec.structs.replace(settings, data_dir=args.data_dir)
    setup_logging(settings, service="dev")
    try:
        return run(settings)
    except FileNotFoundError as exc:  # MIGRATIONS_DIR
        _stop(str(exc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="uptimatum", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("migrate", help="apply the database migrations (idempotent)")
    p.add_argument("--rollback", action="store_true", help="roll back instead")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("api", help="serve the HTTP API on HOST:PORT")
    p.add_argument("--workers", type=int, help="worker processes (default: API_WORKERS)")
    p.set_defaults(func=cmd_api)
    p = sub.add_parser("checker", help="probe the endpoints and record the results")
    p.set_defaults(func=cmd_checker)
    p = sub.add_parser("dev", help="migrate, then run the api and a checker together")
    p.add_argument("--data-dir", help="embedded database and admin token (default: DATA_DIR)")
    p.set_defaults(func=cmd_dev)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

"""Apply the yoyo migrations under ``migrations/``; safe when replicas race."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from loguru import logger
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

# Any constant will do, as long as every migrating process uses the same one.
MIGRATION_LOCK = 0x0757_1A70


def migrations_dir(configured: str | None = None) -> Path:
    """``configured`` (Settings.migrations_dir), else the checkout's or the image's."""
    if configured:
        if not Path(configured).is_dir():
            raise FileNotFoundError(f"MIGRATIONS_DIR={configured!r} is not a directory")
        return Path(configured)
    for candidate in (Path(__file__).resolve().parents[1] / "migrations", Path("/app/migrations")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("no migrations directory found; set MIGRATIONS_DIR")


def yoyo_uri(conninfo: str) -> str:
    """yoyo wants a URL; pass every libpq parameter through as a query argument."""
    params = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    dbname = params.pop("dbname", "")
    return f"postgresql+psycopg:///{quote(dbname)}?{urlencode(params)}"


def migrate(conninfo: str, *, rollback: bool = False, directory: str | None = None) -> int:
    """Apply (or roll back) migrations; returns how many ran.

    yoyo's own lock table is created racily by ``get_backend``, so the whole run
    happens under a session advisory lock held on a separate connection.
    """
    migrations = read_migrations(str(migrations_dir(directory)))
    with psycopg.connect(conninfo, autocommit=True) as guard:
        guard.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            backend = get_backend(yoyo_uri(conninfo))
            with backend.lock():
                if rollback:
                    todo = backend.to_rollback(migrations)
                    backend.rollback_migrations(todo)
                else:
                    todo = backend.to_apply(migrations)
                    backend.apply_migrations(todo)
            backend.connection.close()
        finally:
            guard.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    for m in todo:
        logger.info("migration {} {}", "rolled back" if rollback else "applied", m.id)
    return len(todo)

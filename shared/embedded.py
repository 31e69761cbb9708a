"""An embedded PostgreSQL 16 (the ``pgserver`` package) for `uptimatum dev` and the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


def start_embedded(data_dir: Path, *, dbname: str = "uptimatum", cleanup: str = "stop") -> str:
    """Start (or reuse) the server whose data lives in ``data_dir``; return a conninfo.

    ``cleanup`` is pgserver's mode: ``stop`` stops it when this process exits,
    ``delete`` also removes the data directory.
    """
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SystemExit(
            "No database is configured (DATABASE_URL or DB_HOST) and the embedded "
            "PostgreSQL is not installed: pip install 'uptimatum[embedded]'"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    server: Any = pgserver.get_server(data_dir, cleanup_mode=cleanup)
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return admin.replace("/postgres?", f"/{dbname}?", 1)

"""The migrations build the schema services/README.md describes, and roll back cleanly."""

import psycopg
import pytest

from shared.migrate import migrate


def _tables(conninfo: str) -> set[str]:
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT LIKE '%yoyo%'"
        ).fetchall()
    return {r[0] for r in rows}


def test_schema_has_every_table(database_url):
    assert _tables(database_url) == {
        "pages",
        "endpoints",
        "endpoint_state",
        "checks",
        "incidents",
        "incident_updates",
        "incident_endpoints",
        "maintenances",
        "maintenance_endpoints",
        "maintenance_occurrences",
        "uptime_daily",
        "api_keys",
        "sessions",
        "audit_log",
        "channels",
        "alert_rules",
        "events",
        "deliveries",
    }


def test_migrate_is_idempotent_and_rolls_back(database_url):
    assert migrate(database_url) == 0
    assert migrate(database_url, rollback=True) >= 1
    assert _tables(database_url) == set()
    assert migrate(database_url) >= 1
    assert "checks" in _tables(database_url)


def test_concurrent_migrations_do_not_collide(pg_server):
    import threading
    import uuid

    from tests.conftest import _with_db

    name = f"uptimatum_race_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(pg_server, name)
    results: list[object] = []

    def run() -> None:
        try:
            results.append(migrate(url))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        # one run applies every migration (0001 and the services' own), the others none
        from yoyo import read_migrations

        from shared.migrate import migrations_dir

        every = len(read_migrations(str(migrations_dir())))
        assert sorted(results) == [0, 0, every], results  # type: ignore[type-var]
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("op", ["insert", "update", "delete"])
def test_endpoint_changes_notify_with_the_id(database_url, op):
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        listener.execute("LISTEN endpoint_changes")
        page = conn.execute(
            "INSERT INTO pages (slug, name) VALUES ('p', 'P') RETURNING id"
        ).fetchone()
        ep = conn.execute(
            "INSERT INTO endpoints (page_id, name, url) VALUES (%s, 'e', 'http://x') RETURNING id",
            (page[0],),
        ).fetchone()[0]
        if op == "update":
            conn.execute("UPDATE endpoints SET url = 'http://y' WHERE id = %s", (ep,))
        elif op == "delete":
            conn.execute("DELETE FROM endpoints WHERE id = %s", (ep,))
        expected = 1 if op == "insert" else 2  # the insert, then the update or delete
        payloads = [n.payload for n in listener.notifies(timeout=1, stop_after=expected + 1)]
        assert payloads == [str(ep)] * expected

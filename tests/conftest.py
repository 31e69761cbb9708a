"""Test databases: one PostgreSQL for the session, a migrated template, a clean DB per test.

``TEST_DATABASE_URL`` names a server to use (any database on it; we create our
own). Without it, an embedded PostgreSQL 16 is started for the session.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from shared.migrate import migrate
from shared.settings import Settings, load_settings


def _with_db(conninfo: str, dbname: str) -> str:
    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A conninfo for a maintenance database on the test server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from shared.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="uptimatum-test-pg-") as tmp:
        yield start_embedded(Path(tmp) / "pg", dbname="postgres", cleanup="delete")


@pytest.fixture(scope="session")
def template_db(pg_server: str) -> Iterator[str]:
    """A database migrated once; every test's database is a copy of it."""
    name = f"uptimatum_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate(_with_db(pg_server, name))
    yield name
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def cloned_database(pg_server: str, template_db: str, prefix: str) -> Iterator[str]:
    """A copy of the migrated template, dropped afterwards; yields its conninfo."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    try:
        yield _with_db(pg_server, name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated, empty database for this test alone."""
    with cloned_database(pg_server, template_db, "uptimatum_t") as url:
        yield url


@pytest.fixture
def empty_database_url(pg_server: str) -> Iterator[str]:
    """A database with no schema at all (nothing migrated), for this test alone."""
    name = f"uptimatum_e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(pg_server, name)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(
        {},
        database_url=database_url,
        admin_token="test-admin-token",
        host="127.0.0.1",
        log_level="WARNING",
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """A direct autocommit connection to the test's database, for arranging and asserting."""
    conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
    try:
        yield conn
    finally:
        await conn.close()

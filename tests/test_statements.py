"""Every named SQL statement PREPAREs against the migrated schema.

A renamed column or a parameter PostgreSQL cannot type fails here, not in
production. Utility statements (LISTEN, SET) cannot be prepared; they are run
inside a transaction that is rolled back.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from types import ModuleType

import psycopg
import pytest

from tests.conftest import cloned_database

MODULES = [
    "services.api.queries",
    "services.checker.queries",
    "services.dev.queries",
    "shared.queries",
]
_NAMED = re.compile(r"%\((\w+)\)s")
_UTILITY = ("LISTEN", "UNLISTEN", "SET", "NOTIFY", "RESET")


def _modules() -> list[ModuleType]:
    """Every module of MODULES; one that cannot be imported fails the run (never skipped)."""
    return [importlib.import_module(name) for name in MODULES]


def _statements() -> list[tuple[str, str]]:
    return [
        (f"{module.__name__}.{name}", value)
        for module in _modules()
        for name, value in vars(module).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str)
    ]


def to_dollar(sql: str) -> str:
    """``%(name)s`` / ``%s`` placeholders -> ``$1``, ``$2`` … (one number per name)."""
    numbers: dict[str, int] = {}

    def named(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    sql = _NAMED.sub(named, sql)
    positional = iter(range(len(numbers) + 1, 10_000))
    sql = re.sub(r"(?<!%)%s", lambda _: f"${next(positional)}", sql)
    return sql.replace("%%", "%")


@pytest.fixture(scope="module")
def schema_url(pg_server: str, template_db: str) -> Iterator[str]:
    """One migrated database for every statement of this module (nothing is written)."""
    with cloned_database(pg_server, template_db, "uptimatum_stmt") as url:
        yield url


def test_a_queries_module_that_cannot_be_imported_fails(monkeypatch):
    monkeypatch.setattr(f"{__name__}.MODULES", [*MODULES, "services.no_such_service.queries"])
    with pytest.raises(ModuleNotFoundError):
        _modules()
    with pytest.raises(ModuleNotFoundError):
        _statements()


def test_there_are_statements_to_check():
    names = {name for name, _ in _statements()}
    assert "services.api.queries.PAGE_STATUS" in names
    assert "shared.queries.SESSION_DEFAULTS" in names


@pytest.mark.parametrize(("name", "sql"), _statements(), ids=lambda v: v if "." in v else "")
async def test_statement_prepares(name: str, sql: str, schema_url: str) -> None:
    statement = to_dollar(sql).strip()
    async with await psycopg.AsyncConnection.connect(schema_url) as conn:
        try:
            if statement.split(None, 1)[0].upper() in _UTILITY:
                await conn.execute(statement)
            else:
                await conn.execute(f"PREPARE uptimatum_check AS {statement}")
        except psycopg.Error as exc:
            pytest.fail(f"{name} does not prepare: {exc}\n{statement}")
        finally:
            await conn.rollback()

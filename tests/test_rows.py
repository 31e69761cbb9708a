"""Rows become Structs by column name (shared.db.struct_row), never by position."""

from __future__ import annotations

import msgspec
import pytest

from shared.db import create_pool, fetch_structs


class Pair(msgspec.Struct):
    key: int
    label: str
    extra: list[int] | None


@pytest.fixture
async def pool(settings):
    pool = create_pool(settings, name="rows-test", min_size=0, max_size=1)
    await pool.open()
    yield pool
    await pool.close()


async def test_columns_are_matched_by_name_in_any_order(pool):
    rows = await fetch_structs(
        pool,
        "SELECT 'ignored' AS other, ARRAY[1, 2] AS extra, 'a' AS label, 7 AS key"
        " UNION ALL SELECT 'x', NULL, 'b', 8",
        None,
        Pair,
    )
    assert rows == [Pair(key=7, label="a", extra=[1, 2]), Pair(key=8, label="b", extra=None)]


async def test_a_row_whose_first_field_is_null_is_none(pool):
    rows = await fetch_structs(
        pool, "SELECT NULL::int AS key, NULL AS label, NULL AS extra", None, Pair
    )
    assert rows == [None]


async def test_a_missing_column_is_named(pool):
    with pytest.raises(LookupError, match="Pair: the result has no column extra"):
        await fetch_structs(pool, "SELECT 1 AS key, 'a' AS label", None, Pair)

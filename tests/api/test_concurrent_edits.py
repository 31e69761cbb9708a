"""Concurrent PATCHes of different fields both stick: each sets only what it was sent.

Each round sends two PATCHes over real HTTP from two clients at once while the
test holds the row's lock, and lets go once both statements wait on it, so the
two really overlap in the database (not one after the other by luck); then
both values must be there. The old read-then-write-every-column PATCH lost one
of them in every round.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx
import psycopg
import pytest

from services.api import queries as q
from services.api.models import EndpointUpdate, IncidentUpdate, PageUpdate
from tests.api.conftest import AUTH, make_endpoint, make_page

ROUNDS = 50


@pytest.fixture
async def other(api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second client with connections of its own."""
    async with httpx.AsyncClient(base_url=api.base_url, timeout=20) as client:
        yield client


async def _waiting_on_locks(db: psycopg.AsyncConnection) -> int:
    cur = await db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name LIKE 'uptimatum-api%%' AND wait_event_type = 'Lock'"
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def overlapping(
    database_url: str,
    db: psycopg.AsyncConnection,
    lock_sql: str,
    lock_id: int,
    *sends: Coroutine[Any, Any, httpx.Response],
) -> list[httpx.Response]:
    """Send ``sends`` at once while the row is locked; release it when all wait (or after 5 s)."""
    async with await psycopg.AsyncConnection.connect(database_url) as locker:
        async with locker.transaction():
            await locker.execute(lock_sql, (lock_id,))
            tasks = [asyncio.ensure_future(send) for send in sends]
            for _ in range(500):
                if await _waiting_on_locks(db) >= len(sends) or any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.01)
        return list(await asyncio.gather(*tasks))


async def test_endpoint_name_and_url(api, other, db, database_url):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    path = f"/api/endpoints/{endpoint['id']}"
    for i in range(ROUNDS):
        name, url = f"Name {i}", f"https://example.com/{i}"
        answers = await overlapping(
            database_url, db, "SELECT 1 FROM endpoints WHERE id = %s FOR UPDATE", endpoint["id"],
            api.patch(path, json={"name": name}, headers=AUTH),
            other.patch(path, json={"url": url}, headers=AUTH),
        )  # fmt: skip
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        now = (await api.get(path)).json()
        assert (now["name"], now["url"]) == (name, url), f"round {i}"


async def test_page_name_and_slug(api, other, db, database_url):
    page = await make_page(api, "p-start")
    slug = page["slug"]
    for i in range(ROUNDS):
        name, new_slug = f"Name {i}", f"p-{i}"
        answers = await overlapping(
            database_url, db, "SELECT 1 FROM pages WHERE id = %s FOR UPDATE", page["id"],
            api.patch(f"/api/pages/{slug}", json={"name": name}, headers=AUTH),
            other.patch(f"/api/pages/{slug}", json={"slug": new_slug}, headers=AUTH),
        )  # fmt: skip
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        slug = new_slug
        now = (await api.get(f"/api/pages/{slug}")).json()
        assert (now["id"], now["name"]) == (page["id"], name), f"round {i}"


async def test_incident_title_and_description(api, other, db, database_url):
    page = await make_page(api)
    r = await api.post("/api/incidents", json={"page_id": page["id"], "title": "T"}, headers=AUTH)
    incident = r.json()
    path = f"/api/incidents/{incident['id']}"
    for i in range(ROUNDS):
        title, description = f"Title {i}", f"Description {i}"
        status = "resolved" if i % 2 else "monitoring"
        answers = await overlapping(
            database_url, db, "SELECT 1 FROM incidents WHERE id = %s FOR UPDATE", incident["id"],
            api.patch(path, json={"title": title}, headers=AUTH),
            other.patch(path, json={"description": description, "status": status}, headers=AUTH),
        )  # fmt: skip
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        rows = (await api.get("/api/incidents", params={"page_id": page["id"]})).json()
        now = rows[0]
        assert (now["title"], now["description"], now["status"]) == (title, description, status)
        assert (now["resolvedAt"] is not None) == (status == "resolved")


async def test_a_refused_patch_names_the_merged_values_and_writes_nothing(api, db):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"], interval=60, timeout=30)
    path = f"/api/endpoints/{endpoint['id']}"
    r = await api.patch(path, json={"interval": 20, "name": "New"}, headers=AUTH)
    assert r.status_code == 400  # the merged endpoint: stored timeout 30, interval 20
    assert r.json() == {"error": "timeout (30 s) must not be above interval (20 s)"}
    r = await api.patch(path, json={"timeout": 61 - 1, "interval": 30}, headers=AUTH)
    assert r.status_code == 400
    assert r.json() == {"error": "timeout (60 s) must not be above interval (30 s)"}
    await api.patch(path, json={"interval": 30, "timeout": 30}, headers=AUTH)
    r = await api.patch(path, json={"timeout": 60}, headers=AUTH)  # against interval 30
    assert r.status_code == 400
    assert r.json() == {"error": "timeout (60 s) must not be above interval (30 s)"}
    r = await api.patch(path, json={"timeout": 45, "url": "https://example.org/"}, headers=AUTH)
    assert r.status_code == 400
    assert r.json() == {"error": "timeout (45 s) must not be above interval (30 s)"}
    now = (await api.get(path)).json()
    assert (now["name"], now["url"], now["interval"], now["timeout"]) == (
        "Site", "https://example.com/", 30, 30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "columns"),
    [
        (EndpointUpdate, q._ENDPOINT_PATCHABLE),
        (PageUpdate, q._PAGE_PATCHABLE),
        (IncidentUpdate, q._INCIDENT_PATCHABLE + ", " + q._INCIDENT_PATCH_RELATIONS),
    ],
)
def test_every_patch_field_is_a_patchable_column(body, columns):
    """A field added to a PATCH body must be added to its statement's list (one line)."""
    assert set(body.__struct_fields__) == {c.strip() for c in columns.split(",")}

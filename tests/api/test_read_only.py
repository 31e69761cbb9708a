"""Reads never write: every GET route answers under a role that may only SELECT.

The role is what a read replica or a read-only database user gives the API:
CONNECT, USAGE on the schema, SELECT on the tables, and every transaction
read-only. The page's days were never rolled up, so its 7/30/90-day figures are
computed on the fly; after the checker's rollup stores them they are the same.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.api.app import create_app
from services.api.routes.pages_html import ASSETS
from services.checker.retention import roll_up
from tests.api.conftest import AUTH, insert_check, make_endpoint, make_page, serve


@pytest.fixture
def reader_url(database_url: str) -> Iterator[str]:
    """A login role granted only SELECT (and CONNECT, USAGE), its transactions read-only."""
    role, password = f"uptimatum_ro_{secrets.token_hex(6)}", secrets.token_hex(16)
    params = conninfo_to_dict(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        ident = sql.Identifier(role)
        for statement in (
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password)),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(params["dbname"]), ident
            ),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(ident),
            sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(ident),
        ):
            conn.execute(statement)
    try:
        yield make_conninfo("", **{**params, "user": role, "password": password})
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


async def arrange(api, db) -> dict:
    page = await make_page(api)
    ids = {"page": page["id"]}
    for n in range(3):
        endpoint = (await make_endpoint(api, page["id"], name=f"e{n}"))["id"]
        ids[f"e{n}"] = endpoint
        for d in range(40, 0, -1):  # 40 closed days, never rolled up, and today
            start = midnight(d) + timedelta(hours=n + 1)
            status = "down" if (d + n) % 5 == 0 else "up"
            await insert_check(db, endpoint, status, start, start + timedelta(hours=2 + d % 3))
        await insert_check(db, endpoint, "degraded", datetime.now(UTC) - timedelta(minutes=30),
                           datetime.now(UTC) - timedelta(minutes=1), interval=60)  # fmt: skip
    r = await api.post(
        "/api/incidents", json={"page_id": page["id"], "title": "Slow"}, headers=AUTH
    )
    ids["incident"] = r.json()["id"]
    r = await api.post("/api/keys", json={"name": "reader", "scope": "admin"}, headers=AUTH)
    assert r.status_code == 201, r.text
    ids["key"], ids["token"] = r.json()["id"], r.json()["token"]
    return ids


def read_routes(ids: dict) -> list[str]:
    e = ids["e0"]
    return [
        "/api/login",
        "/api/keys",
        f"/api/keys/{ids['key']}",
        "/api/audit",
        "/health",
        "/ready",
        "/doc",
        "/reference",
        "/api/pages",
        "/api/pages/acme",
        "/api/pages/acme/timeline?hours=2160",
        f"/api/endpoints/{e}",
        f"/api/endpoints/{e}/history",
        f"/api/incidents?page_id={ids['page']}",
        "/badge/acme",
        "/status",
        "/status/acme",
        "/status/acme/embed",
        ASSETS["css"].url,
        f"/api/maintenances?page_id={ids['page']}",
        "/api/maintenances/999",  # none: a 404, still answered by a read
        f"/api/events?page_id={ids['page']}",
        "/api/channels",
        "/api/channels/999",  # none: a 404
        f"/api/alert-rules?page_id={ids['page']}",
        "/api/deliveries?state=pending",
        *(f"/status/acme/{tail}" for tail in STATUS_FEEDS),
    ]


STATUS_FEEDS = [
    "api/v2/components.json", "api/v2/incidents.json", "api/v2/incidents/unresolved.json",
    "api/v2/scheduled-maintenances.json", "api/v2/scheduled-maintenances/active.json",
    "api/v2/scheduled-maintenances/upcoming.json", "api/v2/status.json", "api/v2/summary.json",
    "feed.atom", "feed.rss",
]  # fmt: skip


def test_every_get_route_is_read_here(settings):
    """A new GET route must be added to read_routes (so it is checked read-only too)."""
    app = create_app(settings)
    templates = {r.path for r in app.routes if "GET" in getattr(r, "methods", ())} - {
        "/_openapi",
        "/_openapi/openapi.json",
        "/_openapi/",
    }
    checked = {
        "/health", "/ready", "/doc", "/reference", "/api/pages", "/api/pages/{slug:str}",
        "/api/pages/{slug:str}/timeline", "/api/endpoints/{endpoint_id:str}",
        "/api/endpoints/{endpoint_id:str}/history", "/api/incidents", "/badge/{slug:str}",
        "/api/login", "/api/keys", "/api/keys/{key_id:str}", "/api/audit", "/status",
        "/status/{slug:str}", "/status/{slug:str}/embed", "/static/{name:str}",
        "/api/maintenances", "/api/maintenances/{maintenance_id:str}",
        "/api/events", "/api/channels", "/api/channels/{channel_id:str}", "/api/alert-rules",
        "/api/deliveries",
        *(f"/status/{{slug:str}}/{tail}" for tail in STATUS_FEEDS),
    }  # fmt: skip
    assert {t for t in templates if not t.startswith("/_openapi")} == checked


async def uptimes(client) -> dict[int, dict]:
    r = await client.get("/api/pages/acme")
    assert r.status_code == 200, r.text
    return {e["id"]: e["uptimes"] for e in r.json()["endpoints"]}


async def test_get_routes_work_under_a_select_only_role(api, db, settings, reader_url):
    ids = await arrange(api, db)
    reader = msgspec.structs.replace(settings, database_url=reader_url)
    async with serve(reader) as ro:
        for path in read_routes(ids):
            for credential in (AUTH, {"Authorization": f"Bearer {ids['token']}"}):
                r = await ro.get(path, headers=credential)  # the key's use is not stored
                expected = 404 if path.endswith("/999") else 200
                assert r.status_code == expected, (path, r.status_code, r.text)
        on_the_fly = await uptimes(ro)
        # and the role really cannot write
        r = await ro.post("/api/pages", json={"slug": "x", "name": "x"}, headers=AUTH)
        assert r.status_code >= 400
    cur = await db.execute("SELECT count(*) FROM uptime_daily")
    assert await cur.fetchone() == (0,)  # nothing was stored by the reads
    assert all(f["7d"] is not None and f["90d"] is not None for f in on_the_fly.values())
    assert len({f["30d"] for f in on_the_fly.values()}) > 1  # the endpoints differ

    async with await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True) as c:
        assert await roll_up(c) >= 3 * 40  # the checker's rollup stores the days
    stored = await uptimes(api)
    assert stored == on_the_fly
    async with serve(reader) as ro:
        assert await uptimes(ro) == on_the_fly

"""Every scope against every route that declares one, read from the app itself.

A write route added without ``**scope(...)`` (or ``**unscoped(reason)``, for the
login and logout only) fails ``test_every_write_route_declares_a_scope``; one
added with a scope is exercised by every key of the table at once.
"""

from __future__ import annotations

import re

import pytest

from services.api.app import create_app
from services.api.auth import RANK, SCOPES, WRITES
from tests.api.conftest import AUTH, bearer, make_endpoint, make_key, make_page

# The only writes without a scope, and why (a new one must be added here on purpose).
UNSCOPED = {
    ("POST", "/api/login"): "checks the token it is sent",
    ("POST", "/api/logout"): "ends the session of its own cookie",
}
MISSING_ID = "987654321"  # fills every path parameter: nothing is found, nothing written


def routes(settings) -> list[tuple[str, str, dict]]:
    """(method, path template, opt) of every route handler of the app."""
    app = create_app(settings)
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                found.append((method, route.path_format, handler.opt))
    return found


def scoped(settings) -> list[tuple[str, str, str]]:
    return [(m, p, opt["scope"]) for m, p, opt in routes(settings) if "scope" in opt]


def test_every_write_route_declares_a_scope(settings):
    writes = [(m, p, opt) for m, p, opt in routes(settings) if m in WRITES]
    assert len(writes) >= 12  # pages, endpoints, incidents, keys, sessions
    for method, path, opt in writes:
        if "scope" in opt:
            assert opt["scope"] in SCOPES, (method, path)
        else:
            assert (method, path) in UNSCOPED, f"{method} {path} declares no scope"
            assert opt.get("unscoped"), (method, path)
    assert {(m, p) for m, p, opt in writes if "scope" not in opt} == set(UNSCOPED)


def test_the_declared_scopes(settings):
    """The issue's table: incidents may open and update incidents; keys need admin."""
    table = {(m, p): s for m, p, s in scoped(settings)}
    assert table[("POST", "/api/incidents")] == "incidents"
    assert table[("PATCH", "/api/incidents/{incident_id}")] == "incidents"
    assert table[("DELETE", "/api/incidents/{incident_id}")] == "write"
    for m, p in (("POST", "/api/pages"), ("PATCH", "/api/endpoints/{endpoint_id}")):
        assert table[(m, p)] == "write"
    for m in ("POST", "GET"):
        assert table[(m, "/api/keys")] == "admin"
    assert table[("DELETE", "/api/keys/{key_id}")] == "admin"
    assert table[("GET", "/api/audit")] == "admin"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", MISSING_ID, path)


async def test_every_scope_against_every_route(api, settings, db):
    table = scoped(settings)
    keys = {name: (await make_key(api, name))["token"] for name in SCOPES}
    before = await _counts(db)
    for method, path, need in table:
        url = _fill(path)
        body = {} if method in ("POST", "PATCH", "PUT") else None
        r = await api.request(method, url, json=body)
        assert r.status_code == 401, (method, path, r.text)
        assert f"'{need}'" in r.json()["error"], (method, path)
        for name, token in [*keys.items(), ("admin token", None)]:
            headers = AUTH if token is None else bearer(token)
            r = await api.request(method, url, json=body, headers=headers)
            allowed = token is None or RANK[name] >= RANK[need]
            if allowed:
                assert r.status_code not in (401, 403), (name, method, path, r.text)
            else:
                assert r.status_code == 403, (name, method, path, r.text)
                message = r.json()["error"]
                assert f"the '{name}' scope" in message
                assert f"needs '{need}'" in message
    assert await _counts(db) == before  # every request was refused or found nothing


async def _counts(db) -> tuple[int, ...]:
    row = await (
        await db.execute(
            "SELECT (SELECT count(*) FROM pages), (SELECT count(*) FROM endpoints),"
            " (SELECT count(*) FROM incidents), (SELECT count(*) FROM api_keys),"
            " (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL)"
        )
    ).fetchone()
    return tuple(row)


async def test_every_scoped_route_documents_401_and_403(api, settings):
    doc = (await api.get("/doc")).json()
    for method, path, _need in scoped(settings):
        operation = doc["paths"][path][method.lower()]
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
        assert operation["security"], (method, path)


async def test_public_reads_need_nothing(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    for path in (
        "/api/pages",
        "/api/pages/acme",
        "/api/pages/acme/timeline",
        f"/api/endpoints/{endpoint['id']}",
        f"/api/endpoints/{endpoint['id']}/history",
        f"/api/incidents?page_id={page['id']}",
        "/badge/acme",
    ):
        r = await api.get(path, headers={"Authorization": "Bearer upt_garbage"})
        assert r.status_code == 200, path  # a credential on a public read is not even looked at


@pytest.mark.parametrize("scope", ["incidents", "write"])
async def test_incident_scope_opens_and_updates_incidents(api, scope):
    page = await make_page(api)
    headers = bearer((await make_key(api, scope))["token"])
    r = await api.post(
        "/api/incidents", json={"page_id": page["id"], "title": "Slow"}, headers=headers
    )
    assert r.status_code == 201
    incident = r.json()["id"]
    r = await api.patch(f"/api/incidents/{incident}", json={"status": "resolved"}, headers=headers)
    assert r.status_code == 200
    r = await api.delete(f"/api/incidents/{incident}", headers=headers)
    assert r.status_code == (200 if scope == "write" else 403)
    r = await api.patch("/api/pages/acme", json={"name": "X"}, headers=headers)
    assert r.status_code == (200 if scope == "write" else 403)

"""The audit log: the rows of a sequence of writes, who made them, paging, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from services.checker.retention import run_retention
from tests.api.conftest import AUTH, TOKEN, bearer, make_key


async def audit(api, **params) -> list[dict]:
    r = await api.get("/api/audit", params=params, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_rows_of_a_sequence_of_writes(api):
    ci = await make_key(api, "write", name="ci")
    ci_headers = bearer(ci["token"])
    origin = {"Origin": str(api.base_url).rstrip("/")}

    page = (
        await api.post("/api/pages", json={"slug": "acme", "name": "Acme"}, headers=AUTH)
    ).json()
    endpoint = (
        await api.post(
            "/api/endpoints",
            json={"page_id": page["id"], "name": "Web", "url": "https://example.com/"},
            headers=ci_headers,
        )
    ).json()
    path = f"/api/endpoints/{endpoint['id']}"
    assert (
        await api.patch(path, json={"active": False, "name": "W"}, headers=ci_headers)
    ).is_success
    # Refused and failed writes leave no row.
    assert (await api.patch(path, json={"interval": 1}, headers=ci_headers)).status_code == 400
    assert (await api.patch(path, json={"name": "x"})).status_code == 401
    assert (await api.delete("/api/endpoints/987654", headers=ci_headers)).status_code == 404
    async with api.__class__(base_url=str(api.base_url), timeout=20) as browser:
        r = await browser.post("/api/login", data={"token": ci["token"]})
        assert r.status_code == 303
        r = await browser.patch(path, json={"active": True}, headers={})  # no Origin: 403
        assert r.status_code == 403
        r = await browser.delete(path, headers=origin)
        assert r.status_code == 200
        r = await browser.post("/api/logout", headers=origin)
        assert r.status_code == 200
    r = await api.delete(f"/api/keys/{ci['id']}", headers=AUTH)
    assert r.status_code == 200

    rows = await audit(api)
    assert [set(row) for row in rows] == [{"id", "at", "actor", "action", "target", "summary"}] * 8
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True)  # newest first
    times = [row["at"] for row in rows]
    assert times == sorted(times, reverse=True)
    actor = f"key {ci['id']} (ci)"
    got = [(r["actor"], r["action"], r["target"], r["summary"]) for r in reversed(rows)]
    session = got[4][2]
    assert session.startswith("session ")
    expected = [
        ("admin token", "POST /api/keys", f"key {ci['id']}", "name, scope"),
        ("admin token", "POST /api/pages", f"page {page['id']}", "slug, name"),
        (actor, "POST /api/endpoints", f"endpoint {endpoint['id']}", "page_id, name, url"),
        (actor, "PATCH /api/endpoints/{id}", f"endpoint {endpoint['id']}", "active, name"),
        (actor, "POST /api/login", session, "logged in"),
        (actor, "DELETE /api/endpoints/{id}", f"endpoint {endpoint['id']}", "deleted"),
        (actor, "POST /api/logout", session, "logged out"),
        ("admin token", "DELETE /api/keys/{id}", f"key {ci['id']}", "deleted"),
    ]
    assert got == expected
    for row in rows:
        assert ci["token"] not in str(row)
        assert TOKEN not in str(row)


async def test_paging_with_limit_and_before(api):
    for n in range(5):
        await api.post("/api/pages", json={"slug": f"p{n}", "name": f"P{n}"}, headers=AUTH)
    everything = await audit(api)
    assert len(everything) == 5
    first = await audit(api, limit=2)
    assert first == everything[:2]
    rest = await audit(api, limit=2, before=first[-1]["id"])
    assert rest == everything[2:4]
    by_time = await audit(api, before=everything[1]["at"])
    assert by_time == everything[2:]
    for params in ({"limit": 0}, {"limit": 1001}, {"before": "yesterday"}, {"before": "-1"}):
        r = await api.get("/api/audit", params=params, headers=AUTH)
        assert r.status_code == 400, params
        assert "error" in r.json()


async def test_only_admin_reads_the_audit_log(api):
    write = await make_key(api, "write")
    r = await api.get("/api/audit", headers=bearer(write["token"]))
    assert r.status_code == 403
    assert "needs 'admin'" in r.json()["error"]
    assert (await api.get("/api/audit")).status_code == 401
    admin = await make_key(api, "admin")
    assert (await api.get("/api/audit", headers=bearer(admin["token"]))).status_code == 200


async def test_retention_deletes_audit_rows_past_audit_retention_days(api, db, settings):
    await api.post("/api/pages", json={"slug": "a", "name": "A"}, headers=AUTH)
    await db.execute(
        "INSERT INTO audit_log (at, actor, action, target, summary)"
        " SELECT now() - d * interval '1 day', 'admin token', 'POST /api/pages', 'page 1', 'name'"
        "   FROM generate_series(1, 400) d"
    )
    kept = msgspec.structs.replace(settings, audit_retention_days=30)
    await run_retention(db, kept, now=datetime.now(UTC))
    rows = await (await db.execute("SELECT min(at), count(*) FROM audit_log")).fetchone()
    assert rows[1] == 1 + 29  # today's write, and the rows of the last 29 whole days
    assert datetime.now(UTC) - rows[0] < timedelta(days=30)
    assert settings.audit_retention_days == 365  # the default


async def test_a_page_is_named_by_its_id_in_every_row(api):
    page = (await api.post("/api/pages", json={"slug": "a", "name": "A"}, headers=AUTH)).json()
    assert (await api.patch("/api/pages/a", json={"slug": "b"}, headers=AUTH)).is_success
    assert (await api.delete("/api/pages/b", headers=AUTH)).is_success
    rows = await audit(api)
    assert [(r["action"], r["target"]) for r in reversed(rows)] == [
        ("POST /api/pages", f"page {page['id']}"),
        ("PATCH /api/pages/{slug}", f"page {page['id']}"),
        ("DELETE /api/pages/{slug}", f"page {page['id']}"),
    ]

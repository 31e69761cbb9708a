"""Pages: list, read, create, change, delete; shapes, order, errors."""

from __future__ import annotations

import re

from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PAGE_FIELDS = {"id", "slug", "name", "createdAt"}
ENDPOINT_FIELDS = {
    "id",
    "pageId",
    "name",
    "url",
    "method",
    "interval",
    "timeout",
    "active",
    "createdAt",
    "expectedStatus",
    "degradedThresholdMs",
    "keyword",
    "failureThreshold",
    "successThreshold",
    "retryInterval",
    "status",
    "inMaintenance",
    "headers",
    "body",
    "bodyContentType",
    "followRedirects",
    "verifyTls",
    "certExpiryDays",
    "dnsRecordType",
    "dnsServer",
    "dnsExpected",
}
CHECK_FIELDS = {
    "id",
    "endpointId",
    "status",
    "responseTime",
    "statusCode",
    "error",
    "checkedAt",
    "firstCheckedAt",
    "count",
    "responseTimeMin",
    "responseTimeMax",
    "responseTimeAvg",
    "certExpiresAt",
}


async def test_create_list_and_read_a_page(api):
    page = await make_page(api, "acme", "Acme Inc")
    assert set(page) == PAGE_FIELDS
    assert page["slug"] == "acme"
    assert page["name"] == "Acme Inc"
    assert ISO_Z.match(page["createdAt"])
    await make_page(api, "zeta", "Zeta")

    r = await api.get("/api/pages")
    assert r.status_code == 200
    assert [p["slug"] for p in r.json()] == ["acme", "zeta"]  # by id

    r = await api.get("/api/pages/acme")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == PAGE_FIELDS | {"endpoints", "status", "incidents", "maintenances"}
    assert {k: body[k] for k in PAGE_FIELDS} == page
    assert body["endpoints"] == []


async def test_page_lists_active_endpoints_with_latest_and_uptimes(api, db):
    page = await make_page(api)
    first = await make_endpoint(api, page["id"], name="One")
    second = await make_endpoint(api, page["id"], name="Two")
    await make_endpoint(api, page["id"], name="Off", active=False)
    check_id = await insert_check(
        db,
        first["id"],
        "down",
        ago(minutes=5),
        ago(minutes=1),
        count=5,
        response_time=40,
        status_code=503,
        error="HTTP 503",
    )

    body = (await api.get("/api/pages/acme")).json()
    assert body["id"] == page["id"]
    one, two = body["endpoints"]
    assert [one["name"], two["name"]] == ["One", "Two"]  # active only, by id
    assert set(one) == ENDPOINT_FIELDS | {"latest", "uptime", "uptimes"}
    assert set(one["latest"]) == CHECK_FIELDS
    latest = one["latest"]
    assert latest["id"] == check_id
    assert latest["endpointId"] == first["id"]
    assert latest["status"] == "down"
    assert latest["statusCode"] == 503
    assert latest["error"] == "HTTP 503"
    assert latest["count"] == 5
    assert latest["responseTime"] == 40
    assert latest["responseTimeAvg"] == 40
    assert ISO_Z.match(latest["checkedAt"])
    assert ISO_Z.match(latest["firstCheckedAt"])
    assert latest["firstCheckedAt"] < latest["checkedAt"]
    assert one["status"] == "down"
    assert one["uptime"] == "0.00"
    assert set(one["uptimes"]) == {"24h", "7d", "30d", "90d"}
    assert one["uptimes"]["24h"] == 0.0

    assert two["latest"] is None
    assert two["status"] is None
    assert two["uptime"] == "100.00"  # nothing known yet
    assert two["uptimes"] == {"24h": None, "7d": None, "30d": None, "90d": None}
    assert second["id"] == two["id"]


async def test_unknown_page_is_404(api):
    for path in ("/api/pages/nope", "/api/pages/nope/timeline"):
        r = await api.get(path)
        assert r.status_code == 404
        assert isinstance(r.json()["error"], str)
    r = await api.patch("/api/pages/nope", json={"name": "x"}, headers=AUTH)
    assert r.status_code == 404
    r = await api.delete("/api/pages/nope", headers=AUTH)
    assert r.status_code == 404


async def test_duplicate_slug_is_409(api):
    await make_page(api, "taken")
    r = await api.post("/api/pages", json={"slug": "taken", "name": "Again"}, headers=AUTH)
    assert r.status_code == 409
    assert "error" in r.json()


async def test_patch_renames_and_moves_the_slug(api):
    await make_page(api, "old", "Old")
    await make_page(api, "other", "Other")
    r = await api.patch("/api/pages/old", json={"name": "New name"}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["name"] == "New name"
    r = await api.patch("/api/pages/old", json={"slug": "new"}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["slug"] == "new"
    assert r.json()["name"] == "New name"
    assert (await api.get("/api/pages/old")).status_code == 404
    assert (await api.get("/api/pages/new")).status_code == 200
    r = await api.patch("/api/pages/new", json={"slug": "other"}, headers=AUTH)
    assert r.status_code == 409


async def test_delete_removes_endpoints_history_and_incidents(api, db):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    await insert_check(db, endpoint["id"], "up", ago(minutes=3))
    r = await api.post(
        "/api/incidents", json={"page_id": page["id"], "title": "Outage"}, headers=AUTH
    )
    assert r.status_code == 201

    r = await api.delete("/api/pages/acme", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    assert (await api.get("/api/pages/acme")).status_code == 404
    assert (await api.get(f"/api/endpoints/{endpoint['id']}")).status_code == 404
    for table in ("endpoints", "checks", "incidents", "endpoint_state"):
        row = await (await db.execute(f"SELECT count(*) FROM {table}")).fetchone()
        assert row == (0,), table


async def test_page_validation(api):
    bad = [
        {"slug": "Upper", "name": "x"},
        {"slug": "-lead", "name": "x"},
        {"slug": "trail-", "name": "x"},
        {"slug": "", "name": "x"},
        {"slug": "a" * 101, "name": "x"},
        {"slug": "sp ace", "name": "x"},
        {"slug": "ok", "name": ""},
        {"slug": "ok", "name": "n" * 256},
        {"slug": "ok"},
        {"slug": "ok", "name": 5},
        {"slug": "ok", "name": "x", "extra": 1},
        ["slug", "ok"],
    ]
    for body in bad:
        r = await api.post("/api/pages", json=body, headers=AUTH)
        assert r.status_code == 400, (body, r.text)
        assert isinstance(r.json()["error"], str)
        assert r.json()["error"]
    assert (await api.get("/api/pages")).json() == []  # nothing written

    ok = await api.post("/api/pages", json={"slug": "a" * 100, "name": "n" * 255}, headers=AUTH)
    assert ok.status_code == 201
    r = await api.patch(f"/api/pages/{'a' * 100}", json={"slug": "Bad!"}, headers=AUTH)
    assert r.status_code == 400


async def test_validation_messages_name_the_field(api):
    r = await api.post("/api/pages", json={"slug": "ok", "name": 5}, headers=AUTH)
    assert "name" in r.json()["error"]
    r = await api.post("/api/pages", json={"slug": "ok", "name": "x", "colour": 1}, headers=AUTH)
    assert "colour" in r.json()["error"]
    r = await api.post("/api/pages", json={"name": "x"}, headers=AUTH)
    assert "slug" in r.json()["error"]


async def test_messages_say_what_a_valid_value_looks_like(api):
    r = await api.post("/api/pages", json={"slug": "Not OK", "name": "x"}, headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"].startswith("slug must be 1-100 characters of a-z, 0-9 and '-'")
    await make_page(api)
    r = await api.get("/badge/acme", params={"style": "plastic"})
    assert r.status_code == 400
    assert "flat or flat-square" in r.json()["error"]
    r = await api.post(
        "/api/incidents", json={"page_id": 1, "title": "t", "status": "fixed"}, headers=AUTH
    )
    assert r.status_code == 400
    assert "investigating, identified, monitoring or resolved" in r.json()["error"]

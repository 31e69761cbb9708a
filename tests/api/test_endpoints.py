"""Endpoints: defaults, validation, PATCH of the merged row, history, delete."""

from __future__ import annotations

import pytest

from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page


@pytest.fixture
async def page(api):
    return await make_page(api)


async def test_create_applies_the_defaults(api, page, settings):
    endpoint = await make_endpoint(api, page["id"])
    assert endpoint["pageId"] == page["id"]
    assert endpoint["method"] == "GET"
    assert endpoint["interval"] == settings.check_interval
    assert endpoint["timeout"] == min(settings.check_timeout, settings.check_interval)
    assert endpoint["expectedStatus"] == ["200-299"]
    assert endpoint["degradedThresholdMs"] is None
    assert endpoint["keyword"] is None
    assert endpoint["active"] is True
    assert endpoint["status"] is None

    r = await api.get(f"/api/endpoints/{endpoint['id']}")
    assert r.status_code == 200
    assert r.json() == endpoint


async def test_timeout_defaults_to_the_smaller_of_check_timeout_and_interval(api, page):
    endpoint = await make_endpoint(api, page["id"], interval=5)
    assert endpoint["timeout"] == 5


async def test_create_with_every_field(api, page):
    endpoint = await make_endpoint(
        api,
        page["id"],
        name="Full",
        url="http://example.org:8080/health?x=1",
        method="post",
        interval=60,
        timeout=20,
        expected_status=["200-299", "301", " 418 "],
        degraded_threshold_ms=800,
        keyword="ok",
        active=False,
    )
    assert endpoint["method"] == "POST"  # stored upper-case
    assert endpoint["expectedStatus"] == ["200-299", "301", "418"]
    assert endpoint["interval"] == 60
    assert endpoint["timeout"] == 20
    assert endpoint["degradedThresholdMs"] == 800
    assert endpoint["keyword"] == "ok"
    assert endpoint["active"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "n" * 256},
        {"url": "example.com"},
        {"url": "ftp://example.com/"},
        {"url": "http://"},
        {"url": "https://example.com/" + "a" * 2048},
        {"url": "http://exa mple.com/"},
        {"url": "http://example.com:99999/"},
        {"url": "http://[::1/"},
        {"method": "FETCH"},
        {"method": 1},
        {"interval": 4},
        {"interval": 86401},
        {"interval": "30"},
        {"interval": 30.5},
        {"timeout": 0},
        {"timeout": 61},
        {"interval": 10, "timeout": 11},
        {"expected_status": []},
        {"expected_status": ["abc"]},
        {"expected_status": ["299-200"]},
        {"expected_status": [200]},
        {"expected_status": "200"},
        {"degraded_threshold_ms": 0},
        {"degraded_threshold_ms": -5},
        {"degraded_threshold_ms": "fast"},
        {"keyword": 3},
        {"active": "yes"},
        {"unknown": True},
        {"pageId": 1},
    ],
)
async def test_create_rejects_bad_values_and_writes_nothing(api, page, fields, db):
    body = {"page_id": page["id"], "name": "Site", "url": "https://example.com/", **fields}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["error"], str)
    row = await (await db.execute("SELECT count(*) FROM endpoints")).fetchone()
    assert row == (0,)


@pytest.mark.parametrize("page_id", [0, -1, 2**63, "1", None])
async def test_create_rejects_bad_page_ids(api, page, page_id):
    body = {"page_id": page_id, "name": "Site", "url": "https://example.com/"}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 400, r.text


async def test_create_on_an_unknown_page_is_404(api, page):
    body = {"page_id": page["id"] + 1000, "name": "Site", "url": "https://example.com/"}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 404
    assert "error" in r.json()


async def test_patch_changes_only_what_is_given_and_validates_the_merge(api, page):
    endpoint = await make_endpoint(api, page["id"], interval=60, timeout=30, keyword="ok")
    path = f"/api/endpoints/{endpoint['id']}"

    r = await api.patch(path, json={"name": "Renamed", "method": "head"}, headers=AUTH)
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["name"] == "Renamed"
    assert changed["method"] == "HEAD"
    assert changed["interval"] == 60
    assert changed["timeout"] == 30
    assert changed["keyword"] == "ok"

    # The merged endpoint breaks the rule (stored timeout 30 > interval 20): a 400.
    r = await api.patch(path, json={"interval": 20}, headers=AUTH)
    assert r.status_code == 400
    assert r.json() == {"error": "timeout (30 s) must not be above interval (20 s)"}
    assert (await api.get(path)).json()["interval"] == 60
    r = await api.patch(path, json={"interval": 20, "timeout": 20}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["interval"] == 20

    r = await api.patch(path, json={"keyword": None, "degraded_threshold_ms": 500}, headers=AUTH)
    assert r.json()["keyword"] is None
    assert r.json()["degradedThresholdMs"] == 500
    r = await api.patch(path, json={"degraded_threshold_ms": None}, headers=AUTH)
    assert r.json()["degradedThresholdMs"] is None
    r = await api.patch(path, json={}, headers=AUTH)
    assert r.status_code == 200

    for bad in ({"url": "nope"}, {"timeout": 0}, {"expected_status": ["7"]}, {"x": 1}):
        r = await api.patch(path, json=bad, headers=AUTH)
        assert r.status_code == 400, bad
    assert (await api.get(path)).json()["url"] == "https://example.com/"


async def test_patch_makes_the_endpoint_due_at_once(api, page, db):
    endpoint = await make_endpoint(api, page["id"], interval=300, timeout=10)
    await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() + interval '1 hour'"
        " WHERE endpoint_id = %s",
        (endpoint["id"],),
    )
    r = await api.patch(f"/api/endpoints/{endpoint['id']}", json={"interval": 60}, headers=AUTH)
    assert r.status_code == 200
    row = await (
        await db.execute(
            "SELECT next_check_at <= now() FROM endpoint_state WHERE endpoint_id = %s",
            (endpoint["id"],),
        )
    ).fetchone()
    assert row == (True,)


async def test_unknown_and_malformed_ids(api, page):
    for path in ("/api/endpoints/999", "/api/endpoints/999/history"):
        assert (await api.get(path)).status_code == 404
    assert (await api.patch("/api/endpoints/999", json={}, headers=AUTH)).status_code == 404
    assert (await api.delete("/api/endpoints/999", headers=AUTH)).status_code == 404
    for bad in ("abc", "0", "-1", "1.5", str(2**63), "99999999999999999999999"):
        for path in (f"/api/endpoints/{bad}", f"/api/endpoints/{bad}/history"):
            r = await api.get(path)
            assert r.status_code == 400, (path, r.text)
            assert isinstance(r.json()["error"], str)
        r = await api.delete(f"/api/endpoints/{bad}", headers=AUTH)
        assert r.status_code == 400


async def test_history_is_newest_first_and_limited(api, page, db):
    endpoint = await make_endpoint(api, page["id"])
    ids = [
        await insert_check(db, endpoint["id"], status, ago(hours=h), ago(hours=h - 0.5))
        for h, status in ((5, "up"), (4, "down"), (3, "degraded"), (2, "up"))
    ]
    path = f"/api/endpoints/{endpoint['id']}/history"
    r = await api.get(path)
    assert r.status_code == 200
    assert [c["id"] for c in r.json()] == ids[::-1]
    assert [c["status"] for c in r.json()] == ["up", "degraded", "down", "up"]
    r = await api.get(path, params={"limit": 2})
    assert [c["id"] for c in r.json()] == ids[:1:-1]
    for bad in ("0", "1001", "x", "-3"):
        r = await api.get(path, params={"limit": bad})
        assert r.status_code == 400, bad
        assert "limit" in r.json()["error"]
    assert (await api.get(path, params={"limit": 1000})).status_code == 200

    empty = await make_endpoint(api, page["id"])
    r = await api.get(f"/api/endpoints/{empty['id']}/history")
    assert r.status_code == 200
    assert r.json() == []


async def test_delete_endpoint(api, page, db):
    endpoint = await make_endpoint(api, page["id"])
    await insert_check(db, endpoint["id"], "up", ago(minutes=1))
    r = await api.delete(f"/api/endpoints/{endpoint['id']}", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    assert (await api.get(f"/api/endpoints/{endpoint['id']}")).status_code == 404
    row = await (await db.execute("SELECT count(*) FROM checks")).fetchone()
    assert row == (0,)
    r = await api.delete(f"/api/endpoints/{endpoint['id']}", headers=AUTH)
    assert r.status_code == 404

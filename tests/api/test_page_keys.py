"""Keys limited to pages (``page_ids``) write there and to what belongs there, nowhere else."""

from __future__ import annotations

from tests.api.conftest import AUTH, bearer, make_endpoint, make_key, make_page


async def _snapshot(db) -> list[tuple]:
    rows = []
    for table in ("pages", "endpoints", "incidents", "api_keys"):
        cur = await db.execute(f"SELECT t::text FROM {table} t ORDER BY id")
        rows.append(tuple(r[0] for r in await cur.fetchall()))
    return rows


async def test_a_page_key_writes_only_to_its_pages(api, db):
    mine = await make_page(api, "mine", "Mine")
    other = await make_page(api, "other", "Other")
    my_endpoint = await make_endpoint(api, mine["id"])
    their_endpoint = await make_endpoint(api, other["id"])
    r = await api.post(
        "/api/incidents", json={"page_id": other["id"], "title": "Theirs"}, headers=AUTH
    )
    their_incident = r.json()["id"]
    key = await make_key(api, "write", page_ids=[mine["id"]])
    assert key["pageIds"] == [mine["id"]]
    headers = bearer(key["token"])

    # Allowed: its page and what belongs to it.
    r = await api.patch(
        f"/api/endpoints/{my_endpoint['id']}", json={"active": False}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        "/api/endpoints",
        json={"page_id": mine["id"], "name": "New", "url": "https://example.com/new"},
        headers=headers,
    )
    assert r.status_code == 201
    r = await api.post(
        "/api/incidents", json={"page_id": mine["id"], "title": "Ours"}, headers=headers
    )
    assert r.status_code == 201
    mine_incident = r.json()["id"]
    r = await api.patch(
        f"/api/incidents/{mine_incident}", json={"status": "resolved"}, headers=headers
    )
    assert r.status_code == 200
    r = await api.patch("/api/pages/mine", json={"name": "Still mine"}, headers=headers)
    assert r.status_code == 200

    # Refused: everything elsewhere, with nothing written.
    before = await _snapshot(db)
    refused = [
        ("PATCH", f"/api/endpoints/{their_endpoint['id']}", {"active": False}),
        ("DELETE", f"/api/endpoints/{their_endpoint['id']}", None),
        # moving its own endpoint to a page it may not write to
        ("PATCH", f"/api/endpoints/{my_endpoint['id']}", {"page_id": other["id"]}),
        (
            "POST",
            "/api/endpoints",
            {"page_id": other["id"], "name": "Sneaky", "url": "https://example.com/"},
        ),
        ("POST", "/api/incidents", {"page_id": other["id"], "title": "Sneaky"}),
        ("PATCH", f"/api/incidents/{their_incident}", {"status": "resolved"}),
        ("DELETE", f"/api/incidents/{their_incident}", None),
        ("PATCH", "/api/pages/other", {"name": "Taken"}),
        ("DELETE", "/api/pages/other", None),
        ("POST", "/api/pages", {"slug": "new", "name": "New"}),  # a new page is no page of its
    ]
    for method, path, body in refused:
        r = await api.request(method, path, json=body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
        message = r.json()["error"]
        assert f"pages {mine['id']}" in message, message
        if method != "POST" or body.get("page_id"):
            assert f"page {other['id']}" in message or "needs every page" in message
    assert await _snapshot(db) == before

    # Unknown ids are the handler's 404s, not a 403 that would hide nothing.
    r = await api.patch("/api/endpoints/987654321", json={"active": True}, headers=headers)
    assert r.status_code == 404
    # Deleting its own page is allowed.
    assert (await api.delete("/api/pages/mine", headers=headers)).status_code == 200


async def test_page_limited_admin_key_cannot_manage_keys(api):
    page = await make_page(api)
    key = await make_key(api, "admin", page_ids=[page["id"]])
    r = await api.post(
        "/api/keys", json={"name": "escalate", "scope": "admin"}, headers=bearer(key["token"])
    )
    assert r.status_code == 403
    assert "every page" in r.json()["error"]
    r = await api.patch("/api/pages/acme", json={"name": "A"}, headers=bearer(key["token"]))
    assert r.status_code == 200


async def test_a_page_id_written_as_a_float_is_still_that_page(api, db):
    """``2.0`` is the whole number 2 to the body check: a page key may not slip past with it."""
    mine = await make_page(api, "mine", "Mine")
    other = await make_page(api, "other", "Other")
    my_endpoint = await make_endpoint(api, mine["id"])
    key = await make_key(api, "write", page_ids=[mine["id"]])
    headers = {**bearer(key["token"]), "Content-Type": "application/json"}
    r = await api.patch(
        f"/api/endpoints/{my_endpoint['id']}", content=b'{"active": false}', headers=headers
    )
    assert r.status_code == 200  # the key's first use stamps lastUsedAt; later ones do not
    before = await _snapshot(db)
    sneaky = [
        ("PATCH", f"/api/endpoints/{my_endpoint['id']}", b'{"page_id": %d.0}' % other["id"]),
        (
            "POST",
            "/api/endpoints",
            b'{"page_id": %de0, "name": "S", "url": "https://example.com/"}' % other["id"],
        ),
        ("POST", "/api/incidents", b'{"page_id": %d.0, "title": "Sneaky"}' % other["id"]),
        (
            "POST",
            "/api/maintenances",
            b'{"page_id": %d.0, "title": "S", "starts_at": "2030-01-01T00:00:00Z",'
            b' "ends_at": "2030-01-01T01:00:00Z"}' % other["id"],
        ),
    ]
    for method, path, body in sneaky:
        r = await api.request(method, path, content=body, headers=headers)
        assert r.status_code == 403, (method, path, r.text)
        assert f"page {other['id']}" in r.json()["error"]
    assert await _snapshot(db) == before


async def test_a_page_key_manages_the_alert_rules_of_its_pages_only(api, db):
    """Alert rules belong to a page (or to an endpoint of one), as endpoints do."""
    mine = await make_page(api, "mine", "Mine")
    other = await make_page(api, "other", "Other")
    my_endpoint = await make_endpoint(api, mine["id"])
    their_endpoint = await make_endpoint(api, other["id"])
    r = await api.post(
        "/api/channels",
        json={"name": "Hook", "type": "webhook", "url": "https://hooks.example.com/x"},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    channel = r.json()["id"]
    r = await api.post(
        "/api/alert-rules", json={"channel_id": channel, "page_id": other["id"]}, headers=AUTH
    )
    their_rule = r.json()["id"]
    key = await make_key(api, "write", page_ids=[mine["id"]])
    headers = bearer(key["token"])

    made = []
    for body in ({"page_id": mine["id"]}, {"endpoint_id": my_endpoint["id"]}):
        rule = {"channel_id": channel, **body}
        r = await api.post("/api/alert-rules", json=rule, headers=headers)
        assert r.status_code == 201, (body, r.text)
        made.append(r.json()["id"])

    before = await _snapshot(db)
    rules = await (await db.execute("SELECT count(*) FROM alert_rules")).fetchone()
    for body in ({"page_id": other["id"]}, {"endpoint_id": their_endpoint["id"]}):
        rule = {"channel_id": channel, **body}
        r = await api.post("/api/alert-rules", json=rule, headers=headers)
        assert r.status_code == 403, (body, r.text)
        assert f"page {other['id']}" in r.json()["error"]
    r = await api.delete(f"/api/alert-rules/{their_rule}", headers=headers)
    assert r.status_code == 403, r.text
    assert await _snapshot(db) == before
    assert await (await db.execute("SELECT count(*) FROM alert_rules")).fetchone() == rules

    for rule in made:
        assert (await api.delete(f"/api/alert-rules/{rule}", headers=headers)).status_code == 200
    assert (await api.delete("/api/alert-rules/987654", headers=headers)).status_code == 404

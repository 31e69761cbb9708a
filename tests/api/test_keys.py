"""API keys: the token shown once, kept as SHA-256, revoked, expired, 401 against 403."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta

from loguru import logger

from services.api.auth import CACHE_SECONDS
from tests.api.conftest import AUTH, bearer, make_endpoint, make_key, make_page

KEY_FIELDS = {"id", "name", "scope", "pageIds", "prefix", "createdAt", "expiresAt", "lastUsedAt"}


async def test_create_shows_the_token_once_and_keeps_only_its_hash(api, db):
    page = await make_page(api)
    r = await api.post(
        "/api/keys",
        json={"name": "ci", "scope": "write", "page_ids": [page["id"]]},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    key = r.json()
    assert set(key) == KEY_FIELDS | {"token"}
    token = key["token"]
    assert re.fullmatch(r"upt_[A-Za-z0-9_-]{32,}", token)
    assert key["prefix"] == token[:8]
    assert key["name"] == "ci"
    assert key["scope"] == "write"
    assert key["pageIds"] == [page["id"]]
    assert key["expiresAt"] is None
    assert key["lastUsedAt"] is None
    # The database has its SHA-256 and its prefix, nowhere the token.
    row = await (
        await db.execute("SELECT token_hash, prefix, t::text AS whole FROM api_keys t")
    ).fetchone()
    assert bytes(row[0]) == hashlib.sha256(token.encode()).digest()
    assert row[1] == token[:8]
    assert token not in row[2]
    assert token[8:] not in row[2]
    # Never again in an answer.
    listed = await api.get("/api/keys", headers=AUTH)
    one = await api.get(f"/api/keys/{key['id']}", headers=AUTH)
    assert listed.status_code == one.status_code == 200
    assert [set(k) for k in listed.json()] == [KEY_FIELDS]
    assert set(one.json()) == KEY_FIELDS
    assert one.json()["prefix"] == token[:8]
    for answer in (listed, one, await api.get("/api/audit", headers=AUTH)):
        assert token not in answer.text
        assert token[8:] not in answer.text
    # Two keys never share a token.
    other = await make_key(api, "read")
    assert other["token"] != token


async def test_bad_key_requests_are_refused_and_make_nothing(api, db):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases = [
        ({"name": "x", "scope": "owner"}, 400, "scope"),
        ({"name": "x", "scope": "owner"}, 400, "read, incidents, write or admin"),
        ({"name": "", "scope": "read"}, 400, "name"),
        ({"scope": "read"}, 400, "name is required"),
        ({"name": "x", "scope": "read", "page_ids": [424242]}, 404, "424242"),
        ({"name": "x", "scope": "read", "page_ids": []}, 400, "page_ids"),
        ({"name": "x", "scope": "read", "expires_at": past}, 400, "future"),
        ({"name": "x", "scope": "read", "expires_at": "soon"}, 400, "expires_at"),
        ({"name": "x", "scope": "read", "token": "upt_mine"}, 400, "token"),
    ]
    for body, status, words in cases:
        r = await api.post("/api/keys", json=body, headers=AUTH)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"], (body, r.text)
    count = await (await db.execute("SELECT count(*) FROM api_keys")).fetchone()
    assert count[0] == 0


async def test_a_key_acts_within_its_scope(api):
    page = await make_page(api)
    key = await make_key(api, "write")
    r = await api.post(
        "/api/endpoints",
        json={"page_id": page["id"], "name": "Web", "url": "https://example.com/"},
        headers=bearer(key["token"]),
    )
    assert r.status_code == 201, r.text
    r = await api.patch(
        f"/api/endpoints/{r.json()['id']}", json={"active": False}, headers=bearer(key["token"])
    )
    assert r.status_code == 200
    assert r.json()["active"] is False


async def test_401_without_valid_credentials_403_without_the_scope(api, db):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    path = f"/api/endpoints/{endpoint['id']}"
    read = await make_key(api, "read")
    unknown = "upt_" + "A" * 43
    for headers, why in (
        ({}, "no credentials"),
        (bearer(unknown), "unknown API key"),
        (bearer("not-a-key"), "neither"),
        ({"Authorization": read["token"]}, "Bearer"),
        ({"Authorization": "Basic " + read["token"]}, "Bearer"),
    ):
        r = await api.patch(path, json={"name": "Changed"}, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert why in r.json()["error"]
        assert "'write'" in r.json()["error"]  # the scope needed
    r = await api.patch(path, json={"name": "Changed"}, headers=bearer(read["token"]))
    assert r.status_code == 403
    assert r.json()["error"] == (
        "this key has the 'read' scope; PATCH /api/endpoints/{endpoint_id} needs 'write'"
    )
    r = await api.post(
        "/api/keys", json={"name": "x", "scope": "read"}, headers=bearer(read["token"])
    )
    assert r.status_code == 403
    assert "needs 'admin'" in r.json()["error"]
    assert (await api.get(path)).json()["name"] == endpoint["name"]
    assert (await (await db.execute("SELECT count(*) FROM api_keys")).fetchone())[0] == 1


async def test_revoked_key_is_refused_and_gone(api):
    page = await make_page(api)
    key = await make_key(api, "write")
    headers = bearer(key["token"])
    assert (
        await api.patch("/api/pages/acme", json={"name": "A"}, headers=headers)
    ).status_code == 200
    r = await api.delete(f"/api/keys/{key['id']}", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    r = await api.patch("/api/pages/acme", json={"name": "B"}, headers=headers)
    assert r.status_code == 401  # at once on the replica that revoked it
    assert "revoked" in r.json()["error"]
    assert (await api.get("/api/pages/acme")).json()["name"] == "A"
    assert (await api.get(f"/api/keys/{key['id']}", headers=AUTH)).status_code == 404
    assert (await api.delete(f"/api/keys/{key['id']}", headers=AUTH)).status_code == 404
    assert key["id"] not in [k["id"] for k in (await api.get("/api/keys", headers=AUTH)).json()]
    assert page["id"]


async def test_the_admin_token_cannot_be_revoked_through_the_api(api):
    for path in ("/api/keys/0", "/api/keys/admin", "/api/keys/test-admin-token"):
        r = await api.delete(path, headers=AUTH)
        assert r.status_code in (400, 404), path
    assert (
        await api.post("/api/pages", json={"slug": "a", "name": "A"}, headers=AUTH)
    ).status_code == 201


async def test_expired_key_is_refused_at_its_expiry(api):
    await make_page(api)
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    key = await make_key(api, "write", expires_at=soon.isoformat())
    assert datetime.fromisoformat(key["expiresAt"]) == soon.replace(microsecond=soon.microsecond)
    headers = bearer(key["token"])
    r = await api.patch("/api/pages/acme", json={"name": "Before"}, headers=headers)
    assert r.status_code == 200  # valid, and now cached
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    r = await api.patch("/api/pages/acme", json={"name": "After"}, headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["error"]
    assert (await api.get("/api/pages/acme")).json()["name"] == "Before"


async def test_last_used_at_is_written_at_most_once_a_minute(api, db):
    await make_page(api)
    key = await make_key(api, "read")
    assert key["lastUsedAt"] is None
    headers = bearer(key["token"])
    r = await api.patch("/api/pages/acme", json={"name": "A"}, headers=headers)
    assert r.status_code == 403  # a use, even refused
    first = (await api.get(f"/api/keys/{key['id']}", headers=AUTH)).json()["lastUsedAt"]
    assert first is not None
    assert datetime.now(UTC) - datetime.fromisoformat(first) < timedelta(seconds=30)
    # Were every use a write, this mark would be overwritten by the next ones.
    await db.execute("UPDATE api_keys SET last_used_at = '2000-01-01Z' WHERE id = %s", (key["id"],))
    for _ in range(20):
        await api.patch("/api/pages/acme", json={"name": "A"}, headers=headers)
    again = (await api.get(f"/api/keys/{key['id']}", headers=AUTH)).json()["lastUsedAt"]
    assert again.startswith("2000-01-01")


async def test_no_token_in_any_log_line(settings, caplog):
    from tests.api.conftest import serve

    lines: list[str] = []
    sink = logger.add(lines.append, level="TRACE", format="{message} {extra}")
    try:
        async with serve(settings) as api:
            await make_page(api)
            key = await make_key(api, "admin")
            token = key["token"]
            headers = bearer(token)
            await api.get("/api/keys", headers=headers)
            await api.patch("/api/pages/acme", json={"name": "A"}, headers=headers)
            await api.post("/api/login", json={"token": token})
            await api.post("/api/login", data={"token": token + "x"})
            await api.patch("/api/pages/acme?token=" + token, json={"x": 1}, headers=headers)
            await api.delete(f"/api/keys/{key['id']}", headers=headers)
            await api.patch("/api/pages/acme", json={"name": "B"}, headers=headers)
    finally:
        logger.remove(sink)
    assert lines  # the requests were logged
    text = "\n".join(lines) + caplog.text
    assert token not in text
    assert token[8:] not in text
    assert "test-admin-token" not in text


async def test_a_burst_of_requests_looks_a_key_up_once(api):
    """Statements per request (Server-Timing): one lookup and one lastUsedAt stamp in all."""
    await make_page(api)
    key = await make_key(api, "read")
    headers = bearer(key["token"])

    async def refused() -> int:
        r = await api.patch("/api/pages/acme", json={"name": "A"}, headers=headers)
        assert r.status_code == 403  # the handler runs no statement of its own
        match = re.search(r'desc="(\d+) statements', r.headers["server-timing"])
        assert match
        return int(match.group(1))

    started = time.monotonic()
    counts = await asyncio.gather(*(refused() for _ in range(16)))
    assert sum(counts) == 2, counts
    again = await asyncio.gather(*(refused() for _ in range(16)))
    if time.monotonic() - started < CACHE_SECONDS:  # still cached: nothing at all
        assert sum(again) == 0, again

"""Browser sessions over real HTTP with a cookie jar: login, the CSRF rule, expiry, logout."""

from __future__ import annotations

import asyncio
import re

import httpx
import msgspec
import pytest

from services.api.auth import CACHE_SECONDS, SESSION_COOKIE
from tests.api.conftest import AUTH, TOKEN, bearer, make_endpoint, make_key, make_page, serve


def browser(api: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second client on the same server with its own cookie jar, as a browser has."""
    return httpx.AsyncClient(base_url=str(api.base_url), timeout=20, follow_redirects=False)


async def login(client: httpx.AsyncClient, token: str, **form: str) -> httpx.Response:
    return await client.post("/api/login", data={"token": token, **form})


def set_cookie(response: httpx.Response) -> str:
    (header,) = response.headers.get_list("set-cookie")
    return header


async def test_login_form_is_small_html_with_no_external_assets(api):
    r = await api.get("/api/login", params={"next": '/x"><script>'})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<form method="post" action="/api/login">' in page
    assert 'name="token"' in page
    assert 'type="password"' in page
    assert "<script" not in page  # a path, escaped into the form
    assert 'name="next" value="/x&quot;&gt;&lt;script&gt;"' in page
    assert not re.search(r"(src|href)\s*=|https?://|@import|url\(", page)
    assert len(page) < 4096
    r = await api.get("/api/login", params={"next": "/admin/pages?tab=1"})
    assert 'value="/admin/pages?tab=1"' in r.text
    r = await api.get("/api/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/"' in r.text


async def test_form_login_sets_the_session_cookie_and_redirects(api):
    async with browser(api) as client:
        r = await login(client, TOKEN, next="/admin?page=acme")
        assert r.status_code == 303
        assert r.headers["location"] == "/admin?page=acme"
        cookie = set_cookie(r)
        assert "; SameSite=Strict" in cookie  # as the standard (and the issue) writes it
        assert "; HttpOnly" in cookie
        assert "; Path=/" in cookie
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert attributes[0].startswith(f"{SESSION_COOKIE}=")
        assert len(attributes[0]) > len(SESSION_COOKIE) + 40
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "path=/" in attributes
        assert "secure" not in attributes  # PUBLIC_URL is not https here
        assert TOKEN not in cookie
        assert client.cookies.get(SESSION_COOKIE)


async def test_json_login_and_secure_cookie_behind_https(settings):
    public = msgspec.structs.replace(settings, public_url="https://status.example.com")
    async with serve(public) as api, browser(api) as client:
        r = await client.post("/api/login", json={"token": TOKEN})
        assert r.status_code == 303
        assert r.headers["location"] == "/"
        attributes = [a.strip().lower() for a in set_cookie(r).split(";")]
        assert "secure" in attributes
        assert "httponly" in attributes
        assert "samesite=strict" in attributes


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
        "",
        "/ok\r\nSet-Cookie: x=y",
        "http:/evil.example",
    ],
)
async def test_next_goes_only_to_same_origin_paths(api, wanted):
    async with browser(api) as client:
        r = await login(client, TOKEN, next=wanted)
        assert r.status_code == 303
        assert r.headers["location"] == "/"


async def test_next_in_the_query_string(api):
    async with browser(api) as client:
        r = await client.post("/api/login?next=/dash", data={"token": TOKEN})
        assert r.headers["location"] == "/dash"


async def test_login_refuses_weak_or_wrong_tokens(api, db):
    read = await make_key(api, "read")
    incidents = await make_key(api, "incidents")
    write = await make_key(api, "write")
    revoked = await make_key(api, "admin")
    await api.delete(f"/api/keys/{revoked['id']}", headers=AUTH)
    async with browser(api) as client:
        for token, status in (
            ("nope", 401),
            ("upt_" + "x" * 43, 401),
            (revoked["token"], 401),
            (read["token"], 403),
            (incidents["token"], 403),
        ):
            r = await login(client, token)
            assert r.status_code == status, (token, r.text)
            assert "error" in r.json()
            assert "set-cookie" not in r.headers
        r = await client.post("/api/login", json={})
        assert r.status_code == 400
        r = await client.post("/api/login", data={"next": "/"})
        assert r.status_code == 400
        rows = await (await db.execute("SELECT count(*) FROM sessions")).fetchone()
        assert rows[0] == 0
        r = await login(client, write["token"])
        assert r.status_code == 303
    rows = await (await db.execute("SELECT key_id, scope FROM sessions")).fetchall()
    assert rows == [(write["id"], "write")]


async def test_a_browser_form_gets_the_form_again_with_the_reason(api):
    read = await make_key(api, "read")
    async with browser(api) as client:
        html_accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        r = await client.post(
            "/api/login", data={"token": "wrong", "next": "/dash"}, headers=html_accept
        )
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("text/html")
        assert 'role="alert"' in r.text
        assert "neither the admin token nor an API key" in r.text
        assert 'name="next" value="/dash"' in r.text
        assert "wrong" not in r.text.replace("neither", "")  # the token is not echoed
        assert "set-cookie" not in r.headers
        r = await client.post("/api/login", data={"token": read["token"]}, headers=html_accept)
        assert r.status_code == 403
        assert "needs &#x27;write&#x27; or more" in r.text
        assert read["token"] not in r.text
        # Scripts (no text/html in Accept) get JSON, as from every other route.
        r = await client.post("/api/login", data={"token": "wrong"})
        assert r.status_code == 401
        assert "neither" in r.json()["error"]


async def test_the_csrf_rule_for_cookie_writes(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    path = f"/api/endpoints/{endpoint['id']}"
    origin = str(api.base_url).rstrip("/")
    async with browser(api) as client:
        assert (await login(client, TOKEN)).status_code == 303
        cases = [
            ({"Origin": origin}, 200),
            ({}, 403),  # neither Origin nor Referer
            ({"Referer": origin + "/admin/endpoints"}, 200),
            ({"Origin": "https://evil.example"}, 403),
            ({"Origin": "null"}, 403),
            ({"Referer": "https://evil.example/page"}, 403),
            ({"Origin": "https://evil.example", "Referer": origin + "/"}, 403),
            ({"Origin": origin.replace("127.0.0.1", "localhost")}, 403),
        ]
        for number, (headers, status) in enumerate(cases):
            name = f"Name {number}"
            r = await client.patch(path, json={"name": name}, headers=headers)
            assert r.status_code == status, (headers, r.text)
            current = (await api.get(path)).json()["name"]
            if status == 403:
                assert "cross-site request forgery" in r.json()["error"]
                assert current != name  # nothing written
            else:
                assert current == name
        # Reads with the cookie need no Origin; a bearer write needs none either.
        assert (await client.get("/api/keys")).status_code == 200
        r = await api.patch(path, json={"name": "Bearer"}, headers=AUTH)
        assert r.status_code == 200


async def test_a_session_carries_its_keys_scope_and_pages(api):
    mine = await make_page(api, "mine", "Mine")
    other = await make_page(api, "other", "Other")
    key = await make_key(api, "write", page_ids=[mine["id"]])
    origin = {"Origin": str(api.base_url).rstrip("/")}
    async with browser(api) as client:
        assert (await login(client, key["token"])).status_code == 303
        r = await client.patch("/api/pages/mine", json={"name": "M"}, headers=origin)
        assert r.status_code == 200
        r = await client.patch("/api/pages/other", json={"name": "O"}, headers=origin)
        assert r.status_code == 403
        assert f"page {other['id']}" in r.json()["error"]
        r = await client.post("/api/keys", json={"name": "k", "scope": "read"}, headers=origin)
        assert r.status_code == 403
        assert "needs 'admin'" in r.json()["error"]
        # Revoking the key ends its sessions.
        assert (await api.delete(f"/api/keys/{key['id']}", headers=AUTH)).status_code == 200
        r = await client.patch("/api/pages/mine", json={"name": "M2"}, headers=origin)
        assert r.status_code == 401
        assert "revoked" in r.json()["error"]


async def test_a_sessions_use_is_its_keys_use(api, db, settings):
    await make_page(api)
    key = await make_key(api, "write")
    async with browser(api) as client:
        await login(client, key["token"])
        cookie = client.cookies.get(SESSION_COOKIE)
    await db.execute("UPDATE api_keys SET last_used_at = NULL")
    async with serve(settings) as other, browser(other) as client:  # another replica
        client.cookies.set(SESSION_COOKIE, cookie)
        origin = {"Origin": str(other.base_url).rstrip("/")}
        r = await client.patch("/api/pages/acme", json={"name": "Via session"}, headers=origin)
        assert r.status_code == 200
    used = (await api.get(f"/api/keys/{key['id']}", headers=AUTH)).json()["lastUsedAt"]
    assert used is not None


async def test_logout_ends_the_session(api):
    await make_page(api)
    origin = {"Origin": str(api.base_url).rstrip("/")}
    async with browser(api) as client:
        await login(client, TOKEN)
        stolen = client.cookies.get(SESSION_COOKIE)
        r = await client.post("/api/logout", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403  # a foreign page cannot log you out either
        r = await client.post("/api/logout", headers={"Referer": "https://evil.example/x"})
        assert r.status_code == 403
        r = await client.post("/api/logout", headers=origin)
        assert r.status_code == 200
        cleared = set_cookie(r).lower()
        assert cleared.startswith(f"{SESSION_COOKIE}=")
        assert "max-age=0" in cleared
        assert not client.cookies.get(SESSION_COOKIE)
        r = await client.patch("/api/pages/acme", json={"name": "X"}, headers=origin)
        assert r.status_code == 401
    async with browser(api) as thief:  # the old cookie value is dead too
        thief.cookies.set(SESSION_COOKIE, stolen)
        r = await thief.patch("/api/pages/acme", json={"name": "X"}, headers=origin)
        assert r.status_code == 401
        assert "ended" in r.json()["error"]


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", "12 hours 1 minute"), ("created_at", "7 days 1 minute")],
    ids=["12 h idle", "7 days old"],
)
async def test_sessions_expire(api, db, column, age):
    await make_page(api)
    origin = {"Origin": str(api.base_url).rstrip("/")}
    async with browser(api) as client:
        await login(client, TOKEN)
        r = await client.patch("/api/pages/acme", json={"name": "Fresh"}, headers=origin)
        assert r.status_code == 200
        # Age it in the database, as time would, then let the cache age out.
        await db.execute(
            f"UPDATE sessions SET {column} = {column} - %s::interval",
            (age,),
        )
        if column == "created_at":  # still active: seen just now
            await db.execute("UPDATE sessions SET last_seen_at = now()")
        await asyncio.sleep(CACHE_SECONDS + 0.1)
        r = await client.patch("/api/pages/acme", json={"name": "Stale"}, headers=origin)
        assert r.status_code == 401
        assert "expired" in r.json()["error"]
    assert (await api.get("/api/pages/acme")).json()["name"] == "Fresh"


async def test_a_session_that_is_used_stays_alive(api, db):
    await make_page(api)
    async with browser(api) as client:
        await login(client, TOKEN)
        await db.execute("UPDATE sessions SET last_seen_at = now() - interval '11 hours'")
        await asyncio.sleep(CACHE_SECONDS + 0.1)
        r = await client.get("/api/keys")
        assert r.status_code == 200
    seen = await (
        await db.execute("SELECT now() - last_seen_at < interval '1 minute' FROM sessions")
    ).fetchone()
    assert seen[0] is True


async def test_bearer_wins_over_the_cookie(api):
    read = await make_key(api, "read")
    await make_page(api)
    async with browser(api) as client:
        await login(client, TOKEN)
        r = await client.patch("/api/pages/acme", json={"name": "X"}, headers=bearer(read["token"]))
        assert r.status_code == 403


async def test_logout_without_an_origin_header(api):
    """A script (no Origin) may end its own session: a logout forges nothing."""
    await make_page(api)
    origin = {"Origin": str(api.base_url).rstrip("/")}
    async with browser(api) as client:
        await login(client, TOKEN)
        r = await client.post("/api/logout")
        assert r.status_code == 200
        r = await client.patch("/api/pages/acme", json={"name": "X"}, headers=origin)
        assert r.status_code == 401


async def test_retention_deletes_the_sessions_no_one_can_use(api, db, settings):
    from services.checker.retention import run_retention

    await make_page(api)
    origin = {"Origin": str(api.base_url).rstrip("/")}
    clients = [browser(api) for _ in range(4)]
    try:
        for client in clients:
            assert (await login(client, TOKEN)).status_code == 303
        live, ended = clients[0], clients[1]  # [2] will be idle, [3] old
        assert (await ended.post("/api/logout", headers=origin)).status_code == 200
        ids = [
            r[0] for r in await (await db.execute("SELECT id FROM sessions ORDER BY id")).fetchall()
        ]
        await db.execute(
            "UPDATE sessions SET last_seen_at = now() - interval '13 hours' WHERE id = %s",
            (ids[2],),
        )
        await db.execute(
            "UPDATE sessions SET created_at = now() - interval '8 days' WHERE id = %s", (ids[3],)
        )
        await run_retention(db, settings)
        left = await (await db.execute("SELECT id FROM sessions")).fetchall()
        assert [r[0] for r in left] == [ids[0]]
        r = await live.patch("/api/pages/acme", json={"name": "Still in"}, headers=origin)
        assert r.status_code == 200
    finally:
        for client in clients:
            await client.aclose()

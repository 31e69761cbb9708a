"""The original dashboard after one visit to /api/login, in a real Chromium.

A stand-in for the frontend's own nginx serves a dashboard page and proxies
``/api`` to the API (passing ``Host`` through, as services/api/README.md shows).
The page writes with plain ``fetch`` calls that carry no Authorization header:
refused before the login, accepted after it. A page on another origin of the
same host — same *site*, so the SameSite=Strict cookie does go along — is
refused by the Origin rule, and nothing is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiohttp import web
from loguru import logger

from tests.api.conftest import AUTH, TOKEN, free_port, make_page, serve

DASHBOARD = """<!doctype html>
<html><head><meta charset="utf-8"><title>Dashboard</title></head>
<body><p id="result">idle</p>
<script>
async function rename(name) {
  const r = await fetch("/api/pages/acme", {
    method: "PATCH",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({name}),
  });
  document.getElementById("result").textContent = String(r.status);
  return r.status;
}
</script></body></html>
"""

FOREIGN = """<!doctype html>
<html><head><meta charset="utf-8"><title>Elsewhere</title></head>
<body>
<form id="form" method="post" action="{target}/api/pages" enctype="text/plain">
<input name='{"slug":"forged","name":"' value='Forged"}'>
</form>
<script>
async function forge() {
  try {
    await fetch("{target}/api/pages/acme", {
      method: "PATCH", credentials: "include",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({name: "Forged"}),
    });
  } catch (e) {}
  try {
    await fetch("{target}/api/pages", {
      method: "POST", credentials: "include", mode: "no-cors",
      headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({slug: "forged-too", name: "Forged"}),
    });
  } catch (e) {}
  return "sent";
}
</script></body></html>
"""


@asynccontextmanager
async def site(routes: list[web.RouteDef]) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def frontend(api: httpx.AsyncClient) -> AsyncIterator[str]:
    """The dashboard at ``/``; ``/api/…`` proxied to the API with the Host passed through."""
    upstream = httpx.AsyncClient(base_url=str(api.base_url), timeout=20)
    hop = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}

    async def dashboard(_: web.Request) -> web.Response:
        return web.Response(text=DASHBOARD, content_type="text/html")

    async def proxy(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in hop}
        headers["Accept-Encoding"] = "identity"
        r = await upstream.request(
            request.method, request.path_qs, headers=headers, content=await request.read()
        )
        response = web.Response(status=r.status_code, body=r.content)
        for key, value in r.headers.multi_items():
            if key.lower() not in hop:
                response.headers.add(key, value)
        return response

    try:
        async with site([web.get("/", dashboard), web.route("*", "/api/{tail:.*}", proxy)]) as url:
            yield url
    finally:
        await upstream.aclose()


async def test_the_dashboard_writes_after_one_login_and_others_cannot(settings, browser):
    answered: list[tuple[str, str, int]] = []  # what the API answered, from its request log

    def seen(message) -> None:
        extra = message.record["extra"]
        if "status" in extra:
            answered.append((extra["method"], extra["path"], extra["status"]))

    sink = logger.add(seen, level="INFO")
    try:
        async with serve(settings) as api:
            await _dashboard_after_login(api, browser)
    finally:
        logger.remove(sink)
    # The forged simple requests (a form, a no-cors fetch) did reach the API with the
    # cookie, and the Origin rule refused them; the forged PATCH went no further than
    # its preflight (a credentialed request is not allowed cross-origin), so the only
    # write that passed is the dashboard's own.
    assert answered.count(("POST", "/api/pages", 403)) == 2
    writes = [a for a in answered if a[0] in ("POST", "PATCH") and a[2] < 300]
    assert writes == [
        ("POST", "/api/pages", 201),  # make_page, with the admin token
        ("PATCH", "/api/pages/acme", 200),
        ("POST", "/api/logout", 200),
    ]


async def _dashboard_after_login(api: httpx.AsyncClient, browser) -> None:
    await make_page(api)
    async with frontend(api) as front:
        foreign_page = FOREIGN.replace("{target}", front)

        async def elsewhere(_: web.Request) -> web.Response:
            return web.Response(text=foreign_page, content_type="text/html")

        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(front + "/")
        assert await page.evaluate("rename('Before login')") == 401

        # One visit to the login form (a mistyped token first: the form says why).
        await page.goto(front + "/api/login?next=/")
        await page.fill("#token", "mistyped")
        await page.click("button[type=submit]")
        assert "neither the admin token" in await page.inner_text("[role=alert]")
        await page.fill("#token", TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(front + "/")
        (cookie,) = await context.cookies()
        assert cookie["name"] == "uptimatum_session"
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict"
        assert await page.evaluate("document.cookie") == ""  # out of the page's reach

        # The dashboard as it was: plain fetch, no Authorization header.
        assert await page.evaluate("rename('After login')") == 200
        assert (await api.get("/api/pages/acme")).json()["name"] == "After login"

        # Another origin on the same host: the cookie goes along, the Origin rule refuses.
        async with site([web.get("/", elsewhere)]) as other:
            evil = await context.new_page()
            await evil.goto(other + "/")
            assert await evil.evaluate("forge()") == "sent"
            await evil.evaluate("document.getElementById('form').submit()")
            await evil.wait_for_load_state()
        assert (await api.get("/api/pages/acme")).json()["name"] == "After login"
        slugs = [p["slug"] for p in (await api.get("/api/pages")).json()]
        assert slugs == ["acme"]

        # Logging out ends it for the dashboard too.
        status = await page.evaluate("fetch('/api/logout', {method: 'POST'}).then(r => r.status)")
        assert status == 200
        assert await page.evaluate("rename('After logout')") == 401
        await context.close()
    rows = (await api.get("/api/audit", headers=AUTH)).json()
    assert [r["action"] for r in rows] == [
        "POST /api/logout",
        "PATCH /api/pages/{slug}",
        "POST /api/login",
        "POST /api/pages",
    ]

"""The status page in a real Chromium: states, layout at 360 px, the embed, no-JS, axe.

Screenshots at 1280 and 360 px, light and dark, are written to ``screenshots/``
at the repository root (git-ignored), for people to look at.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from aiohttp import web

from tests.api.conftest import AUTH, ago, free_port, insert_check, make_endpoint, make_page, serve
from tests.browser.conftest import SCREENSHOTS

LONG_NAME = "Payments-gateway-with-a-very-long-name-" * 3
UPDATES = [
    ("investigating", "Requests to the **database** time out."),
    ("identified", "A failed disk; see [the runbook](https://example.com/runbook)."),
    ("monitoring", "Replica promoted; watching `p99` latency."),
]


@pytest.fixture
async def site(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(settings) as client:
        yield client


async def seed_site(api: httpx.AsyncClient, db: psycopg.AsyncConnection) -> dict[str, Any]:
    """Up, degraded, down and in-maintenance endpoints with 90 days of history, an
    open incident with three updates and a maintenance window in progress."""
    page = await make_page(api, slug="acme", name="Acme Cloud")
    today = datetime.now(UTC).date()
    states = {}
    ids = {}
    for n, (name, status) in enumerate(
        (
            ("Website", "up"),
            ("Public API", "degraded"),
            ("Database", "down"),
            ("Search", "down"),  # inside a maintenance window: shown as in maintenance
            (LONG_NAME, "up"),
        )
    ):
        ep = await make_endpoint(api, page["id"], name=name)
        states[name] = status
        ids[name] = ep["id"]
        async with db.transaction():
            for days in range(1, 90):
                if days > 80 - 10 * n:
                    continue  # younger endpoints: no data before they existed
                available = 86400.0
                if days % (7 + n) == 0:
                    available = 86400 * (0.999 - 0.02 * n)
                await db.execute(
                    "INSERT INTO uptime_daily (endpoint_id, day, available_seconds,"
                    " covered_seconds) VALUES (%s, %s, %s, 86400)",
                    (ep["id"], today - timedelta(days=days), available),
                )
        await insert_check(db, ep["id"], status, ago(hours=3), ago(seconds=20), count=360)
    r = await api.post(
        "/api/incidents",
        json={
            "page_id": page["id"],
            "title": "Database unavailable",
            "description": UPDATES[0][1],
            "impact": "major",
            "affected_endpoint_ids": [ids["Database"]],
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    for status, message in UPDATES[1:]:
        r = await api.post(
            f"/api/incidents/{incident['id']}/updates",
            json={"status": status, "message": message},
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
    r = await api.post(
        "/api/maintenances",
        json={
            "page_id": page["id"],
            "title": "Search index rebuild",
            "description": "Search answers slowly or not at all until it ends.",
            "starts_at": (datetime.now(UTC) - timedelta(hours=4)).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "endpoint_ids": [ids["Search"]],
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    states["Search"] = "maintenance"
    return {"page": page, "states": states, "incident": incident}


def watch(page: Any) -> list[str]:
    """Console errors and uncaught exceptions of ``page`` (CSP violations included)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


async def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, list[str]]:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    errors = watch(page)
    response = await page.goto(url, wait_until="load")
    assert response is not None
    assert response.status == 200
    return ctx, page, errors


async def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_seeded_page_shows_each_state(browser, site, db):
    seeded = await seed_site(site, db)
    url = f"{site.base_url}/status/acme"
    for scheme in ("light", "dark"):
        ctx, page, errors = await open_page(
            browser, url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
        )
        for name, status in seeded["states"].items():
            row = page.locator("li[data-endpoint]", has=page.get_by_role("heading", name=name))
            word = {
                "up": "Up",
                "degraded": "Degraded",
                "down": "Down",
                "maintenance": "In maintenance",
            }[status]
            assert await row.get_attribute("data-status") == status
            assert await row.locator(".state .word").inner_text() == word
            assert await row.locator(".state svg").count() == 1
            assert await row.locator("ol.bars > li").count() == 90
        banner = page.locator("[data-indicator]")
        assert await banner.get_attribute("data-indicator") == "major"
        assert await banner.inner_text() == "Partial System Outage"
        active = page.locator("section[aria-labelledby=active-incidents]")
        assert "Database unavailable" in await active.inner_text()
        timeline = active.locator("ol.timeline > li")
        assert await timeline.count() == 3
        assert await timeline.locator("> strong").all_inner_texts() == [
            "Monitoring",
            "Identified",
            "Investigating",
        ]
        assert await timeline.nth(2).locator(".md strong").inner_text() == "database"
        link = timeline.nth(1).locator(".md a")
        assert await link.get_attribute("href") == "https://example.com/runbook"
        assert await timeline.nth(0).locator(".md code").inner_text() == "p99"
        maintenance = page.locator("section[aria-labelledby=maintenance-now]")
        assert "Search index rebuild" in await maintenance.inner_text()
        # the bars of a young endpoint start grey (no data), its recent days green
        bars = page.locator("li[data-endpoint]").nth(2).locator("ol.bars > li")
        assert await bars.first.get_attribute("class") == "d-none"
        assert await bars.last.get_attribute("class") == "d-critical"  # down today
        colours = await bars.evaluate_all(
            "els => [...new Set(els.map(e => getComputedStyle(e).backgroundColor))]"
        )
        assert len(colours) >= 3, colours  # no data, full and partial days look different
        await shoot(page, f"status-1280-{scheme}")
        assert errors == []
        await ctx.close()


async def test_no_horizontal_scroll_at_360_px(browser, site, db):
    await seed_site(site, db)
    for scheme in ("light", "dark"):
        for path in ("/status/acme", "/status/acme/embed", "/status"):
            ctx, page, errors = await open_page(
                browser,
                f"{site.base_url}{path}",
                viewport={"width": 360, "height": 800},
                color_scheme=scheme,
            )
            width = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert width[0] <= width[1] == 360, (path, width)
            # a focused bar's label stays on the screen too
            await page.locator("ol.bars > li").last.focus() if path == "/status/acme" else None
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, path
            if path == "/status/acme":
                await shoot(page, f"status-360-{scheme}")
            assert errors == []
            await ctx.close()


async def test_bar_shows_date_and_uptime_on_hover_and_focus(browser, site, db):
    await seed_site(site, db)
    ctx, page, errors = await open_page(
        browser, f"{site.base_url}/status/acme", viewport={"width": 1280, "height": 900}
    )
    bars = page.locator("li[data-endpoint]").first.locator("ol.bars > li")
    label = bars.nth(88).locator("span")
    assert (await label.bounding_box() or {"width": 0})["width"] <= 1, "hidden until asked"
    await bars.nth(88).hover()
    box = await label.bounding_box()
    assert box
    assert box["width"] > 50
    assert box["height"] > 10
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert await label.inner_text() == f"{yesterday.day} {yesterday:%b %Y}: 100.00 % uptime"
    await page.mouse.move(0, 0)
    await page.keyboard.press("Tab")  # keyboard: Tab reaches the bars
    for _ in range(400):
        focused = await page.evaluate("document.activeElement.closest('ol.bars') !== null")
        if focused:
            break
        await page.keyboard.press("Tab")
    assert focused
    shown = page.locator("ol.bars > li:focus > span")
    box = await shown.bounding_box()
    assert box
    assert box["width"] > 50
    assert "uptime" in await shown.inner_text() or "no data" in await shown.inner_text()
    assert errors == []
    await ctx.close()


@asynccontextmanager
async def other_origin(html: str) -> AsyncIterator[str]:
    """A second site on loopback (another port and host name: another origin)."""
    app = web.Application()

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        await runner.cleanup()


async def test_embed_renders_in_an_iframe_of_another_origin(browser, site, db):
    await seed_site(site, db)
    base = str(site.base_url)
    html = (
        "<!doctype html><html lang=en><title>Partner</title><body><h1>Partner site</h1>"
        f'<iframe id="embed" title="Acme status" src="{base}/status/acme/embed"'
        ' width="340" height="260"></iframe>'
        f'<iframe id="full" title="full page" src="{base}/status/acme"'
        ' width="340" height="200"></iframe></body></html>'
    )
    async with other_origin(html) as url:
        ctx = await browser.new_context(viewport={"width": 800, "height": 700})
        page = await ctx.new_page()
        errors = watch(page)
        await page.goto(url, wait_until="load")
        embed = page.frame_locator("#embed")
        await embed.locator("h1").wait_for()
        assert await embed.locator("h1").inner_text() == "Acme Cloud"
        assert await embed.locator("[data-indicator]").inner_text() == "Partial System Outage"
        lines = embed.locator("li[data-endpoint]")
        assert await lines.count() == 5
        assert "Degraded" in await lines.nth(1).inner_text()
        assert "In maintenance" in await lines.nth(3).inner_text()
        # the full page refuses to be framed (frame-ancestors 'none')
        await asyncio.sleep(0.5)
        full = page.frame(url=f"{base}/status/acme")
        assert full is None or await full.locator("h1").count() == 0
        assert any("frame-ancestors" in e or "Refused to frame" in e for e in errors), errors
        await shoot(page, "embed-other-origin")
        await ctx.close()


async def test_works_with_javascript_disabled(browser, site, db):
    await seed_site(site, db)
    ctx, page, errors = await open_page(
        browser,
        f"{site.base_url}/status/acme",
        java_script_enabled=False,
        viewport={"width": 1280, "height": 900},
    )
    assert await page.locator("h1").inner_text() == "Acme Cloud"
    assert await page.locator("li[data-endpoint]").count() == 5
    when = page.locator("time").first
    assert (await when.inner_text()).endswith(" UTC"), "times in UTC, offset named"
    stylesheet = await page.evaluate("getComputedStyle(document.body).display")
    assert stylesheet == "block"
    banner_bg = await page.locator("[data-indicator]").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert banner_bg != "rgba(0, 0, 0, 0)", "the stylesheet applies"
    assert errors == []
    await ctx.close()


async def test_times_in_the_readers_zone_when_script_runs(browser, site, db):
    await seed_site(site, db)
    ctx, page, errors = await open_page(
        browser, f"{site.base_url}/status/acme", timezone_id="Asia/Kolkata", locale="en-GB"
    )
    text = await page.locator("time").first.inner_text()
    assert "GMT+5:30" in text, text
    assert errors == []
    await ctx.close()


async def test_axe_finds_no_serious_violations_light_and_dark(browser, site, db):
    from axe_playwright_python.async_playwright import Axe

    await seed_site(site, db)
    axe = Axe()
    for scheme in ("light", "dark"):
        for path in ("/status/acme", "/status/acme/embed", "/status", "/status/nope"):
            ctx = await browser.new_context(color_scheme=scheme)
            page = await ctx.new_page()
            await page.goto(f"{site.base_url}{path}", wait_until="load")
            results = await axe.run(page)
            bad = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert bad == [], (scheme, path, bad)
            await ctx.close()

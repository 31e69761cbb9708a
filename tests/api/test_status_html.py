"""The public status page without a browser: markup, escaping, caching, statements.

The browser tests (tests/browser/) look at the same pages in Chromium.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import html5lib
import httpx
import psycopg
import pytest

from services.api.cache import FlightCache
from shared.db import DatabaseUnavailable
from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page

HOSTILE = "<script>alert('x')</script> & \"quotes\""
SVG = "{http://www.w3.org/2000/svg}svg"
STATEMENTS = re.compile(r'desc="(\d+) statements"')


def parse(text: str) -> html5lib.html5parser.HTMLParser:
    """Parse as a browser does; any parse error (bad nesting, stray tags) fails."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    parser.parse(text)
    return parser


def tree(text: str):  # an ElementTree root
    return html5lib.parse(text, namespaceHTMLElements=False)


def statements(response: httpx.Response) -> int:
    match = STATEMENTS.search(response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


async def seed(api: httpx.AsyncClient, db: psycopg.AsyncConnection, **page) -> dict:
    """A page with an up, a degraded and a down endpoint, and one open incident."""
    p = await make_page(api, **page)
    ids = {}
    for name, status in (("Web", "up"), ("API", "degraded"), ("Database", "down")):
        ep = await make_endpoint(api, p["id"], name=name)
        await insert_check(db, ep["id"], status, ago(hours=2), ago(seconds=30), count=120)
        ids[status] = ep["id"]
    r = await api.post(
        "/api/incidents",
        json={
            "page_id": p["id"],
            "title": "Database unreachable",
            "description": "We are **looking** into it: [details](https://example.com/x).",
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    return {**p, "endpoints": ids, "incident": r.json()}


async def test_page_shows_each_endpoint_with_icon_and_word(api, db):
    page = await seed(api, db)
    r = await api.get("/status/acme")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    parse(r.text)
    root = tree(r.text)
    assert root.find(".//h1").text == "Acme"
    rows = {li.get("data-endpoint"): li for li in root.iter("li") if li.get("data-endpoint")}
    for status, word in (("up", "Up"), ("degraded", "Degraded"), ("down", "Down")):
        li = rows[str(page["endpoints"][status])]
        assert li.get("data-status") == status
        state = li.find(".//span[@class='state s-" + status + "']")
        assert state.find(SVG) is not None, "an icon"
        assert state.find("span[@class='word']").text == word, "and a word"
        bars = li.find(".//ol[@class='bars']")
        assert len(bars.findall("li")) == 90
    banner = root.find(".//*[@data-indicator]")
    assert banner.get("data-indicator") == "major"
    assert "Partial System Outage" in "".join(banner.itertext())


async def test_overall_status_follows_the_endpoints(api, db):
    p = await make_page(api)
    a = await make_endpoint(api, p["id"], name="A")
    b = await make_endpoint(api, p["id"], name="B")

    async def indicator() -> str:
        await api.patch("/api/pages/acme", json={"name": "Acme"}, headers=AUTH)  # clears caches
        root = tree((await api.get("/status/acme")).text)
        return root.find(".//*[@data-indicator]").get("data-indicator")

    await insert_check(db, a["id"], "up", ago(minutes=5), ago(seconds=5))
    await insert_check(db, b["id"], "up", ago(minutes=5), ago(seconds=5))
    assert await indicator() == "none"
    await insert_check(db, b["id"], "degraded", ago(seconds=4))
    assert await indicator() == "minor"
    await insert_check(db, b["id"], "down", ago(seconds=3))
    assert await indicator() == "major"
    await insert_check(db, a["id"], "down", ago(seconds=2))
    assert await indicator() == "critical"


async def test_daily_bars_show_each_day_and_no_data_apart(api, db):
    p = await make_page(api)
    ep = await make_endpoint(api, p["id"], name="Web")
    today = datetime.now(UTC).date()
    # Rolled-up days: 10 days ago fully up, 5 days ago half down, 3 days ago nothing.
    for days, available, covered in ((10, 86400, 86400), (5, 43200, 86400), (3, 0, 0)):
        await db.execute(
            "INSERT INTO uptime_daily (endpoint_id, day, available_seconds, covered_seconds)"
            " VALUES (%s, %s, %s, %s)",
            (ep["id"], today - timedelta(days=days), available, covered),
        )
    await insert_check(db, ep["id"], "up", ago(minutes=30), ago(seconds=30))
    root = tree((await api.get("/status/acme")).text)
    bars = root.find(".//ol[@class='bars']").findall("li")
    assert len(bars) == 90

    def bar(days_ago: int) -> tuple[str, str]:
        li = bars[89 - days_ago]
        return li.get("class"), li.find("span").text

    def label(days_ago: int) -> str:
        day = today - timedelta(days=days_ago)
        return f"{day.day} {day:%b %Y}"

    assert bar(10) == ("d-ok", f"{label(10)}: 100.00 % uptime")
    assert bar(5) == ("d-critical", f"{label(5)}: 50.00 % uptime")
    assert bar(3) == ("d-none", f"{label(3)}: no data")
    assert bar(60) == ("d-none", f"{label(60)}: no data")
    assert bar(0) == ("d-ok", f"{label(0)}: 100.00 % uptime"), "today, from the raw runs"
    assert all(li.get("tabindex") == "0" for li in bars), "keyboard focus shows the label"


async def test_daily_bars_leave_maintenance_windows_out(api, db):
    p = await make_page(api)
    ep = await make_endpoint(api, p["id"], name="Web")
    other = await make_endpoint(api, p["id"], name="Other")
    today = datetime.now(UTC).date()
    day = datetime.combine(today - timedelta(days=2), datetime.min.time(), UTC)
    # Two days ago: up 00:00-06:00, down 06:00-12:00, nothing after; a window of
    # Web's over 06:00-09:00 leaves 6 h up of 9 h covered (50 % without it).
    for endpoint in (ep, other):
        await insert_check(db, endpoint["id"], "up", day, day + timedelta(hours=6, seconds=-60))
        await insert_check(
            db,
            endpoint["id"],
            "down",
            day + timedelta(hours=6),
            day + timedelta(hours=12, seconds=-60),
        )
    # A rollup of that day stored before the window (made stale by it) and one of the day before.
    for days, available in ((2, 21600), (3, 86400)):
        await db.execute(
            "INSERT INTO uptime_daily (endpoint_id, day, available_seconds, covered_seconds)"
            " VALUES (%s, %s, %s, %s)",
            (ep["id"], today - timedelta(days=days), available, 43200 if days == 2 else 86400),
        )
    body = {
        "page_id": p["id"],
        "title": "Work",
        "starts_at": (day + timedelta(hours=6)).isoformat(),
        "ends_at": (day + timedelta(hours=9)).isoformat(),
        "endpoint_ids": [ep["id"]],
    }
    r = await api.post("/api/maintenances", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    root = tree((await api.get("/status/acme")).text)
    rows = {li.get("data-endpoint"): li for li in root.iter("li") if li.get("data-endpoint")}

    def bar(endpoint: dict, days_ago: int) -> str:
        bars = rows[str(endpoint["id"])].find(".//ol[@class='bars']").findall("li")
        return bars[89 - days_ago].find("span").text.split(": ")[1]

    assert bar(ep, 2) == "66.67 % uptime", "the window's 3 h count neither way"
    assert bar(other, 2) == "50.00 % uptime", "not Other's window"
    assert bar(ep, 3) == "100.00 % uptime", "the rollup of the day before"


async def test_hostile_names_and_messages_are_text(api, db):
    p = await make_page(api, name=HOSTILE)
    await make_endpoint(api, p["id"], name=HOSTILE)
    r = await api.post(
        "/api/incidents",
        json={
            "page_id": p["id"],
            "title": HOSTILE,
            "description": HOSTILE + "\n\n<img src=x onerror=alert(1)> [ok](https://example.com)"
            " [bad](javascript:alert(1))",
        },
        headers=AUTH,
    )
    assert r.status_code == 201
    for path in ("/status/acme", "/status/acme/embed", "/status"):
        text = (await api.get(path)).text
        parse(text)
        assert "<script>alert" not in text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
        assert "onerror=alert" not in text or "&lt;img" in text
        assert 'href="javascript:' not in text
        scripts = list(tree(text).iter("script"))
        assert all(s.get("src", "").startswith("/static/") and not s.text for s in scripts)
    root = tree((await api.get("/status/acme")).text)
    links = [a.get("href") for a in root.iter("a")]
    assert "https://example.com" in links, "Markdown links work"


async def test_markdown_renders_commonmark(api, db):
    p = await make_page(api)
    await api.post(
        "/api/incidents",
        json={"page_id": p["id"], "title": "T", "description": "**bold** and `code`\n\n- one"},
        headers=AUTH,
    )
    text = (await api.get("/status/acme")).text
    assert "<strong>bold</strong>" in text
    assert "<code>code</code>" in text
    assert "<li>one</li>" in text


async def test_caching_headers_etag_and_304(api, db):
    await seed(api, db)
    for path in ("/status/acme", "/status/acme/embed", "/status"):
        r = await api.get(path)
        assert r.status_code == 200
        cache = r.headers["cache-control"]
        match = re.fullmatch(r"public, max-age=(\d+)", cache)
        assert match, cache
        assert 0 < int(match.group(1)) <= 30, cache
        etag = r.headers["etag"]
        again = await api.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await api.get(path, headers={"If-None-Match": '"other"'})
        assert other.status_code == 200


async def test_cache_serves_the_crowd_and_a_write_clears_it(api, db):
    page = await seed(api, db)
    first = await api.get("/status/acme")
    assert statements(first) > 0
    cached = await api.get("/status/acme")
    assert statements(cached) == 0, "served from memory"
    assert cached.text == first.text
    r = await api.patch(
        f"/api/incidents/{page['incident']['id']}", json={"status": "resolved"}, headers=AUTH
    )
    assert r.status_code == 200
    after = await api.get("/status/acme")
    assert statements(after) > 0
    assert after.headers["etag"] != first.headers["etag"]
    root = tree(after.text)
    assert root.find(".//section[@aria-labelledby='active-incidents']") is None
    assert "Database unreachable" in "".join(
        root.find(".//section[@aria-labelledby='past-incidents']").itertext()
    )


async def test_a_crowd_after_a_write_fills_the_cache_once(api, db):
    await seed(api, db)
    await api.patch("/api/pages/acme", json={"name": "Acme"}, headers=AUTH)  # empties it
    answers = await asyncio.gather(*(api.get("/status/acme") for _ in range(40)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert sum(statements(r) for r in answers) == 4, "one render for all of them"


async def test_flight_cache_serves_stale_while_one_fill_runs():
    cache: FlightCache[int] = FlightCache(ttl=0.05)
    calls = 0
    gate = asyncio.Event()

    async def fill() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            await gate.wait()
        return calls

    assert await cache.get("k", fill) == 1
    await asyncio.sleep(0.06)  # expired: readers get the old value while one refill runs
    assert [await cache.get("k", fill) for _ in range(5)] == [1] * 5
    await asyncio.sleep(0)  # the one refill starts
    assert calls == 2
    gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get("k", fill) == 2
    cache.clear()  # after a write nobody gets the old value, and one fill serves all
    gate.clear()
    waiting = [asyncio.ensure_future(cache.get("k", fill)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert calls == 3
    gate.set()
    assert await asyncio.gather(*waiting) == [3] * 5


async def test_flight_cache_keeps_the_last_value_while_the_database_is_away():
    cache: FlightCache[str] = FlightCache(ttl=0.01, keep_on=(DatabaseUnavailable,))
    assert await cache.get("k", _value("page as of 12:00")) == "page as of 12:00"
    await asyncio.sleep(0.03)  # expired, beyond the stale grace

    async def down() -> str:
        raise DatabaseUnavailable("connection refused")

    assert await cache.get("k", down) == "page as of 12:00"
    with pytest.raises(DatabaseUnavailable):
        await cache.get("other", down)  # nothing to show: the error stands
    cache.clear()
    with pytest.raises(DatabaseUnavailable):
        await cache.get("k", down)  # after a write the old value is gone


def _value(text: str):
    async def fill() -> str:
        return text

    return fill


async def test_gzip_when_asked(api, db):
    await seed(api, db)
    plain = await api.get("/status/acme", headers={"Accept-Encoding": "identity"})
    zipped = await api.get("/status/acme", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.text == plain.text  # httpx decodes it
    assert int(zipped.headers["content-length"]) < len(plain.content)


async def test_statement_count_is_fixed(api, db):
    small = await make_page(api, slug="small", name="Small")
    large = await make_page(api, slug="large", name="Large")
    for page, n in ((small, 2), (large, 60)):
        for i in range(n):
            ep = await make_endpoint(api, page["id"], name=f"E{i}")
            await insert_check(db, ep["id"], "up", ago(hours=1), ago(seconds=10))

    async def uncached(path: str) -> int:
        await api.patch("/api/pages/small", json={"name": "Small"}, headers=AUTH)  # clears
        return statements(await api.get(path))

    counts = {
        slug: (await uncached(f"/status/{slug}"), await uncached(f"/status/{slug}/embed"))
        for slug in ("small", "large")
    }
    assert counts["small"] == counts["large"], counts
    assert counts["small"] == (4, 2), counts


async def test_frame_ancestors(api, db):
    await seed(api, db)
    for path in ("/status/acme", "/status", "/status/nope"):
        r = await api.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY"
    embed = await api.get("/status/acme/embed")
    csp = embed.headers["content-security-policy"]
    assert "frame-ancestors *" in csp
    assert "'none'" not in csp.split("frame-ancestors", 1)[1]
    assert "x-frame-options" not in embed.headers


async def test_every_other_html_page_refuses_framing(api):
    for path in ("/reference", "/api/login", "/status", "/status/nope"):
        r = await api.get(path)
        assert r.headers["content-type"].startswith("text/html"), path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path


async def test_unknown_slug_is_an_html_404(api):
    for path in ("/status/nope", "/status/nope/embed"):
        r = await api.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/html")
        parse(r.text)
        assert "not found" in r.text.lower()
        assert "/status/nope" in r.text


async def test_index_lists_the_pages(api):
    await make_page(api, slug="one", name="First <b>")
    await make_page(api, slug="two", name="Second")
    r = await api.get("/status")
    assert r.status_code == 200
    parse(r.text)
    links = {a.get("href"): "".join(a.itertext()) for a in tree(r.text).iter("a")}
    assert links["/status/one"] == "First <b>"
    assert links["/status/two"] == "Second"


async def test_stylesheet_and_script_are_hashed_and_immutable(api, db):
    await seed(api, db)
    root = tree((await api.get("/status/acme")).text)
    css = root.find(".//link[@rel='stylesheet']").get("href")
    js = root.find(".//script").get("src")
    assert re.fullmatch(r"/static/status\.[0-9a-f]{12}\.css", css)
    assert re.fullmatch(r"/static/status\.[0-9a-f]{12}\.js", js)
    for url, kind in ((css, "text/css"), (js, "text/javascript")):
        r = await api.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(kind)
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(r.content) < 16_000, "one small file"
    css_text = (await api.get(css)).text
    assert "@import" not in css_text, "no fonts, no CDN"
    assert "url(" not in css_text, "no fonts, no CDN"
    assert "prefers-color-scheme: dark" in css_text
    stale = await api.get("/static/status.000000000000.css")
    assert stale.status_code == 404


async def test_head_and_not_in_the_api_document(api, db):
    await seed(api, db)
    r = await api.head("/status/acme")
    assert r.status_code == 200
    assert r.content == b""
    doc = (await api.get("/doc")).json()
    html = [
        path
        for path in doc["paths"]
        if path.startswith(("/status", "/static"))
        # the Statuspage JSON and the feeds (issue 9) are API routes, not pages
        and "/api/v2/" not in path
        and not path.endswith(("/feed.atom", "/feed.rss"))
    ]
    assert not html


@pytest.mark.parametrize("path", ["/status/acme/../..", "/status/%00", "/status/" + "a" * 300])
async def test_odd_slugs_never_fail(api, path):
    r = await api.get(path)
    assert r.status_code in (200, 404), r.text


# -- incidents' timelines and maintenance windows (issue 9) ----------------------


def in_utc(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def test_active_incident_shows_its_timeline_newest_first(api, db):
    page = await seed(api, db)
    incident = page["incident"]["id"]
    for status, message in (
        ("identified", "A failed **disk** on the primary."),
        ("monitoring", "Replica promoted; see [the notes](https://example.com/notes)."),
    ):
        r = await api.post(
            f"/api/incidents/{incident}/updates",
            json={"status": status, "message": message},
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
    root = tree((await api.get("/status/acme")).text)
    card = root.find(".//article[@data-incident='" + str(incident) + "']")
    entries = card.findall(".//ol[@class='timeline']/li")
    assert [li.find("strong").text for li in entries] == [
        "Monitoring",
        "Identified",
        "Investigating",
    ]
    assert entries[1].find(".//div[@class='md']/p/strong").text == "disk"
    assert entries[0].find(".//a").get("href") == "https://example.com/notes"
    assert all(li.find(".//time").get("datetime").endswith("Z") for li in entries)
    assert all(li.find(".//time").text.endswith(" UTC") for li in entries)
    assert "Monitoring" in "".join(card.find(".//p[@class='note']").itertext())


async def test_resolved_incident_with_postmortem_is_past(api, db):
    page = await seed(api, db)
    incident = page["incident"]["id"]
    r = await api.patch(
        f"/api/incidents/{incident}",
        json={"status": "resolved", "postmortem": "## What happened\n\n<script>x()</script>"},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    text = (await api.get("/status/acme")).text
    parse(text)
    root = tree(text)
    assert root.find(".//section[@aria-labelledby='active-incidents']") is None
    past = root.find(".//section[@aria-labelledby='past-incidents']")
    card = past.find(".//article[@data-incident='" + str(incident) + "']")
    assert card.find(".//details/div/h2").text == "What happened"
    assert "&lt;script&gt;x()&lt;/script&gt;" in text
    statuses = [li.find("strong").text for li in card.findall(".//ol[@class='timeline']/li")]
    assert statuses[0] == "Resolved", "the PATCH's status change is in the timeline"


async def test_maintenance_in_progress_and_upcoming(api, db):
    page = await seed(api, db)
    down = page["endpoints"]["down"]
    now_window = await api.post(
        "/api/maintenances",
        json={
            "page_id": page["id"],
            "title": "Database upgrade <b>",
            "description": "Upgrading to **PostgreSQL 17**.",
            "starts_at": in_utc(minutes=-10),
            "ends_at": in_utc(hours=1),
            "endpoint_ids": [down],
        },
        headers=AUTH,
    )
    assert now_window.status_code == 201, now_window.text
    later = await api.post(
        "/api/maintenances",
        json={
            "page_id": page["id"],
            "title": "Network work",
            "starts_at": in_utc(days=2),
            "ends_at": in_utc(days=2, hours=2),
            "rrule": "FREQ=WEEKLY",
            "timezone": "Europe/Berlin",
        },
        headers=AUTH,
    )
    assert later.status_code == 201, later.text
    text = (await api.get("/status/acme")).text
    parse(text)
    root = tree(text)
    now_section = root.find(".//section[@aria-labelledby='maintenance-now']")
    card = now_section.find("article")
    assert card.find("h3").text == "Database upgrade <b>"
    assert card.find(".//div[@class='md']/p/strong").text == "PostgreSQL 17"
    assert "Affects: Database" in "".join(card.itertext())
    next_section = root.find(".//section[@aria-labelledby='maintenance-next']")
    assert next_section.find("article/h3").text == "Network work"
    assert "recurring (FREQ=WEEKLY, Europe/Berlin)" in "".join(next_section.itertext())
    row = root.find(f".//li[@data-endpoint='{down}']")
    assert row.get("data-status") == "maintenance"
    state = row.find(".//span[@class='state s-maintenance']")
    assert state.find(SVG) is not None
    assert state.find("span[@class='word']").text == "In maintenance"


async def test_banner_is_the_pages_status(api, db):
    page = await seed(api, db)
    await api.patch(
        f"/api/incidents/{page['incident']['id']}", json={"impact": "critical"}, headers=AUTH
    )
    status = (await api.get("/api/pages/acme")).json()["status"]
    for path in ("/status/acme", "/status/acme/embed"):
        banner = tree((await api.get(path)).text).find(".//*[@data-indicator]")
        assert banner.get("data-indicator") == status["indicator"] == "critical"
        assert "".join(banner.itertext()).strip() == status["description"]


async def test_links_to_the_feeds_and_the_json_resolve(api, db):
    await seed(api, db)
    root = tree((await api.get("/status/acme")).text)
    alternates = {
        link.get("type"): link.get("href")
        for link in root.iter("link")
        if link.get("rel") == "alternate"
    }
    assert alternates == {
        "application/atom+xml": "/status/acme/feed.atom",
        "application/rss+xml": "/status/acme/feed.rss",
    }
    hrefs = {a.get("href") for a in root.iter("a")}
    for href in (
        "/status/acme/feed.atom",
        "/status/acme/feed.rss",
        "/status/acme/api/v2/summary.json",
        "/api/pages/acme",
        "/status/acme/embed",
    ):
        assert href in hrefs, href
        assert (await api.get(href)).status_code == 200, href


async def test_maintenance_time_counts_neither_up_nor_down_in_the_bars(api, db):
    p = await make_page(api)
    ep = await make_endpoint(api, p["id"], name="Web")
    # up for an hour, then down for the last hour: inside a window
    await insert_check(db, ep["id"], "up", ago(hours=2), ago(hours=1, seconds=60), count=60)
    await insert_check(db, ep["id"], "down", ago(hours=1), ago(seconds=30), count=60)
    r = await api.post(
        "/api/maintenances",
        json={
            "page_id": p["id"],
            "title": "Planned restart",
            "starts_at": in_utc(hours=-1, minutes=-1),
            "ends_at": in_utc(hours=1),
            "endpoint_ids": [ep["id"]],
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    root = tree((await api.get("/status/acme")).text)
    row = root.find(f".//li[@data-endpoint='{ep['id']}']")
    note = "".join(row.find("p[@class='note']").itertext())
    assert note.startswith("100.00 % uptime in the last 90 days"), note
    bars = row.find(".//ol[@class='bars']").findall("li")
    assert {b.get("class") for b in bars[-2:]} <= {"d-ok", "d-none"}, "no red day"

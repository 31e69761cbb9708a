"""Atom 1.0 and RSS 2.0 feeds of a page: they parse cleanly with feedparser, and every
text is escaped, a hostile title included (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from tests.api.conftest import AUTH, make_page

HOSTILE = 'Down <script>alert("x")</script> & ]]> "quoted" \x07bell'


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
async def page(api):
    page = await make_page(api, "acme", "Acme & <Co>")
    r = await api.post(
        "/api/incidents",
        json={
            "page_id": page["id"],
            "title": HOSTILE,
            "description": "First **bold** <b>raw</b> ]]> & <script>x</script>",
        },
        headers=AUTH,
    )
    incident = r.json()
    await api.post(
        f"/api/incidents/{incident['id']}/updates",
        json={"status": "resolved", "message": "Fixed [link](javascript:alert(1))"},
        headers=AUTH,
    )
    t = datetime.now(UTC)
    r = await api.post(
        "/api/maintenances",
        json={
            "page_id": page["id"],
            "title": "Upgrade ]]> <b>",
            "description": "Planned & announced",
            "starts_at": iso(t + timedelta(days=1)),
            "ends_at": iso(t + timedelta(days=1, hours=2)),
        },
        headers=AUTH,
    )
    assert r.status_code == 201
    return {"page": page, "incident": incident, "maintenance": r.json()}


def clean(text: str) -> str:
    return text.replace("\x07", "")


@pytest.mark.parametrize(
    ("path", "version", "kind"),
    [
        ("/status/acme/feed.atom", "atom10", "application/atom+xml"),
        ("/status/acme/feed.rss", "rss20", "application/rss+xml"),
    ],
)
async def test_feed_parses_cleanly_and_escapes(api, page, path, version, kind):
    r = await api.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(kind)
    assert b"<script>" not in r.content  # every text escaped, even inside HTML content
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    assert feed.feed.title == "Acme & <Co> status"
    titles = [e.title for e in feed.entries]
    # newest first: the maintenance was announced after the incident
    assert titles[0] == "Maintenance: Upgrade ]]> <b> (scheduled)"
    assert titles[1].startswith(clean(HOSTILE))
    incident = feed.entries[1]
    content = incident.content[0].value if version == "atom10" else incident.description
    # each update, newest first, rendered from Markdown with raw HTML escaped
    assert content.index("Resolved") < content.index("Investigating")
    assert "<strong>bold</strong>" in content
    assert "&lt;b&gt;raw&lt;/b&gt;" in content
    assert "&lt;script&gt;" in content
    assert 'href="javascript:' not in content  # not made a link
    assert incident.link.endswith(f"/status/acme#incident-{page['incident']['id']}")


async def test_unknown_page(api):
    assert (await api.get("/status/nope/feed.atom")).status_code == 404
    assert (await api.get("/status/nope/feed.rss")).status_code == 404


async def test_empty_page_feeds(api):
    await make_page(api, "empty", "Empty")
    for path in ("/status/empty/feed.atom", "/status/empty/feed.rss"):
        feed = feedparser.parse((await api.get(path)).content)
        assert not feed.bozo
        assert feed.entries == []

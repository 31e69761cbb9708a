"""A page's incidents and maintenance windows as Atom 1.0 and RSS 2.0 feeds.

The XML is built with ElementTree, which escapes every text and attribute;
characters XML 1.0 cannot carry at all are dropped first. Each entry's content
is the HTML of its updates (Markdown rendered without raw HTML), newest first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from services.api import queries as q
from services.api.deps import Pool
from services.api.errors import errors
from services.api.markdown import render
from services.api.models import Incident, Maintenance
from services.api.routes.statuspage import page_url
from services.api.story import Story, load

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Entry:
    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    html: str


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _part(heading: str, at: datetime, body: str | None) -> str:
    return f"<p><strong>{escape(heading)}</strong> ({_stamp(at)})</p>\n{render(body)}"


def _incident(incident: Incident, url: str) -> Entry:
    parts = [_part(u.status.capitalize(), u.created_at, u.message) for u in incident.updates]
    if incident.postmortem:
        parts.insert(0, _part("Postmortem", incident.updated_at, incident.postmortem))
    title = f"{incident.title} ({incident.status}, impact {incident.impact})"
    return Entry(
        id=f"{url}#incident-{incident.id}",
        title=title,
        link=f"{url}#incident-{incident.id}",
        published=incident.created_at,
        updated=incident.updated_at,
        html="\n".join(parts),
    )


def _maintenance(m: Maintenance, url: str) -> Entry:
    when = m.next_starts_at or m.starts_at
    until = m.next_ends_at or m.ends_at
    status = m.status.replace("_", " ")
    lines = [
        f"<p><strong>Maintenance {escape(status)}</strong>: {_stamp(when)} to {_stamp(until)}"
        + (f", repeating ({escape(m.rrule)}, {escape(m.timezone)})" if m.rrule else "")
        + "</p>",
        render(m.description),
    ]
    return Entry(
        id=f"{url}#maintenance-{m.id}",
        title=f"Maintenance: {m.title} ({status})",
        link=f"{url}#maintenance-{m.id}",
        published=m.created_at,
        updated=m.updated_at,
        html="\n".join(lines),
    )


async def _entries(
    pool: Pool, slug: str, request: Request[Any, Any, Any]
) -> tuple[Story, str, list[Entry]]:
    story = await load(
        pool, slug, incidents=q.PAGE_NEWEST_INCIDENTS, maintenances=q.PAGE_ALL_MAINTENANCES
    )
    url = page_url(request, slug)
    entries = [_incident(i, url) for i in story.incidents]
    entries += [_maintenance(m, url) for m in story.maintenances]
    entries.sort(key=lambda e: (e.published, e.id), reverse=True)
    return story, url, entries


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@get(
    "/status/{slug:str}/feed.atom",
    tags=["feeds"],
    summary="The page's incidents and maintenance windows as an Atom 1.0 feed",
    media_type=ATOM,
    responses=errors(404),
)
async def atom(slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool) -> Response[bytes]:
    story, url, entries = await _entries(pool, slug, request)
    feed = ET.Element("feed", {"xmlns": "http://www.w3.org/2005/Atom"})
    _sub(feed, "id", f"{url}/feed.atom")
    _sub(feed, "title", f"{story.name} status")
    _sub(feed, "updated", max([story.updated_at, *(e.updated for e in entries)]).isoformat())
    _sub(feed, "link", rel="alternate", type="text/html", href=url)
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{url}/feed.atom")
    _sub(_sub(feed, "author"), "name", story.name)
    for e in entries:
        entry = _sub(feed, "entry")
        _sub(entry, "id", e.id)
        _sub(entry, "title", e.title, type="text")
        _sub(entry, "published", e.published.isoformat())
        _sub(entry, "updated", e.updated.isoformat())
        _sub(entry, "link", rel="alternate", type="text/html", href=e.link)
        _sub(entry, "content", e.html, type="html")
    return Response(_xml(feed), media_type=ATOM)


@get(
    "/status/{slug:str}/feed.rss",
    tags=["feeds"],
    summary="The page's incidents and maintenance windows as an RSS 2.0 feed",
    media_type=RSS,
    responses=errors(404),
)
async def rss(slug: FromPath[str], request: Request[Any, Any, Any], pool: Pool) -> Response[bytes]:
    story, url, entries = await _entries(pool, slug, request)
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", f"{story.name} status")
    _sub(channel, "link", url)
    _sub(channel, "description", f"Incidents and maintenance of {story.name}")
    built = max([story.updated_at, *(e.updated for e in entries)])
    _sub(channel, "lastBuildDate", format_datetime(built.astimezone(UTC), usegmt=True))
    for e in entries:
        item = _sub(channel, "item")
        _sub(item, "title", e.title)
        _sub(item, "link", e.link)
        _sub(item, "guid", e.id, isPermaLink="false")
        _sub(item, "pubDate", format_datetime(e.published.astimezone(UTC), usegmt=True))
        _sub(item, "description", e.html)
    return Response(_xml(root), media_type=RSS)


ROUTES = [atom, rss]

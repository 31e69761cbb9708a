"""Statuspage v2 JSON under /status/{slug}/api/v2/, checked field by field (issue 9)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page, serve

V2 = "/status/acme/api/v2"
PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id",
    "name",
    "status",
    "created_at",
    "updated_at",
    "position",
    "description",
    "showcase",
    "start_date",
    "group_id",
    "page_id",
    "group",
    "only_show_if_degraded",
}
INCIDENT_KEYS = {
    "id",
    "name",
    "status",
    "impact",
    "created_at",
    "updated_at",
    "monitoring_at",
    "resolved_at",
    "started_at",
    "shortlink",
    "page_id",
    "incident_updates",
    "components",
}
UPDATE_KEYS = {
    "id",
    "incident_id",
    "status",
    "body",
    "created_at",
    "updated_at",
    "display_at",
    "affected_components",
}
MAINTENANCE_KEYS = INCIDENT_KEYS | {"scheduled_for", "scheduled_until"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ROUTES = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def post(api, path: str, body: dict) -> dict:
    r = await api.post(path, json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def story(api, db):
    """A page with four endpoints (up, degraded, down, down in a window, one inactive),
    an open and a resolved incident, and windows active, upcoming and completed."""
    page = await make_page(api, "acme", "Acme <Corp>")
    ids = {}
    for name, status in [("Web", "up"), ("API", "degraded"), ("DB", "down"), ("Jobs", "down")]:
        ids[name] = (await make_endpoint(api, page["id"], name=name))["id"]
        await insert_check(db, ids[name], status, ago(hours=1), ago(seconds=20), interval=60)
    await make_endpoint(api, page["id"], name="Old", active=False)
    t = datetime.now(UTC)
    active = await post(
        api,
        "/api/maintenances",
        {
            "page_id": page["id"],
            "title": "Jobs migration",
            "description": "Moving *jobs*",
            "starts_at": iso(t - timedelta(hours=1)),
            "ends_at": iso(t + timedelta(hours=1)),
            "endpoint_ids": [ids["Jobs"]],
        },
    )
    upcoming = await post(
        api,
        "/api/maintenances",
        {
            "page_id": page["id"],
            "title": "Weekly",
            "starts_at": iso(t + timedelta(days=2)),
            "ends_at": iso(t + timedelta(days=2, hours=1)),
            "rrule": "FREQ=WEEKLY",
        },
    )
    done = await post(
        api,
        "/api/maintenances",
        {
            "page_id": page["id"],
            "title": "Old work",
            "starts_at": iso(t - timedelta(days=2)),
            "ends_at": iso(t - timedelta(days=2) + timedelta(hours=1)),
        },
    )
    open_incident = await post(
        api,
        "/api/incidents",
        {
            "page_id": page["id"],
            "title": "DB down",
            "description": "Looking",
            "impact": "major",
            "affected_endpoint_ids": [ids["DB"]],
        },
    )
    path = f"/api/incidents/{open_incident['id']}"
    await api.patch(path, json={"status": "monitoring"}, headers=AUTH)
    closed = await post(api, "/api/incidents", {"page_id": page["id"], "title": "Blip"})
    await post(
        api, f"/api/incidents/{closed['id']}/updates", {"status": "resolved", "message": "ok"}
    )
    return {
        "page": page,
        "ids": ids,
        "active": active,
        "upcoming": upcoming,
        "done": done,
        "open": open_incident,
        "closed": closed,
    }


def check_page(body: dict, story: dict) -> None:
    page = body["page"]
    assert set(page) == PAGE_KEYS
    assert page["id"] == str(story["page"]["id"])
    assert page["name"] == "Acme <Corp>"
    assert page["url"].endswith("/status/acme")
    assert page["time_zone"] == "Etc/UTC"
    assert ISO.match(page["updated_at"])


def check_component(c: dict, page_id: int) -> None:
    assert set(c) == COMPONENT_KEYS
    assert isinstance(c["id"], str)
    assert c["page_id"] == str(page_id)
    assert c["group_id"] is None
    assert c["group"] is False
    assert c["only_show_if_degraded"] is False
    assert c["showcase"] is True
    assert c["description"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", c["start_date"])
    assert ISO.match(c["created_at"])
    assert ISO.match(c["updated_at"])


def check_incident(i: dict, page_id: int, keys: set[str] = INCIDENT_KEYS) -> None:
    assert set(i) == keys
    assert isinstance(i["id"], str)
    assert i["page_id"] == str(page_id)
    assert i["shortlink"].startswith("http")
    for key in ("created_at", "updated_at", "started_at"):
        assert ISO.match(i[key]), key
    for u in i["incident_updates"]:
        assert set(u) == UPDATE_KEYS
        assert u["incident_id"] == i["id"]
        assert isinstance(u["id"], str)
        assert isinstance(u["body"], str)
        assert u["display_at"] == u["created_at"]
    for c in i["components"]:
        check_component(c, page_id)


async def test_summary_field_by_field(api, story):
    r = await api.get(f"{V2}/summary.json")
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert set(body) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    check_page(body, story)
    # the open incident's impact is major; DB is down outside any window
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    pid = story["page"]["id"]
    ids = story["ids"]
    assert [(c["id"], c["name"], c["status"], c["position"]) for c in body["components"]] == [
        (str(ids["Web"]), "Web", "operational", 1),
        (str(ids["API"]), "API", "degraded_performance", 2),
        (str(ids["DB"]), "DB", "major_outage", 3),
        (str(ids["Jobs"]), "Jobs", "under_maintenance", 4),  # down, but in a window
    ]
    for c in body["components"]:
        check_component(c, pid)

    [incident] = body["incidents"]  # unresolved only
    check_incident(incident, pid)
    assert incident["id"] == str(story["open"]["id"])
    assert incident["name"] == "DB down"
    assert incident["status"] == "monitoring"
    assert incident["impact"] == "major"
    assert incident["resolved_at"] is None
    assert ISO.match(incident["monitoring_at"])
    assert when(incident["started_at"]) == when(story["open"]["createdAt"])
    assert [(u["status"], u["body"]) for u in incident["incident_updates"]] == [
        ("monitoring", ""),
        ("investigating", "Looking"),
    ]
    assert [c["id"] for c in incident["components"]] == [str(ids["DB"])]

    maintenances = body["scheduled_maintenances"]  # active and upcoming
    assert [m["id"] for m in maintenances] == [
        str(story["active"]["id"]),
        str(story["upcoming"]["id"]),
    ]
    active, upcoming = maintenances
    check_incident(active, pid, MAINTENANCE_KEYS)
    assert active["status"] == "in_progress"
    assert active["impact"] == "maintenance"
    assert active["name"] == "Jobs migration"
    assert when(active["scheduled_for"]) == when(story["active"]["nextStartsAt"])
    assert when(active["scheduled_until"]) == when(story["active"]["nextEndsAt"])
    assert [c["id"] for c in active["components"]] == [str(ids["Jobs"])]
    assert active["incident_updates"][0]["body"] == "Moving *jobs*"
    assert upcoming["status"] == "scheduled"
    assert len(upcoming["components"]) == 4  # every (active) endpoint of the page


async def test_status_and_components(api, story):
    body = (await api.get(f"{V2}/status.json")).json()
    assert set(body) == {"page", "status"}
    check_page(body, story)
    assert body["status"]["indicator"] == "major"
    body = (await api.get(f"{V2}/components.json")).json()
    assert set(body) == {"page", "components"}
    assert len(body["components"]) == 4


async def test_incident_lists(api, story):
    body = (await api.get(f"{V2}/incidents.json")).json()
    assert set(body) == {"page", "incidents"}
    assert [i["id"] for i in body["incidents"]] == [
        str(story["closed"]["id"]),
        str(story["open"]["id"]),
    ]
    closed = body["incidents"][0]
    assert closed["status"] == "resolved"
    assert ISO.match(closed["resolved_at"])
    assert closed["components"] == []
    body = (await api.get(f"{V2}/incidents/unresolved.json")).json()
    assert [i["id"] for i in body["incidents"]] == [str(story["open"]["id"])]


async def test_maintenance_lists(api, story):
    every = (await api.get(f"{V2}/scheduled-maintenances.json")).json()
    assert set(every) == {"page", "scheduled_maintenances"}
    by_id = {m["id"]: m for m in every["scheduled_maintenances"]}
    assert set(by_id) == {str(story[k]["id"]) for k in ("active", "upcoming", "done")}
    assert by_id[str(story["done"]["id"])]["status"] == "completed"
    upcoming = (await api.get(f"{V2}/scheduled-maintenances/upcoming.json")).json()
    assert [m["id"] for m in upcoming["scheduled_maintenances"]] == [str(story["upcoming"]["id"])]
    active = (await api.get(f"{V2}/scheduled-maintenances/active.json")).json()
    assert [m["id"] for m in active["scheduled_maintenances"]] == [str(story["active"]["id"])]


async def test_the_50_newest_incidents(api, db):
    page = await make_page(api)
    await db.execute(
        "INSERT INTO incidents (page_id, title, created_at)"
        " SELECT %s, 'n' || g, now() - g * interval '1 minute' FROM generate_series(1, 60) g",
        (page["id"],),
    )
    body = (await api.get(f"{V2}/incidents.json")).json()
    assert [i["name"] for i in body["incidents"]] == [f"n{g}" for g in range(1, 51)]


@pytest.mark.parametrize("route", ROUTES)
async def test_public_any_origin_and_404(api, story, route):
    r = await api.get(f"{V2}/{route}", headers={"Origin": "https://grafana.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["content-type"].startswith("application/json")
    r = await api.get(f"/status/nope/api/v2/{route}")
    assert r.status_code == 404
    assert "nope" in r.json()["error"]


async def test_an_empty_page(api):
    await make_page(api)
    body = (await api.get(f"{V2}/summary.json")).json()
    assert body["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert body["components"] == []
    assert body["incidents"] == []
    assert body["scheduled_maintenances"] == []


async def test_urls_follow_public_url(settings, api):
    await make_page(api)
    public = msgspec.structs.replace(settings, public_url="https://status.example.com/")
    async with serve(public) as client:
        body = (await client.get(f"{V2}/summary.json")).json()
        assert body["page"]["url"] == "https://status.example.com/status/acme"
        feed = (await client.get("/status/acme/feed.atom")).text
        assert 'href="https://status.example.com/status/acme"' in feed

"""Incidents: statuses, resolvedAt and updatedAt rules, order, errors."""

from __future__ import annotations

import pytest

from tests.api.conftest import AUTH, make_page
from tests.api.test_pages import ISO_Z

INCIDENT_FIELDS = {
    "id",
    "pageId",
    "title",
    "description",
    "status",
    "impact",
    "affectedEndpointIds",
    "updates",
    "postmortem",
    "createdAt",
    "updatedAt",
    "resolvedAt",
}


@pytest.fixture
async def page(api):
    return await make_page(api)


async def create(api, page_id: int, **fields) -> dict:
    r = await api.post("/api/incidents", json={"page_id": page_id, **fields}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_defaults_to_investigating(api, page):
    incident = await create(api, page["id"], title="Slow checkout")
    assert set(incident) == INCIDENT_FIELDS
    assert incident["pageId"] == page["id"]
    assert incident["status"] == "investigating"
    assert incident["description"] is None
    assert incident["resolvedAt"] is None
    assert ISO_Z.match(incident["createdAt"])
    assert ISO_Z.match(incident["updatedAt"])


async def test_created_resolved_is_resolved_at_once(api, page):
    incident = await create(api, page["id"], title="Blip", status="resolved", description="")
    assert incident["status"] == "resolved"
    assert ISO_Z.match(incident["resolvedAt"])
    assert incident["description"] is None  # empty is stored as null


async def test_patch_rules(api, page):
    incident = await create(api, page["id"], title="Outage", description="Looking")
    path = f"/api/incidents/{incident['id']}"

    r = await api.patch(path, json={"status": "identified", "title": "DB outage"}, headers=AUTH)
    assert r.status_code == 200
    identified = r.json()
    assert identified["status"] == "identified"
    assert identified["title"] == "DB outage"
    assert identified["description"] == "Looking"  # kept when not given
    assert identified["updatedAt"] > incident["updatedAt"]
    assert identified["createdAt"] == incident["createdAt"]
    assert identified["resolvedAt"] is None

    resolved = (await api.patch(path, json={"status": "resolved"}, headers=AUTH)).json()
    assert ISO_Z.match(resolved["resolvedAt"])
    kept = (await api.patch(path, json={"status": "resolved"}, headers=AUTH)).json()
    assert kept["resolvedAt"] == resolved["resolvedAt"]  # kept while resolved
    assert kept["updatedAt"] > resolved["updatedAt"]
    titled = (await api.patch(path, json={"title": "Done"}, headers=AUTH)).json()
    assert titled["resolvedAt"] == resolved["resolvedAt"]

    reopened = (await api.patch(path, json={"status": "monitoring"}, headers=AUTH)).json()
    assert reopened["status"] == "monitoring"
    assert reopened["resolvedAt"] is None

    cleared = (await api.patch(path, json={"description": ""}, headers=AUTH)).json()
    assert cleared["description"] is None
    described = (await api.patch(path, json={"description": "Fixed"}, headers=AUTH)).json()
    assert described["description"] == "Fixed"
    nulled = (await api.patch(path, json={"description": None}, headers=AUTH)).json()
    assert nulled["description"] is None


async def test_list_is_newest_first_and_per_page(api, page):
    other = await make_page(api, "other")
    first = await create(api, page["id"], title="First")
    second = await create(api, page["id"], title="Second")
    await create(api, other["id"], title="Elsewhere")
    r = await api.get("/api/incidents", params={"page_id": page["id"]})
    assert r.status_code == 200
    assert [i["id"] for i in r.json()] == [second["id"], first["id"]]
    r = await api.get("/api/incidents", params={"page_id": 999999})
    assert r.status_code == 200
    assert r.json() == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?page_id=",
        "?page_id=abc",
        "?page_id=0",
        "?page_id=-4",
        f"?page_id={2**63}",
        "?page_id=1.5",
    ],
)
async def test_list_needs_a_valid_page_id(api, query):
    r = await api.get(f"/api/incidents{query}")
    assert r.status_code == 400, r.text
    assert "page_id" in r.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "t" * 256},
        {"title": "x", "status": "done"},
        {"title": "x", "extra": 1},
        {"title": None},
        {"title": "x", "description": 5},
    ],
)
async def test_create_validation(api, page, body, db):
    r = await api.post("/api/incidents", json={"page_id": page["id"], **body}, headers=AUTH)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["error"], str)
    assert await (await db.execute("SELECT count(*) FROM incidents")).fetchone() == (0,)


async def test_unknown_page_unknown_incident_and_bad_ids(api, page):
    r = await api.post("/api/incidents", json={"page_id": 424242, "title": "x"}, headers=AUTH)
    assert r.status_code == 404
    assert (await api.patch("/api/incidents/77", json={}, headers=AUTH)).status_code == 404
    assert (await api.delete("/api/incidents/77", headers=AUTH)).status_code == 404
    assert (await api.patch("/api/incidents/x", json={}, headers=AUTH)).status_code == 400
    assert (await api.delete("/api/incidents/0", headers=AUTH)).status_code == 400


async def test_delete(api, page):
    incident = await create(api, page["id"], title="Gone soon")
    r = await api.delete(f"/api/incidents/{incident['id']}", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    r = await api.get("/api/incidents", params={"page_id": page["id"]})
    assert r.json() == []

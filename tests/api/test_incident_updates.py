"""Incident timelines, impact, affected endpoints and postmortems (issue 9)."""

from __future__ import annotations

import pytest

from tests.api.conftest import AUTH, make_endpoint, make_page
from tests.api.test_pages import ISO_Z

UPDATE_FIELDS = {"id", "status", "message", "createdAt"}


@pytest.fixture
async def page(api):
    return await make_page(api)


async def create(api, page_id: int, **fields) -> dict:
    r = await api.post("/api/incidents", json={"page_id": page_id, **fields}, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


async def get(api, page_id: int, incident_id: int) -> dict:
    r = await api.get("/api/incidents", params={"page_id": page_id})
    assert r.status_code == 200
    return next(i for i in r.json() if i["id"] == incident_id)


async def test_defaults_and_description_is_the_first_update(api, page):
    incident = await create(api, page["id"], title="Slow", description="We are *looking*")
    assert incident["impact"] == "minor"
    assert incident["affectedEndpointIds"] == []
    assert incident["postmortem"] is None
    [first] = incident["updates"]
    assert set(first) == UPDATE_FIELDS
    assert first["status"] == "investigating"
    assert first["message"] == "We are *looking*"  # Markdown as written
    assert ISO_Z.match(first["createdAt"])
    quiet = await create(api, page["id"], title="Blip")
    assert [u["message"] for u in quiet["updates"]] == [None]


async def test_create_with_impact_endpoints_and_postmortem(api, page):
    a = await make_endpoint(api, page["id"], name="A")
    b = await make_endpoint(api, page["id"], name="B")
    markdown = "# What happened\n\n<script>alert(1)</script> & **more**"
    incident = await create(
        api,
        page["id"],
        title="Outage",
        impact="critical",
        affected_endpoint_ids=[b["id"], a["id"], b["id"]],
        postmortem=markdown,
    )
    assert incident["impact"] == "critical"
    assert incident["affectedEndpointIds"] == sorted([a["id"], b["id"]])
    assert incident["postmortem"] == markdown


async def test_endpoints_of_another_page_are_refused(api, page, db):
    other = await make_page(api, "other")
    foreign = await make_endpoint(api, other["id"])
    body = {"page_id": page["id"], "title": "x", "affected_endpoint_ids": [foreign["id"]]}
    r = await api.post("/api/incidents", json=body, headers=AUTH)
    assert r.status_code == 400  # another page's endpoint (issue 9: a 400)
    assert str(foreign["id"]) in r.json()["error"]
    assert await (await db.execute("SELECT count(*) FROM incidents")).fetchone() == (0,)

    incident = await create(api, page["id"], title="Mine")
    path = f"/api/incidents/{incident['id']}"
    r = await api.patch(path, json={"affected_endpoint_ids": [foreign["id"]]}, headers=AUTH)
    assert r.status_code == 400
    assert str(foreign["id"]) in r.json()["error"]
    assert (await get(api, page["id"], incident["id"]))["affectedEndpointIds"] == []


async def test_patch_changes_endpoints_impact_and_postmortem(api, page):
    a = await make_endpoint(api, page["id"], name="A")
    b = await make_endpoint(api, page["id"], name="B")
    incident = await create(api, page["id"], title="x", affected_endpoint_ids=[a["id"]])
    path = f"/api/incidents/{incident['id']}"
    r = await api.patch(
        path,
        json={"affected_endpoint_ids": [b["id"]], "impact": "major", "postmortem": "Root cause"},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["affectedEndpointIds"] == [b["id"]]
    assert changed["impact"] == "major"
    assert changed["postmortem"] == "Root cause"
    assert len(changed["updates"]) == 1  # no status change, no timeline entry
    kept = (await api.patch(path, json={"title": "y"}, headers=AUTH)).json()
    assert kept["affectedEndpointIds"] == [b["id"]]
    assert kept["postmortem"] == "Root cause"
    cleared = (await api.patch(path, json={"postmortem": None}, headers=AUTH)).json()
    assert cleared["postmortem"] is None


async def test_timeline_of_posted_updates_and_patches(api, page):
    incident = await create(api, page["id"], title="DB", description="Investigating")
    path = f"/api/incidents/{incident['id']}"

    r = await api.post(
        f"{path}/updates", json={"status": "identified", "message": "Disk full"}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    identified = r.json()
    assert set(identified) == UPDATE_FIELDS
    assert identified["status"] == "identified"
    assert identified["message"] == "Disk full"

    r = await api.post(f"{path}/updates", json={"message": "Still on it"}, headers=AUTH)
    assert r.status_code == 201
    assert r.json()["status"] == "identified"  # no status: the incident's own

    patched = (await api.patch(path, json={"status": "monitoring"}, headers=AUTH)).json()
    assert patched["status"] == "monitoring"
    same = (await api.patch(path, json={"status": "monitoring"}, headers=AUTH)).json()
    r = await api.post(
        f"{path}/updates", json={"status": "resolved", "message": "Fixed"}, headers=AUTH
    )
    resolved = await get(api, page["id"], incident["id"])
    assert resolved["status"] == "resolved"
    assert ISO_Z.match(resolved["resolvedAt"])
    timeline = [(u["status"], u["message"]) for u in resolved["updates"]]
    assert timeline == [
        ("resolved", "Fixed"),
        ("monitoring", None),  # added by the PATCH; the second PATCH changed nothing
        ("identified", "Still on it"),
        ("identified", "Disk full"),
        ("investigating", "Investigating"),
    ]
    assert len(same["updates"]) == 4
    times = [u["createdAt"] for u in resolved["updates"]]
    assert times == sorted(times, reverse=True)


async def test_delete_a_mistaken_update(api, page):
    incident = await create(api, page["id"], title="x", description="first")
    path = f"/api/incidents/{incident['id']}"
    wrong = (await api.post(f"{path}/updates", json={"message": "oops"}, headers=AUTH)).json()
    r = await api.delete(f"{path}/updates/{wrong['id']}", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    assert [u["message"] for u in (await get(api, page["id"], incident["id"]))["updates"]] == [
        "first"
    ]
    assert (await api.delete(f"{path}/updates/{wrong['id']}", headers=AUTH)).status_code == 404
    other = await create(api, page["id"], title="other")
    first_id = incident["updates"][0]["id"]
    r = await api.delete(f"/api/incidents/{other['id']}/updates/{first_id}", headers=AUTH)
    assert r.status_code == 404  # an update of another incident
    assert (await api.delete(f"{path}/updates/x", headers=AUTH)).status_code == 400
    assert (await api.delete(f"{path}/updates/{first_id}")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": ""},
        {"message": "m" * 10_001},
        {"message": "x", "status": "done"},
        {"message": "x", "extra": 1},
        {"message": 5},
    ],
)
async def test_update_validation_changes_nothing(api, page, body, db):
    incident = await create(api, page["id"], title="x")
    r = await api.post(f"/api/incidents/{incident['id']}/updates", json=body, headers=AUTH)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["error"], str)
    assert await (await db.execute("SELECT count(*) FROM incident_updates")).fetchone() == (1,)


async def test_update_of_unknown_incident_and_auth(api, page):
    r = await api.post("/api/incidents/999/updates", json={"message": "x"}, headers=AUTH)
    assert r.status_code == 404
    incident = await create(api, page["id"], title="x")
    r = await api.post(f"/api/incidents/{incident['id']}/updates", json={"message": "x"})
    assert r.status_code == 401


@pytest.mark.parametrize("impact", ["none", "minor", "major", "critical"])
async def test_every_impact(api, page, impact):
    assert (await create(api, page["id"], title="x", impact=impact))["impact"] == impact


async def test_bad_impact(api, page):
    body = {"page_id": page["id"], "title": "x", "impact": "apocalyptic"}
    r = await api.post("/api/incidents", json=body, headers=AUTH)
    assert r.status_code == 400
    assert "impact" in r.json()["error"]

"""Alerting over the API: thresholds on endpoints, channels, alert rules, events, deliveries."""

from __future__ import annotations

import time

import pytest

from tests.api.conftest import AUTH, make_endpoint, make_page

TOKEN_URL = "https://hooks.example.com/services/T000/B000/s3cr3tT0ken?key=also-secret"
CHANNEL_FIELDS = {"id", "name", "type", "target", "hasSecret", "active", "createdAt"}
RULE_FIELDS = {
    "id",
    "channelId",
    "pageId",
    "endpointId",
    "notifyOn",
    "reminderInterval",
    "createdAt",
}


async def make_channel(api, **fields) -> dict:
    body = {"name": "Ops", "type": "webhook", "url": TOKEN_URL, **fields}
    r = await api.post("/api/channels", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


# -- endpoint fields -------------------------------------------------------------


async def test_endpoint_thresholds_default_to_one_and_retry_to_the_interval(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    assert endpoint["failureThreshold"] == 1
    assert endpoint["successThreshold"] == 1
    assert endpoint["retryInterval"] is None
    changed = await api.patch(
        f"/api/endpoints/{endpoint['id']}",
        json={"failure_threshold": 3, "success_threshold": 2, "retry_interval": 10},
        headers=AUTH,
    )
    assert changed.status_code == 200, changed.text
    got = (await api.get(f"/api/endpoints/{endpoint['id']}")).json()
    assert (got["failureThreshold"], got["successThreshold"], got["retryInterval"]) == (3, 2, 10)
    page_body = (await api.get("/api/pages/acme")).json()
    assert page_body["endpoints"][0]["failureThreshold"] == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be at least 1"),
        ({"failure_threshold": 101}, "failure_threshold must be at most 100"),
        ({"success_threshold": 0}, "success_threshold must be at least 1"),
        ({"retry_interval": 4}, "retry_interval must be at least 5"),
        ({"retry_interval": 120, "interval": 60}, "must not be above interval"),
        ({"failure_threshold": "3"}, "failure_threshold must be an integer"),
    ],
)
async def test_endpoint_threshold_validation(api, fields, message):
    page = await make_page(api)
    body = {"page_id": page["id"], "name": "x", "url": "https://example.com/", **fields}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 400
    assert message in r.json()["error"]


async def test_patch_cannot_put_the_interval_below_the_retry_interval(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"], interval=60, retry_interval=30)
    r = await api.patch(f"/api/endpoints/{endpoint['id']}", json={"interval": 20}, headers=AUTH)
    assert r.status_code == 400  # the merged endpoint breaks the rule, as for the timeout
    assert "retry_interval (30 s) must not be above interval (20 s)" in r.json()["error"]


# -- channels --------------------------------------------------------------------


async def test_channel_never_shows_its_url_or_secret(api):
    created = await make_channel(api, secret="hmac-secret-value")
    assert set(created) == CHANNEL_FIELDS
    assert created["target"] == "https://hooks.example.com/…"
    assert created["hasSecret"] is True
    assert created["active"] is True
    listed = await api.get("/api/channels", headers=AUTH)
    one = await api.get(f"/api/channels/{created['id']}", headers=AUTH)
    patched = await api.patch(
        f"/api/channels/{created['id']}", json={"name": "Paging"}, headers=AUTH
    )
    for r in (listed, one, patched):
        assert r.status_code == 200
        for secret in ("s3cr3tT0ken", "also-secret", "hmac-secret-value", "T000"):
            assert secret not in r.text
    assert patched.json()["name"] == "Paging"
    assert patched.json()["hasSecret"] is True
    removed = await api.patch(f"/api/channels/{created['id']}", json={"secret": None}, headers=AUTH)
    assert removed.json()["hasSecret"] is False


async def test_channel_reads_are_private(api):
    created = await make_channel(api)
    for path in ("/api/channels", f"/api/channels/{created['id']}", "/api/alert-rules"):
        r = await api.get(path)
        assert r.status_code == 401, path
        assert "error" in r.json()
    assert (await api.get("/api/deliveries")).status_code == 401
    assert (await api.get("/api/events")).status_code == 200  # public


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("json://127.0.0.1:8080/hook?token=abc", "json://127.0.0.1/…"),
        ("mailto://user:password@mail.example.com", "mailto://mail.example.com/…"),
        ("tgram://123456789:ABCdefGhIjkLmnOp/12345", "tgram://…"),
        ("slack://TokenA/TokenB/TokenC", "slack://…"),
        ("ntfy://my-secret-topic", "ntfy://…"),
    ],
)
async def test_apprise_channel_target_hides_credentials(api, url, target):
    created = await make_channel(api, type="apprise", url=url)
    assert created["target"] == target


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "apprise", "url": "foo://bar"}, "scheme 'foo://' is not one Apprise knows"),
        ({"type": "apprise", "url": "tgram://x"}, "not a valid tgram:// URL"),
        ({"type": "apprise", "url": "no scheme"}, "must not contain spaces"),
        ({"type": "apprise", "url": "noscheme"}, "scheme://"),
        ({"type": "webhook", "url": "ftp://example.com/"}, "absolute http(s) URL"),
        ({"type": "sms"}, "type has an invalid value"),
        ({"name": ""}, "name must not be empty"),
        ({"secret": ""}, "secret must not be empty"),
        ({"colour": "red"}, "unknown field 'colour'"),
    ],
)
async def test_bad_channels_are_400_naming_the_problem(api, body, message):
    full = {"name": "Ops", "type": "webhook", "url": "https://example.com/hook", **body}
    r = await api.post("/api/channels", json=full, headers=AUTH)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]
    assert "tgram://x" not in r.text
    assert "foo://bar" not in r.text
    assert (await api.get("/api/channels", headers=AUTH)).json() == []


async def test_patch_revalidates_the_url_against_the_new_type(api):
    created = await make_channel(api)
    r = await api.patch(f"/api/channels/{created['id']}", json={"type": "apprise"}, headers=AUTH)
    assert r.status_code == 400  # https:// is no Apprise scheme
    r = await api.patch(
        f"/api/channels/{created['id']}",
        json={"type": "apprise", "url": "json://10.0.0.1/x"},
        headers=AUTH,
    )
    assert r.status_code == 200
    assert r.json()["target"] == "json://10.0.0.1/…"


async def test_channel_404s(api):
    assert (await api.get("/api/channels/999", headers=AUTH)).status_code == 404
    assert (await api.patch("/api/channels/999", json={}, headers=AUTH)).status_code == 404
    assert (await api.delete("/api/channels/999", headers=AUTH)).status_code == 404
    assert (await api.post("/api/channels/999/test", headers=AUTH)).status_code == 404
    r = await api.get("/api/channels/abc", headers=AUTH)
    assert r.status_code == 400


async def test_test_without_a_checker_answers_pending_at_once(api):
    created = await make_channel(api)
    started = time.monotonic()
    r = await api.post(f"/api/channels/{created['id']}/test", headers=AUTH)
    assert time.monotonic() - started < 5  # no checker connected: no point waiting 10 s
    assert r.status_code == 200
    assert r.json() == {"state": "pending", "attempts": 0, "lastError": None}
    deliveries = (await api.get("/api/deliveries", headers=AUTH)).json()
    assert [d["channelId"] for d in deliveries] == [created["id"]]
    assert deliveries[0]["state"] == "pending"


# -- alert rules ----------------------------------------------------------------


async def test_alert_rules_create_list_delete(api):
    page = await make_page(api)
    other = await make_page(api, slug="other", name="Other")
    endpoint = await make_endpoint(api, page["id"])
    channel = await make_channel(api)
    r = await api.post(
        "/api/alert-rules", json={"channel_id": channel["id"], "page_id": page["id"]}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    by_page = r.json()
    assert set(by_page) == RULE_FIELDS
    assert by_page["notifyOn"] == ["down", "up"]
    assert by_page["reminderInterval"] is None
    r = await api.post(
        "/api/alert-rules",
        json={
            "channel_id": channel["id"],
            "endpoint_id": endpoint["id"],
            "notify_on": ["up", "degraded", "down", "up"],
            "reminder_interval": 600,
        },
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    by_endpoint = r.json()
    assert by_endpoint["notifyOn"] == ["down", "degraded", "up"]
    await api.post(
        "/api/alert-rules", json={"channel_id": channel["id"], "page_id": other["id"]}, headers=AUTH
    )
    listed = (await api.get(f"/api/alert-rules?page_id={page['id']}", headers=AUTH)).json()
    assert [x["id"] for x in listed] == [by_page["id"], by_endpoint["id"]]
    assert len((await api.get("/api/alert-rules", headers=AUTH)).json()) == 3
    r = await api.delete(f"/api/alert-rules/{by_page['id']}", headers=AUTH)
    assert r.status_code == 200
    assert (await api.delete(f"/api/alert-rules/{by_page['id']}", headers=AUTH)).status_code == 404


async def test_reminder_interval_alone_turns_reminders_on(api):
    page = await make_page(api)
    channel = await make_channel(api)
    r = await api.post(
        "/api/alert-rules",
        json={"channel_id": channel["id"], "page_id": page["id"], "reminder_interval": 300},
        headers=AUTH,
    )
    assert r.json()["notifyOn"] == ["down", "up", "reminder"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "exactly one of page_id or endpoint_id"),
        ({"page_id": "PAGE", "endpoint_id": "ENDPOINT"}, 400, "exactly one of"),
        ({"page_id": 99999}, 404, "no page with id 99999"),
        ({"endpoint_id": 99999}, 404, "no endpoint with id 99999"),
        ({"page_id": "PAGE", "channel_id": 99999}, 404, "no channel with id 99999"),
        ({"page_id": "PAGE", "notify_on": []}, 400, "notify_on must have at least 1"),
        ({"page_id": "PAGE", "notify_on": ["sideways"]}, 400, "notify_on"),
        ({"page_id": "PAGE", "notify_on": ["reminder"]}, 400, "needs a reminder_interval"),
        ({"page_id": "PAGE", "reminder_interval": 299}, 400, "at least 300"),
        ({"page_id": "PAGE", "reminder_interval": 86401}, 400, "at most 86400"),
    ],
)
async def test_bad_alert_rules(api, body, status, message):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    channel = await make_channel(api)
    full = {"channel_id": channel["id"], **body}
    for key, value in list(full.items()):
        if value in ("PAGE", "ENDPOINT"):
            full[key] = page["id"] if value == "PAGE" else endpoint["id"]
    r = await api.post("/api/alert-rules", json=full, headers=AUTH)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]
    assert (await api.get("/api/alert-rules", headers=AUTH)).json() == []


# -- events ----------------------------------------------------------------------


async def test_events_filter_and_limit(api, db):
    page = await make_page(api)
    a = await make_endpoint(api, page["id"], name="A")
    b = await make_endpoint(api, page["id"], name="B")
    for endpoint, kind, to in ((a, "down", "down"), (b, "down", "down"), (a, "up", "up")):
        await db.execute(
            "INSERT INTO events (type, page_id, endpoint_id, from_status, to_status, error)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (f"endpoint.{kind}", page["id"], endpoint["id"], "up", to, "HTTP 503"),
        )
    events = (await api.get("/api/events")).json()
    assert [e["type"] for e in events] == ["endpoint.up", "endpoint.down", "endpoint.down"]
    assert set(events[0]) == {
        "id",
        "type",
        "pageId",
        "endpointId",
        "from",
        "to",
        "occurredAt",
        "statusCode",
        "responseTime",
        "error",
        "suppressed",
        "maintenanceId",
    }
    assert events[0]["occurredAt"].endswith("Z")
    only_a = (await api.get(f"/api/events?endpoint_id={a['id']}")).json()
    assert {e["endpointId"] for e in only_a} == {a["id"]}
    assert len((await api.get(f"/api/events?page_id={page['id']}&limit=2")).json()) == 2
    assert (await api.get("/api/events?page_id=99999")).json() == []
    for bad in ("limit=0", "limit=1001", "page_id=0", "endpoint_id=x"):
        r = await api.get(f"/api/events?{bad}")
        assert r.status_code == 400, bad
        assert "error" in r.json()


async def test_deliveries_filter(api):
    channel = await make_channel(api)
    await api.post(f"/api/channels/{channel['id']}/test", headers=AUTH)
    assert len((await api.get("/api/deliveries?state=pending", headers=AUTH)).json()) == 1
    assert (await api.get("/api/deliveries?state=delivered", headers=AUTH)).json() == []
    r = await api.get("/api/deliveries?state=lost", headers=AUTH)
    assert r.status_code == 400

"""Endpoint fields of issue 11: tcp/dns/tls urls, headers (masked), body, TLS and DNS settings."""

from __future__ import annotations

import json

import pytest
from loguru import logger

from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page

SECRET = "Bearer do-not-show-me-0123456789"
DEFAULTS = {
    "headers": {},
    "body": None,
    "bodyContentType": None,
    "followRedirects": True,
    "verifyTls": True,
    "certExpiryDays": 14,
    "dnsRecordType": "A",
    "dnsServer": None,
    "dnsExpected": None,
}


@pytest.fixture
async def page(api):
    return await make_page(api)


async def count(db) -> int:
    row = await (await db.execute("SELECT count(*) FROM endpoints")).fetchone()
    return int(row[0])


@pytest.mark.parametrize(
    "url",
    [
        "tcp://db.internal:5432",
        "TCP://127.0.0.1:1",
        "tls://example.com:443",
        "tls://[2001:db8::1]:8443/",
        "dns://example.com",
        "dns://_dmarc.example.com",
        "https://example.com/",
    ],
)
async def test_each_kind_is_accepted_with_the_defaults(api, page, url):
    endpoint = await make_endpoint(api, page["id"], url=url)
    assert endpoint["url"] == url
    assert {k: endpoint[k] for k in DEFAULTS} == DEFAULTS
    assert (await api.get(f"/api/endpoints/{endpoint['id']}")).json() == endpoint


async def test_every_field_is_stored_and_returned_in_camel_case(api, page, db):
    endpoint = await make_endpoint(
        api,
        page["id"],
        url="dns://example.com",
        headers={"Authorization": SECRET, "X-Empty": ""},
        body='{"a": 1}',
        body_content_type="application/vnd.x+json",
        follow_redirects=False,
        verify_tls=False,
        cert_expiry_days=None,
        dns_record_type="MX",
        dns_server="[2001:db8::53]:5353",
        dns_expected="mail.example.com",
    )
    assert {k: endpoint[k] for k in DEFAULTS} == {
        "headers": {"Authorization": "***", "X-Empty": "***"},
        "body": '{"a": 1}',
        "bodyContentType": "application/vnd.x+json",
        "followRedirects": False,
        "verifyTls": False,
        "certExpiryDays": None,
        "dnsRecordType": "MX",
        "dnsServer": "[2001:db8::53]:5353",
        "dnsExpected": "mail.example.com",
    }
    row = await (
        await db.execute("SELECT headers FROM endpoints WHERE id = %s", (endpoint["id"],))
    ).fetchone()
    assert row == ({"Authorization": SECRET, "X-Empty": ""},)  # the checker sends the real ones


async def test_the_body_type_defaults_to_json_when_the_body_parses(api, page):
    path = f"/api/endpoints/{(await make_endpoint(api, page['id'], body='[1, 2]'))['id']}"
    assert (await api.get(path)).json()["bodyContentType"] == "application/json"
    r = await api.patch(path, json={"body": "plain words"}, headers=AUTH)
    assert r.json()["bodyContentType"] == "text/plain"
    r = await api.patch(path, json={"body_content_type": "text/csv"}, headers=AUTH)
    assert (r.json()["body"], r.json()["bodyContentType"]) == ("plain words", "text/csv")
    r = await api.patch(path, json={"body": None, "body_content_type": None}, headers=AUTH)
    assert (r.json()["body"], r.json()["bodyContentType"]) == (None, None)


async def test_header_values_are_masked_in_every_response_and_no_log_line(api, page, db):
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        endpoint = await make_endpoint(api, page["id"], headers={"Authorization": SECRET})
        path = f"/api/endpoints/{endpoint['id']}"
        await insert_check(db, endpoint["id"], "up", ago(minutes=1))
        answers = [
            json.dumps(endpoint),
            (await api.get(path)).text,
            (await api.patch(path, json={"name": "Renamed"}, headers=AUTH)).text,
            (await api.get(f"/api/pages/{page['slug']}")).text,
            (await api.get(f"/api/pages/{page['slug']}/timeline")).text,
            (await api.get(f"{path}/history")).text,
            (await api.get("/doc")).text,
        ]
        bad = await api.patch(path, json={"headers": {"Host": SECRET}}, headers=AUTH)
        answers.append(bad.text)
        bad = await api.patch(path, json={"headers": {"X": SECRET + "\r\n"}}, headers=AUTH)
        answers.append(bad.text)
        bad = await api.patch(path, json={"headers": {"X": SECRET * 200}}, headers=AUTH)
        answers.append(bad.text)
    finally:
        logger.remove(sink)
    assert '"Authorization":"***"' in answers[1].replace(" ", "")
    for text in answers + lines:
        assert "do-not-show-me" not in text
    # a PATCH that leaves headers alone keeps their real values
    row = await (
        await db.execute("SELECT headers FROM endpoints WHERE id = %s", (endpoint["id"],))
    ).fetchone()
    assert row == ({"Authorization": SECRET},)


async def test_patch_replaces_the_headers_and_keeps_the_rest(api, page):
    endpoint = await make_endpoint(api, page["id"], headers={"A": "1", "B": "2"})
    path = f"/api/endpoints/{endpoint['id']}"
    r = await api.patch(path, json={"headers": {"C": "3"}}, headers=AUTH)
    assert r.json()["headers"] == {"C": "***"}
    r = await api.patch(
        path, json={"dns_expected": "x.example", "dns_record_type": "CNAME"}, headers=AUTH
    )
    assert r.status_code == 200
    assert (r.json()["dnsExpected"], r.json()["dnsRecordType"]) == ("x.example", "CNAME")
    assert r.json()["headers"] == {"C": "***"}


TOO_MANY = {f"X-H{i}": "v" for i in range(51)}
URL = "url must be an absolute http(s) URL with a host, tcp://host:port, tls://host:port or dns://name"
FORBIDDEN = (
    "headers: each name must be an RFC 7230 token (letters, digits and !#$%&'*+-.^_`|~),"
    " and not Host"
)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "tcp://db.internal"}, URL),
        ({"url": "tcp://db.internal:5432/path"}, URL),
        (
            {"url": "tcp://:5432"},
            "url must be an absolute http(s) URL with a host, tcp://host:port",
        ),
        ({"url": "tcp://db:99999"}, "url must be an absolute http(s) URL"),
        ({"url": "tls://example.com"}, URL),
        ({"url": "dns://example.com:53"}, URL),
        ({"url": "dns://example.com/x"}, URL),
        ({"url": "udp://example.com:53"}, URL),
        ({"headers": {"Bad Name": "x"}}, "headers: each name must be an RFC 7230 token"),
        ({"headers": {"": "x"}}, "headers: each name must"),
        (
            {"headers": {"X": "a\r\nInjected: 1"}},
            "headers: each value must be printable ASCII (no CR, LF",
        ),
        ({"headers": {"X": "a\nb"}}, "headers: each value must be printable ASCII (no CR, LF"),
        ({"headers": {"X": "x" * 4097}}, "headers: each value must be at most 4096 characters"),
        ({"headers": {"X": "é"}}, "headers: each value must be printable ASCII"),
        ({"headers": {"X": 1}}, "headers: each value must be a string"),
        ({"headers": ["X"]}, "headers must be a JSON object"),
        ({"headers": TOO_MANY}, "headers must have at most 50 entries"),
        ({"headers": {"Host": "a"}}, FORBIDDEN),
        ({"headers": {"content-length": "1"}}, FORBIDDEN),
        ({"headers": {"Transfer-Encoding": "chunked"}}, FORBIDDEN),
        ({"headers": {"CONNECTION": "close"}}, FORBIDDEN),
        ({"body": "x" * 65537}, "body must be at most 65536 characters long"),
        ({"body": 5}, "body must be a string"),
        ({"body": "a\u0000b"}, "body must not contain NUL"),
        ({"body_content_type": ""}, "body_content_type must not be empty"),
        ({"body_content_type": "text/plain\r\nX: 1"}, "body_content_type must not contain"),
        ({"follow_redirects": "no"}, "follow_redirects must be true or false"),
        ({"follow_redirects": None}, "follow_redirects must be true or false"),
        ({"verify_tls": 0}, "verify_tls must be true or false"),
        ({"cert_expiry_days": 0}, "cert_expiry_days must be at least 1"),
        ({"cert_expiry_days": 366}, "cert_expiry_days must be at most 365"),
        ({"cert_expiry_days": "14"}, "cert_expiry_days must be an integer"),
        ({"dns_record_type": "SOA"}, "dns_record_type has an invalid value 'SOA'"),
        ({"dns_record_type": "a"}, "dns_record_type has an invalid value 'a'"),
        ({"dns_record_type": None}, "dns_record_type"),
        ({"dns_server": ""}, "dns_server must not be empty"),
        ({"dns_server": "1.2.3.4:0"}, "dns_server must be a host or host:port"),
        ({"dns_server": "ns1 .example"}, "dns_server must be a host or host:port"),
        ({"dns_server": "[::1"}, "dns_server must be a host or host:port"),
        ({"dns_server": "a:b:c"}, "dns_server must be a host or host:port"),
        ({"dns_expected": ""}, "dns_expected must not be empty"),
        ({"dns_expected": "\u0000"}, "dns_expected must not contain NUL"),
    ],
)
async def test_bad_values_are_a_clear_400_that_writes_nothing(api, page, db, fields, message):
    body = {"page_id": page["id"], "name": "Site", "url": "https://example.com/", **fields}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(message), r.json()
    assert await count(db) == 0
    endpoint = await make_endpoint(api, page["id"])
    r = await api.patch(f"/api/endpoints/{endpoint['id']}", json=fields, headers=AUTH)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(message), r.json()
    assert (await api.get(f"/api/endpoints/{endpoint['id']}")).json() == endpoint


async def test_the_largest_headers_and_body_fit_in_one_request(api, page):
    headers = {f"X-Header-{i:02}": "v" * 4096 for i in range(50)}
    endpoint = await make_endpoint(api, page["id"], headers=headers, body="é" * 65536)
    assert len(endpoint["headers"]) == 50
    assert len(endpoint["body"]) == 65536
    huge = {"page_id": page["id"], "name": "S", "url": "https://e.com/", "body": "x" * 2_000_000}
    r = await api.post("/api/endpoints", json=huge, headers=AUTH)
    assert r.status_code == 413
    assert r.json() == {"error": "the request body is too large (at most 1 MiB)"}


@pytest.mark.parametrize(
    "change",
    [
        {"url": "tcp://db.internal:5432"},
        {"headers": {"X-A": "1"}},
        {"body": "ping"},
        {"body_content_type": "text/csv"},
        {"follow_redirects": False},
        {"verify_tls": False},
        {"cert_expiry_days": 30},
        {"cert_expiry_days": None},
        {"dns_record_type": "TXT"},
        {"dns_server": "192.0.2.53"},
        {"dns_expected": "192.0.2.1"},
    ],
)
async def test_changing_a_probe_setting_makes_the_endpoint_due_at_once(api, page, db, change):
    endpoint = await make_endpoint(api, page["id"], interval=300, timeout=10)
    await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() + interval '1 hour', claim_token = 7"
        " WHERE endpoint_id = %s",
        (endpoint["id"],),
    )
    r = await api.patch(f"/api/endpoints/{endpoint['id']}", json=change, headers=AUTH)
    assert r.status_code == 200, r.text
    row = await (
        await db.execute(
            "SELECT next_check_at <= now(), claim_token FROM endpoint_state WHERE endpoint_id = %s",
            (endpoint["id"],),
        )
    ).fetchone()
    assert row == (True, None)


async def test_a_name_change_does_not(api, page, db):
    endpoint = await make_endpoint(api, page["id"], interval=300, timeout=10)
    await db.execute(
        "UPDATE endpoint_state SET next_check_at = now() + interval '1 hour'"
        " WHERE endpoint_id = %s",
        (endpoint["id"],),
    )
    await api.patch(f"/api/endpoints/{endpoint['id']}", json={"name": "New"}, headers=AUTH)
    row = await (
        await db.execute(
            "SELECT next_check_at > now() FROM endpoint_state WHERE endpoint_id = %s",
            (endpoint["id"],),
        )
    ).fetchone()
    assert row == (True,)


async def test_check_rows_show_cert_expires_at(api, page, db):
    endpoint = await make_endpoint(api, page["id"], url="tls://example.com:443")
    plain = await make_endpoint(api, page["id"], url="tcp://example.com:22", name="Plain")
    check = await insert_check(db, endpoint["id"], "up", ago(minutes=2))
    await insert_check(db, plain["id"], "up", ago(minutes=2))
    await db.execute(
        "UPDATE checks SET cert_expires_at = '2031-05-04T03:02:01Z' WHERE id = %s", (check,)
    )
    want = "2031-05-04T03:02:01Z"
    history = (await api.get(f"/api/endpoints/{endpoint['id']}/history")).json()
    assert history[0]["certExpiresAt"].replace("+00:00", "Z") == want
    timeline = (await api.get(f"/api/pages/{page['slug']}/timeline")).json()
    by_endpoint = {c["endpointId"]: c["certExpiresAt"] for c in timeline}
    assert by_endpoint[endpoint["id"]].replace("+00:00", "Z") == want
    assert by_endpoint[plain["id"]] is None
    detail = (await api.get(f"/api/pages/{page['slug']}")).json()
    latest = {e["id"]: e["latest"]["certExpiresAt"] for e in detail["endpoints"]}
    assert latest[endpoint["id"]].replace("+00:00", "Z") == want
    assert latest[plain["id"]] is None

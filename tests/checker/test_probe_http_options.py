"""HTTP options: headers and a body arrive as configured; follow_redirects false judges the 3xx."""

from __future__ import annotations

import json

from services.checker.probes import probe

from .conftest import Target, claim


async def test_headers_and_a_json_body_arrive_as_configured(session, target: Target):
    url = target.answer("/api")
    body = json.dumps({"ping": 1})
    headers = {"Authorization": "Bearer s3cret", "X-Trace": "a b\tc"}
    r = await probe(session, claim(url, method="POST", headers=headers, body=body))
    assert r.status == "up"
    hit = target.hits["/api"][0]
    assert hit.method == "POST"
    assert hit.headers["Authorization"] == "Bearer s3cret"
    assert hit.headers["X-Trace"] == "a b\tc"
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.body == body.encode()


async def test_a_body_that_is_not_json_is_text_and_a_given_type_wins(session, target: Target):
    url = target.answer("/form")
    await probe(session, claim(url, method="PUT", body="hello=1"))
    await probe(session, claim(url, method="PUT", body='{"a": 1}', body_content_type="text/x"))
    await probe(session, claim(url, method="PUT", body="<a/>", headers={"Content-Type": "app/xml"}))
    hits = target.hits["/form"]
    assert [h.headers["Content-Type"] for h in hits] == ["text/plain", "text/x", "app/xml"]
    assert [h.body for h in hits] == [b"hello=1", b'{"a": 1}', b"<a/>"]


async def test_the_user_agent_can_be_replaced(session, target: Target):
    url = target.answer("/ua")
    await probe(session, claim(url, headers={"User-Agent": "probe/1"}))
    assert target.hits["/ua"][0].user_agent == "probe/1"


async def test_follow_redirects_false_judges_the_3xx_itself(session, target: Target):
    target.answer("/final")
    moved = target.answer("/moved", redirect_to="/final")
    r = await probe(session, claim(moved, follow_redirects=False))
    assert (r.status, r.status_code, r.error) == ("down", 302, "HTTP 302")
    r = await probe(session, claim(moved, follow_redirects=False, expected_status=("301-302",)))
    assert (r.status, r.status_code) == ("up", 302)
    assert target.count("/final") == 0
    r = await probe(session, claim(moved))  # the default follows
    assert (r.status, r.status_code) == ("up", 200)
    assert target.count("/final") == 1


async def test_plain_http_has_no_certificate(session, target: Target):
    r = await probe(session, claim(target.answer("/x")))
    assert r.cert_expires_at is None


async def test_a_running_checker_sends_the_endpoints_settings_and_logs_no_value(
    db, settings, target: Target, refused_url: str
):
    from loguru import logger
    from psycopg.types.json import Jsonb

    from .conftest import eventually, history, make_endpoint, make_page, running_checker

    secret = "Bearer never-logged-42"
    page = await make_page(db)
    sent = await make_endpoint(
        db,
        page,
        target.answer("/private"),
        method="POST",
        headers=Jsonb({"Authorization": secret}),
        body='{"q": 1}',
        follow_redirects=False,
    )
    refused = await make_endpoint(db, page, refused_url, headers=Jsonb({"X-Key": secret}))
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    try:
        async with running_checker(settings, log_level="DEBUG"):
            await eventually(lambda: target.count("/private"), 5)
            await eventually(lambda: history(db, refused), 5)
            await eventually(lambda: history(db, sent), 5)
    finally:
        logger.remove(sink)
    hit = target.hits["/private"][0]
    assert (hit.method, hit.headers["Authorization"], hit.body) == ("POST", secret, b'{"q": 1}')
    assert hit.headers["Content-Type"] == "application/json"
    assert (await history(db, refused))[0]["error"] == "connection refused"
    assert lines  # the checker did log (start, stop ...)
    assert not [line for line in lines if "never-logged" in line]

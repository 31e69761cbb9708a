"""The API and a checker together: channel tests through the outbox, and secrets kept secret."""

from __future__ import annotations

import asyncio

import pytest
from loguru import logger

from tests.api.conftest import AUTH, serve

from .conftest import Receiver, Target, eventually, free_port, running_checker, wait_healthy

TOKEN = "tok-9f8e7d6c5b4a"
SECRET = "hmac-1a2b3c4d5e6f"


async def test_channel_test_waits_for_the_outcome(settings, receiver: Receiver):
    async with serve(settings) as api, running_checker(settings):
        good = (
            await api.post(
                "/api/channels",
                json={"name": "ok", "type": "webhook", "url": receiver.url("/ok")},
                headers=AUTH,
            )
        ).json()
        r = await api.post(f"/api/channels/{good['id']}/test", headers=AUTH)
        assert r.status_code == 200
        assert r.json() == {"state": "delivered", "attempts": 1, "lastError": None}
        (got,) = receiver.on("/ok")
        assert got.headers["Uptimatum-Event"] == "test"
        body = got.json()
        assert body["type"] == "test"
        assert body["channel"] == {"id": good["id"], "name": "ok", "type": "webhook"}
        assert "endpoint" not in body

        receiver.scripts["/bad"] = [503]
        bad = (
            await api.post(
                "/api/channels",
                json={"name": "bad", "type": "webhook", "url": receiver.url("/bad")},
                headers=AUTH,
            )
        ).json()
        r = await api.post(f"/api/channels/{bad['id']}/test", headers=AUTH)
        assert r.json() == {"state": "failed", "attempts": 1, "lastError": "HTTP 503"}
        # Inactive channels get no deliveries, but an explicit test still goes out.
        await api.patch(f"/api/channels/{good['id']}", json={"active": False}, headers=AUTH)
        r = await api.post(f"/api/channels/{good['id']}/test", headers=AUTH)
        assert r.json()["state"] == "delivered"


@pytest.mark.slow
async def test_a_channel_url_with_a_token_never_appears_in_a_response_or_a_log_line(
    settings, spawn, database_url, target: Target, receiver: Receiver
):
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="TRACE")
    responses: list[str] = []
    try:
        checker = spawn(LOG_LEVEL="DEBUG")
        await wait_healthy(checker.metrics_port)
        async with serve(settings) as api:

            async def call(method: str, path: str, **kw) -> dict:
                r = await api.request(method, path, headers=AUTH, **kw)
                responses.append(r.text + str(r.headers))
                return r.json()

            page = await call("POST", "/api/pages", json={"slug": "p", "name": "P"})
            receiver.scripts[f"/hook/{TOKEN}"] = [500, 500]
            hook = f"http://127.0.0.1:{receiver.port}/hook/{TOKEN}?key={TOKEN}"
            apprise = f"json://user:{TOKEN}@127.0.0.1:{free_port()}/{TOKEN}"
            channels = [
                await call(
                    "POST",
                    "/api/channels",
                    json={"name": "hook", "type": "webhook", "url": hook, "secret": SECRET},
                ),
                await call(
                    "POST", "/api/channels", json={"name": "j", "type": "apprise", "url": apprise}
                ),
            ]
            await call(
                "POST",
                "/api/channels",
                json={"name": "bad", "type": "apprise", "url": f"tgram://{TOKEN}"},
            )
            for c in channels:
                rule = {"channel_id": c["id"], "page_id": page["id"]}
                await call("POST", "/api/alert-rules", json=rule)
                await call("PATCH", f"/api/channels/{c['id']}", json={"name": c["name"] + "!"})
                await call("GET", f"/api/channels/{c['id']}")
            await call(  # goes down at once: both channels are told
                "POST",
                "/api/endpoints",
                json={"page_id": page["id"], "name": "x", "url": target.answer("/x", status=500)},
            )
            await call("POST", f"/api/channels/{channels[1]['id']}/test")
            await eventually(lambda: len(receiver.on(f"/hook/{TOKEN}")) >= 3, 30)
            await asyncio.sleep(1)
            for path in ("/api/channels", "/api/alert-rules", "/api/deliveries", "/api/events"):
                await call("GET", path)
            deliveries = await call("GET", "/api/deliveries")
            assert {d["state"] for d in deliveries} >= {"delivered", "failed"}
            assert any(d["lastError"] for d in deliveries)
        checker.terminate()
        assert await asyncio.to_thread(checker.wait, 15) == 0
    finally:
        logger.remove(sink)
    assert len(responses) > 10
    checker_log = checker.log()
    assert "will be retried" in checker_log  # the failures were logged …
    for text in [*responses, *lines, checker_log]:
        assert TOKEN not in text  # … without the URL's token
        assert SECRET not in text

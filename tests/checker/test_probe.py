"""Every status rule, against a real HTTP target on loopback (the probe touches no database)."""

from __future__ import annotations

import time

from services.checker.probes import probe
from services.checker.probes.http import MAX_BODY, USER_AGENT

from .conftest import Target, claim


async def test_accepted_status_is_up(session, target: Target):
    r = await probe(session, claim(target.answer("/ok", status=204, body=b"")))
    assert (r.status, r.status_code, r.error) == ("up", 204, None)
    assert 0 <= r.response_ms < 1000


async def test_status_outside_the_accepted_set_is_down(session, target: Target):
    r = await probe(session, claim(target.answer("/boom", status=503)))
    assert (r.status, r.status_code, r.error) == ("down", 503, "HTTP 503")


async def test_custom_expected_status(session, target: Target):
    url = target.answer("/teapot", status=418)
    r = await probe(session, claim(url, expected_status=("200-299", "418")))
    assert r.status == "up"
    r = await probe(session, claim(target.answer("/ok"), expected_status=("301-302",)))
    assert (r.status, r.error) == ("down", "HTTP 200")


async def test_redirects_are_followed_and_judged_on_the_final_answer(session, target: Target):
    target.answer("/final", status=200)
    r = await probe(session, claim(target.answer("/moved", redirect_to="/final")))
    assert (r.status, r.status_code) == ("up", 200)
    assert target.count("/final") == 1


async def test_slower_than_the_threshold_is_degraded(session, target: Target):
    url = target.answer("/slow", delay=0.3)
    r = await probe(session, claim(url, degraded_threshold_ms=100))
    assert r.status == "degraded"
    assert r.response_ms >= 300
    assert r.error == f"slow: {r.response_ms} ms > 100 ms"
    fast = await probe(session, claim(target.answer("/fast"), degraded_threshold_ms=1000))
    assert fast.status == "up"


async def test_keyword_rule(session, target: Target):
    url = target.answer("/kw", body=b"<html>All systems operational</html>")
    assert (await probe(session, claim(url, keyword="operational"))).status == "up"
    missing = await probe(session, claim(url, keyword="banana"))
    assert (missing.status, missing.status_code) == ("degraded", 200)
    assert "keyword" in (missing.error or "")


async def test_keyword_is_searched_in_the_first_mib_only(session, target: Target):
    late = target.answer("/late", body=b"x" * (MAX_BODY + 10) + b"NEEDLE")
    assert (await probe(session, claim(late, keyword="NEEDLE"))).status == "degraded"
    edge = target.answer("/edge", body=b"x" * (MAX_BODY - 6) + b"NEEDLE" + b"y" * 100)
    assert (await probe(session, claim(edge, keyword="NEEDLE"))).status == "up"


async def test_refused_connection_is_down(session, refused_url: str):
    r = await probe(session, claim(refused_url))
    assert (r.status, r.status_code, r.error) == ("down", None, "connection refused")
    assert r.response_ms >= 0


async def test_timeout_is_down_with_a_short_error(session, target: Target):
    started = time.monotonic()
    r = await probe(session, claim(target.answer("/hang", hang=True), timeout=1))
    assert (r.status, r.error) == ("down", "timeout after 1 s")
    assert 1.0 <= time.monotonic() - started < 2.0
    assert r.response_ms >= 1000  # elapsed time is recorded for failures too


async def test_dns_failure_is_down(session):
    r = await probe(session, claim("http://no-such-host.invalid/"))
    assert (r.status, r.error) == ("down", "DNS lookup failed")


async def test_tls_failure_is_down(session, target: Target):
    # TLS spoken to a plain-HTTP port: the handshake fails.
    r = await probe(session, claim(f"https://127.0.0.1:{target.port}/"))
    assert r.status == "down"
    assert r.error
    assert r.error.startswith("TLS error: ")
    assert "<" not in r.error
    assert "Error(" not in r.error


async def test_method_user_agent_and_a_new_connection_per_probe(session, target: Target):
    url = target.answer("/ua")
    for _ in range(3):
        await probe(session, claim(url, method="HEAD"))
    hits = target.hits["/ua"]
    assert [h.method for h in hits] == ["HEAD"] * 3
    assert {h.user_agent for h in hits} == {USER_AGENT}
    assert USER_AGENT.startswith("Uptimatum/")
    assert USER_AGENT.endswith("(+status checker)")
    assert len({h.peer_port for h in hits}) == 3  # no keep-alive reuse

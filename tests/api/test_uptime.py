"""Time-weighted uptime to the hundredth, the timeline, and fixed statement counts."""

from __future__ import annotations

import re

from tests.api.conftest import ago, insert_check, make_endpoint, make_page

H = 3600


async def _endpoint_figures(api, slug: str = "acme") -> dict[int, dict]:
    body = (await api.get(f"/api/pages/{slug}")).json()
    return {e["id"]: e for e in body["endpoints"]}


async def test_24h_and_7d_uptime_from_known_rows(api, db):
    page = await make_page(api)
    day = (await make_endpoint(api, page["id"], name="day"))["id"]
    week = (await make_endpoint(api, page["id"], name="week"))["id"]

    # "day": every row is inside the last 25 hours.
    # Straddles the window start: only [now-24h, now-23.5h+60s) counts: 1860 s up.
    await insert_check(db, day, "up", ago(hours=25), ago(hours=23.5), interval=60)
    # 3600 s checked + one 60 s interval after the last check: 3660 s up.
    await insert_check(db, day, "up", ago(hours=10), ago(hours=9), interval=60)
    # (an uncovered gap of almost an hour: counts neither way)
    await insert_check(db, day, "down", ago(hours=8), ago(hours=8, seconds=-540), interval=60)
    # degraded counts as available: 1800 s.
    await insert_check(db, day, "degraded", ago(hours=5), ago(hours=5, seconds=-1740))
    # Would cover 3600 s but the next row starts after 3300 s: 3300 s up, then 60 s down.
    await insert_check(db, day, "up", ago(hours=3), ago(hours=3, seconds=-3000), interval=600)
    await insert_check(db, day, "down", ago(hours=3, seconds=-3300), interval=60)

    # "week": rows days ago; nothing in the last 24 h.
    await insert_check(db, week, "up", ago(days=3), ago(days=3, seconds=-3540), interval=60)
    await insert_check(db, week, "down", ago(days=2), ago(days=2, seconds=-240), interval=60)
    await insert_check(db, week, "down", ago(days=10), ago(days=10, seconds=-3540), interval=60)
    await insert_check(db, week, "up", ago(days=100), ago(days=100, seconds=-60))  # too old

    figures = await _endpoint_figures(api)
    # available = 1860 + 3660 + 1800 + 3300 = 10620; covered = + 600 + 60 = 11280
    assert figures[day]["uptime"] == "94.15"
    assert figures[day]["uptimes"]["24h"] == 94.15
    # 7 d sees the whole first row (5460 s): 14220 / 14880
    assert figures[day]["uptimes"]["7d"] == 95.56
    assert figures[day]["uptimes"]["30d"] == 95.56
    assert figures[day]["uptimes"]["90d"] == 95.56

    assert figures[week]["uptime"] == "100.00"  # nothing known in 24 h
    assert figures[week]["uptimes"]["24h"] is None
    assert figures[week]["uptimes"]["7d"] == 92.31  # 3600 / 3900
    assert figures[week]["uptimes"]["30d"] == 48.0  # 3600 / 7500
    assert figures[week]["uptimes"]["90d"] == 48.0


async def test_long_figures_follow_new_history(api, db):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    before = await _endpoint_figures(api)
    assert before[endpoint]["uptimes"]["7d"] is None  # no data yet
    await insert_check(db, endpoint, "up", ago(days=2), ago(days=2, seconds=-3540))  # 3600 s
    await insert_check(db, endpoint, "down", ago(hours=5), ago(hours=5, seconds=-1140))  # 1200 s
    after = await _endpoint_figures(api)
    assert after[endpoint]["uptimes"]["7d"] == 75.0
    assert after[endpoint]["uptimes"]["24h"] == 0.0
    await insert_check(db, endpoint, "up", ago(hours=3), ago(hours=3, seconds=-2340))  # 2400 s
    latest = await _endpoint_figures(api)
    assert latest[endpoint]["uptimes"]["7d"] == 83.33  # 6000 / 7200
    assert latest[endpoint]["uptime"] == "66.67"  # 2400 / 3600


async def test_a_run_is_clipped_to_now(api, db):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    await insert_check(db, endpoint, "up", ago(hours=2), interval=60)  # 60 s up
    # A daily check that just failed covers only the time until now (~600 s), not a day.
    await insert_check(db, endpoint, "down", ago(seconds=600), interval=86400)
    figures = await _endpoint_figures(api)
    assert abs(figures[endpoint]["uptimes"]["24h"] - 9.09) <= 0.02  # 60 / 660


async def test_timeline_is_newest_first_within_the_window(api, db):
    page = await make_page(api)
    one = (await make_endpoint(api, page["id"]))["id"]
    two = (await make_endpoint(api, page["id"]))["id"]
    off = (await make_endpoint(api, page["id"], active=False))["id"]
    old = await insert_check(db, one, "up", ago(hours=30), ago(hours=29.5))
    a = await insert_check(db, one, "up", ago(hours=20), ago(hours=19))
    b = await insert_check(db, two, "down", ago(hours=4), ago(hours=3))
    c = await insert_check(db, one, "degraded", ago(hours=1), ago(minutes=1))
    # started before the window, last checked inside it: part of the timeline
    d = await insert_check(db, two, "up", ago(hours=2.5), ago(hours=1.5))
    await insert_check(db, off, "up", ago(minutes=5))

    r = await api.get("/api/pages/acme/timeline")
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == [c, d, b, a]
    r = await api.get("/api/pages/acme/timeline", params={"hours": 4})
    assert [x["id"] for x in r.json()] == [c, d, b]
    r = await api.get("/api/pages/acme/timeline", params={"hours": 2})
    assert [x["id"] for x in r.json()] == [c, d]
    r = await api.get("/api/pages/acme/timeline", params={"hours": 1})
    assert [x["id"] for x in r.json()] == [c]
    r = await api.get("/api/pages/acme/timeline", params={"hours": 2160})
    assert [x["id"] for x in r.json()] == [c, d, b, a, old]
    for bad in ("0", "2161", "abc", "1.5", "-1"):
        r = await api.get("/api/pages/acme/timeline", params={"hours": bad})
        assert r.status_code == 400, bad
        assert "hours" in r.json()["error"]


STATEMENTS = re.compile(r'desc="(\d+) statements"')


def statements(response) -> int:
    match = STATEMENTS.search(response.headers["server-timing"])
    assert match, response.headers
    return int(match.group(1))


async def _page_with(api, db, slug: str, endpoints: int) -> None:
    page = await make_page(api, slug)
    for i in range(endpoints):
        endpoint = (await make_endpoint(api, page["id"], name=f"e{i}"))["id"]
        for h in range(3):
            await insert_check(db, endpoint, "up", ago(hours=h + 1), ago(hours=h + 0.5))


async def test_statement_count_does_not_grow_with_endpoints(api, db):
    await _page_with(api, db, "small", 1)
    await _page_with(api, db, "large", 20)
    counts = {}
    for slug in ("small", "large"):
        page = await api.get(f"/api/pages/{slug}")
        assert len(page.json()["endpoints"]) == (1 if slug == "small" else 20)
        counts[slug] = (
            statements(page),
            statements(await api.get(f"/api/pages/{slug}/timeline")),
            statements(await api.get(f"/badge/{slug}")),
        )
    assert counts["small"] == counts["large"]
    assert counts["small"][1] == 1
    assert counts["small"][2] == 1
    assert counts["small"][0] <= 4  # endpoints, open incidents, coming windows, 7/30/90 days


async def test_large_answers_are_gzipped_for_clients_that_ask(api, db):
    page = await make_page(api)
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    for hour in range(48, 0, -1):
        await insert_check(db, endpoint, "up", ago(hours=hour), ago(hours=hour - 0.99))

    plain = await api.get("/api/pages/acme/timeline", headers={"Accept-Encoding": "identity"})
    zipped = await api.get("/api/pages/acme/timeline", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # httpx decodes the gzip body
    assert int(zipped.headers["content-length"]) < len(plain.content) / 4
    # A badge is small: sent as it is, so its ETag names one representation.
    badge = await api.get("/badge/acme", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in badge.headers

"""GET /badge/{slug}: status, uptime, label and style, caching headers, hostile names."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from services.api.routes.badges import CACHE_SECONDS
from shared.badge import BADGE_COLORS
from tests.api.conftest import AUTH, ago, insert_check, make_endpoint, make_page

SVG = "{http://www.w3.org/2000/svg}"


def visible_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]


def fills(svg: str) -> set[str]:
    return {e.get("fill", "") for e in ET.fromstring(svg).iter(f"{SVG}path")} | {
        e.get("fill", "") for e in ET.fromstring(svg).iter(f"{SVG}rect")
    }


async def _page(api, db, statuses: list[str], name: str = "Acme") -> None:
    page = await make_page(api, "acme", name)
    for status in statuses:
        endpoint = (await make_endpoint(api, page["id"]))["id"]
        await insert_check(db, endpoint, status, ago(hours=2), ago(minutes=1), interval=60)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["up", "up"], "up"),
        (["up", "degraded"], "degraded"),
        (["degraded", "down", "up"], "down"),
    ],
)
async def test_status_is_the_worst_of_the_active_endpoints(api, db, statuses, expected):
    await _page(api, db, statuses)
    r = await api.get("/badge/acme")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    label, message = visible_texts(r.text)
    assert label == "Acme"
    assert message.startswith(f"{expected} \u00b7 ")
    assert re.fullmatch(rf"{expected} \u00b7 \d{{1,3}}\.\d\d%", message)
    assert BADGE_COLORS[expected] in fills(r.text)


async def test_without_a_state_row_status_the_newest_run_decides(api, db):
    page = await make_page(api, "acme", "Acme")
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    await insert_check(db, endpoint, "up", ago(hours=2), ago(hours=1), update_state=False)
    await insert_check(db, endpoint, "down", ago(minutes=30), ago(minutes=1), update_state=False)
    r = await api.get("/badge/acme")
    assert visible_texts(r.text)[1].startswith("down \u00b7 ")
    assert (await api.get(f"/api/endpoints/{endpoint}")).json()["status"] == "down"
    assert (await api.get("/api/pages/acme")).json()["endpoints"][0]["status"] == "down"


async def test_value_carries_the_24h_uptime(api, db):
    page = await make_page(api, "acme", "Acme")
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    await insert_check(db, endpoint, "up", ago(hours=10), ago(hours=10, seconds=-3540))  # 3600 s
    await insert_check(db, endpoint, "down", ago(hours=5), ago(hours=5, seconds=-1140))  # 1200 s
    await insert_check(db, endpoint, "up", ago(hours=3), ago(hours=3, seconds=-1140))  # 1200 s
    r = await api.get("/badge/acme")
    assert visible_texts(r.text)[1] == "up \u00b7 80.00%"


async def test_no_data_is_grey_unknown(api):
    await make_page(api, "acme", "Acme")
    r = await api.get("/badge/acme")
    assert r.status_code == 200
    assert visible_texts(r.text) == ["Acme", "unknown"]
    assert BADGE_COLORS[None] in fills(r.text)


async def test_label_and_style(api, db):
    await _page(api, db, ["up"])
    flat = await api.get("/badge/acme")
    square = await api.get("/badge/acme", params={"style": "flat-square", "label": "status"})
    assert square.status_code == 200
    assert visible_texts(square.text)[0] == "status"
    assert square.text != flat.text
    assert square.headers["etag"] != flat.headers["etag"]
    assert (await api.get("/badge/acme", params={"style": "flat"})).text == flat.text
    r = await api.get("/badge/acme", params={"style": "plastic"})
    assert r.status_code == 400
    assert "style" in r.json()["error"]


async def test_cache_headers_etag_and_304(api, db):
    await _page(api, db, ["up"])
    r = await api.get("/badge/acme")
    match = re.fullmatch(r"public, max-age=(\d+)", r.headers["cache-control"])
    assert match
    assert 0 < int(match.group(1)) <= 30
    etag = r.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')  # strong

    again = await api.get("/badge/acme", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await api.get("/badge/acme", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_unknown_slug_is_404(api):
    r = await api.get("/badge/nope")
    assert r.status_code == 404
    assert "error" in r.json()


async def test_hostile_page_name_stays_valid_xml(api):
    name = '<script>alert("x")</script> & ]]> \' "'
    await make_page(api, "acme", name)
    r = await api.get("/badge/acme", params={"label": "<b>&amp;</b>"})
    assert r.status_code == 200
    assert "<script" not in r.text
    assert "<b>" not in r.text
    assert visible_texts(r.text)[0] == "<b>&amp;</b>"
    r = await api.get("/badge/acme")
    assert visible_texts(r.text)[0] == name.strip()


async def test_badge_is_cached_only_briefly(api, db):
    page = await make_page(api, "acme", "Acme")
    endpoint = (await make_endpoint(api, page["id"]))["id"]
    await insert_check(db, endpoint, "up", ago(minutes=10), ago(minutes=1))
    first = await api.get("/badge/acme")
    assert visible_texts(first.text)[1].startswith("up")
    await insert_check(db, endpoint, "down", ago(seconds=30))
    cached = await api.get("/badge/acme")
    assert "0 statements" in cached.headers["server-timing"]  # served from the cache
    import asyncio

    await asyncio.sleep(CACHE_SECONDS + 0.2)
    fresh = await api.get("/badge/acme")
    assert visible_texts(fresh.text)[1].startswith("down")


async def test_a_write_through_this_api_shows_at_once(api):
    await make_page(api, "acme", "Acme")
    assert visible_texts((await api.get("/badge/acme")).text)[0] == "Acme"
    r = await api.patch("/api/pages/acme", json={"name": "Renamed"}, headers=AUTH)
    assert r.status_code == 200
    assert visible_texts((await api.get("/badge/acme")).text)[0] == "Renamed"
    r = await api.delete("/api/pages/acme", headers=AUTH)
    assert r.status_code == 200
    assert (await api.get("/badge/acme")).status_code == 404

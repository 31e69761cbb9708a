"""Ids are plain decimal digits: any other spelling of a number is a 400 that changes nothing.

The page, endpoint and incident below have ids 5, 16 and 1000, so a lenient
reading of ``5.0``, ``+5``, ``0x10`` or ``1e3`` would find a row and answer 200.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import AUTH

IDS = (5, 16, 1000)
# Every form names one of IDS to a lenient parser; " 5" is sent percent-encoded.
BAD = ["1e3", "+5", " 5", "5 ", "5.0", "0x10", "0o20", "0b101", "1_000", "-5", "0", "05e0",
       "\u0665", "\uff15", str(2**63), str(2**64 + 5), ""]  # fmt: skip


@pytest.fixture
async def rows(db):
    for ident in IDS:
        await db.execute(
            "INSERT INTO pages (id, slug, name) VALUES (%s, %s, 'P')", (ident, f"p{ident}")
        )
        await db.execute(
            "INSERT INTO endpoints (id, page_id, name, url) VALUES (%s, %s, 'E', 'https://e/')",
            (ident, ident),
        )
        await db.execute(
            "INSERT INTO incidents (id, page_id, title) VALUES (%s, %s, 'I')", (ident, ident)
        )


ROUTES = [
    ("GET", "/api/endpoints/{}"),
    ("GET", "/api/endpoints/{}/history"),
    ("PATCH", "/api/endpoints/{}"),
    ("DELETE", "/api/endpoints/{}"),
    ("PATCH", "/api/incidents/{}"),
    ("DELETE", "/api/incidents/{}"),
    ("GET", "/api/incidents?page_id={}"),
]


def _url(template: str, ident: str) -> str:
    from urllib.parse import quote

    return template.format(quote(ident, safe="") if "?" in template else quote(ident))


async def _snapshot(db) -> list[tuple]:
    tables = ("endpoints", "incidents", "pages")
    out = []
    for table in tables:
        cur = await db.execute(f"SELECT * FROM {table} ORDER BY id")
        out.append(tuple(await cur.fetchall()))
    return out


@pytest.mark.parametrize(("method", "template"), ROUTES, ids=[f"{m} {t}" for m, t in ROUTES])
async def test_an_id_that_is_not_plain_digits_is_a_400(api, db, rows, method, template):
    before = await _snapshot(db)
    body = {"name": "changed"} if "endpoints" in template else {"title": "changed"}
    for bad in BAD:
        url = _url(template, bad)
        if bad == "" and "?" not in template:
            continue  # an empty path segment is another route
        r = await api.request(method, url, json=body if method == "PATCH" else None, headers=AUTH)
        assert r.status_code == 400, (method, url, r.status_code, r.text)
        assert isinstance(r.json()["error"], str)
        assert r.json()["error"]
    assert await _snapshot(db) == before  # nothing changed
    if method == "GET":  # the plain spelling works
        for ident in IDS:
            r = await api.get(_url(template, str(ident)))
            assert r.status_code == 200, (template, ident, r.text)
    r = await api.get("/api/incidents", params={"page_id": "1000"})
    assert [i["id"] for i in r.json()] == [1000]


@pytest.mark.parametrize("raw", ['"5"', '"1e3"', "5.5", "true", "null"])
@pytest.mark.parametrize("path", ["/api/endpoints", "/api/incidents"])
async def test_a_body_page_id_must_be_a_json_integer(api, db, rows, raw, path):
    extra = '"name": "E", "url": "https://e/"' if path == "/api/endpoints" else '"title": "T"'
    content = '{"page_id": ' + raw + ", " + extra + "}"
    before = await _snapshot(db)
    r = await api.post(path, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 400, (raw, r.text)
    assert "page_id" in r.json()["error"]
    assert await _snapshot(db) == before


@pytest.mark.parametrize(("raw", "page"), [("1e3", 1000), ("5.0", 5), ("16.0", 16), ("1E3", 1000)])
@pytest.mark.parametrize("path", ["/api/endpoints", "/api/incidents"])
async def test_a_whole_json_number_is_an_integer_as_json_schema_says(api, rows, raw, page, path):
    """1.0 and 1e3 are integers to JSON Schema (the OpenAPI document's integer): accepted."""
    extra = '"name": "E", "url": "https://e/"' if path == "/api/endpoints" else '"title": "T"'
    content = '{"page_id": ' + raw + ", " + extra + "}"
    r = await api.post(path, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 201, (raw, r.text)
    assert r.json()["pageId"] == page

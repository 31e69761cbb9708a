"""The timeline is bounded: at most ``limit`` rows (default 5,000), paged back with ``before``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from services.api.params import TIMELINE_LIMIT, TIMELINE_MAX
from tests.api.conftest import make_page

# `rows` runs of each of `count` new endpoints, one every `step` minutes (the
# checker's buckets are hourly), the newest ending `minutes` ago.
SEED = """
WITH eps AS (
    INSERT INTO endpoints (page_id, name, url)
    SELECT %(page_id)s, 'e' || n, 'https://example.com/' || n FROM generate_series(1, %(count)s) n
    RETURNING id
)
INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count, interval,
                    response_time, response_time_min, response_time_max, response_time_sum)
SELECT eps.id, 'up', t - interval '50 minutes', t, 101, 30, 80, 70, 90, 8080
  FROM eps
 CROSS JOIN generate_series(0, %(rows)s - 1) h
 CROSS JOIN LATERAL (SELECT date_trunc('second', now())
                            - make_interval(mins => %(minutes)s + h * %(step)s)
                            - make_interval(secs => (eps.id %% 7)) AS t) x
"""


async def seed(
    db: psycopg.AsyncConnection, page_id: int, count: int, rows: int, minutes=1, step=60
) -> None:
    params = {"page_id": page_id, "count": count, "rows": rows, "minutes": minutes, "step": step}
    await db.execute(SEED, params)


def next_link(r: httpx.Response) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    assert link.endswith('>; rel="next"'), link
    return link[1 : link.index(">")]


async def test_the_original_frontends_24_hours_of_100_endpoints_come_whole(api, db):
    page = await make_page(api)
    # 25 runs each in the window, as the checker's hourly buckets leave them
    await seed(db, page["id"], count=100, rows=25, minutes=0, step=57)
    r = await api.get("/api/pages/acme/timeline?hours=24")
    assert r.status_code == 200
    assert len(r.json()) == 2500
    assert "link" not in r.headers


async def test_the_rows_are_capped_at_the_limit_and_the_link_pages_back(api, db):
    page = await make_page(api)
    await seed(db, page["id"], count=3, rows=24 * 80)  # 5,760 rows in 80 days
    r = await api.get("/api/pages/acme/timeline", params={"hours": 2160})
    assert r.status_code == 200
    rows = r.json()
    assert len(rows) == TIMELINE_LIMIT
    link = next_link(r)
    assert link is not None
    query = parse_qs(urlsplit(link).query)
    assert query["limit"] == [str(TIMELINE_LIMIT)]
    assert query["hours"] == ["2160"]
    assert query["before"] == [rows[-1]["checkedAt"]]

    rest = await api.get(link)
    assert rest.status_code == 200
    assert next_link(rest) is None
    assert len(rows) + len(rest.json()) == 5760
    assert all(c["checkedAt"] < rows[-1]["checkedAt"] for c in rest.json())
    everything = await api.get("/api/pages/acme/timeline", params={"hours": 2160, "limit": 20000})
    assert everything.json() == rows + rest.json()


async def test_paging_with_a_small_limit_visits_every_row_once(api, db):
    page = await make_page(api)
    await seed(db, page["id"], count=5, rows=6)
    # three endpoints checked at the same instant: a page cut must not split them
    await db.execute(
        "UPDATE checks SET last_checked_at = date_trunc('minute', now()) - interval '150 minutes',"
        " first_checked_at = date_trunc('minute', now()) - interval '155 minutes'"
        " WHERE id IN (SELECT min(id) FROM checks GROUP BY endpoint_id ORDER BY 1 LIMIT 3)"
    )
    whole = (await api.get("/api/pages/acme/timeline", params={"limit": 20000})).json()
    assert len(whole) == 30
    for limit in (3, 4, 5, 7, 29, 30):  # (a limit below 3 must cut the instant)
        seen, url, pages = [], f"/api/pages/acme/timeline?limit={limit}", 0
        while url is not None:
            r = await api.get(url)
            assert r.status_code == 200, r.text
            assert 1 <= len(r.json()) <= limit
            seen += r.json()
            url, pages = next_link(r), pages + 1
        assert seen == whole, limit
        assert pages >= -(-30 // limit)


async def test_before_keeps_only_rows_whose_last_check_is_earlier(api, db):
    page = await make_page(api)
    await seed(db, page["id"], count=2, rows=10)
    whole = (await api.get("/api/pages/acme/timeline")).json()
    cut = whole[7]["checkedAt"]
    for spelling in (cut, cut.replace("Z", "+00:00"), cut.replace("Z", "z").replace("T", "t")):
        r = await api.get("/api/pages/acme/timeline", params={"before": spelling})
        assert r.status_code == 200, r.text
        assert r.json() == [c for c in whole if c["checkedAt"] < cut]
    at = datetime.fromisoformat(cut).astimezone(timezone(timedelta(hours=2))).isoformat()  # +02:00
    r = await api.get("/api/pages/acme/timeline", params={"before": at})
    assert r.json() == [c for c in whole if c["checkedAt"] < cut]
    r = await api.get("/api/pages/acme/timeline", params={"before": "2000-01-01T00:00:00Z"})
    assert r.json() == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={TIMELINE_MAX + 1}",
        "limit=abc",
        "before=yesterday",
        "before=2026-12-01T10:00:00",  # no offset
        "before=2026-12-01",
        "before=2026-12-01T10:00:00+01:00",  # an unencoded '+' arrives as a space
        "before=",
        "hours=0",
        "hours=2161",
    ],
)
async def test_bad_limits_and_times_are_400(api, query):
    await make_page(api)
    r = await api.get(f"/api/pages/acme/timeline?{query}")
    assert r.status_code == 400, r.text
    name = query.split("=")[0]
    assert name in r.json()["error"]
    if "+" in query:
        assert "%2B" in r.json()["error"]


async def test_the_largest_limit_and_an_encoded_offset_are_fine(api, db):
    page = await make_page(api)
    await seed(db, page["id"], count=1, rows=3)
    later = (datetime.now(UTC) + timedelta(hours=1)).astimezone(
        timezone(timedelta(hours=5, minutes=30))
    )
    r = await api.get(
        "/api/pages/acme/timeline", params={"limit": TIMELINE_MAX, "before": later.isoformat()}
    )
    assert r.status_code == 200
    assert len(r.json()) == 3

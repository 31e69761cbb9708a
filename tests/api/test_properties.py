"""Property-based, aimed at existing rows: schemathesis with the ids of a page, an endpoint
(with history) and an incident pinned, over real HTTP.

The free run over every route, every check and every phase is test_openapi.py;
this one makes sure the happy paths (a page with history, a badge, updates that
succeed, deletes) answer as the document says. No answer may be a 5xx, every
answer must match the schema the API publishes for it, and every 4xx must be
``{"error": "<string>"}``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar.serialization import encode_json
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from services.api.app import create_app
from services.api.openapi import document
from shared.settings import Settings, load_settings
from tests.api.conftest import AUTH
from tests.api.schemathesis_hooks import errors_are_strings

# Examples per operation: about 20 operations, well under a minute.
MAX_EXAMPLES = 20

# Path and query values of the rows _arrange() writes, for the run that aims at them.
KNOWN: dict[str, Any] = {"slug": "a", "endpoint_id": 1, "incident_id": 1, "page_id": 1}

ARRANGE_HISTORY = """
WITH c AS (
    INSERT INTO checks (endpoint_id, status, first_checked_at, last_checked_at, count, interval,
                        response_time, response_time_min, response_time_max, response_time_sum,
                        status_code, error)
    VALUES (%(endpoint_id)s, 'down', now() - interval '2 hours', now() - interval '1 hour', 61,
            60, 10, 3, 10000, 6100, NULL, 'connection refused'),
           (%(endpoint_id)s, 'up', now() - interval '59 minutes', now(), 60,
            60, 120, 80, 300, 7200, 200, NULL)
    RETURNING id, status, first_checked_at
)
UPDATE endpoint_state SET status = c.status, open_check_id = c.id
  FROM c WHERE endpoint_id = %(endpoint_id)s AND c.status = 'up'
"""


@pytest.fixture
def arranged_api(live_api: str, settings: Settings) -> str:
    _arrange(live_api, settings.conninfo())
    return live_api


def _arrange(base: str, conninfo: str) -> None:
    """The rows KNOWN names (id 1 of each, in a fresh database), with a little history."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=20) as client:
        page = client.post("/api/pages", json={"slug": KNOWN["slug"], "name": "A"})
        assert page.status_code == 201, page.text
        page_id = page.json()["id"]
        assert page_id == KNOWN["page_id"]
        for path, body in [
            ("/api/endpoints", {"page_id": page_id, "name": "E", "url": "https://example.com/"}),
            ("/api/incidents", {"page_id": page_id, "title": "T"}),
        ]:
            r = client.post(path, json=body)
            assert r.status_code == 201, r.text
            assert r.json()["id"] == 1  # KNOWN's endpoint_id and incident_id
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(ARRANGE_HISTORY, {"endpoint_id": 1})


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    errors_are_strings,
]


def _published_schema() -> dict[str, Any]:
    """The document the app serves at ``/doc``, built without a server.

    (Collection needs the operations before any fixture runs; schemathesis' lazy
    fixture loader does not work with this pytest.)
    """
    app = create_app(load_settings({}, database_url="postgresql://collect-only/none"))
    return json.loads(encode_json(document(app)))


def _without_examples(node: Any) -> Any:
    """The document less its generated (random) examples."""
    if isinstance(node, dict):
        return {
            k: _without_examples(v) for k, v in node.items() if k not in ("example", "examples")
        }
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


# Path and query ids pinned to the arranged rows: the happy paths (a page with
# history, a badge, updates that succeed, deletes) get exercised too. (Free
# generation over every route is test_openapi.py's schemathesis run.)
known = schemathesis.openapi.from_dict(_published_schema())
known.config.update(parameters=dict(KNOWN))

SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: CI is not a lottery
    suppress_health_check=list(HealthCheck),
)


@known.parametrize()
@SETTINGS
def test_requests_on_existing_rows(case: Any, arranged_api: str) -> None:
    case.call_and_validate(base_url=arranged_api, headers=AUTH, checks=CHECKS)


def test_the_tested_document_is_the_served_one(live_api: str) -> None:
    served = httpx.get(live_api + "/doc", timeout=20)
    assert served.status_code == 200
    assert _without_examples(served.json()) == _without_examples(_published_schema())

"""The OpenAPI document tells the truth: schemathesis, run as a user would, finds nothing.

``schemathesis run <api>/doc --checks all --phases examples,coverage,fuzzing,stateful``
with the admin token, against the real app over real HTTP on loopback and a
real PostgreSQL. It reads the routes from ``/doc``, so a route added later is
fuzzed with no change here; the JUnit report shows each operation was run.
``make fuzz`` runs it longer (``FUZZ_EXAMPLES``, ``FUZZ_SEED``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import AUTH, TOKEN, make_endpoint, make_page

# Examples per operation and phase, and the seed: the same cases on every run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("FUZZ_SEED", "1")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _operations(doc: dict) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _tested(junit: Path) -> tuple[set[str], list[str]]:
    """The operations of the JUnit report, and those that failed or errored."""
    tested, failed = set(), []
    for case in ET.parse(junit).getroot().iter("testcase"):
        tested.add(case.get("name", ""))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name", ""))
    return tested, failed


def test_schemathesis_with_every_check_and_phase_finds_nothing(live_api, tmp_path, capsys):
    doc = httpx.get(f"{live_api}/doc", timeout=20).json()
    junit = tmp_path / "junit.xml"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{live_api}/doc",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        SEED,
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    # Run in tmp_path (schemathesis keeps a cache where it runs), importing our hooks.
    root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    started = time.monotonic()
    run = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1200
    )
    took = time.monotonic() - started
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    with capsys.disabled():  # the figures, for the record (cases, duration)
        print(f"\nschemathesis (examples={EXAMPLES}, seed={SEED}, {took:.0f} s):\n{summary}")
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
    # Findings are failures or errors; warnings (like "mostly rejected generated
    # data") are advice and do not fail the run.
    assert "Failures:" not in summary, run.stdout[-30000:]
    assert "Errors:" not in summary, run.stdout[-30000:]
    tested, failed = _tested(junit)
    assert not failed
    assert _operations(doc) <= tested, f"not fuzzed: {_operations(doc) - tested}"
    assert "Stateful" in summary, summary


@pytest.mark.parametrize("path", ["/api/pages", "/api/endpoints", "/api/incidents"])
def test_every_create_links_to_what_it_created(live_api, path):
    doc = httpx.get(f"{live_api}/doc", timeout=20).json()
    links = doc["paths"][path]["post"]["responses"]["201"]["links"]
    targets = {
        f"{method.upper()} {p}"
        for p, item in doc["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS and op.get("operationId") in links
    }
    item = next(p for p in doc["paths"] if p.startswith(path + "/{") and p.count("/") == 3)
    for method in doc["paths"][item]:
        assert f"{method.upper()} {item}" in targets, (path, method)


def _body_schemas(doc: dict) -> dict[str, dict]:
    schemas = doc["components"]["schemas"]
    found = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS and "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                found[f"{method.upper()} {path}"] = schemas[ref.rsplit("/", 1)[1]]
    return found


async def test_every_request_body_refuses_unknown_fields_in_the_document_too(api):
    doc = (await api.get("/doc")).json()
    bodies = _body_schemas(doc)
    assert {"POST /api/pages", "PATCH /api/endpoints/{endpoint_id}"} <= set(bodies)
    for operation, schema in bodies.items():
        assert schema["additionalProperties"] is False, operation
    page_id = doc["components"]["schemas"]["EndpointCreate"]["properties"]["page_id"]
    assert page_id["maximum"] == 2**63 - 1  # exact, not 9.223372036854776e18
    r = await api.post("/api/pages", json={"slug": "a", "name": "A", "": 1}, headers=AUTH)
    assert r.status_code == 400
    assert r.json()["error"] == "unknown field ''"
    r = await api.post("/api/pages", json={"slug": "a", "name": "A", "a b": 1}, headers=AUTH)
    assert r.json()["error"] == "unknown field 'a b'"
    assert (await api.get("/api/pages")).json() == []


async def test_what_the_document_allows_is_accepted(api):
    page = await make_page(api)
    # JSON Schema's integer includes 1.0.
    r = await api.post(
        "/api/incidents", json={"page_id": float(page["id"]), "title": "T"}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    # A path slug no page can have is a 404 (a NUL used to be a 400 from the driver).
    for method in ("GET", "DELETE"):
        assert (await api.request(method, "/api/pages/a%00b", headers=AUTH)).status_code == 404
    assert (await api.get("/badge/a%00b")).status_code == 404
    assert (await api.get("/api/pages/a%00b/timeline")).status_code == 404


async def test_a_timeout_sent_alone_keeps_the_default_interval_and_is_refused_above_it(api, db):
    page = await make_page(api)
    # issue 2: interval defaults to CHECK_INTERVAL (30 here), timeout not above it.
    body = {"page_id": page["id"], "name": "Site", "url": "https://example.com/", "timeout": 45}
    r = await api.post("/api/endpoints", json=body, headers=AUTH)
    assert r.status_code == 400
    assert r.json() == {"error": "timeout (45 s) must not be above interval (30 s)"}
    assert await (await db.execute("SELECT count(*) FROM endpoints")).fetchone() == (0,)
    endpoint = await make_endpoint(api, page["id"], timeout=25)
    assert (endpoint["timeout"], endpoint["interval"]) == (25, 30)


async def test_a_timeout_above_the_stored_interval_is_a_400(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"], interval=20, timeout=10)
    path = f"/api/endpoints/{endpoint['id']}"
    r = await api.patch(path, json={"timeout": 30}, headers=AUTH)
    assert r.status_code == 400  # validated as the merged endpoint (interval 20)
    assert r.json() == {"error": "timeout (30 s) must not be above interval (20 s)"}
    r = await api.patch(path, json={"timeout": 30, "interval": 20}, headers=AUTH)
    assert r.status_code == 400
    r = await api.patch(path, json={"timeout": 30, "interval": 30}, headers=AUTH)
    assert r.status_code == 200
    assert (r.json()["timeout"], r.json()["interval"]) == (30, 30)


async def test_moving_an_endpoint_to_a_missing_page_is_a_conflict_not_a_missing_endpoint(api):
    page = await make_page(api)
    endpoint = await make_endpoint(api, page["id"])
    path = f"/api/endpoints/{endpoint['id']}"
    r = await api.patch(path, json={"page_id": page["id"] + 1, "name": "Moved"}, headers=AUTH)
    assert r.status_code == 409  # a 404 would say the endpoint is gone
    assert "no page with id" in r.json()["error"]
    assert (await api.get(path)).json()["name"] == "Site"


@pytest.mark.parametrize(
    ("operation", "codes"),
    [
        ("post /api/endpoints", {"201", "400", "401", "403", "404", "413", "503"}),
        (
            "patch /api/endpoints/{endpoint_id}",
            {"200", "400", "401", "403", "404", "409", "413", "503"},
        ),
        ("post /api/incidents", {"201", "400", "401", "403", "404", "413", "503"}),
        ("patch /api/incidents/{incident_id}", {"200", "400", "401", "403", "404", "413", "503"}),
        ("post /api/maintenances", {"201", "400", "401", "403", "404", "413", "503"}),
        (
            "patch /api/maintenances/{maintenance_id}",
            {"200", "400", "401", "403", "404", "413", "503"},
        ),
    ],
)
async def test_the_documented_codes_are_the_contracts(api, operation, codes):
    # Another page's endpoint and a timeout above the (merged or default) interval
    # are 400s (issues 2 and 9); only moving an endpoint to a missing page is a 409.
    method, path = operation.split(" ")
    doc = (await api.get("/doc")).json()
    assert set(doc["paths"][path][method]["responses"]) == codes

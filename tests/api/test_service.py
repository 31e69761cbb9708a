"""The service around the routes: probes, docs, auth, CORS, limits, logs, a lost database."""

from __future__ import annotations

import asyncio
import time

import msgspec
import psycopg
import pytest
from loguru import logger
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from services.api.routes.health import HEALTH_PATH, READY_PATH
from tests.api.conftest import AUTH, TOKEN, free_port, make_page, serve


async def test_health_and_ready(api):
    r = await api.get(HEALTH_PATH)
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = await api.get(READY_PATH)
    assert r.status_code == 200


async def test_openapi_document_describes_every_route(api):
    r = await api.get("/doc")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    expected = {
        "/health": {"get"},
        "/ready": {"get"},
        "/api/pages": {"get", "post"},
        "/api/pages/{slug}": {"get", "patch", "delete"},
        "/api/pages/{slug}/timeline": {"get"},
        "/api/endpoints": {"post"},
        "/api/endpoints/{endpoint_id}": {"get", "patch", "delete"},
        "/api/endpoints/{endpoint_id}/history": {"get"},
        "/api/incidents": {"get", "post"},
        "/api/incidents/{incident_id}": {"patch", "delete"},
        "/badge/{slug}": {"get"},
    }
    for path, methods in expected.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), path
    schemas = doc["components"]["schemas"]
    create = doc["paths"]["/api/endpoints"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schemas[ref.rsplit("/", 1)[1]]
    assert {"page_id", "name", "url", "expected_status"} <= set(body["properties"])
    assert "201" in create["responses"]
    assert "400" in create["responses"]
    page = doc["paths"]["/api/pages/{slug}"]["get"]["responses"]["200"]
    page_schema = schemas[page["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert {"id", "slug", "name", "createdAt", "endpoints"} <= set(page_schema["properties"])
    assert "/reference" not in doc["paths"]
    assert "/doc" not in doc["paths"]
    r = await api.get("/doc/nothing")  # below /doc: a JSON 404 like anywhere else
    assert r.status_code == 404
    assert isinstance(r.json()["error"], str)


async def test_reference_serves_scalar(api):
    r = await api.get("/reference")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert 'data-url="/doc"' in r.text
    assert "@scalar/api-reference" in r.text


async def test_writes_need_the_admin_token(api):
    body = {"slug": "acme", "name": "Acme"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = await api.post("/api/pages", json=body, headers=headers)
        assert r.status_code == 401
        assert isinstance(r.json()["error"], str)
    assert (await api.get("/api/pages")).json() == []
    await make_page(api)
    for method, path in (("PATCH", "/api/pages/acme"), ("DELETE", "/api/pages/acme")):
        r = await api.request(method, path, json={"name": "x"} if method == "PATCH" else None)
        assert r.status_code == 401, method
    r = await api.post("/api/endpoints", json={}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401  # auth is checked before the body
    assert (await api.get("/api/pages/acme")).json()["name"] == "Acme"


async def test_production_without_token_refuses_writes(settings):
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}", level="INFO")
    try:
        prod = msgspec.structs.replace(settings, app_env="production", admin_token=None)
        async with serve(prod) as client:
            r = await client.post("/api/pages", json={"slug": "a", "name": "A"}, headers=AUTH)
            assert r.status_code == 401
            assert "ADMIN_TOKEN" in r.json()["error"]
            assert (await client.get("/api/pages")).status_code == 200
    finally:
        logger.remove(sink)
    assert any("ADMIN_TOKEN is not set" in line and "refused" in line for line in lines)


async def test_development_without_token_refuses_writes_too(settings):
    dev = msgspec.structs.replace(settings, admin_token=None)
    async with serve(dev) as client:
        r = await client.post("/api/pages", json={"slug": "a", "name": "A"})
        assert r.status_code == 401
        assert (await client.get("/api/pages")).json() == []


async def test_cors_preflight_and_headers(api):
    r = await api.options(
        "/api/pages",
        headers={
            "Origin": "https://status.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code in (200, 204)
    assert r.headers["access-control-allow-origin"] in ("*", "https://status.example.com")
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    r = await api.get("/api/pages", headers={"Origin": "https://status.example.com"})
    assert r.headers["access-control-allow-origin"] in ("*", "https://status.example.com")


async def test_cors_origins_are_restricted_by_settings(settings):
    only = msgspec.structs.replace(settings, cors_origins=["https://ok.example"])
    async with serve(only) as client:
        ok = await client.get("/api/pages", headers={"Origin": "https://ok.example"})
        assert ok.headers.get("access-control-allow-origin") == "https://ok.example"
        bad = await client.get("/api/pages", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


async def test_json_content_type_on_bodyless_requests(api):
    await make_page(api)
    headers = {"Content-Type": "application/json"}
    assert (await api.get("/api/pages", headers=headers)).status_code == 200
    assert (await api.get("/api/pages/acme", headers=headers)).status_code == 200
    r = await api.delete("/api/pages/acme", headers={**headers, **AUTH})
    assert r.status_code == 200
    assert r.json() == {"success": True}


async def test_body_limits_and_garbage(api, db):
    r = await api.post(
        "/api/pages",
        content=b'{"slug": "a", "name": "' + b"x" * 70_000 + b'"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert isinstance(r.json()["error"], str)
    for content in (b"", b"not json", b"{", b"[]", b"null", b'"text"', b"\xff\xfe"):
        r = await api.post(
            "/api/pages", content=content, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert r.status_code == 400, content
        assert isinstance(r.json()["error"], str)
    assert await (await db.execute("SELECT count(*) FROM pages")).fetchone() == (0,)


async def test_unknown_route_and_method_answer_json_errors(api):
    r = await api.get("/api/nothing")
    assert r.status_code == 404
    assert isinstance(r.json()["error"], str)
    r = await api.put("/api/pages", json={})
    assert r.status_code == 405
    assert isinstance(r.json()["error"], str)


async def test_one_log_line_per_request_without_secrets(api, settings):
    lines: list[str] = []
    sink = logger.add(lines.append, format="{message} {extra}", level="INFO")
    try:
        r = await api.post("/api/pages", json={"slug": "acme", "name": "A"}, headers=AUTH)
        assert r.status_code == 201
        await api.get("/api/pages/acme?secret=1")
    finally:
        logger.remove(sink)
    requests = [line for line in lines if "/api/pages" in line]
    assert len(requests) == 2
    assert "POST /api/pages 201" in requests[0]
    assert "GET /api/pages/acme 200" in requests[1]
    assert "duration_ms" in requests[0]
    password = conninfo_to_dict(settings.conninfo()).get("password")
    for line in lines:
        assert TOKEN not in line
        assert "secret=1" not in line
        if password:
            assert password not in line


async def test_database_unreachable_answers_503_quickly(settings):
    nowhere = msgspec.structs.replace(
        settings, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    )
    async with serve(nowhere) as client:
        assert (await client.get("/health")).status_code == 200
        requests = (
            ("GET", "/ready"),
            ("GET", "/api/pages"),
            ("GET", "/api/pages/acme"),
            ("GET", "/badge/acme"),
            ("POST", "/api/pages"),
        )
        started = time.monotonic()
        answers = await asyncio.gather(
            *(
                client.request(method, path, json={"slug": "a", "name": "A"}, headers=AUTH)
                for method, path in requests
            )
        )
        assert time.monotonic() - started < 6  # the pool's acquire timeout, not a hang
        for (_method, path), r in zip(requests, answers, strict=True):
            assert r.status_code == 503, (path, r.text)
            assert isinstance(r.json()["error"], str)
        assert (await client.get("/health")).status_code == 200


async def test_reads_survive_terminated_connections(api, settings):
    await make_page(api)
    # Several concurrent reads so the pool holds more than one connection.
    await asyncio.gather(*(api.get("/api/pages/acme") for _ in range(8)))
    dbname = conninfo_to_dict(settings.conninfo())["dbname"]
    async with await psycopg.AsyncConnection.connect(settings.conninfo(), autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'uptimatum-api'",
            (dbname,),
        )
        assert len(await cur.fetchall()) >= 1
    for _ in range(3):
        r = await api.get("/api/pages/acme")
        assert r.status_code == 200, r.text


class TcpProxy:
    """A loopback TCP proxy to the test's PostgreSQL: stopping it is a database outage."""

    def __init__(self, conninfo: str) -> None:
        params = conninfo_to_dict(conninfo)
        self.host = str(params.get("host") or "127.0.0.1")
        self.port = int(params.get("port") or 5432)
        self.listen_port = free_port()
        self.url = make_conninfo(conninfo, host="127.0.0.1", port=str(self.listen_port))
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.host.startswith("/"):
            up_r, up_w = await asyncio.open_unix_connection(f"{self.host}/.s.PGSQL.{self.port}")
        else:
            up_r, up_w = await asyncio.open_connection(self.host, self.port)
        self.writers |= {writer, up_w}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))


@pytest.mark.slow
async def test_recovers_when_the_database_comes_back(settings):
    proxy = TcpProxy(settings.conninfo())
    await proxy.start()
    via_proxy = msgspec.structs.replace(settings, database_url=proxy.url)
    async with serve(via_proxy) as client:
        assert (await client.get("/api/pages")).status_code == 200

        await proxy.stop()
        r = await client.get("/api/pages")
        assert r.status_code == 503
        assert (await client.get("/ready")).status_code == 503
        assert (await client.get("/health")).status_code == 200

        await proxy.start()
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline:
            status = (await client.get("/api/pages")).status_code
            if status == 200:
                break
            await asyncio.sleep(0.2)
        assert status == 200
        assert (await client.get("/ready")).status_code == 200
    await proxy.stop()


@pytest.mark.parametrize("size", [70_000, 1_000_000, 5_000_000])
async def test_an_oversized_body_gets_its_413_not_a_reset(api, db, size):
    body = b'{"slug": "a", "name": "' + b"x" * size + b'"}'
    for _ in range(3):  # a server that answers mid-upload and closes resets the client
        r = await api.post(
            "/api/pages", content=body, headers={**AUTH, "Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert "error" in r.json()

    async def chunks():
        for _ in range(size // 10_000 + 1):
            yield b"x" * 10_000

    r = await api.post(
        "/api/pages", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert await (await db.execute("SELECT count(*) FROM pages")).fetchone() == (0,)


async def test_head_is_a_get_without_the_body(api):
    await api.post("/api/pages", json={"slug": "acme", "name": "Acme"}, headers=AUTH)
    for path in ("/health", "/ready", "/badge/acme", "/api/pages/acme", "/badge/nope"):
        get, head = await api.get(path), await api.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]
        assert head.headers["content-length"] == str(len(get.content))


async def _allow(api, method: str, path: str, **headers: str) -> set[str]:
    r = await api.request(method, path, headers=headers)
    assert "allow" in r.headers, (method, path, r.status_code)
    return {m.strip() for m in r.headers["allow"].split(",")}


async def test_options_and_405_list_exactly_the_methods_of_the_path(api):
    page = await make_page(api)
    r = await api.post(
        "/api/endpoints",
        json={"page_id": page["id"], "name": "S", "url": "https://example.com/"},
        headers=AUTH,
    )
    endpoint = r.json()["id"]
    r = await api.post("/api/incidents", json={"page_id": page["id"], "title": "T"}, headers=AUTH)
    incident = r.json()["id"]
    doc = (await api.get("/doc")).json()["paths"]
    paths = {
        "/api/pages": "/api/pages",
        "/api/pages/acme": "/api/pages/{slug}",
        "/api/pages/acme/timeline": "/api/pages/{slug}/timeline",
        "/api/endpoints": "/api/endpoints",
        f"/api/endpoints/{endpoint}": "/api/endpoints/{endpoint_id}",
        f"/api/endpoints/{endpoint}/history": "/api/endpoints/{endpoint_id}/history",
        "/api/incidents": "/api/incidents",
        f"/api/incidents/{incident}": "/api/incidents/{incident_id}",
        "/badge/acme": "/badge/{slug}",
        "/health": "/health",
    }
    for path, template in paths.items():
        documented = {m.upper() for m in doc[template]}
        expected = documented | {"OPTIONS"} | ({"HEAD"} if "GET" in documented else set())
        r = await api.options(path)
        assert r.status_code == 204, path
        assert await _allow(api, "OPTIONS", path) == expected, path
        r = await api.request("PUT", path)  # no path takes PUT
        assert r.status_code == 405, path
        assert isinstance(r.json()["error"], str)
        assert await _allow(api, "PUT", path) == expected, path
        if "GET" in documented:  # HEAD is answered wherever GET is
            assert (await api.head(path)).status_code == (await api.get(path)).status_code
    assert await _allow(api, "OPTIONS", "/api/endpoints/1") == {
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
    }
    assert await _allow(api, "OPTIONS", "/api/incidents") == {"GET", "HEAD", "OPTIONS", "POST"}
    assert await _allow(api, "OPTIONS", "/api/incidents/1") == {"DELETE", "OPTIONS", "PATCH"}


async def test_cors_preflight_of_an_item_path_keeps_working_and_names_its_methods(api):
    r = await api.options(
        "/api/endpoints/1",
        headers={
            "Origin": "https://status.example.com",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] in ("*", "https://status.example.com")
    assert "PATCH" in r.headers["access-control-allow-methods"]
    assert "DELETE" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert {m.strip() for m in r.headers["allow"].split(",")} == {
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
    }
    r = await api.patch(
        "/api/endpoints/1",
        json={"name": "x"},
        headers={"Origin": "https://status.example.com", **AUTH},
    )
    assert r.status_code == 404  # the real request after the preflight: CORS headers, no 405
    assert r.headers["access-control-allow-origin"] in ("*", "https://status.example.com")

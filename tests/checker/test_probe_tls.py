"""tls:// and https:// against certificates of a test CA (trustme), verify_tls on and off.

The test CA is trusted the way an operator trusts a private CA: OpenSSL's
SSL_CERT_FILE, read when the checker builds its TLS context.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from services.checker.probes import probe
from services.checker.probes.cert import tls_context

from .conftest import claim

NOW = datetime.now(UTC)
TRUSTED = trustme.CA()
STRANGER = trustme.CA()  # nobody trusts this one
CERTS = {
    "valid": TRUSTED.issue_cert("127.0.0.1", "localhost"),
    "expiring": TRUSTED.issue_cert("127.0.0.1", not_after=NOW + timedelta(days=5)),
    "expired": TRUSTED.issue_cert(
        "127.0.0.1", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1)
    ),
    "wrong-host": TRUSTED.issue_cert("other.example"),
    "untrusted": STRANGER.issue_cert("127.0.0.1"),
}


@pytest.fixture(autouse=True)
def trust_the_test_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SSL_CERT_FILE names the test CA alone: it replaces the system's trust store."""
    ca = tmp_path / "ca.pem"
    TRUSTED.cert_pem.write_to_path(str(ca))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    tls_context.cache_clear()
    yield ca
    monkeypatch.undo()
    tls_context.cache_clear()


def server_context(name: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CERTS[name].configure_cert(ctx)
    return ctx


@pytest.fixture
async def tls_ports() -> AsyncIterator[dict[str, int]]:
    """A bare TLS server per certificate (tls://): it completes the handshake, says nothing."""

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.5)
        writer.close()

    servers = {
        name: await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context(name))
        for name in CERTS
    }
    yield {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    for s in servers.values():
        s.close()


@pytest.fixture
async def https_ports() -> AsyncIterator[dict[str, int]]:
    """An HTTPS server per certificate, answering 200 (204 on /empty)."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=204 if request.path == "/empty" else 200, text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    ports = {}
    for name in CERTS:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(name))
        await site.start()
        ports[name] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield ports
    await runner.cleanup()


def expires(name: str) -> float:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(CERTS[name].cert_chain_pems[0].bytes())
    return cert.not_valid_after_utc.timestamp()


# name -> (status, error) with verify_tls on, and off
EXPECTED = {
    "valid": (("up", None), ("up", None)),
    "expiring": (("degraded", "certificate expires in 5 days"),) * 2,
    "expired": (("down", "TLS error: certificate has expired"),) * 2,
    "wrong-host": (
        ("down", "TLS error: IP address mismatch, certificate is not valid for '127.0.0.1'"),
        ("up", None),
    ),
    "untrusted": (("down", "TLS error: unable to get local issuer certificate"), ("up", None)),
}
CASES = [(name, verify) for name in CERTS for verify in (True, False)]


def _expect(name: str, verify: bool) -> tuple[str, str | None]:
    return EXPECTED[name][0 if verify else 1]


def _has_certificate(name: str, verify: bool, status: str) -> bool:
    """A handshake that verification refused shows no certificate to record."""
    return not (verify and status == "down")


@pytest.mark.parametrize(("name", "verify"), CASES)
async def test_tls(session, tls_ports, name, verify):
    r = await probe(session, claim(f"tls://127.0.0.1:{tls_ports[name]}", verify_tls=verify))
    assert (r.status, r.error) == _expect(name, verify)
    assert r.status_code is None
    if _has_certificate(name, verify, r.status):
        assert r.cert_expires_at == pytest.approx(expires(name), abs=1)
    else:
        assert r.cert_expires_at is None


@pytest.mark.parametrize(("name", "verify"), CASES)
async def test_https(session, https_ports, name, verify):
    url = f"https://127.0.0.1:{https_ports[name]}/"
    r = await probe(session, claim(url, verify_tls=verify))
    assert (r.status, r.error) == _expect(name, verify)
    if _has_certificate(name, verify, r.status):
        assert r.status_code == 200
        assert r.cert_expires_at == pytest.approx(expires(name), abs=1)
    else:
        assert (r.status_code, r.cert_expires_at) == (None, None)


async def test_https_empty_answers_carry_the_certificate_too(session, https_ports):
    for method in ("GET", "HEAD"):
        url = f"https://127.0.0.1:{https_ports['expiring']}/empty"
        r = await probe(session, claim(url, method=method))
        assert (r.status, r.status_code) == ("degraded", 204)
        assert r.cert_expires_at == pytest.approx(expires("expiring"), abs=1)


async def test_cert_expiry_days_sets_or_turns_off_the_rule(session, tls_ports, https_ports):
    tls = f"tls://127.0.0.1:{tls_ports['expiring']}"
    https = f"https://127.0.0.1:{https_ports['expiring']}/"
    for url in (tls, https):
        assert (await probe(session, claim(url, cert_expiry_days=4))).status == "up"
        assert (await probe(session, claim(url, cert_expiry_days=None))).status == "up"
        r = await probe(session, claim(url, cert_expiry_days=6))
        assert (r.status, r.error) == ("degraded", "certificate expires in 5 days")


async def test_an_http_failure_outranks_the_certificate(session, https_ports):
    url = f"https://127.0.0.1:{https_ports['expiring']}/"
    r = await probe(session, claim(url, expected_status=("418",)))
    assert (r.status, r.error) == ("down", "HTTP 200")
    r = await probe(session, claim(url, keyword="missing"))  # both degraded: HTTP's rule speaks
    assert (r.status, r.error) == ("degraded", "keyword not found in the response body")


async def test_tls_to_a_closed_port_or_plain_tcp(session, tls_ports):
    from .conftest import free_port

    r = await probe(session, claim(f"tls://127.0.0.1:{free_port()}"))
    assert (r.status, r.error) == ("down", "connection refused")


async def test_without_the_ca_in_ssl_cert_file_nothing_is_trusted(
    session, tls_ports, monkeypatch, tmp_path
):
    other = tmp_path / "other.pem"
    STRANGER.cert_pem.write_to_path(str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    tls_context.cache_clear()
    r = await probe(session, claim(f"tls://127.0.0.1:{tls_ports['valid']}"))
    assert (r.status, r.error) == ("down", "TLS error: unable to get local issuer certificate")
    r = await probe(session, claim(f"tls://127.0.0.1:{tls_ports['untrusted']}"))
    assert (r.status, r.error) == ("up", None)


async def test_a_host_name_mismatch_names_the_host(session, tls_ports, https_ports):
    tls = f"tls://localhost:{tls_ports['wrong-host']}"
    https = f"https://localhost:{https_ports['wrong-host']}/"
    for url in (tls, https):
        r = await probe(session, claim(url))
        assert (r.status, r.error) == (
            "down",
            "TLS error: hostname mismatch, certificate is not valid for 'localhost'",
        )
        assert (await probe(session, claim(url, verify_tls=False))).status == "up"


async def test_a_checker_process_trusts_ssl_cert_file_and_records_the_expiry(
    db, spawn, trust_the_test_ca, tls_ports, https_ports
):
    """`uptimatum checker` with SSL_CERT_FILE: Check rows and the gauge carry the expiry."""
    import aiohttp

    from .conftest import eventually, history, make_endpoint, make_page, wait_healthy

    page = await make_page(db)
    ids = {
        "tls-valid": await make_endpoint(db, page, f"tls://127.0.0.1:{tls_ports['valid']}"),
        "tls-expiring": await make_endpoint(db, page, f"tls://127.0.0.1:{tls_ports['expiring']}"),
        "https-expiring": await make_endpoint(
            db, page, f"https://127.0.0.1:{https_ports['expiring']}/"
        ),
        "https-untrusted": await make_endpoint(
            db, page, f"https://127.0.0.1:{https_ports['untrusted']}/"
        ),
    }
    checker = spawn(SSL_CERT_FILE=str(trust_the_test_ca))
    await wait_healthy(checker.metrics_port)

    async def rows():
        found = {name: await history(db, i) for name, i in ids.items()}
        return found if all(found.values()) else None

    found = await eventually(rows, 15)
    outcome = {n: (r[0]["status"], r[0]["error"]) for n, r in found.items()}
    assert outcome == {
        "tls-valid": ("up", None),
        "tls-expiring": ("degraded", "certificate expires in 5 days"),
        "https-expiring": ("degraded", "certificate expires in 5 days"),
        "https-untrusted": ("down", "TLS error: unable to get local issuer certificate"),
    }
    assert found["tls-valid"][0]["cert_expires_at"].timestamp() == pytest.approx(
        expires("valid"), abs=1
    )
    assert found["https-expiring"][0]["cert_expires_at"].timestamp() == pytest.approx(
        expires("expiring"), abs=1
    )
    assert found["https-untrusted"][0]["cert_expires_at"] is None
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{checker.metrics_port}/metrics") as r,
    ):
        text = await r.text()
    gauge = "uptimatum_certificate_expiry_timestamp_seconds"
    lines = [line for line in text.splitlines() if line.startswith(gauge + "{")]
    by_id = {
        line.split('endpoint_id="')[1].split('"')[0]: float(line.split()[-1]) for line in lines
    }
    assert by_id[str(ids["tls-expiring"])] == pytest.approx(expires("expiring"), abs=1)
    assert by_id[str(ids["tls-valid"])] == pytest.approx(expires("valid"), abs=1)
    assert str(ids["https-untrusted"]) not in by_id  # no certificate was ever accepted
    checker.terminate()
    assert checker.wait() == 0

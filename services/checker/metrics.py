"""Step 7: Prometheus metrics in a private registry, served with /health by a small aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from services.checker.probe import Claim

METRICS_PATH = "/metrics"
HEALTH_PATH = "/health"

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_LAG = (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60)
_BATCH = (1, 5, 10, 25, 50, 100, 200, 500, 1000, 5000)
STATUS_VALUE = {"up": 1.0, "degraded": 0.5, "down": 0.0}


class _Series:
    """One endpoint's series: its labels, its gauge children, when they go stale."""

    __slots__ = ("cert", "gauge", "labels", "stale_at")

    def __init__(self, labels: tuple[str, str, str], gauge: Gauge) -> None:
        self.labels = labels
        self.gauge = gauge
        self.cert: Gauge | None = None  # the certificate's expiry, once one was seen
        self.stale_at = 0.0


class Metrics:
    """Every checker metric, registered in its own registry (no process-wide globals)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)
        self.checks = Counter(
            "uptimatum_checks", "Probes completed, by result", ["result"], registry=r
        )
        self.checks_by = {s: self.checks.labels(s) for s in STATUS_VALUE}
        self.probe_duration = Histogram(
            "uptimatum_probe_duration_seconds", "Probe duration", buckets=_SECONDS, registry=r
        )
        self.schedule_lag = Histogram(
            "uptimatum_schedule_lag_seconds",
            "Probe start minus the slot's due time",
            buckets=_LAG,
            registry=r,
        )
        self.in_flight = Gauge("uptimatum_probes_in_flight", "Probes running now", registry=r)
        self.claim_batch = Histogram(
            "uptimatum_claim_batch_size", "Endpoints taken per claim", buckets=_BATCH, registry=r
        )
        self.flush_duration = Histogram(
            "uptimatum_flush_duration_seconds",
            "Time to write one batch of results",
            buckets=_SECONDS,
            registry=r,
        )
        rows = Counter(
            "uptimatum_history_rows_written",
            "History rows written, by kind",
            ["kind"],
            registry=r,
        )
        self.rows_inserted = rows.labels("insert")
        self.rows_updated = rows.labels("update")
        self.round_trips = Counter(
            "uptimatum_db_round_trips", "Statements sent to PostgreSQL", registry=r
        )
        self.results_dropped = Counter(
            "uptimatum_results_dropped",
            "Results not recorded because their claim was superseded",
            registry=r,
        )
        self.results_refused = Counter(
            "uptimatum_results_refused",
            "Results the database refused (each logged with its endpoint id) and dropped",
            registry=r,
        )
        self.endpoint_status = Gauge(
            "uptimatum_endpoint_status",
            "Last status seen by this replica: 1 up, 0.5 degraded, 0 down",
            ["endpoint_id", "endpoint", "page"],
            registry=r,
        )
        self.certificate_expiry = Gauge(
            "uptimatum_certificate_expiry_timestamp_seconds",
            "When the certificate last seen by this replica expires (https:// and tls://)",
            ["endpoint_id", "endpoint", "page"],
            registry=r,
        )
        # endpoint id -> (label values, monotonic time after which the series is stale)
        self._status_seen: dict[int, _Series] = {}

    def set_status(self, claim: Claim, status: str) -> None:
        seen = self._status_seen.get(claim.endpoint_id)
        if seen is None or seen.labels[1:] != (claim.endpoint_name, claim.page_name):
            if seen is not None:
                self._drop(seen.labels)
            labels = (str(claim.endpoint_id), claim.endpoint_name, claim.page_name)
            seen = _Series(labels, self.endpoint_status.labels(*labels))
            self._status_seen[claim.endpoint_id] = seen
        seen.gauge.set(STATUS_VALUE[status])
        # Stale once two slots pass without this replica probing it (another may be).
        seen.stale_at = time.monotonic() + 2 * claim.interval + 60

    def set_certificate(self, claim: Claim, expires_at: float | None) -> None:
        """After set_status: the certificate's expiry.

        A probe that saw no certificate (a failed handshake) keeps the last value:
        an expired certificate stays visible. A changed endpoint drops it (forget).
        """
        seen = self._status_seen.get(claim.endpoint_id)
        if seen is None or expires_at is None:
            return
        if seen.cert is None:
            seen.cert = self.certificate_expiry.labels(*seen.labels)
        seen.cert.set(expires_at)

    def forget(self, endpoint_id: int) -> None:
        """The endpoint changed (or is gone): drop its series until it is probed again."""
        seen = self._status_seen.pop(endpoint_id, None)
        if seen is not None:
            self._drop(seen.labels)

    def prune(self) -> None:
        """Drop the series of endpoints this replica has not probed for two slots."""
        now = time.monotonic()
        for endpoint_id, seen in list(self._status_seen.items()):
            if seen.stale_at < now:
                self.forget(endpoint_id)

    def _drop(self, labels: tuple[str, str, str]) -> None:
        with contextlib.suppress(KeyError):
            self.endpoint_status.remove(*labels)
        self._drop_cert(labels)

    def _drop_cert(self, labels: tuple[str, str, str]) -> None:
        with contextlib.suppress(KeyError):
            self.certificate_expiry.remove(*labels)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_app(metrics: Metrics, health: Callable[[], dict[str, Any]]) -> web.Application:
    """/metrics, and /health: ``health()`` (200 when its status is "ok", else 503)."""

    async def get_metrics(_: web.Request) -> web.Response:
        resp = web.Response(body=metrics.render())
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def get_health(_: web.Request) -> web.Response:
        body = health()
        return web.json_response(body, status=200 if body["status"] == "ok" else 503)

    app = web.Application()
    app.router.add_get(METRICS_PATH, get_metrics)
    app.router.add_get(HEALTH_PATH, get_health)
    return app


class MetricsServer:
    """The aiohttp server of /metrics and /health, as a loop the Supervisor can restart."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on host:port (OSError when the port is taken)."""
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` (listening again first if a failure closed the server)."""
        try:
            if self._runner is None:
                await self.start()
            await stop.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

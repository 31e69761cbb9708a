"""What a notification says: the webhook body, and the title and text a person reads.

Pure functions of a claimed delivery (``Job``): no network, no database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from shared.settings import Settings

WEBHOOK_VERSION = 1
_WORD = {"down": "DOWN", "degraded": "DEGRADED", "up": "UP"}


class Job(msgspec.Struct, frozen=True, gc=False):
    """One claimed delivery: the attempt, its event and its channel (url and secret: never log)."""

    delivery_id: int
    attempts: int
    event_id: int
    type: str
    occurred_at: float  # epoch seconds
    from_status: str | None
    to_status: str | None
    status_code: int | None
    response_time: int | None
    error: str | None
    channel_id: int
    channel_name: str
    channel_type: str
    channel_url: str
    channel_secret: str | None
    page_id: int | None
    page_slug: str | None
    page_name: str | None
    endpoint_id: int | None
    endpoint_name: str | None
    endpoint_url: str | None
    # maintenance.started / maintenance.ended: the window and its occurrence (epoch seconds)
    maintenance_id: int | None = None
    maintenance_title: str | None = None
    window_starts_at: float | None = None
    window_ends_at: float | None = None

    def __repr__(self) -> str:  # a Job in a traceback or a log line never shows the secrets
        return f"Job(delivery={self.delivery_id}, event={self.event_id}, type={self.type})"


def occurred(job: Job) -> datetime:
    return datetime.fromtimestamp(job.occurred_at, UTC)


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _minute(epoch: float | None) -> str:
    when = _at(epoch)
    return "?" if when is None else when.strftime("%Y-%m-%d %H:%M UTC")


def is_maintenance(job: Job) -> bool:
    return job.type.startswith("maintenance.")


def title(job: Job) -> str:
    """``[Uptimatum] api.example.com is DOWN``."""
    if job.type == "test":
        return f"[Uptimatum] Test notification to {job.channel_name}"
    if is_maintenance(job):
        what = "started" if job.type == "maintenance.started" else "ended"
        return f"[Uptimatum] Maintenance {what}: {job.maintenance_title or 'a window'}"
    word = _WORD.get(job.to_status or "", "?")
    if job.type == "endpoint.reminder":
        return f"[Uptimatum] {job.endpoint_name} is still {word}"
    return f"[Uptimatum] {job.endpoint_name} is {word}"


def text(job: Job) -> str:
    """The one line a person reads (the webhook's ``text``)."""
    if job.type == "test":
        return f"Test notification from Uptimatum to the channel {job.channel_name}: it works."
    line = f"{title(job).removeprefix('[Uptimatum] ')} ({job.page_name})"
    if job.type == "maintenance.started":
        return f"{line}, until {_minute(job.window_ends_at)}"
    if job.type == "maintenance.ended":
        return f"{line}, in progress since {_minute(job.window_starts_at)}"
    if job.type == "endpoint.up":
        line += f", was {job.from_status}"
    elif job.error:
        line += f": {job.error}"
    return line


def body(job: Job, settings: Settings) -> str:
    """The Apprise body: what happened, when, and where to look."""
    lines = [text(job)]
    when = occurred(job).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines.append(f"Time: {when}")
    if job.endpoint_url:
        lines.append(f"Endpoint: {job.endpoint_url}")
    if job.status_code is not None or job.response_time is not None:
        lines.append(f"HTTP status: {job.status_code}, response time: {job.response_time} ms")
    link = settings.page_url(job.page_slug) if job.page_slug else None
    if link:
        lines.append(f"Status page: {link}")
    return "\n".join(lines)


def payload(job: Job, settings: Settings) -> dict[str, Any]:
    """The webhook body (README "Alerting"), as a dict in wire order."""
    when = occurred(job)
    doc: dict[str, Any] = {
        "version": WEBHOOK_VERSION,
        "id": str(job.event_id),
        "type": job.type,
        "occurredAt": when,
    }
    if job.type == "test":
        doc["page"] = None
        doc["channel"] = {"id": job.channel_id, "name": job.channel_name, "type": job.channel_type}
        doc["check"] = None
    elif is_maintenance(job):
        doc["page"] = _page(job, settings)
        doc["maintenance"] = {
            "id": job.maintenance_id,
            "title": job.maintenance_title,
            "startsAt": _at(job.window_starts_at),
            "endsAt": _at(job.window_ends_at),
        }
    else:
        doc["page"] = _page(job, settings)
        doc["endpoint"] = {
            "id": job.endpoint_id,
            "name": job.endpoint_name,
            "url": job.endpoint_url,
            "status": job.to_status,
            "previousStatus": job.from_status,
        }
        doc["check"] = {
            "statusCode": job.status_code,
            "responseTime": job.response_time,
            "error": job.error,
            "checkedAt": when,
        }
    doc["text"] = text(job)
    return doc


def _page(job: Job, settings: Settings) -> dict[str, Any]:
    return {
        "id": job.page_id,
        "slug": job.page_slug,
        "name": job.page_name,
        "url": settings.page_url(job.page_slug) if job.page_slug else None,
    }


def encode(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)

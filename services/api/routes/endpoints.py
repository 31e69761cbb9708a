"""Endpoints: read, history, create, change, delete."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from psycopg import errors as pg
from psycopg.types.json import Jsonb

from services.api import queries as q
from services.api.auth import page_of, scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, errors, parse_id
from services.api.models import (
    METHODS,
    Check,
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    Success,
    endpoint_from_row,
    patch_of,
    sent_fields,
)
from services.api.params import IdPath
from shared.channels import is_http_url
from shared.db import execute, fetch_one, fetch_structs
from shared.kinds import kind_of
from shared.settings import Settings
from shared.status import DEFAULT_EXPECTED_STATUS, normalize_expected_status

# The CHECK constraints that refuse a timeout (migrations/0001) or a retry interval
# (migrations/0012) above the interval.
TIMEOUT_RULE = "endpoints_timeout_range"
RETRY_RULE = "endpoints_retry_interval_range"
# An endpoint write carries up to 50 headers of 4 KiB and a 64 KiB body: more
# than the API's 64 KiB for other requests.
MAX_REQUEST = 1024 * 1024
EndpointId = IdPath
Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="How many checks (1 to 1,000)")]


# A write to an endpoint touches its page, and the page it moves to.
ENDPOINT_PAGE = page_of("endpoint_id", q.ENDPOINT_PAGE, body="page_id")


def _not_found(endpoint_id: int) -> ApiError:
    return ApiError(404, f"no endpoint with id {endpoint_id}")


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """The rules of each given field a msgspec type cannot say alone; the values as stored.

    A PATCH gives some fields only: the rules that join two of them (timeout
    not above interval) are checked on the merged row by the database.
    """
    out = dict(values)
    if "url" in out:
        _check_url(out["url"])
    if "method" in out:
        out["method"] = out["method"].upper()
        if out["method"] not in METHODS:
            raise ApiError(
                400, f"method must be one of {', '.join(METHODS)}, got {values['method']!r}"
            )
    if "timeout" in out and "interval" in out and out["timeout"] > out["interval"]:
        raise _timeout_above_interval(out["interval"], out["timeout"])
    retry = out.get("retry_interval")
    if retry is not None and "interval" in out and retry > out["interval"]:
        raise _above_interval("retry_interval", out["interval"], retry)
    if "expected_status" in out:
        try:
            out["expected_status"] = normalize_expected_status(out["expected_status"])
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    if "keyword" in out:
        out["keyword"] = out["keyword"] or None
    for name in ("body", "body_content_type"):  # the probe settings (their types checked them)
        if name in out:
            out[name] = out[name] or None
    return out


_URL_FORMS = {"tcp": "tcp://host:port", "tls": "tls://host:port", "dns": "dns://name"}
_URL_ERROR = (
    "url must be an absolute http(s) URL with a host, tcp://host:port, tls://host:port"
    " or dns://name, got {!r}"
)


def _check_url(url: str) -> None:
    """The url picks the kind of check; each kind has its form (``tcp://host:port`` ...)."""
    kind = kind_of(url)
    if kind == "http":
        if not is_http_url(url):
            raise ApiError(400, _URL_ERROR.format(url))
        return
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on a port out of range
    except ValueError:
        parts, host, port = None, None, None
    if kind is None or parts is None or not host or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise ApiError(400, _URL_ERROR.format(url))
    extra = parts.path not in ("", "/") or parts.query or parts.fragment or parts.username
    if extra or (kind in ("tcp", "tls") and not port) or (kind == "dns" and port is not None):
        raise ApiError(400, f"a {kind} check's url must be {_URL_FORMS[kind]}, got {url!r}")


def _timeout_above_interval(interval: int, timeout: int) -> ApiError:
    return _above_interval("timeout", interval, timeout)


def _above_interval(field: str, interval: int, value: int) -> ApiError:
    return ApiError(400, f"{field} ({value} s) must not be above interval ({interval} s)")


@get(
    "/api/endpoints/{endpoint_id:str}",
    tags=["endpoints"],
    summary="An endpoint with its current status",
    responses=errors(400, 404),
)
async def get_endpoint(endpoint_id: EndpointId, pool: Pool) -> Endpoint:
    ident = parse_id(endpoint_id, "endpoint id")
    row = await fetch_one(pool, q.GET_ENDPOINT, {"id": ident})
    if row is None:
        raise _not_found(ident)
    return endpoint_from_row(row)


@get(
    "/api/endpoints/{endpoint_id:str}/history",
    tags=["endpoints"],
    summary="The endpoint's checks (runs of equal results), newest first",
    responses=errors(400, 404),
)
async def history(endpoint_id: EndpointId, pool: Pool, limit: Limit = 100) -> list[Check]:
    ident = parse_id(endpoint_id, "endpoint id")
    rows = await fetch_structs(pool, q.ENDPOINT_HISTORY, {"id": ident, "limit": limit}, Check)
    if not rows:
        raise _not_found(ident)
    return [check for check in rows if check is not None]


@post(
    "/api/endpoints",
    tags=["endpoints"],
    summary="Create an endpoint (checked at once)",
    before_request=strict_body(EndpointCreate),
    request_max_body_size=MAX_REQUEST,
    **scope("write", 400, 404, 413, page=page_of(body="page_id")),
)
async def create_endpoint(
    data: JSONBody[EndpointCreate],
    pool: Pool,
    settings: NamedDependency[Settings],
) -> Endpoint:
    # interval defaults to CHECK_INTERVAL (issue 2), so a timeout sent alone may
    # be above it: a 400, as when both are sent (the document cannot state the
    # default; tests/api/schemathesis.toml says so).
    values = {
        "interval": settings.check_interval,
        "expected_status": list(DEFAULT_EXPECTED_STATUS),
        **sent_fields(data),
    }
    values.setdefault("timeout", min(settings.check_timeout, values["interval"]))
    values = validate(values)
    values["headers"] = Jsonb(values.get("headers", {}))
    rows = await execute(pool, q.INSERT_ENDPOINT, values)
    return endpoint_from_row(rows[0])


@patch(
    "/api/endpoints/{endpoint_id:str}",
    tags=["endpoints"],
    summary="Change an endpoint (takes effect from its next check)",
    before_request=strict_body(EndpointUpdate),
    request_max_body_size=MAX_REQUEST,
    **scope("write", 400, 404, 409, 413, page=ENDPOINT_PAGE),
)
async def update_endpoint(
    endpoint_id: EndpointId,
    data: JSONBody[EndpointUpdate],
    pool: Pool,
) -> Endpoint:
    ident = parse_id(endpoint_id, "endpoint id")
    params = {"id": ident, "patch": patch_of(validate(sent_fields(data)))}
    try:
        rows = await execute(pool, q.UPDATE_ENDPOINT, params)
    except pg.CheckViolation as exc:
        rule = exc.diag.constraint_name
        if rule not in (TIMEOUT_RULE, RETRY_RULE):
            raise
        # The merged endpoint breaks a rule (validate() refused a pair sent
        # together): a 400 like any value out of range, nothing written.
        field = "timeout" if rule == TIMEOUT_RULE else "retry_interval"
        merged = await fetch_one(pool, q.ENDPOINT_PATCHED, params)
        if merged is None or (merged[field] or 0) <= merged["interval"]:  # changed meanwhile
            raise ApiError(400, f"{field} must not be above interval") from None
        raise _above_interval(field, merged["interval"], merged[field]) from None
    except pg.ForeignKeyViolation:  # the endpoint exists; the page it would move to does not
        raise ApiError(
            409, f"no page with id {data.page_id}: the endpoint stays where it is"
        ) from None
    if not rows:
        raise _not_found(ident)
    return endpoint_from_row(rows[0])


@delete(
    "/api/endpoints/{endpoint_id:str}",
    tags=["endpoints"],
    summary="Delete an endpoint and its history",
    status_code=200,
    **scope("write", 400, 404, page=ENDPOINT_PAGE),
)
async def delete_endpoint(endpoint_id: EndpointId, pool: Pool) -> Success:
    ident = parse_id(endpoint_id, "endpoint id")
    if not await execute(pool, q.DELETE_ENDPOINT, {"id": ident}):
        raise _not_found(ident)
    return Success()

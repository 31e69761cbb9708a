"""Every error leaves as ``{"error": "<message a person understands>"}``: a 4xx or a 503."""

from __future__ import annotations

import re
import traceback
from typing import Any

import msgspec
import psycopg
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from loguru import logger
from psycopg import errors as pg

from services.api.models import MAX_ID, METHODS, SLUG_PATTERN
from shared.db import DatabaseUnavailable


class ApiError(HTTPException):
    """An error answered as is: ``ApiError(404, "no page with slug 'x'")``."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(detail=message, status_code=status_code)


class ErrorBody(msgspec.Struct):
    error: str


_DESCRIPTIONS = {
    400: "The request is not valid (the message names the field)",
    401: "No valid credentials: 'Authorization: Bearer <API key or ADMIN_TOKEN>' or a session",
    403: "The credentials lack the scope or the page this needs (the message names it),"
    " or a session's write came without a same-origin Origin header",
    404: "Not found",
    409: "Conflicts with the current data (the message says how)",
    413: "The request body is too large (64 KiB; 1 MiB for an endpoint)",
    503: "The database is unavailable; try again shortly",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI descriptions of the errors a route answers (503 always included)."""
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code])
        for code in sorted({*codes, 503})
    }


def parse_id(value: str, what: str = "id") -> int:
    """A path or query id: a positive 64-bit integer, else 400."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise ApiError(400, f"{what} must be a positive integer (1 to {MAX_ID}), got {value!r}")
    return int(value)


_SLUG = re.compile(SLUG_PATTERN.removesuffix("$"))


def is_slug(value: str) -> bool:
    """Whether a page could have this slug (no NUL, no upper case, at most 100 characters)."""
    return len(value) <= 100 and _SLUG.fullmatch(value) is not None


def page_slug(value: str) -> str:
    """A path slug; one no page can have is a 404 (without asking the database)."""
    if not is_slug(value):
        raise ApiError(404, f"no page with slug {value!r}")
    return value


# msgspec's messages, reworded for people: (pattern, replacement).
_REWORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Object missing required field `(\w+)`$"), r"\1 is required"),
    (re.compile(r"^Object contains unknown field `(.*)`$", re.S), r"unknown field '\1'"),
    (re.compile(r"^Expected `int` >= (-?\d+)$"), r"must be at least \1"),
    (re.compile(r"^Expected `int` <= (-?\d+)$"), r"must be at most \1"),
    (re.compile(r"^Expected `str` of length >= 1$"), "must not be empty"),
    (re.compile(r"^Expected `str` of length >= (\d+)$"), r"must be at least \1 characters long"),
    (re.compile(r"^Expected `str` of length <= (\d+)$"), r"must be at most \1 characters long"),
    (re.compile(r"^Expected `array` of length >= (\d+)$"), r"must have at least \1 entries"),
    (re.compile(r"^Expected `array` of length <= (\d+)$"), r"must have at most \1 entries"),
    (re.compile(r"^Expected `object` of length <= (\d+)$"), r"must have at most \1 entries"),
    (re.compile(r"^Expected `str` matching regex .*$"), "has an invalid format"),
    (
        re.compile(r"^Expected `datetime` with a timezone component$"),
        "must have a UTC offset or Z, such as 2026-12-06T02:00:00+01:00",
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded datetime$"),
        "must be an ISO-8601 time with an offset, such as 2026-12-06T02:00:00Z",
    ),
    (re.compile(r"^Invalid enum value (.*)$"), r"has an invalid value \1"),
    (re.compile(r"^Expected `(.+?)`, got `(.+?)`$"), r"must be \1, not \2"),
]
_TYPE_WORDS = {
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "object": "a JSON object",
    "array": "a list",
    "null": "null",
    "float": "a number",
}
_AT = re.compile(r"^(.*) - at `\$(.*)`$")
_AT_KEY = re.compile(r"^(.*) - at `key` in `\$\.?(.*)`$")  # a bad name of an object's member
# How an error inside an object field names its place: headers' names and values.
_PLACES = {"headers[...]": "headers: each value", "headers key": "headers: each name"}
# What a field must look like, where msgspec can only say "invalid".
_NO_NUL = "must not contain NUL (\\u0000) characters"
_FORMATS = {
    "slug": "must be 1-100 characters of a-z, 0-9 and '-', not starting or ending with '-'",
    "url": "must be an absolute http(s) URL with a host, tcp://host:port, tls://host:port"
    " or dns://name (no spaces or control characters)",
    "method": f"must be one of {', '.join(METHODS)} (any case)",
    "expected_status": "must be a status code (100-599) or a range from low to high "
    "such as '200-299'",
    "name": _NO_NUL,
    "title": _NO_NUL,
    "keyword": _NO_NUL,
    "description": _NO_NUL,
    "headers": "must be printable ASCII (no CR, LF or other control characters)",
    "headers key": "must be an RFC 7230 token (letters, digits and !#$%&'*+-.^_`|~), and not"
    " Host, Content-Length, Transfer-Encoding or Connection (the checker sends those)",
    "body_content_type": "must not contain control characters",
    "body": _NO_NUL,
    "dns_expected": _NO_NUL,
    "dns_server": "must be a host or host:port (such as 192.0.2.53, [2001:db8::53]:5353"
    " or ns1.example.com)",
}
_CHOICES = {
    "status": "investigating, identified, monitoring or resolved",
    "style": "flat or flat-square",
    "impact": "none, minor, major or critical",
    "scope": "read, incidents, write or admin",
    "dns_record_type": "A, AAAA, CNAME, MX, TXT or NS",
}


def reword(message: str, field: str | None = None) -> str:
    """``"Expected `int` >= 5 - at `$.interval`"`` -> ``"interval must be at least 5"``."""
    match = _AT_KEY.match(message)
    if match:
        message, field = match.group(1), f"{match.group(2)} key"
        match = None
    else:
        match = _AT.match(message)
    if match:
        message, path = match.group(1), match.group(2).lstrip(".")
        field = field or path or None
    text = message
    for pattern, replacement in _REWORDS:
        if pattern.match(message):
            text = pattern.sub(replacement, message)
            break
    for word, plain in _TYPE_WORDS.items():
        text = text.replace(f"be {word},", f"be {plain},").replace(f"not {word}", f"not {plain}")
        text = text.replace(f"be {word} | ", f"be {plain} or ")
    text = text.replace("`", "")
    name = (field or "").split("[")[0]  # expected_status[2] -> expected_status
    if name in _FORMATS and text == "has an invalid format":
        text = _FORMATS[name]
    elif field in _CHOICES and text.startswith("has an invalid value"):
        text = f"{text}: expected {_CHOICES[field]}"
    if field is None:
        return "the request body " + text if text.startswith("must") else text
    field = _PLACES.get(field, field)
    if text.startswith(("must", "has")):
        return f"{field} {text}"
    return text if field in text else f"{field}: {text}"


def body_error(exc: msgspec.DecodeError) -> ApiError:
    if isinstance(exc, msgspec.ValidationError):
        return ApiError(400, reword(str(exc)))
    return ApiError(400, "the request body is not valid JSON")


def _json(status: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response({"error": message}, status_code=status, headers=headers)


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in extra:
        if isinstance(item, dict) and item.get("message"):
            parts.append(reword(str(item["message"]), item.get("key") or None))
    if parts:
        return "; ".join(parts)
    detail = exc.detail or "the request is not valid"
    return detail.split(" for path ")[0]


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return _json(400, _validation_message(exc))
    status = exc.status_code
    if status >= 500:
        logger.error("{} {} failed: {}", request.method, request.url.path, exc.detail)
        return _json(503, "the server could not answer this request; try again")
    message = exc.detail or "request refused"
    if status == 404 and message == "Not Found":
        message = f"nothing here: {request.method} {request.url.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    elif status == 413:
        limit = request.route_handler.resolve_request_max_body_size() or 0
        size = f"{limit // 1048576} MiB" if limit >= 1048576 else f"{limit // 1024} KiB"
        message = f"the request body is too large (at most {size})"
    return _json(status, message, dict(exc.headers or {}))


def handle_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.warning("database unavailable during {} {}: {}", request.method, request.url.path, exc)
    return _json(503, "the database is unavailable; try again shortly", {"Retry-After": "3"})


def handle_integrity(request: Request[Any, Any, Any], exc: psycopg.Error) -> Response[Any]:
    """The schema's constraints back the validation up; they answer 4xx, never 500."""
    constraint = getattr(exc.diag, "constraint_name", None) or ""
    if isinstance(exc, pg.UniqueViolation):
        return _json(409, "that slug is already taken")
    if isinstance(exc, pg.ForeignKeyViolation):
        return _json(404, "the page does not exist")
    if isinstance(exc, pg.CheckViolation | pg.NotNullViolation):
        return _json(400, f"the values break a rule of the data ({constraint or 'check'})")
    if isinstance(exc, pg.DataError):
        return _json(400, "a value is out of range or malformed")
    if isinstance(exc, psycopg.OperationalError):
        return handle_database_down(request, exc)
    if isinstance(exc, pg.UndefinedTable | pg.UndefinedColumn | pg.UndefinedFunction):
        logger.error("the database schema is not as expected: {}", exc)
        return _json(503, "the database is not migrated; run 'uptimatum migrate'")
    return handle_unexpected(request, exc)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The plain traceback only: loguru's own would print the values of local
    # variables, and a token or a password must never reach a log line.
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-8))
    logger.error("unexpected error in {} {}:\n{}", request.method, request.url.path, trace)
    return _json(503, "the server could not answer this request; try again")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: handle_http,
    DatabaseUnavailable: handle_database_down,
    psycopg.Error: handle_integrity,
    Exception: handle_unexpected,
}

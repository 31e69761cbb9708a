"""The audit log: one row per successful write, recorded by one hook for every route.

``audit_middleware`` wraps every route. A write (POST, PATCH, PUT, DELETE)
answered 2xx or 3xx by a request whose guard (or the login handler) left a
Principal behind gets a row before its answer leaves:

- ``actor``: ``key 3 (ci)``, or ``admin token`` (a session acts as its token);
- ``action``: the method and route, ids as ``{id}`` (``PATCH /api/endpoints/{id}``);
- ``target``: the resource and its id (``endpoint 7``): the answer's ``id``, else
  the last path parameter; the resource is the route's last literal segment made
  singular, unless the route declares ``target=`` (auth.scope);
- ``summary``: the names of the fields sent (names only: never a value, so no
  secret), or ``deleted``.

A route added later is audited with no code of its own. The row is written just
after the write, in its own statement: if the database fails in between, the
write stands and a warning is logged.
"""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import parse_qsl

import msgspec
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from loguru import logger

from services.api import queries as q
from services.api.auth import WRITES, principal_of
from shared.db import execute

NOTE = "uptimatum.audit"  # a handler's own target/summary (note())
_TYPED = re.compile(r"\{(\w+)(?::\w+)?\}")
_ID = re.compile(r"\{(?:\w+_)?id\}")
BODY_LIMIT = 64 * 1024


def note(scope: Any, *, target: str | None = None, summary: str | None = None) -> None:
    """Let a handler name the target or summary the generic rule cannot see."""
    given = {k: v for k, v in (("target", target), ("summary", summary)) if v is not None}
    cast("dict[str, Any]", scope).setdefault(NOTE, {}).update(given)


def action_of(method: str, template: str) -> str:
    route = _ID.sub("{id}", _TYPED.sub(r"{\1}", template))
    return f"{method} {route}"


def _resource(template: str) -> str:
    literal = [s for s in template.split("/") if s and not s.startswith("{") and s != "api"]
    word = literal[-1] if literal else "api"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def target_of(scope: Any, answer: Any) -> str:
    handler = scope.get("route_handler")
    resource = (handler.opt.get("audit_target") if handler else None) or _resource(
        str(scope.get("path_template") or scope["path"])
    )
    ident = answer.get("id") if isinstance(answer, dict) else None
    if ident is None and scope.get("path_params"):
        ident = list(scope["path_params"].values())[-1]
    return resource if ident is None else f"{resource} {ident}"


def summary_of(method: str, body: bytes, content_type: str) -> str:
    names: list[str] = []
    if "application/x-www-form-urlencoded" in content_type:
        names = list(dict.fromkeys(k for k, _ in parse_qsl(body.decode("latin-1"))))
    elif body.strip():
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError:
            decoded = None
        if isinstance(decoded, dict):
            names = [str(k) for k in decoded]
    if names:
        return ", ".join(names)
    return "deleted" if method == "DELETE" else "no fields"


def _decode(parts: list[bytes]) -> Any:
    try:
        return msgspec.json.decode(b"".join(parts))
    except msgspec.DecodeError:
        return None


async def record(scope: Any, request_body: bytes, answer: Any) -> None:
    principal = principal_of(scope)
    if principal is None:
        return
    method = scope["method"]
    noted = scope.get(NOTE, {})
    headers = dict(scope.get("headers") or [])
    content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
    row = {
        "actor": principal.actor,
        "key_id": principal.key_id,
        "action": action_of(method, str(scope.get("path_template") or scope["path"])),
        "target": noted.get("target") or target_of(scope, answer),
        "summary": noted.get("summary") or summary_of(method, request_body, content_type),
    }
    try:
        await execute(scope["app"].state.pool, q.INSERT_AUDIT, row)
    except Exception as exc:  # the write stands; say that its row is missing
        logger.warning("audit row not written for {}: {}", row["action"], type(exc).__name__)


def audit_middleware(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (it runs after routing: the route and the guard's Principal)."""

    async def audited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or cast("dict[str, Any]", scope)["method"] not in WRITES:
            await app(scope, receive, send)
            return
        received = bytearray()
        held: list[Message] = []

        async def receive_seen() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.request" and len(received) < BODY_LIMIT:
                received.extend(message.get("body", b""))
            return message

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                if 200 <= message["status"] < 400 and principal_of(scope) is not None:
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if message.get("more_body", False):
                    return
                bodies = [cast("bytes", m.get("body", b"")) for m in held[1:]]
                await record(scope, bytes(received), _decode(bodies))
                for kept in held:
                    await send(kept)
                held.clear()
                return
            await send(message)

        await app(scope, receive_seen, send_audited)

    return audited

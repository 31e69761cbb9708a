"""Who is asking, and may they: the admin token, API keys, browser sessions.

Every route that needs a credential declares it in one line, with the errors it
answers besides (401, 403 and 503 are added)::

    @patch("/api/endpoints/{endpoint_id:str}", ...,
           **scope("write", 400, 404, 413, page=page_of("endpoint_id", q.ENDPOINT_PAGE, "page_id")))

Scopes include the ones before them: read < incidents < write < admin. A key
limited to pages (``page_ids``) may write only where ``page`` finds those pages;
a route that declares no ``page`` is refused to such keys. Public reads declare
nothing and pay nothing: no credential is looked at.

Lookups are cached per process for CACHE_SECONDS, so a revoked or expired key
is refused on every replica within that time (expiry is judged on every request
from the cached row, so it is exact); the revoking replica forgets at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, LiteralString, cast, get_args
from urllib.parse import urlsplit

import msgspec
import psycopg
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from loguru import logger
from psycopg import errors as pg

from services.api import queries as q
from services.api.errors import ApiError, body_error, errors
from services.api.models import KeyScope
from shared.db import execute, fetch_all, fetch_one
from shared.queries import SESSION_IDLE_HOURS, SESSION_MAX_DAYS
from shared.settings import Settings

SCOPES: tuple[str, ...] = get_args(KeyScope)  # lowest first: each one allows the ones before
RANK = {name: rank for rank, name in enumerate(SCOPES)}
KEY_PREFIX = "upt_"
SESSION_COOKIE = "uptimatum_session"
CACHE_SECONDS = 2.0  # a revocation reaches every replica within this (the promise: 5 s)
CACHE_MAX = 10_000  # entries per cache before it is emptied
STAMP_SECONDS = 60.0  # lastUsedAt / a session's last_seen_at: written at most this often
SESSION_IDLE = timedelta(hours=SESSION_IDLE_HOURS)
SESSION_MAX = timedelta(days=SESSION_MAX_DAYS)
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
PRINCIPAL = "uptimatum.principal"  # where the guard leaves the Principal in the ASGI scope

# The OpenAPI security requirement of every scoped route: a bearer token or the cookie.
SECURITY: list[dict[str, list[str]]] = [{"adminToken": []}, {"sessionCookie": []}]


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as."""

    scope: str
    page_ids: frozenset[int] | None  # None: every page
    key_id: int | None = None  # None: the admin token
    key_name: str = ""
    session_id: int | None = None

    @property
    def actor(self) -> str:
        return "admin token" if self.key_id is None else f"key {self.key_id} ({self.key_name})"

    @property
    def what(self) -> str:
        return "this session" if self.session_id is not None else "this key"


ADMIN = Principal(scope="admin", page_ids=None)


# -- declaring a route's access -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageOf:
    """How to find the page(s) a write touches (for keys limited to pages).

    ``path``: a path parameter naming the resource, whose page ``query`` returns
    (one ``page_id`` column from ``%(value)s``); ``body``: a body field holding a
    page id (a create, or a move to another page); ``body_ref``: a body field
    naming another resource, whose page ``body_query`` returns (an alert rule
    of one endpoint). Any of them may be given.
    """

    path: str | None = None
    query: LiteralString | None = None
    body: str | None = None
    body_ref: str | None = None
    body_query: LiteralString | None = None


def page_of(
    path: str | None = None,
    query: LiteralString | None = None,
    body: str | None = None,
    body_ref: tuple[str, LiteralString] | None = None,
) -> PageOf:
    if (path is None) != (query is None):
        raise ValueError("page_of: a path parameter needs its query, and the other way round")
    ref, ref_query = body_ref if body_ref is not None else (None, None)
    return PageOf(path=path, query=query, body=body, body_ref=ref, body_query=ref_query)


def scope(
    name: KeyScope, *codes: int, page: PageOf | None = None, target: str | None = None
) -> dict[str, Any]:
    """The keyword arguments of a route that needs ``name``: guard, OpenAPI, errors.

    ``page``: where its page is (none: keys limited to pages are refused).
    ``target``: the resource named in the audit log (default: from the path).
    """
    if name not in RANK:
        raise ValueError(f"unknown scope {name!r}; one of {', '.join(SCOPES)}")
    opt: dict[str, Any] = {"scope": name, "page": page}
    if target:
        opt["audit_target"] = target
    return {
        "guards": [authorize],
        "security": SECURITY,
        "opt": opt,
        "responses": errors(*codes, 401, 403),
    }


def unscoped(
    reason: str, *codes: int, target: str | None = None, body: type | None = None
) -> dict[str, Any]:
    """A write that needs no scope (login, logout): the reason is kept for the tests.

    ``body``: the Struct of a body the handler reads itself (for the OpenAPI document).
    """
    opt: dict[str, Any] = {"unscoped": reason}
    if target:
        opt["audit_target"] = target
    if body:
        opt["body"] = body
    return {"opt": opt, "responses": errors(*codes)}


# -- the guard -------------------------------------------------------------------


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard of every scoped route: 401 without a valid credential, 403 without the
    scope, the page or (for a session's write) a same-origin ``Origin``."""
    need: str = handler.opt["scope"]
    method: str = cast("dict[str, Any]", connection.scope)["method"]
    access: Access = connection.app.state.access
    principal = await access.authenticate(connection, need)
    if principal.session_id is not None and method in WRITES:
        check_origin(connection, access.settings)
    if RANK[principal.scope] < RANK[need]:
        route = f"{method} {route_template(connection)}"
        raise ApiError(
            403, f"{principal.what} has the '{principal.scope}' scope; {route} needs '{need}'"
        )
    if principal.page_ids is not None and method in WRITES:
        await _check_pages(connection, handler.opt.get("page"), principal, access)
    cast("dict[str, Any]", connection.scope)[PRINCIPAL] = principal


def route_template(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    template = cast("dict[str, Any]", connection.scope).get("path_template")
    return str(template or connection.scope["path"])


async def _check_pages(
    connection: Any,
    page: PageOf | None,
    principal: Principal,
    access: Access,
) -> None:
    allowed = principal.page_ids or frozenset()
    shown = ", ".join(str(p) for p in sorted(allowed))
    if page is None:
        route = f"{connection.method} {route_template(connection)}"
        raise ApiError(
            403, f"{principal.what} may write only to pages {shown}; {route} needs every page"
        )
    touched = await _pages_touched(cast("Request[Any, Any, Any]", connection), page, access)
    outside = sorted(touched - allowed)
    if outside:
        raise ApiError(
            403,
            f"{principal.what} may write only to pages {shown}; this needs page {outside[0]}",
        )


async def _pages_touched(request: Request[Any, Any, Any], page: PageOf, access: Access) -> set[int]:
    found: set[int] = set()
    if page.path is not None and page.query is not None:
        value = request.path_params.get(page.path)
        found.update(await _pages_of(access, page.query, value))
    if page.body is not None or page.body_ref is not None:
        try:
            # 2.0 is the page 2 to the body check (strict_body) and so to the handler.
            body = _whole_numbers(msgspec.json.decode(await request.body() or b"null"))
        except msgspec.DecodeError as exc:
            raise body_error(exc) from None
        if not isinstance(body, dict):
            return found
        if page.body is not None and isinstance(body.get(page.body), int):
            found.add(body[page.body])
        ref = body.get(page.body_ref) if page.body_ref is not None else None
        if page.body_query is not None and isinstance(ref, int):
            found.update(await _pages_of(access, page.body_query, ref))
    return found


async def _pages_of(access: Access, query: LiteralString, value: Any) -> set[int]:
    try:
        rows = await fetch_all(access.pool, query, {"value": str(value)})
    except psycopg.errors.DataError:  # not an id at all: the handler answers 400
        rows = []
    return {int(r["page_id"]) for r in rows}


def check_origin(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> None:
    """A write authenticated by the cookie must come from this origin (CSRF)."""
    headers = connection.headers
    origin = headers.get("origin")
    if origin is None and (referer := headers.get("referer")):
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
    if origin is None:
        raise ApiError(
            403,
            "a write with the session cookie needs an Origin (or Referer) header of this site"
            " (cross-site request forgery protection); scripts can send"
            " 'Authorization: Bearer <key>' instead",
        )
    if origin.lower().rstrip("/") not in same_origins(connection, settings):
        raise ApiError(
            403,
            f"a write with the session cookie must come from this site, not from {origin!r}"
            " (cross-site request forgery protection)",
        )


def same_origins(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> set[str]:
    """This site's origins: PUBLIC_URL's, and the one the request was addressed to."""
    headers = connection.headers
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    proto = headers.get("x-forwarded-proto") or connection.scope.get("scheme", "http")
    origins = {f"{proto.split(',')[0].strip()}://{host.split(',')[0].strip()}".lower()}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origins


# -- credentials -------------------------------------------------------------------


class Access:
    """The process's view of credentials: the admin token, cached key and session rows."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: Any = None  # set in the lifespan
        self._admin = digest(settings.admin_token) if settings.admin_token else None
        self._keys: dict[bytes, tuple[float, dict[str, Any] | None]] = {}
        self._sessions: dict[bytes, tuple[float, dict[str, Any] | None]] = {}
        self._stamped: dict[tuple[str, int], float] = {}
        self._pending: dict[tuple[str, bytes], asyncio.Future[dict[str, Any] | None]] = {}

    def forget(self) -> None:
        """Drop every cached lookup (after a revocation or a logout on this replica)."""
        self._keys.clear()
        self._sessions.clear()

    async def authenticate(
        self, connection: ASGIConnection[Any, Any, Any, Any], need: str
    ) -> Principal:
        header = connection.headers.get("authorization")
        if header is not None:
            scheme, _sep, given = header.partition(" ")
            if scheme.lower() != "bearer" or not given.strip():
                raise self._unauthorized(need, "the Authorization header must be 'Bearer <token>'")
            principal, problem = await self.token(given.strip())
        elif (cookie := connection.cookies.get(SESSION_COOKIE)) is not None:
            principal, problem = await self.session(cookie)
        else:
            raise self._unauthorized(need, "no credentials were sent")
        if principal is None:
            raise self._unauthorized(need, problem)
        return principal

    def _unauthorized(self, need: str, problem: str) -> ApiError:
        how = "'Authorization: Bearer <API key or ADMIN_TOKEN>', or log in at /api/login"
        if not self.settings.admin_token and problem == "no credentials were sent":
            return ApiError(
                401,
                f"{problem}; this needs the '{need}' scope ({how})."
                " Note: the server has no ADMIN_TOKEN configured",
            )
        return ApiError(401, f"{problem}; this needs the '{need}' scope: {how}")

    async def token(self, token: str) -> tuple[Principal | None, str]:
        """The Principal of a bearer token, or None and why not."""
        hashed = digest(token)
        if self._admin is not None and hmac.compare_digest(hashed, self._admin):
            return ADMIN, ""
        if not token.startswith(KEY_PREFIX):
            if self._admin is None:
                return None, "writes need an API key: the server has no ADMIN_TOKEN configured"
            return None, "the token is neither the admin token nor an API key"
        row = await self._lookup(self._keys, q.KEY_BY_HASH, hashed)
        if row is None:
            return None, "unknown API key"
        problem = key_problem(row)
        if problem:
            return None, problem
        await self._stamp("key", row["id"], q.TOUCH_KEY)
        pages = frozenset(row["page_ids"]) if row["page_ids"] is not None else None
        return Principal(row["scope"], pages, row["id"], row["name"]), ""

    async def session(self, cookie: str) -> tuple[Principal | None, str]:
        row = await self._lookup(self._sessions, q.SESSION_BY_HASH, digest(cookie))
        problem = "the session is unknown or has ended (log in again at /api/login)"
        if row is None or row["ended_at"] is not None:
            return None, problem
        now = datetime.now(UTC)
        if now - row["created_at"] > SESSION_MAX or now - row["last_seen_at"] > SESSION_IDLE:
            return None, "the session has expired (log in again at /api/login)"
        if row["key_id"] is not None and (why := key_problem(row)):
            return None, f"the session's {why}"
        await self._stamp("session", row["id"], q.TOUCH_SESSION)
        if row["key_id"] is not None:  # a session's use is its key's use
            await self._stamp("key", row["key_id"], q.TOUCH_KEY)
        pages = frozenset(row["page_ids"]) if row["page_ids"] is not None else None
        return Principal(row["scope"], pages, row["key_id"], row["key_name"] or "", row["id"]), ""

    async def _lookup(
        self,
        cache: dict[bytes, tuple[float, dict[str, Any] | None]],
        query: LiteralString,
        hashed: bytes,
    ) -> dict[str, Any] | None:
        now = time.monotonic()
        hit = cache.get(hashed)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        # Requests that miss together share one lookup (no burst when an entry ages out).
        flight = (query, hashed)
        pending = self._pending.get(flight)
        if pending is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():  # this request was cancelled, not the lookup
                    raise
                return await fetch_one(self.pool, query, {"token_hash": hashed})
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._pending[flight] = future
        try:
            row = await fetch_one(self.pool, query, {"token_hash": hashed})
            if row is not None and not hmac.compare_digest(row["token_hash"], hashed):
                row = None  # never: the lookup is by this hash; compared in constant time anyway
            if len(cache) >= CACHE_MAX:
                cache.clear()
            cache[hashed] = (now, row)
            future.set_result(row)
            return row
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            if not future.done():  # cancelled: the waiters look it up themselves
                future.cancel()
            del self._pending[flight]

    async def _stamp(self, kind: str, ident: int, query: LiteralString) -> None:
        """lastUsedAt (or last_seen_at) at most once a minute: no write per request."""
        now = time.monotonic()
        if now - self._stamped.get((kind, ident), -STAMP_SECONDS) < STAMP_SECONDS:
            return
        if len(self._stamped) >= CACHE_MAX:
            self._stamped.clear()
        self._stamped[(kind, ident)] = now
        try:
            await execute(self.pool, query, {"id": ident})
        except (pg.ReadOnlySqlTransaction, pg.InsufficientPrivilege) as exc:
            # A read replica or a SELECT-only role: the read goes on, unstamped.
            logger.warning("could not record the use of a {} (read-only database): {}", kind, exc)


def key_problem(row: dict[str, Any]) -> str:
    """Why a key (or a session's key) no longer holds, or ""."""
    if row["revoked_at"] is not None:
        return "API key was revoked"
    expires = row["expires_at"]
    if expires is not None and expires <= datetime.now(UTC):
        return f"API key expired at {expires.isoformat(timespec='seconds')}"
    return ""


def principal_of(scope: Any) -> Principal | None:
    return cast("Principal | None", scope.get(PRINCIPAL))


# -- request bodies ------------------------------------------------------------------


def _whole_numbers(value: Any) -> Any:
    """``{"page_id": 1.0}`` -> ``{"page_id": 1}``, at any depth."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def strict_body(
    kind: type[msgspec.Struct],
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A ``before_request`` hook that decodes the body strictly as ``kind``.

    Litestar converts bodies leniently ("30" would pass for 30); this rejects
    wrong types, unknown fields and non-JSON with a 400 before the handler runs.
    A whole number written as ``1.0`` is an integer, as JSON Schema has it.
    """

    async def check(request: Request[Any, Any, Any]) -> None:
        body = await request.body()
        try:
            msgspec.convert(_whole_numbers(msgspec.json.decode(body or b"")), kind, strict=True)
        except msgspec.DecodeError as exc:
            raise body_error(exc) from None

    return check

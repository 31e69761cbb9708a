"""Browser sessions: a login form, login (sets the cookie) and logout.

A session is a row (``sessions``): opened with the admin token or a key with
the ``write`` scope or more, it carries that token's scope and pages, ends at
logout, after 12 hours idle or 7 days, and as soon as its key is revoked. The
cookie holds a random token of its own; the database keeps only its SHA-256.
"""

from __future__ import annotations

import html
import secrets
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import QueryParameter

from services.api import queries as q
from services.api.audit import note
from services.api.auth import (
    PRINCIPAL,
    RANK,
    SESSION_COOKIE,
    SESSION_MAX,
    Access,
    Principal,
    check_origin,
    digest,
    unscoped,
)
from services.api.deps import Pool
from services.api.errors import ApiError, body_error
from services.api.models import Login, Success
from shared.db import execute
from shared.settings import Settings

LOGIN_PATH = "/api/login"
Next = Annotated[str | None, QueryParameter(description="Where to go after login (a path)")]
LOGIN_SCOPE = "write"  # the least a token needs to open a session
_LOGIN_DECODER = msgspec.json.Decoder(Login)

_FORM = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · Uptimatum</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box}
input{margin:.25rem 0 1rem;padding:.5rem;font:inherit}
button{padding:.5rem;font:inherit;cursor:pointer}
.error{color:#a40000;font-weight:600}
</style>
</head>
<body>
<main>
<h1>Log in to Uptimatum</h1>
{error}<form method="post" action="/api/login">
<label for="token">Admin token or API key (write scope or more)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
"""
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Cache-Control": "no-store",
}


def safe_next(value: Any) -> str:
    """A same-origin path to go to after login; anything else is ``/``."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _cookie(settings: Settings, value: str, max_age: int) -> Cookie:
    secure = bool(settings.public_url and settings.public_url.lower().startswith("https:"))
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        httponly=True,
        # Written as the standard spells it (browsers accept any case; some tests do not).
        samesite=cast("Literal['strict']", "Strict"),
        secure=secure,
        max_age=max_age,
    )


@get(
    LOGIN_PATH,
    tags=["sessions"],
    summary="A small login form (HTML) for the browser dashboard",
    media_type=MediaType.HTML,
)
async def login_form(next: Next = None) -> Response[str]:
    return _form_page(next)


def _form_page(wanted: Any, error: str = "", status: int = 200) -> Response[str]:
    shown = f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    page = _FORM.replace("{next}", html.escape(safe_next(wanted), quote=True))
    page = page.replace("{error}", shown)
    return Response(page, status_code=status, media_type=MediaType.HTML, headers=_HEADERS)


def _is_form(request: Request[Any, Any, Any]) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return (
        "application/x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type
    )


async def _login_fields(request: Request[Any, Any, Any]) -> tuple[str, Any]:
    if _is_form(request):
        form = await request.form()
        token = form.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(400, "token is required")
        return token, form.get("next")
    try:
        body = _LOGIN_DECODER.decode(await request.body() or b"")
    except msgspec.DecodeError as exc:
        raise body_error(exc) from None
    return body.token, body.next


@post(
    LOGIN_PATH,
    tags=["sessions"],
    summary="Open a session: the token (JSON {token} or a form) sets the uptimatum_session cookie",
    status_code=303,
    **unscoped(
        "the token to check is in the body; anyone may try, a wrong one is a 401",
        400,
        401,
        403,
        413,
        target="session",
        body=Login,  # read by hand (JSON or a form); the document shows the JSON
    ),
)
async def login(request: Request[Any, Any, Any], pool: Pool) -> Response[None]:
    """A refused login answers JSON, or the form again with the reason for a browser's form."""
    try:
        return await _open_session(request, pool)
    except ApiError as exc:
        if not (_is_form(request) and "text/html" in request.headers.get("accept", "")):
            raise
        form = await request.form()
        wanted = form.get("next") or request.query_params.get("next")
        page = _form_page(wanted, exc.detail, exc.status_code)
        return cast("Response[None]", page)  # the 4xx in HTML; the 303 itself has no body


async def _open_session(request: Request[Any, Any, Any], pool: Pool) -> Response[None]:
    token, wanted = await _login_fields(request)
    wanted = wanted or request.query_params.get("next")
    access: Access = request.app.state.access
    principal, problem = await access.token(token.strip())
    if principal is None:
        raise ApiError(401, f"{problem}; log in with the admin token or an API key")
    if RANK[principal.scope] < RANK[LOGIN_SCOPE]:
        raise ApiError(
            403,
            f"this key has the '{principal.scope}' scope; a session needs '{LOGIN_SCOPE}' or more",
        )
    session_token = secrets.token_urlsafe(32)
    pages = sorted(principal.page_ids) if principal.page_ids is not None else None
    params = {
        "token_hash": digest(session_token),
        "key_id": principal.key_id,
        "scope": principal.scope,
        "page_ids": pages,
    }
    rows = await execute(pool, q.INSERT_SESSION, params)
    request.scope[PRINCIPAL] = principal  # type: ignore[literal-required]
    note(request.scope, target=f"session {rows[0]['id']}", summary="logged in")
    settings: Settings = request.app.state.settings
    return Response(
        None,
        status_code=303,
        headers={"Location": safe_next(wanted), "Cache-Control": "no-store"},
        cookies=[_cookie(settings, session_token, int(SESSION_MAX.total_seconds()))],
    )


@post(
    "/api/logout",
    tags=["sessions"],
    summary="End this browser's session and clear its cookie",
    status_code=200,
    **unscoped("it ends the session of the cookie it is sent with, if any", 403, target="session"),
)
async def logout(request: Request[Any, Any, Any], pool: Pool) -> Response[Success]:
    access: Access = request.app.state.access
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        # Ending a session forges nothing, so a client that sends no Origin (curl, a
        # script) may; a page of another origin may not log you out.
        if "origin" in request.headers or "referer" in request.headers:
            check_origin(request, settings)
        principal: Principal | None
        principal, _problem = await access.session(cookie)
        ended = await execute(pool, q.END_SESSION, {"token_hash": digest(cookie)})
        access.forget()
        if principal is not None and ended:
            request.scope[PRINCIPAL] = principal  # type: ignore[literal-required]
            note(request.scope, target=f"session {ended[0]['id']}", summary="logged out")
    return Response(Success(), status_code=200, cookies=[_cookie(settings, "", 0)])

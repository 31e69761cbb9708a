"""API keys: create (the token is shown once), list, read, revoke. Admin only."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from litestar import Request, delete, get, post
from litestar.params import JSONBody

from services.api import queries as q
from services.api.auth import KEY_PREFIX, digest, scope, strict_body
from services.api.deps import Pool
from services.api.errors import ApiError, parse_id
from services.api.models import ApiKey, ApiKeyCreated, KeyCreate, Success
from services.api.params import IdPath
from shared.db import execute, fetch_all, fetch_one

KeyId = IdPath
TOKEN_BYTES = 32  # token_urlsafe(32): 43 URL-safe characters after the prefix
PREFIX_LENGTH = 8  # what the database keeps of the token besides its SHA-256


def _not_found(key_id: int) -> ApiError:
    return ApiError(404, f"no API key with id {key_id}")


def new_token() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


@post(
    "/api/keys",
    tags=["keys"],
    summary="Create an API key (its token is in this answer only)",
    before_request=strict_body(KeyCreate),
    **scope("admin", 400, 404, 413),
)
async def create_key(data: JSONBody[KeyCreate], pool: Pool) -> ApiKeyCreated:
    pages = sorted(set(data.page_ids)) if data.page_ids is not None else None
    if pages:
        missing = await fetch_all(pool, q.MISSING_PAGES, {"ids": pages})
        if missing:
            raise ApiError(404, f"page_ids: no page with id {missing[0]['id']}")
    expires = data.expires_at
    if expires is not None:
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            raise ApiError(400, "expires_at must be in the future")
    token = new_token()
    params = {
        "name": data.name,
        "scope": data.scope,
        "page_ids": pages,
        "prefix": token[:PREFIX_LENGTH],
        "token_hash": digest(token),
        "expires_at": expires,
    }
    rows = await execute(pool, q.INSERT_KEY, params)
    return ApiKeyCreated(**rows[0], token=token)


@get("/api/keys", tags=["keys"], summary="The keys in use (never their tokens)", **scope("admin"))
async def list_keys(pool: Pool) -> list[ApiKey]:
    return [ApiKey(**row) for row in await fetch_all(pool, q.LIST_KEYS)]


@get(
    "/api/keys/{key_id:str}",
    tags=["keys"],
    summary="An API key's metadata (never its token)",
    **scope("admin", 400, 404),
)
async def get_key(key_id: KeyId, pool: Pool) -> ApiKey:
    ident = parse_id(key_id, "key id")
    row = await fetch_one(pool, q.GET_KEY, {"id": ident})
    if row is None:
        raise _not_found(ident)
    return ApiKey(**row)


@delete(
    "/api/keys/{key_id:str}",
    tags=["keys"],
    summary="Revoke an API key (and the sessions it opened); every replica refuses it within 5 s",
    status_code=200,
    **scope("admin", 400, 404),
)
async def revoke_key(key_id: KeyId, pool: Pool, request: Request) -> Success:
    ident = parse_id(key_id, "key id")
    if not await execute(pool, q.REVOKE_KEY, {"id": ident}):
        raise _not_found(ident)
    request.app.state.access.forget()
    return Success()

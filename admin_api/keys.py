"""Handlers for admin API keys: create (shown once), list, revoke.

A key for every library may manage every key; a key scoped to one library manages
that library's keys only, and never makes a key of more reach than its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from msgspec import UNSET

from admin_api import contracts as c
from admin_api.auth import authenticate, needed, permit, require
from admin_api.service import ADMIN, MAX_KEY_LIFETIME
from admin_api.uploads import read_model
from catalog import Library
from origin.errors import BadRequest, NotFound

MAX_KEY_BODY = 4096


def _expiry(body: c.ApiKeyCreate) -> datetime | None:
    """`expires_at` (ISO 8601 with a zone) or `expires_in` (seconds), in the future."""
    if body.expires_at is not UNSET and body.expires_in is not UNSET:
        raise BadRequest("give expires_at or expires_in, not both", code="invalid_expiry")
    now = datetime.now(UTC)
    if isinstance(body.expires_in, int):
        return now + timedelta(seconds=body.expires_in)
    if isinstance(body.expires_at, str):
        try:
            moment: datetime | None = datetime.fromisoformat(body.expires_at)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or not now < moment < now + MAX_KEY_LIFETIME:
            raise BadRequest(
                "expires_at is an ISO 8601 time with a zone, within ten years",
                code="invalid_expiry",
            )
        return moment
    return None


async def create_key(request: web.Request) -> web.Response:
    """`{"name": ..., "role": read|write|admin, "library": name or null, "expires_at"
    or "expires_in": ...}`; the answer's `key` is the only time the key is shown."""
    admin = request.app[ADMIN]
    caller = await authenticate(request, admin.catalog)
    require(caller, needed(request))
    idle = admin.settings.upload_idle_timeout
    body = await read_model(request, c.ApiKeyCreate, MAX_KEY_BODY, idle)
    if not body.name.isprintable():
        raise BadRequest("name is printable text", code="invalid_key_spec")
    library: Library | None = None
    if body.library is not None:
        library = await permit(admin.catalog, caller, body.library, needed(request))
    else:
        require(caller, needed(request), every_library=True)
    plain, record = await admin.catalog.api_keys.create(
        library, body.role, body.name, expires_at=_expiry(body)
    )
    return c.respond(c.NewApiKey.of(record, key=plain), 201)


async def list_keys(request: web.Request) -> web.Response:
    """Every key the caller manages, revoked and expired ones too; `?library=` for
    one library's."""
    admin = request.app[ADMIN]
    caller = await authenticate(request, admin.catalog)
    require(caller, needed(request))
    scope = caller.library_id
    if "library" in request.query:
        scope = (await permit(admin.catalog, caller, request.query["library"], needed(request))).id
    records = await admin.catalog.api_keys.listed(scope)
    return c.respond(c.ApiKeyList(items=[c.ApiKey.of(r) for r in records]))


async def revoke_key(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    caller = await authenticate(request, admin.catalog)
    require(caller, needed(request))
    key_id = request.match_info["key_id"]
    if not (key_id.isascii() and key_id.isdigit() and int(key_id) < 2**63) or not (
        await admin.catalog.api_keys.revoke(int(key_id), caller.library_id)
    ):
        raise NotFound(f"no live key {key_id!r} that this key manages", code="key_not_found")
    return web.Response(status=204)

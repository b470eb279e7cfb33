"""Handlers for admin API keys: create (shown once), list, revoke.

A key for every library may manage every key; a key scoped to one library manages
that library's keys only, and never makes a key of more reach than its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from admin_api.auth import authenticate, permit, require
from admin_api.service import ADMIN, MAX_KEY_LIFETIME
from admin_api.uploads import read_json
from catalog import ApiKeyRecord, Library, Role
from origin.errors import BadRequest, NotFound

MAX_KEY_BODY = 4096
MAX_NAME = 200


def key_json(record: ApiKeyRecord) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": record.id,
        "name": record.name,
        "role": record.role.value,
        "library": record.library,
        "prefix": record.prefix,
        "created_at": record.created_at.isoformat(),
        "expires_at": moment(record.expires_at),
        "revoked_at": moment(record.revoked_at),
        "last_used_at": moment(record.last_used_at),
    }


def _expiry(body: dict[str, Any]) -> datetime | None:
    """`expires_at` (ISO 8601 with a zone) or `expires_in` (seconds), in the future."""
    if "expires_at" in body and "expires_in" in body:
        raise BadRequest("give expires_at or expires_in, not both", code="invalid_expiry")
    now = datetime.now(UTC)
    if body.get("expires_in") is not None:
        seconds = body["expires_in"]
        if type(seconds) is not int or not 0 < seconds <= MAX_KEY_LIFETIME.total_seconds():
            raise BadRequest("expires_in is seconds, up to ten years", code="invalid_expiry")
        return now + timedelta(seconds=seconds)
    if body.get("expires_at") is not None:
        try:
            moment = datetime.fromisoformat(body["expires_at"])
        except (TypeError, ValueError):
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
    require(caller, Role.ADMIN)
    body = await read_json(request, MAX_KEY_BODY, admin.settings.upload_idle_timeout)
    unknown = set(body) - {"name", "role", "library", "expires_at", "expires_in"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}", code="invalid_key_spec")
    name = body.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME or not name.isprintable():
        raise BadRequest(f"name is text of at most {MAX_NAME} characters", code="invalid_key_spec")
    try:
        role = Role(str(body.get("role")))
    except ValueError:
        raise BadRequest("role is read, write or admin", code="invalid_key_spec") from None
    library: Library | None = None
    if body.get("library") is not None:
        if not isinstance(body["library"], str):
            raise BadRequest("library is a name or null", code="invalid_key_spec")
        library = await permit(admin.catalog, caller, body["library"], Role.ADMIN)
    else:
        require(caller, Role.ADMIN, every_library=True)
    plain, record = await admin.catalog.api_keys.create(
        library, role, name, expires_at=_expiry(body)
    )
    return web.json_response({"key": plain} | key_json(record), status=201)


async def list_keys(request: web.Request) -> web.Response:
    """Every key the caller manages, revoked and expired ones too; `?library=` for
    one library's."""
    admin = request.app[ADMIN]
    caller = await authenticate(request, admin.catalog)
    require(caller, Role.ADMIN)
    scope = caller.library_id
    if "library" in request.query:
        scope = (await permit(admin.catalog, caller, request.query["library"], Role.ADMIN)).id
    records = await admin.catalog.api_keys.listed(scope)
    return web.json_response({"items": [key_json(r) for r in records]})


async def revoke_key(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    caller = await authenticate(request, admin.catalog)
    require(caller, Role.ADMIN)
    key_id = request.match_info["key_id"]
    if not (key_id.isascii() and key_id.isdigit() and int(key_id) < 2**63) or not (
        await admin.catalog.api_keys.revoke(int(key_id), caller.library_id)
    ):
        raise NotFound(f"no live key {key_id!r} that this key manages", code="key_not_found")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/keys", create_key)
    app.router.add_get("/v1/keys", list_keys)
    app.router.add_delete("/v1/keys/{key_id}", revoke_key)

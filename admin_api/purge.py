"""POST /v1/purge: every cached variant of a library, or of some of its images."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin_api.auth import authenticate, permit
from admin_api.service import ADMIN
from admin_api.uploads import read_json
from catalog import Role
from origin.errors import BadRequest

MAX_PURGE_BODY = 64 * 1024
MAX_PURGE_ITEMS = 1000


async def purge(request: web.Request) -> web.Response:
    """`{"library": L}` purges every image of L; with `"images": [id, ...]` (deleted
    ones too, so a purge that failed in part can be run again) or `"keys": [key, ...]`,
    those, and nginx under those keys. Names that match no image (keys: no live one)
    are listed as `missing`, not an error."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    body = await read_json(request, MAX_PURGE_BODY, admin.settings.upload_idle_timeout)
    name = body.get("library")
    if not isinstance(name, str):
        raise BadRequest('name the library: {"library": ...}', code="invalid_purge")
    library = await permit(admin.catalog, key, name, Role.WRITE)
    unknown = set(body) - {"library", "images", "keys"}
    if unknown or ("images" in body and "keys" in body):
        raise BadRequest("give images or keys (or neither), nothing else", code="invalid_purge")
    images = _names(body, "images") if "images" in body else None
    keys = _names(body, "keys") if "keys" in body else None
    return web.json_response(await admin.purge_library(library, images=images, keys=keys))


def _names(body: dict[str, Any], field: str) -> list[str]:
    names = body[field]
    if not (
        isinstance(names, list)
        and 0 < len(names) <= MAX_PURGE_ITEMS
        and all(isinstance(n, str) for n in names)
    ):
        raise BadRequest(
            f"{field}: a list of 1 to {MAX_PURGE_ITEMS} strings is expected", code="invalid_purge"
        )
    return names


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/purge", purge)

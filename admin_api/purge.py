"""POST /v1/purge: every cached variant of a library, or of some of its images."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET

from admin_api import contracts as c
from admin_api.auth import authenticate, needed, permit
from admin_api.service import ADMIN
from admin_api.uploads import read_model
from origin.errors import BadRequest

MAX_PURGE_BODY = 64 * 1024


async def purge(request: web.Request) -> web.Response:
    """`{"library": L}` purges every image of L; with `"images": [id, ...]` (deleted
    ones too, so a purge that failed in part can be run again) or `"keys": [key, ...]`,
    those, and nginx under those keys. Names that match no image (keys: no live one)
    are listed as `missing`, not an error."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    idle = admin.settings.upload_idle_timeout
    body = await read_model(request, c.PurgeRequest, MAX_PURGE_BODY, idle)
    if body.images is not UNSET and body.keys is not UNSET:
        raise BadRequest("give images or keys (or neither), not both", code="invalid_purge")
    library = await permit(admin.catalog, key, body.library, needed(request))
    images = None if body.images is UNSET else body.images
    keys = None if body.keys is UNSET else body.keys
    return web.json_response(await admin.purge_library(library, images=images, keys=keys))

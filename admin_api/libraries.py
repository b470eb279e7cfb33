"""Handlers for libraries: create, list, show, change settings, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin_api import contracts as c
from admin_api.auth import authenticate, authorize, needed, require
from admin_api.service import ADMIN, library_of, patched_settings
from admin_api.uploads import read_json
from catalog import (
    InvalidName,
    LibraryExists,
    LibrarySettings,
    check_library_name,
)
from origin.errors import BadRequest, Conflict

MAX_SETTINGS_BYTES = 64 * 1024


async def _body(request: web.Request) -> dict[str, Any]:
    admin = request.app[ADMIN]
    return await read_json(request, MAX_SETTINGS_BYTES, admin.settings.upload_idle_timeout)


async def create_library(request: web.Request) -> web.Response:
    """`{"name": ..., "settings": {...}}`; with a key for every library."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    require(key, needed(request), every_library=True)
    body = await _body(request)
    c.convert(body, c.LibraryCreate)  # its shape; the settings are checked as patched
    try:
        name = check_library_name(body["name"])
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_library") from None
    settings = patched_settings(LibrarySettings(), body.get("settings", {}))
    try:
        library = await admin.catalog.libraries.create(name, settings)
    except LibraryExists:
        raise Conflict(f"library {name!r} exists", code="library_exists") from None
    return c.respond(await library_of(admin.catalog, library), 201)


async def list_libraries(request: web.Request) -> web.Response:
    """The libraries the key may use."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    libraries = await admin.catalog.libraries.listed(key.library_id)
    return c.respond(
        c.LibraryList(items=[await library_of(admin.catalog, lib) for lib in libraries])
    )


async def get_library(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog)
    return c.respond(await library_of(admin.catalog, library))


async def patch_library(request: web.Request) -> web.Response:
    """A partial settings object: `{"settings": {...}}`, or the settings themselves."""
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog)
    changes = await _body(request)
    if set(changes) == {"settings"} and isinstance(changes["settings"], dict):
        changes = changes["settings"]
    settings = patched_settings(await admin.catalog.libraries.settings(library), changes)
    await admin.catalog.libraries.set_settings(library, settings)
    await admin.policies.invalidate(library.name, "")  # every process serves the new rules
    return c.respond(await library_of(admin.catalog, library))


async def delete_library(request: web.Request) -> web.Response:
    """Every image (purged, originals dropped), the keys scoped to it, and the name."""
    admin = request.app[ADMIN]
    key, library = await authorize(request, admin.catalog)
    require(key, needed(request), every_library=True)
    deleted = await admin.delete_library(library)
    return c.respond(c.LibraryDeleted(library=library.name, images_deleted=deleted))

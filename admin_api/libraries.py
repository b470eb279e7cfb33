"""Handlers for libraries: create, list, show, change settings, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin_api.auth import authenticate, authorize, require
from admin_api.service import ADMIN
from admin_api.uploads import read_json
from catalog import (
    Catalog,
    InvalidName,
    InvalidSettings,
    Library,
    LibraryExists,
    LibrarySettings,
    Role,
    check_library_name,
)
from origin import dialect
from origin.errors import BadRequest, Conflict
from origin.pipeline.formats import SOURCE_FORMATS

MAX_SETTINGS_BYTES = 64 * 1024


async def library_json(catalog: Catalog, library: Library) -> dict[str, Any]:
    settings = await catalog.library_settings(library)
    keys = await catalog.signing_keys(library)
    return {
        "name": library.name,
        "created_at": library.created_at.isoformat(),
        "settings": settings.to_json(),
        # Secrets are shown once, when a key is made (`imgorigin signing create-key`).
        "signing_keys": [{"id": key.id, "scheme": key.scheme.value} for key in keys],
    }


def patched(current: LibrarySettings, changes: dict[str, Any]) -> LibrarySettings:
    """`current` with `changes` (a partial settings object) applied and checked;
    every preset must be a query the origin would accept, every format one it reads."""
    try:
        settings = LibrarySettings.from_json({**current.to_json(), **changes})
    except InvalidSettings as exc:
        raise BadRequest(str(exc), code="invalid_settings") from None
    for name, query in settings.presets.items():
        dialect.check_preset(name, query)
        if not _storable(query):
            raise BadRequest(f"preset {name!r}: NUL or a lone surrogate", code="invalid_preset")
    unknown = set(settings.allowed_formats) - set(SOURCE_FORMATS)
    if unknown:
        raise BadRequest(
            f"allowed_formats: {', '.join(sorted(unknown))} unknown; "
            f"formats are {', '.join(SOURCE_FORMATS)}",
            code="invalid_settings",
        )
    return settings


def _storable(text: str) -> bool:
    """Text PostgreSQL can hold: UTF-8 (no lone surrogates), without NUL."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


async def _body(request: web.Request) -> dict[str, Any]:
    admin = request.app[ADMIN]
    return await read_json(request, MAX_SETTINGS_BYTES, admin.settings.upload_idle_timeout)


async def create_library(request: web.Request) -> web.Response:
    """`{"name": ..., "settings": {...}}`; with a key for every library."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    require(key, Role.ADMIN, every_library=True)
    body = await _body(request)
    if set(body) - {"name", "settings"} or not isinstance(body.get("settings", {}), dict):
        raise BadRequest('send {"name": ..., "settings": {...}}', code="invalid_library")
    name = body.get("name")
    try:
        name = check_library_name(name if isinstance(name, str) else "")
    except InvalidName as exc:
        raise BadRequest(str(exc), code="invalid_library") from None
    settings = patched(LibrarySettings(), body.get("settings", {}))
    try:
        library = await admin.catalog.create_library(name, settings)
    except LibraryExists:
        raise Conflict(f"library {name!r} exists", code="library_exists") from None
    return web.json_response(await library_json(admin.catalog, library), status=201)


async def list_libraries(request: web.Request) -> web.Response:
    """The libraries the key may use."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    libraries = await admin.catalog.libraries(key.library_id)
    return web.json_response(
        {"items": [await library_json(admin.catalog, lib) for lib in libraries]}
    )


async def get_library(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.READ)
    return web.json_response(await library_json(admin.catalog, library))


async def patch_library(request: web.Request) -> web.Response:
    """A partial settings object: `{"settings": {...}}`, or the settings themselves."""
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.ADMIN)
    changes = await _body(request)
    if set(changes) == {"settings"} and isinstance(changes["settings"], dict):
        changes = changes["settings"]
    settings = patched(await admin.catalog.library_settings(library), changes)
    await admin.catalog.set_library_settings(library, settings)
    await admin.policies.invalidate(library.name, "")  # every process serves the new rules
    return web.json_response(await library_json(admin.catalog, library))


async def delete_library(request: web.Request) -> web.Response:
    """Every image (purged, originals dropped), the keys scoped to it, and the name."""
    admin = request.app[ADMIN]
    key, library = await authorize(request, admin.catalog, Role.ADMIN)
    require(key, Role.ADMIN, every_library=True)
    deleted = await admin.delete_library(library)
    return web.json_response({"library": library.name, "images_deleted": deleted})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/libraries", create_library)
    app.router.add_get("/v1/libraries", list_libraries)
    app.router.add_get("/v1/libraries/{library}", get_library)
    app.router.add_patch("/v1/libraries/{library}", patch_library)
    app.router.add_delete("/v1/libraries/{library}", delete_library)

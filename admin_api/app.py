"""The admin API: uploads, image lookup, activation and deletion (JSON, API keys)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from admin_api.auth import authenticate, authorize, permit
from admin_api.libraries import library_json, patched
from admin_api.settings import AdminSettings
from admin_api.uploads import Upload, UploadForm, read_json, read_upload
from cache import Purger, PurgeReport, PurgeTarget
from catalog import (
    Catalog,
    Image,
    InvalidName,
    KeyConflict,
    Library,
    NewImage,
    OriginalLock,
    Resolver,
    Role,
    Status,
    UrlPolicy,
    check_image_key,
)
from origin.errors import BadRequest, Conflict, NotFound, error_middleware
from origin.pipeline.pool import RenderPool
from origin.pipeline.probe import Probe, probe
from storage import BlobStore, original_key

log = logging.getLogger(__name__)

_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
MAX_SETTINGS_BYTES = 64 * 1024


_IMAGE_ID = re.compile(r"[a-z2-7]{16}", re.ASCII)


def new_image_id() -> str:
    """80 random bits in lowercase base32: short, URL-safe, fit for a default key."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def _no_image(library: Library, image_id: str) -> NotFound:
    return NotFound(f"no image {image_id!r} in {library.name!r}", code="image_not_found")


def _checked_id(library: Library, image_id: str) -> str:
    """An id of our alphabet; anything else cannot exist, and never reaches the database."""
    if not _IMAGE_ID.fullmatch(image_id):
        raise _no_image(library, image_id)
    return image_id


@dataclass(frozen=True)
class Admin:
    """The write side's collaborators, injected by the composition root."""

    catalog: Catalog
    store: BlobStore
    purger: Purger
    resolver: Resolver[Image]
    policies: Resolver[UrlPolicy]
    pool: RenderPool
    settings: AdminSettings
    public_url: str
    max_source_pixels: int

    def to_json(self, image: Image) -> dict[str, Any]:
        return {
            "id": image.id,
            "library": image.library,
            "key": image.key,
            "status": image.status.value,
            "version": image.version,
            "width": image.width,
            "height": image.height,
            "format": image.format,
            "bytes": image.bytes,
            "sha256": image.sha256,
            "alt": image.alt,
            "tags": list(image.tags),
            "created_at": image.created_at.isoformat(),
            "updated_at": image.updated_at.isoformat(),
            "url": f"{self.public_url}/{image.library}/{quote(image.key)}",
        }

    async def store_upload(self, library: Library, upload: Upload) -> Image:
        """Probe, store the original, then commit the row that points at it.

        The blob is written before the row, so a row never points at nothing; if the
        row cannot be committed the blob is removed again unless another image uses it.
        """
        found, sha256 = await self._probe(upload)
        image_id = new_image_id()
        new = NewImage(
            id=image_id,
            library_id=library.id,
            key=upload.form.key or f"{image_id}.{_EXTENSIONS.get(found.format, found.format)}",
            status=Status.ACTIVE if upload.form.activate else Status.PENDING,
            sha256=sha256,
            format=found.format,
            width=found.width,
            height=found.height,
            bytes=len(upload.data),
            alt=upload.form.alt,
            tags=upload.form.tags,
        )
        async with self.catalog.original_lock(sha256) as lock:
            await self._store_original(sha256, upload)
            try:
                image = await lock.insert_image(new)
            except BaseException as exc:
                await self._drop_original_if_unused(lock)
                if isinstance(exc, KeyConflict):
                    raise Conflict(
                        f"library {library.name!r} already has an image at {new.key!r}",
                        code="key_exists",
                    ) from None
                raise
        await self.resolver.invalidate(library.name, image.key)
        return image

    async def replace_original(self, library: Library, image_id: str, upload: Upload) -> Image:
        """The image's next version from new bytes; the old version's variants are purged
        everywhere, its original removed unless another image uses it. The same bytes
        again change nothing."""
        old = await self.image(library, image_id)
        found, sha256 = await self._probe(upload)
        if sha256 == old.sha256:
            return old
        async with self.catalog.original_lock(sha256) as lock:
            await self._store_original(sha256, upload)
            image = await lock.replace_original(
                old, found.format, found.width, found.height, len(upload.data)
            )
            if image is None:  # deleted or replaced meanwhile
                await self._drop_original_if_unused(lock)
                await self.image(library, image_id)  # 404 when deleted
                raise Conflict(
                    f"image {image_id!r} was replaced meanwhile; send yours again",
                    code="image_changed",
                )
        await self.resolver.invalidate(library.name, image.key)
        await self.purge(purge_target(library, image))
        async with self.catalog.original_lock(old.sha256) as lock:
            await self._drop_original_if_unused(lock)
        return image

    async def _probe(self, upload: Upload) -> tuple[Probe, str]:
        """What the bytes are (415/422 if they are no image we take), and their hash."""
        found = await self.pool.submit(probe, upload.data, self.max_source_pixels)
        return found, hashlib.sha256(upload.data).hexdigest()

    async def _store_original(self, sha256: str, upload: Upload) -> None:
        """Under the original's lock: the blob, once per content."""
        if await self.store.head(original_key(sha256)) is None:
            await self.store.put(original_key(sha256), upload.data, "application/octet-stream")

    async def purge(self, target: PurgeTarget) -> PurgeReport:
        report = await self.purger.purge(target)
        log.info(
            "purged %s (%d images): %d variants, %s",
            target.library,
            len(target.image_ids),
            report.variants,
            report.hooks,
        )
        return report

    async def image(self, library: Library, image_id: str) -> Image:
        image = await self.catalog.get_image(library, _checked_id(library, image_id))
        if image is None:
            raise _no_image(library, image_id)
        return image

    async def set_status(self, library: Library, image_id: str, status: Status) -> Image:
        image = await self.catalog.set_status(library, _checked_id(library, image_id), status)
        if image is None:
            raise _no_image(library, image_id)
        await self.resolver.invalidate(library.name, image.key)
        return image

    async def delete(self, library: Library, image_id: str) -> None:
        image = await self.set_status(library, image_id, Status.DELETED)
        await self.purge(purge_target(library, image))
        async with self.catalog.original_lock(image.sha256) as lock:
            await self._drop_original_if_unused(lock)
        log.info("deleted image %s (%s/%s)", image.id, library.name, image.key)

    async def _drop_original_if_unused(self, lock: OriginalLock) -> None:
        if not await lock.in_use():
            await self.store.delete(original_key(lock.sha256))


ADMIN = web.AppKey("admin", Admin)


def purge_target(library: Library, *images: Image, keys: tuple[str, ...] = ()) -> PurgeTarget:
    """The variants of `images`, and whatever nginx holds under their keys and `keys`."""
    served_keys = tuple(dict.fromkeys([*(i.key for i in images), *keys]))
    ids = tuple(dict.fromkeys(i.id for i in images))
    return PurgeTarget(library.name, library.id, ids, served_keys)


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


def _is_key(name: str) -> bool:
    try:
        check_image_key(name)
    except InvalidName:
        return False
    return True


async def upload_image(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.WRITE)
    upload = await read_upload(
        request, admin.settings.max_upload_bytes, admin.settings.upload_idle_timeout
    )
    image = await admin.store_upload(library, upload)
    return web.json_response(admin.to_json(image), status=201)


async def get_image(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.READ)
    image = await admin.image(library, request.match_info["image_id"])
    return web.json_response(admin.to_json(image))


async def activate_image(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.WRITE)
    image = await admin.set_status(library, request.match_info["image_id"], Status.ACTIVE)
    return web.json_response(admin.to_json(image))


async def delete_image(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.WRITE)
    await admin.delete(library, request.match_info["image_id"])
    return web.Response(status=204)


async def replace_original(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.WRITE)
    upload = await read_upload(
        request, admin.settings.max_upload_bytes, admin.settings.upload_idle_timeout
    )
    if upload.form != UploadForm():
        raise BadRequest("a replacement takes the file alone", code="unexpected_field")
    image = await admin.replace_original(library, request.match_info["image_id"], upload)
    return web.json_response(admin.to_json(image))


MAX_PURGE_ITEMS = 1000


async def purge(request: web.Request) -> web.Response:
    """`{"library": L}` purges every image of L; with `"images": [id, ...]` (deleted
    ones too, so a purge that failed in part can be run again) or `"keys": [key, ...]`,
    those, and nginx under those keys. Names that match no image (keys: no live one)
    are listed as `missing`, not an error."""
    admin = request.app[ADMIN]
    key = await authenticate(request, admin.catalog)
    body = await read_json(request, MAX_SETTINGS_BYTES, admin.settings.upload_idle_timeout)
    name = body.get("library")
    if not isinstance(name, str):
        raise BadRequest('name the library: {"library": ...}', code="invalid_purge")
    library = await permit(admin.catalog, key, name, Role.WRITE)
    unknown = set(body) - {"library", "images", "keys"}
    if unknown or ("images" in body and "keys" in body):
        raise BadRequest("give images or keys (or neither), nothing else", code="invalid_purge")
    if "images" in body:
        names = _names(body, "images")
        ids = [n for n in names if _IMAGE_ID.fullmatch(n)]  # others cannot exist
        found = await admin.catalog.images_by(library, "id", ids)
        missing = sorted(set(names) - {image.id for image in found})
        target = purge_target(library, *found)
    elif "keys" in body:
        names = _names(body, "keys")
        keys = [n for n in names if _is_key(n)]
        found = await admin.catalog.images_by(library, "key", keys)
        missing = sorted(set(names) - {image.key for image in found})
        target = purge_target(library, *found, keys=tuple(keys))
    else:
        ids = await admin.catalog.live_image_ids(library)
        target = PurgeTarget(library.name, library.id, tuple(ids), whole_library=True)
        missing = []
    report = await admin.purge(target)
    return web.json_response(
        {"library": library.name, "images": len(target.image_ids), "missing": missing}
        | report.to_json()
    )


async def get_library(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.READ)
    settings = await admin.catalog.library_settings(library)
    keys = await admin.catalog.signing_keys(library)
    return web.json_response(library_json(library, settings, keys))


async def patch_library(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    _, library = await authorize(request, admin.catalog, Role.ADMIN)
    changes = await read_json(request, MAX_SETTINGS_BYTES, admin.settings.upload_idle_timeout)
    settings = patched(await admin.catalog.library_settings(library), changes)
    await admin.catalog.set_library_settings(library, settings)
    await admin.policies.invalidate(library.name, "")  # every process serves the new rules
    keys = await admin.catalog.signing_keys(library)
    return web.json_response(library_json(library, settings, keys))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_admin_app(admin: Admin) -> web.Application:
    # The upload reader enforces its own cap while streaming; aiohttp's cap would
    # only apply to request.read() and must not be lower.
    app = web.Application(
        middlewares=[error_middleware], client_max_size=admin.settings.max_upload_bytes + 65536
    )
    app[ADMIN] = admin
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/v1/libraries/{library}", get_library)
    app.router.add_patch("/v1/libraries/{library}", patch_library)
    images = "/v1/libraries/{library}/images"
    app.router.add_post(images, upload_image)
    app.router.add_get(images + "/{image_id}", get_image)
    app.router.add_post(images + "/{image_id}/activate", activate_image)
    app.router.add_delete(images + "/{image_id}", delete_image)
    app.router.add_put(images + "/{image_id}/original", replace_original)
    app.router.add_post("/v1/purge", purge)
    return app

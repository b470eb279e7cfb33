"""The write side's operations on libraries and images, shared by the HTTP handlers,
the CLI and the pending sweeper. HTTP stays in the handlers; rules and ordering
(blob before row, purge after change, original dropped last) live here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from aiohttp import web

from admin_api import contracts as c
from admin_api.fields import MAX_TAGS, Upload
from admin_api.settings import AdminSettings
from cache import Purger, PurgeReport, PurgeTarget
from catalog import (
    UNSET,
    Catalog,
    Content,
    Image,
    InvalidName,
    InvalidSettings,
    KeyConflict,
    Library,
    LibrarySettings,
    LimitReached,
    NewImage,
    OriginalLock,
    QuotaExceeded,
    Resolver,
    Status,
    UrlPolicy,
    check_image_key,
)
from origin import dialect
from origin.counters import ServeCounters
from origin.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from origin.pipeline.describe import Description, describe_source
from origin.pipeline.header import SourceLimits
from origin.pipeline.pool import RenderPool
from origin.pipeline.probe import Probe, probe_source
from origin.pipeline.source import open_source
from storage import BlobStore, original_key

log = logging.getLogger(__name__)
T = TypeVar("T")

_EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}
# Seconds after which a journal entry of an original's write or drop is taken for one
# that never ended: far longer than a put and a commit take (the upload was read first).
UNSETTLED_GRACE = 3600.0
_IMAGE_ID = re.compile(r"[a-z2-7]{16}", re.ASCII)
MAX_KEY_LIFETIME = timedelta(seconds=c.MAX_LIFETIME_SECONDS)  # an API key's, ten years


def new_image_id() -> str:
    """80 random bits in lowercase base32: short, URL-safe, fit for a default key."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def is_image_id(text: str) -> bool:
    return _IMAGE_ID.fullmatch(text) is not None


def no_image(library: Library, image_id: str) -> NotFound:
    return NotFound(f"no image {image_id!r} in {library.name!r}", code="image_not_found")


class Events(Protocol):
    """Where the write side reports what happened (the library's webhooks). `emit`
    must return at once: delivery never holds up the request that caused it."""

    def emit(self, library: Library, event: str, data: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class Admin:
    """The write side's collaborators, injected by the composition root."""

    catalog: Catalog
    store: BlobStore
    purger: Purger
    resolver: Resolver[Image]
    policies: Resolver[UrlPolicy]
    pool: RenderPool
    events: Events
    settings: AdminSettings
    public_url: str
    source_limits: SourceLimits
    counters: ServeCounters | None = None  # this process's unflushed renders and hits

    def url(self, image: Image) -> str:
        return f"{self.public_url}/{image.library}/{quote(image.key)}"

    def wire(self, image: Image) -> c.Image:
        return c.Image.of(image, self.url(image))

    def to_json(self, image: Image) -> dict[str, Any]:
        """The image as the API shows it, for webhooks' `data`."""
        return c.to_builtins(self.wire(image))

    def upload_limit(self, rules: LibrarySettings) -> int:
        """The largest upload a library takes: its own cap, within the server's."""
        return min(self.settings.max_upload_bytes, rules.max_upload_bytes or 2**62)

    async def content(
        self, upload: Upload, rules: LibrarySettings, sha256: str | None = None
    ) -> Content:
        """What the bytes are, held to the library's rules: 413, 415 or 422 otherwise.
        `sha256`: the bytes' hash, when the caller has it already (not hashed again)."""
        limit = self.upload_limit(rules)
        if len(upload.data) > limit:
            raise PayloadTooLarge(f"the file is larger than {limit} bytes", code="upload_too_large")
        # In the render pool: decoding, and hashing tens of megabytes, stay off the loop.
        found, description, digest = await self.pool.submit(
            _analyse_and_hash, upload.data, self.source_limits, sha256, rules.keep_gps
        )
        if rules.allowed_formats and found.format not in rules.allowed_formats:
            raise UnsupportedMediaType(
                f"library takes {', '.join(rules.allowed_formats)}; this is {found.format}",
                code="format_not_allowed",
            )
        return Content(
            digest,
            found.format,
            found.width,
            found.height,
            len(upload.data),
            found.colour,
            found.has_alpha,
            description.to_record(),
        )

    async def store_upload(
        self,
        library: Library,
        rules: LibrarySettings,
        upload: Upload,
        user: str | None = None,
        *,
        sha256: str | None = None,
    ) -> Image:
        """Store the original, then commit the row that points at it (see `_commit`)."""
        content = await self.content(upload, rules, sha256)
        image_id = new_image_id()
        activate = rules.auto_activate if upload.form.activate is None else upload.form.activate
        new = NewImage(
            id=image_id,
            library_id=library.id,
            key=upload.form.key or f"{image_id}.{_EXTENSIONS.get(content.format, content.format)}",
            status=Status.ACTIVE if activate else Status.PENDING,
            content=content,
            alt=upload.form.alt,
            tags=upload.form.tags,
            created_by=user,
        )
        try:
            image = await self._commit(
                content.sha256,
                upload.data,
                lambda lock: lock.insert_image(new, rules.quota_bytes, rules.quota_images),
            )
        except KeyConflict:
            raise _key_taken(library, new.key) from None
        except QuotaExceeded as exc:
            raise Forbidden(str(exc), code="quota_exceeded") from None
        await self.resolver.invalidate(library.name, image.key)
        self.events.emit(library, "image.uploaded", self.to_json(image))
        if image.status is Status.ACTIVE:
            self.events.emit(library, "image.activated", self.to_json(image))
        return image

    async def replace_original(
        self,
        library: Library,
        rules: LibrarySettings,
        old: Image,
        upload: Upload,
        user: str | None = None,
    ) -> Image:
        """The image's next version from new bytes; see `_replace`."""
        content = await self.content(upload, rules)
        return await self._replace(library, old, content, user, upload.data, rules.quota_bytes)

    async def restore(
        self,
        library: Library,
        old: Image,
        number: int,
        user: str | None = None,
        quota_bytes: int | None = None,
    ) -> Image:
        """The image's next version with the original of version `number`."""
        version = await self.catalog.images.version(old, number)
        if version is None:
            raise NotFound(f"image {old.id!r} has no version {number}", code="version_not_found")
        if await self.store.head(original_key(version.content.sha256)) is None:
            raise Gone(f"the original of version {number} is gone", code="version_gone")
        return await self._replace(library, old, version.content, user, None, quota_bytes)

    async def _replace(
        self,
        library: Library,
        old: Image,
        content: Content,
        user: str | None,
        data: bytes | None,
        quota_bytes: int | None = None,
    ) -> Image:
        """Point `old` at `content` (stored from `data` unless it is stored already)
        as its next version and purge the old version's variants everywhere; the old
        original stays, as a version. The same content again changes nothing."""
        if content.sha256 == old.sha256:
            return old

        async def next_version(lock: OriginalLock) -> Image:
            image = await lock.replace_original(old, content, user, quota_bytes)
            if image is None:
                raise _Changed
            return image

        try:
            image = await self._commit(content.sha256, data, next_version)
        except QuotaExceeded as exc:
            raise Forbidden(str(exc), code="quota_exceeded") from None
        except _Changed:  # deleted or replaced meanwhile
            await self.image(library, old.id)  # 404 when deleted
            raise Conflict(
                f"image {old.id!r} was replaced meanwhile; send yours again",
                code="image_changed",
            ) from None
        await self.resolver.invalidate(library.name, image.key)
        await self.purge(purge_target(library, image))
        self.events.emit(library, "image.replaced", self.to_json(image))
        return image

    async def _commit(
        self, sha256: str, data: bytes | None, commit: Callable[[OriginalLock], Awaitable[T]]
    ) -> T:
        """Put the original (from `data`, unless it is stored already), then `commit`
        what points at it under the original's lock.

        The blob is put before the lock is taken, so no database connection waits on
        the store; under the lock it is looked for again (the last image using the
        same content may have been deleted meanwhile, and its blob with it), so a row
        never points at nothing. If the commit fails, the blob is removed again
        unless an image uses it; if the process dies, its journal entry has the
        sweeper do that."""
        async with self._unsettled([sha256]):
            try:
                if data is not None:
                    await self._store_original(sha256, data)
                async with self.catalog.originals.lock(sha256) as lock:
                    if data is not None:
                        await self._store_original(sha256, data)
                    return await commit(lock)
            except BaseException:
                # A put may fail after the blob was written (a lost answer), too.
                await self.drop_originals([sha256])
                raise

    @asynccontextmanager
    async def _unsettled(self, hashes: list[str]) -> AsyncIterator[None]:
        """Journalled while originals may be written or dropped: if the block does
        not end (the process dies, the store fails), `sweep` removes them later
        unless an image uses them."""
        entries = await self.catalog.originals.unsettle(hashes)
        yield
        await self.catalog.originals.settle(entries)

    async def _store_original(self, sha256: str, data: bytes) -> None:
        """The blob, once per content."""
        if await self.store.head(original_key(sha256)) is None:
            await self.store.put(original_key(sha256), data, "application/octet-stream")

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

    async def purge_library(
        self,
        library: Library,
        *,
        images: list[str] | None = None,
        keys: list[str] | None = None,
    ) -> dict[str, Any]:
        """Purge these images (by id) or keys of the library, or with neither all of it;
        the report, as POST /v1/purge answers it (and `imgorigin purge` prints it)."""
        if images is not None:
            ids = [n for n in images if is_image_id(n)]  # others cannot exist
            found = await self.catalog.images.by(library, "id", ids)
            missing = sorted(set(images) - {image.id for image in found})
            target = purge_target(library, *found)
        elif keys is not None:
            valid = [n for n in keys if _is_image_key(n)]
            found = await self.catalog.images.by(library, "key", valid)
            missing = sorted(set(keys) - {image.key for image in found})
            target = purge_target(library, *found, keys=tuple(valid))
        else:
            live = await self.catalog.images.live_ids(library)
            target = PurgeTarget(library.name, library.id, tuple(live), whole_library=True)
            missing = []
        report = await self.purge(target)
        answer = {"library": library.name, "images": len(target.image_ids), "missing": missing}
        answer |= report.to_json()
        self.events.emit(library, "purge.completed", answer | {"image_ids": list(target.image_ids)})
        return answer

    async def image(self, library: Library, image_id: str) -> Image:
        """A live image of the library; 404 otherwise."""
        image = await self.catalog.images.get(library, image_id) if is_image_id(image_id) else None
        if image is None:
            raise no_image(library, image_id)
        return image

    async def set_status(self, library: Library, image: Image, status: Status) -> Image:
        """Activate or deactivate. Whatever was served of an image that stops being
        served is purged; the library's webhooks hear of an activation."""
        if image.status is status:
            return image
        changed = await self.catalog.images.set_status(library, image.id, status)
        if changed is None:
            raise no_image(library, image.id)
        await self.resolver.invalidate(library.name, changed.key)
        if status is Status.ACTIVE:
            self.events.emit(library, "image.activated", self.to_json(changed))
        else:
            await self.purge(purge_target(library, changed))
        return changed

    async def update(
        self,
        library: Library,
        image: Image,
        *,
        key: str | None = None,
        alt: Any = UNSET,
        tags: tuple[str, ...] | None = None,
        add_tags: tuple[str, ...] = (),
        remove_tags: tuple[str, ...] = (),
    ) -> Image:
        """Change key, alt text or tags. A new key moves the public URL: the old one
        answers 404 at once, and every cache is purged of it."""
        try:
            changed = await self.catalog.images.update(
                library,
                image.id,
                key=key,
                alt=alt,
                tags=tags,
                add_tags=add_tags,
                remove_tags=remove_tags,
                max_tags=MAX_TAGS,
            )
        except KeyConflict:
            raise _key_taken(library, key or image.key) from None
        except LimitReached as exc:
            raise BadRequest(str(exc), code="invalid_tag") from None
        if changed is None:
            raise no_image(library, image.id)
        if changed.key != image.key:
            await self.resolver.invalidate(library.name, image.key)
            await self.resolver.invalidate(library.name, changed.key)
            await self.purge(purge_target(library, image))
        return changed

    async def delete(
        self, library: Library, image: Image, *, unpublished_only: bool = False
    ) -> None:
        """Mark the image deleted (with `unpublished_only`, only if it is still an
        upload never activated), purge its variants everywhere, and drop every
        original of its versions that nothing else uses."""
        hashes = [v.content.sha256 for v in await self.catalog.images.versions(image)]
        async with self._unsettled(hashes):
            deleted = await self.catalog.images.set_status(
                library, image.id, Status.DELETED, unpublished_only=unpublished_only
            )
            if deleted is None:
                raise no_image(library, image.id)
            await self.resolver.invalidate(library.name, image.key)
            await self.purge(purge_target(library, deleted))
            await self.drop_originals(hashes)
        self.events.emit(library, "image.deleted", self.to_json(deleted))
        log.info("deleted image %s (%s/%s)", image.id, library.name, image.key)

    async def drop_originals(self, hashes: list[str]) -> None:
        for sha256 in dict.fromkeys(hashes):
            async with self.catalog.originals.lock(sha256) as lock:
                await self._drop_original_if_unused(lock)

    async def _drop_original_if_unused(self, lock: OriginalLock) -> None:
        if not await lock.in_use():
            await self.store.delete(original_key(lock.sha256))

    async def delete_library(self, library: Library) -> int:
        """Purge the library everywhere, delete it with its images, keys and webhooks,
        and drop their originals unless another library uses them; the count of live
        images deleted."""
        live = await self.catalog.images.live_ids(library)
        await self.purge(PurgeTarget(library.name, library.id, tuple(live), whole_library=True))
        deleted, entries = await self.catalog.libraries.delete(library)
        late = sorted(set(deleted) - set(live))  # uploaded during the purge: their store
        if late:
            await self.purge(PurgeTarget(library.name, library.id, tuple(late)))
        await self.policies.invalidate(library.name, "")
        await self._settle(entries)
        return len(deleted)

    async def _settle(self, entries: list[tuple[int, str]]) -> None:
        """Drop the originals of journal entries unless used; then the entries."""
        await self.drop_originals([sha256 for _, sha256 in entries])
        await self.catalog.originals.settle([entry for entry, _ in entries])

    async def sweep(self, batch: int = 100) -> int:
        """Delete the pending uploads older than their library's `pending_ttl`, as
        `delete` does, and settle the journal entries left by calls that did not end
        (dropping their originals unless used); how many images. Safe to run in
        several processes at once."""
        while stale := await self.catalog.originals.unsettled(UNSETTLED_GRACE, batch):
            await self._settle(stale)
        swept = 0
        default_ttl = LibrarySettings().pending_ttl
        while expired := await self.catalog.images.expired_pending(default_ttl, batch):
            for library, image in expired:
                try:
                    await self.delete(library, image, unpublished_only=True)
                except NotFound:
                    continue  # deleted or activated meanwhile
                swept += 1
        return swept


ADMIN = web.AppKey("admin", Admin)


class _Changed(Exception):
    """The image was deleted or given another original while this change was made."""


def _analyse_and_hash(
    data: bytes, limits: SourceLimits, sha256: str | None, gps: bool
) -> tuple[Probe, Description, str]:
    """What the upload is (refused if it is no image we take) and its hash. With `gps`,
    its analysis keeps where it was taken."""
    source = open_source(data)
    found = probe_source(source, limits)
    description = describe_source(source, found, size=len(data), gps=gps)
    return found, description, sha256 or hashlib.sha256(data).hexdigest()


async def sweep_forever(admin: Admin, interval: float) -> None:
    """`admin.sweep()` every `interval` seconds, for the life of a serving process."""
    while True:
        await asyncio.sleep(interval)
        try:
            swept = await admin.sweep()
        except Exception:  # an outage must not end the sweeping for good
            log.exception("sweep of pending images failed; next in %gs", interval)
            continue
        if swept:
            log.info("swept %d pending image(s) past their library's pending_ttl", swept)


def _key_taken(library: Library, key: str) -> Conflict:
    return Conflict(f"library {library.name!r} already has an image at {key!r}", code="key_exists")


def purge_target(library: Library, *images: Image, keys: tuple[str, ...] = ()) -> PurgeTarget:
    """The variants of `images`, and whatever nginx holds under their keys and `keys`."""
    served_keys = tuple(dict.fromkeys([*(i.key for i in images), *keys]))
    ids = tuple(dict.fromkeys(i.id for i in images))
    return PurgeTarget(library.name, library.id, ids, served_keys)


async def library_of(catalog: Catalog, library: Library) -> c.Library:
    """The library as the API shows it."""
    settings = await catalog.libraries.settings(library)
    keys = await catalog.signing_keys.live(library)
    return c.Library(
        name=library.name,
        created_at=library.created_at.isoformat(),
        settings=c.LibrarySettings(**settings.to_json()),
        # Secrets are shown once, when a key is made (`imgorigin signing create-key`).
        signing_keys=[c.SigningKeyRef(id=key.id, scheme=key.scheme) for key in keys],
    )


async def library_json(catalog: Catalog, library: Library) -> dict[str, Any]:
    """`library_of` as JSON-ready values (the CLI prints it)."""
    return c.to_builtins(await library_of(catalog, library))


def patched_settings(current: LibrarySettings, changes: Any) -> LibrarySettings:
    """`current` with `changes` (a partial settings object) applied and checked by the
    API's model; every preset must be a query the origin would accept."""
    if not isinstance(changes, dict):
        raise BadRequest("the settings are a JSON object", code="invalid_settings")
    wire = c.convert({**current.to_json(), **changes}, c.LibrarySettings)
    try:
        settings = LibrarySettings.from_json(c.to_builtins(wire))
    except InvalidSettings as exc:
        raise BadRequest(str(exc), code="invalid_settings") from None
    for name, query in settings.presets.items():
        dialect.check_preset(name, query)
        if not _storable(query):
            raise BadRequest(f"preset {name!r}: NUL or a lone surrogate", code="invalid_preset")
    return settings


def _storable(text: str) -> bool:
    """Text PostgreSQL can hold: UTF-8 (no lone surrogates), without NUL."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _is_image_key(name: str) -> bool:
    try:
        check_image_key(name)
    except InvalidName:
        return False
    return True

"""Work over many images from the command line: `imgorigin import` (a folder or an S3
prefix, through the same upload path as the admin API) and `imgorigin warm` (a
preset's variants, through the same render path as the origin), with a progress line
on stderr.

Both hold a few files at a time: `concurrency` workers take the next one as they
finish, and nothing reads ahead of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO, TypeVar

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from admin_api.fields import Upload, UploadForm, field_key
from admin_api.service import Admin
from cache import FlightTimeout, Outcome
from catalog import Image, ImageQuery, Library, LibrarySettings, Sort, Status, decode_cursor
from imgorigin.app import Services, create_origin
from origin import dialect
from origin.app import Variant
from origin.errors import BadRequest, HTTPError, PayloadTooLarge
from origin.negotiate import negotiate
from origin.spec import OutputFormat
from storage import StorageSettings
from storage.s3 import S3Store

T = TypeVar("T")

CONCURRENCY = 4
READ_FAILED = "read_failed"  # the code of a source file that could not be read
_S3_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError)
_CHUNK = 256 * 1024


class CommandError(Exception):
    """What the command cannot do, as one line for stderr, and the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class Progress:
    """`label done/total rate/s` on `stream`: redrawn in place on a terminal (at most
    ten times a second), one line per `every` items otherwise (logs, CI)."""

    def __init__(
        self, label: str, total: int, stream: TextIO | None = None, every: int = 100
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.tty = self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.label} {self.done}/{self.total}  {self.done / elapsed:.1f}/s"

    def advance(self) -> None:
        self.done += 1
        last = self.done >= self.total
        if self.tty:
            now = time.monotonic()
            if last or now - self._drawn >= 0.1:
                self._drawn = now
                self._draw()
        elif last or self.done % self.every == 0:
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def note(self, message: str) -> None:
        """A line of its own, above the progress line on a terminal."""
        if self.tty:
            self.stream.write("\r" + " " * self._width + "\r")
        self.stream.write(message + "\n")
        if self.tty and self._width:
            self._draw()
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))
        self.stream.flush()


async def each(items: Iterable[T], work: Callable[[T], Awaitable[None]], concurrency: int) -> None:
    """`work(item)` for every item, `concurrency` at a time; the first error cancels
    the rest."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # shared: each worker takes the next item
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the cause, not a group of one


@dataclass
class Tally:
    """What a run did, by outcome, and its failures by error code."""

    counts: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def summary(self, *outcomes: str) -> str:
        parts = [f"{outcome} {self.counts[outcome]}" for outcome in outcomes]
        failures = ", ".join(f"{code} {n}" for code, n in sorted(self.failed.items()))
        parts.append(f"failed {self.failed.total()}" + (f" ({failures})" if failures else ""))
        return ", ".join(parts)


# Import


@dataclass(frozen=True)
class SourceFile:
    """One file to import: its name under the source, and how to read it (at most
    `limit` bytes; PayloadTooLarge past that, OSError or an S3 error on failure)."""

    name: str
    read: Callable[[int], Awaitable[bytes]]


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the file is larger than {limit} bytes", code="upload_too_large")


def directory_files(root: Path) -> list[SourceFile]:
    """Every file under `root`, recursively, by name; named by the relative path."""

    def reader(path: Path) -> Callable[[int], Awaitable[bytes]]:
        def read(limit: int) -> bytes:
            with path.open("rb") as file:
                if os.fstat(file.fileno()).st_size > limit:
                    raise _too_large(limit)
                data = file.read(limit + 1)
            if len(data) > limit:  # it grew since
                raise _too_large(limit)
            return data

        return lambda limit: asyncio.to_thread(read, limit)

    files = []
    for folder, folders, names in os.walk(root):
        folders.sort()
        for name in sorted(names):
            path = Path(folder, name)
            files.append(SourceFile(path.relative_to(root).as_posix(), reader(path)))
    return files


@asynccontextmanager
async def s3_files(
    url: str, endpoint_url: str | None, storage: StorageSettings
) -> AsyncIterator[list[SourceFile]]:
    """Every object under `s3://bucket/prefix`, named by its key after the prefix, read
    through a client of its own (credentials and region from the usual AWS chain; the
    store's timeouts and retries)."""
    try:
        settings = replace(storage, url=url, s3_endpoint_url=endpoint_url or "", s3_region="")
        settings.validate()
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    async with S3Store.open(settings) as store:
        client, bucket, prefix, deadline = store.client, store.bucket, store.prefix, store.deadline

        def reader(key: str, size: int) -> Callable[[int], Awaitable[bytes]]:
            async def read(limit: int) -> bytes:
                if size > limit:
                    raise _too_large(limit)
                async with asyncio.timeout(deadline):
                    response = await client.get_object(Bucket=bucket, Key=key)
                body = response["Body"]
                chunks: list[bytes] = []
                total = 0
                try:
                    while True:
                        async with asyncio.timeout(deadline):
                            chunk = await body.read(_CHUNK)
                        if not chunk:
                            return b"".join(chunks)
                        total += len(chunk)
                        if total > limit:  # replaced by a larger one since the listing
                            raise _too_large(limit)
                        chunks.append(chunk)
                finally:
                    body.close()

            return read

        files = []
        try:
            async for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    if not item["Key"].endswith("/"):  # a console's "folder"
                        name = item["Key"][len(prefix) :]
                        files.append(SourceFile(name, reader(item["Key"], item["Size"])))
        except _S3_ERRORS as exc:
            raise CommandError(f"cannot list {url}: {exc}", status=1) from None
        yield files


@dataclass
class Importer:
    """Each file through Admin.store_upload, unless the library has its content."""

    admin: Admin
    library: Library
    prefix: str  # '' or ending in '/'
    tags: tuple[str, ...]
    activate: bool | None
    progress: Progress
    limit: int = 0
    tally: Tally = field(default_factory=Tally)
    # Contents a worker is importing now, and those imported by this run: the same
    # bytes twice in one run are imported once, in whatever order workers reach them.
    _landing: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    _imported: set[str] = field(default_factory=set)

    async def run(self, files: list[SourceFile], concurrency: int) -> Tally:
        rules = await self.admin.catalog.library_settings(self.library)
        self.limit = self.admin.upload_limit(rules)

        async def work(file: SourceFile) -> None:
            try:
                await self.one(file, rules)
            finally:
                self.progress.advance()

        await each(files, work, concurrency)
        return self.tally

    async def one(self, file: SourceFile, rules: LibrarySettings) -> None:
        key = self.prefix + file.name
        try:
            form = UploadForm(key=field_key(key), tags=self.tags, activate=self.activate)
            try:
                data = await file.read(self.limit)
            except (OSError, *_S3_ERRORS) as exc:
                self._failed(key, READ_FAILED, str(exc) or type(exc).__name__)
                return
            sha256 = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
            if await self._have(sha256):
                self.tally.counts["skipped as duplicates"] += 1
                return
            landed = self._landing[sha256] = asyncio.get_running_loop().create_future()
            try:
                upload = Upload(data, form)
                await self.admin.store_upload(self.library, rules, upload, sha256=sha256)
                self._imported.add(sha256)
            finally:
                landed.set_result(None)
                del self._landing[sha256]
            self.tally.counts["imported"] += 1
        except HTTPError as exc:
            self._failed(key, exc.code, exc.message)

    async def _have(self, sha256: str) -> bool:
        """Whether the library has this content, or this run is importing it."""
        if await self.admin.catalog.images_by(self.library, "sha256", [sha256]):
            return True
        # Another worker may have taken it up (or finished it) while we asked.
        while (other := self._landing.get(sha256)) is not None:
            await asyncio.shield(other)
        return sha256 in self._imported

    def _failed(self, key: str, code: str, message: str) -> None:
        self.tally.failed[code] += 1
        self.progress.note(f"{key}: {code}: {message}")


IMPORT_OUTCOMES = ("imported", "skipped as duplicates")


async def import_files(
    services: Services,
    library: Library,
    files: list[SourceFile],
    *,
    prefix: str = "",
    tags: tuple[str, ...] = (),
    activate: bool | None = None,
    concurrency: int = CONCURRENCY,
) -> Tally:
    progress = Progress("import", len(files))
    folder = prefix.strip("/")
    importer = Importer(
        services.admin, library, folder + "/" if folder else "", tags, activate, progress
    )
    try:
        return await importer.run(files, concurrency)
    finally:
        progress.close()


# Warm


WARM_OUTCOMES = ("rendered", "already stored")
_EVERY_ACCEPT = ("image/avif", "image/webp", None)  # what auto=format may choose between


async def warm(
    services: Services,
    library: Library,
    query: str,
    *,
    accept: str | None = None,
    concurrency: int = CONCURRENCY,
) -> Tally:
    """Render, as a request for `?{query}` would, every active image's variant, and
    store it where that request will find it. With `auto=format` the variant depends
    on the Accept header: each one it can choose, or the one for `accept`.

    The query is read as the library's URLs are: under its rules, and as a signed URL
    (spared the limits for unsigned ones) when the library serves signed URLs only.
    """
    rules = await services.catalog.library_settings(library)
    try:
        spec = dialect.read(query, rules, signed=rules.require_signed).spec
    except BadRequest as exc:
        raise CommandError(f"{query!r}: {exc.message}") from None
    accepts = (accept,) if accept is not None or not spec.auto_format else _EVERY_ACCEPT
    origin = create_origin(services)
    tally = Tally()
    usage = await services.catalog.usage(library)
    progress = Progress("warm", usage["active"])

    async def work(image: Image) -> None:
        formats: dict[OutputFormat, None] = {}
        for header in accepts:
            formats[negotiate(spec, header, image.format)[0]] = None
        try:
            for fmt in formats:
                variant = Variant.of(image, spec.for_output(fmt))
                if await services.store.head(variant.key) is not None:
                    tally.counts["already stored"] += 1
                    continue
                _, outcome = await origin.fetch(variant)
                tally.counts["rendered" if outcome is Outcome.MISS else "already stored"] += 1
        except HTTPError as exc:
            tally.failed[exc.code] += 1
            progress.note(f"{image.key}: {exc.code}: {exc.message}")
        except FlightTimeout as exc:
            tally.failed["render_busy"] += 1
            progress.note(f"{image.key}: render_busy: {exc}")
        finally:
            progress.advance()

    try:
        async for page in _pages(services, library):
            await each(page, work, concurrency)
    finally:
        progress.close()
    return tally


async def _pages(services: Services, library: Library) -> AsyncIterator[list[Image]]:
    """The library's active images, oldest first, a page at a time."""
    query = ImageQuery(statuses=(Status.ACTIVE,), sort=Sort.OLDEST, limit=100)
    while True:
        page, cursor = await services.catalog.list_images(library, query)
        if page:
            yield page
        if cursor is None:
            return
        query = replace(query, after=decode_cursor(query.sort, cursor))

"""`imgorigin import`: every file of a folder or an S3 prefix through the admin API's
upload path (`Admin.store_upload`), skipping content the library has."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from admin_api.fields import Upload, UploadForm, field_key, field_tags
from admin_api.service import Admin
from catalog import Library, LibrarySettings
from imgorigin.app import Services, open_services
from imgorigin.cli.bulk import CONCURRENCY, Progress, Tally, concurrency_flag, each
from imgorigin.cli.common import CommandError, Commands, command, existing_library, library_name
from imgorigin.settings import Settings
from origin.errors import BadRequest, HTTPError, PayloadTooLarge
from storage import StorageSettings
from storage.s3 import S3Store

READ_FAILED = "read_failed"  # the code of a source file that could not be read
_S3_ERRORS = (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError)
_CHUNK = 256 * 1024


def declare(commands: Commands, common: argparse.ArgumentParser) -> None:
    importing = commands.add_parser(
        "import",
        parents=[common],
        help="upload every file of a folder or an S3 prefix; files whose content the "
        "library has are skipped, so an import can be run again to finish it",
    )
    importing.add_argument("source", metavar="SOURCE", help="a folder, or s3://bucket/prefix")
    importing.add_argument("--library", required=True, type=library_name)
    importing.add_argument(
        "--prefix", default="", help="keys go under this folder (default: the top)"
    )
    importing.add_argument(
        "--activate",
        action="store_true",
        help="make the images active at once (default: as the library's auto_activate says)",
    )
    importing.add_argument("--tags", type=_tags, default=(), help="tags for every image: a,b")
    importing.add_argument(
        "--endpoint-url",
        help="the S3 service of an s3:// source (default: AWS, or $AWS_ENDPOINT_URL)",
    )
    importing.add_argument(
        "--concurrency", type=concurrency_flag, default=CONCURRENCY, help="files at a time"
    )
    importing.set_defaults(handler=command(import_source))


def _tags(value: str) -> tuple[str, ...]:
    try:
        return field_tags(value.split(","))
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


async def import_source(settings: Settings, args: argparse.Namespace) -> int:
    s3 = args.source.startswith("s3://")
    if not s3 and not await asyncio.to_thread(Path(args.source).is_dir):
        raise CommandError(f"{args.source}: not a folder, nor an s3://bucket/prefix")
    if not s3 and args.endpoint_url:
        raise CommandError("--endpoint-url is for an s3:// source")
    options: dict[str, Any] = {
        "prefix": args.prefix,
        "tags": args.tags,
        "activate": True if args.activate else None,
        "concurrency": args.concurrency,
    }
    async with open_services(settings) as services:
        library = await existing_library(services.catalog, args.library)
        if s3:
            async with s3_files(args.source, args.endpoint_url, settings.storage) as files:
                tally = await import_files(services, library, files, **options)
        else:
            files = await asyncio.to_thread(directory_files, Path(args.source))
            tally = await import_files(services, library, files, **options)
    print(tally.summary(*OUTCOMES))
    return 1 if tally.failed else 0


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
        rules = await self.admin.catalog.libraries.settings(self.library)
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
        if await self.admin.catalog.images.by(self.library, "sha256", [sha256]):
            return True
        # Another worker may have taken it up (or finished it) while we asked.
        while (other := self._landing.get(sha256)) is not None:
            await asyncio.shield(other)
        return sha256 in self._imported

    def _failed(self, key: str, code: str, message: str) -> None:
        self.tally.failed[code] += 1
        self.progress.note(f"{key}: {code}: {message}")


OUTCOMES = ("imported", "skipped as duplicates")


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

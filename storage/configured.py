"""The store the settings name: the one place that turns a storage URL into a
backend. Apart from the settings, so that a backend may read them (S3's timeouts)
without the settings importing it back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.base import BlobStore
from storage.filesystem import FilesystemStore
from storage.s3 import S3Store
from storage.settings import StorageSettings


@asynccontextmanager
async def open_store(settings: StorageSettings, data_dir: Path) -> AsyncIterator[BlobStore]:
    """The configured store, open for the block and closed after it."""
    if urlsplit(settings.url).scheme == "s3":
        async with S3Store.open(settings) as s3:
            yield s3
        return
    root = Path(unquote(urlsplit(settings.url).path)) if settings.url else data_dir / "store"
    store = FilesystemStore(root)
    try:
        yield store
    finally:
        await store.close()

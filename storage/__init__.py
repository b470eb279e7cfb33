"""The blob store: bytes under keys, nothing more. The catalog owns every relation.

Two backends, the filesystem and S3, share one small protocol; `open_store` picks one
from a URL.
"""

from __future__ import annotations

from storage.base import (
    CHUNK_SIZE,
    Blob,
    BlobInfo,
    BlobStore,
    BlobStream,
    InvalidKey,
    StoreUnavailable,
)
from storage.configured import open_store
from storage.filesystem import FilesystemStore
from storage.layout import original_key
from storage.s3 import S3Store
from storage.settings import StorageSettings

__all__ = [
    "CHUNK_SIZE",
    "Blob",
    "BlobInfo",
    "BlobStore",
    "BlobStream",
    "FilesystemStore",
    "InvalidKey",
    "S3Store",
    "StorageSettings",
    "StoreUnavailable",
    "open_store",
    "original_key",
]

"""The blob store: bytes under keys, nothing more. The catalog owns every relation.

Two backends share one small protocol; `open_store` picks one from a URL.
"""

from __future__ import annotations

from storage.base import Blob, BlobInfo, BlobStore, InvalidKey, StoreUnavailable
from storage.filesystem import FilesystemStore
from storage.layout import original_key
from storage.settings import StorageSettings, open_store

__all__ = [
    "Blob",
    "BlobInfo",
    "BlobStore",
    "FilesystemStore",
    "InvalidKey",
    "StorageSettings",
    "StoreUnavailable",
    "open_store",
    "original_key",
]

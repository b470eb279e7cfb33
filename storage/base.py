"""The blob-store protocol shared by every backend, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class InvalidKey(ValueError):
    """A key that is empty, absolute, or would escape the store's root."""


class StoreUnavailable(RuntimeError):
    """The backend could not be reached or failed; the caller may retry later."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    content_type: str
    modified: datetime


@dataclass(frozen=True, slots=True)
class Blob:
    info: BlobInfo
    data: bytes


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` atomically: readers see the old blob, or all of the new one."""

    async def get(self, key: str) -> Blob | None:
        """The blob, or None when there is none under `key`."""

    async def head(self, key: str) -> BlobInfo | None: ...

    async def delete(self, key: str) -> bool:
        """Remove one blob; True when it existed."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix` (a folder, ending in '/')."""

    async def health(self) -> None:
        """Raise StoreUnavailable when the backend cannot serve."""

    async def close(self) -> None: ...


def check_key(key: str) -> str:
    """Reject keys that are not plain relative paths of safe segments.

    Keys are made by our own code (content hashes, image ids), so anything odd is a
    bug or an attack; refusing early keeps every backend's containment simple.
    """
    if not key or len(key) > 1024 or key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid blob key: {key!r}")
    if any(part in ("", ".", "..") for part in key.rstrip("/").split("/")):
        raise InvalidKey(f"invalid blob key: {key!r}")
    return key

"""The blob-store protocol shared by every backend, and its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

# The most a stream hands over at once: large enough to keep syscalls and writes few,
# small enough that serving many large blobs at once does not hold them all in memory.
CHUNK_SIZE = 256 * 1024


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


@dataclass(frozen=True, slots=True)
class BlobStream:
    """A blob being read: its info at once, its bytes in chunks of at most CHUNK_SIZE,
    either all of them (`chunks`) or a part (`ranged`).

    The chunks are only readable inside the `stream` block that made them; a failure
    part-way raises StoreUnavailable from the iteration.
    """

    info: BlobInfo
    chunks: AsyncIterator[bytes]
    # The backend's reader of bytes [start, stop), called through `ranged` only.
    read_range: Callable[[int, int], AsyncIterator[bytes]]

    async def read(self) -> bytes:
        """All of the blob at once, for small ones; StoreUnavailable when it does not
        hold the bytes its size says."""
        data = b"".join([chunk async for chunk in self.chunks])
        if len(data) != self.info.size:
            raise StoreUnavailable(f"{self.info.key} holds {len(data)} bytes, not {self.info.size}")
        return data

    def ranged(self, start: int, stop: int) -> AsyncIterator[bytes]:
        """The bytes [start, stop) of the blob, without reading those before them.

        The range must be within the blob and not empty: checked here, because S3
        answers a range it cannot serve with the whole object.
        """
        if not 0 <= start < stop <= self.info.size:
            raise ValueError(f"bytes [{start}, {stop}) are not a part of {self.info.size}")
        return self.read_range(start, stop)


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` atomically: readers see the old blob, or all of the new one."""

    async def get(self, key: str) -> Blob | None:
        """The blob, or None when there is none under `key`."""

    def stream(self, key: str) -> AbstractAsyncContextManager[BlobStream | None]:
        """`async with store.stream(key) as blob:` the blob as chunks, whole or a range
        of it, or None when there is none. Leaving the block, even before the last
        chunk, releases every file or connection it opened."""

    async def head(self, key: str) -> BlobInfo | None: ...

    async def delete(self, key: str) -> bool:
        """Remove one blob; True when it existed."""

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose key starts with `prefix` (a folder, ending in '/')."""

    async def usage(self, prefix: str) -> tuple[int, int]:
        """(blobs, bytes) under `prefix` (a folder, ending in '/'); (0, 0) for none.

        Its cost grows with what is there: every entry of the folder is visited (one
        stat each on disk, one ListObjectsV2 request per 1000 objects on S3), so it is
        for statistics, never for the serving path."""

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

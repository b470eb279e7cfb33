"""The filesystem backend: one file per blob under a root folder.

Writes go to a temporary file in the destination folder and are moved into place
with os.replace, so a reader never sees a half-written blob. Every call runs in a
worker thread: file I/O never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import (
    CHUNK_SIZE,
    Blob,
    BlobInfo,
    BlobStream,
    InvalidKey,
    StoreUnavailable,
    check_key,
)

# The filesystem keeps no content type; variants carry it in their extension, and
# Python 3.11's mimetypes does not know every image type we write.
_TYPES = {".avif": "image/avif", ".webp": "image/webp", ".jpg": "image/jpeg"}


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_for(self, key: str) -> Path:
        """Resolve `key` below the root; raise InvalidKey if it would leave it."""
        check_key(key)
        path = (self.root / key).resolve()
        if os.path.commonpath([self.root, path]) != str(self.root):
            raise InvalidKey(f"blob key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(self._put, self.path_for(key), data)

    async def get(self, key: str) -> Blob | None:
        return await self._run(self._get, key, self.path_for(key))

    @asynccontextmanager
    async def stream(self, key: str) -> AsyncIterator[BlobStream | None]:
        path = self.path_for(key)
        opened = await self._run(self._open, path)
        if opened is None:
            yield None
            return
        f, st = opened
        try:
            yield BlobStream(info=self._info(key, path, st), chunks=self._chunks(f))
        finally:
            # Closing a file opened for reading does no I/O worth a thread, and doing it
            # here, not in a worker, means a cancelled request cannot leak the descriptor.
            f.close()

    async def head(self, key: str) -> BlobInfo | None:
        return await self._run(self._head, key, self.path_for(key))

    async def delete(self, key: str) -> bool:
        return await self._run(self._delete, self.path_for(key))

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise InvalidKey(f"a prefix names a folder and ends in '/': {prefix!r}")
        return await self._run(self._delete_tree, self.path_for(prefix))

    async def health(self) -> None:
        await self._run(self._check_writable)

    async def close(self) -> None:
        return None

    @staticmethod
    async def _run(fn, *args):  # type: ignore[no-untyped-def]
        try:
            return await asyncio.to_thread(fn, *args)
        except (InvalidKey, FileNotFoundError):
            raise
        except OSError as exc:
            raise StoreUnavailable(f"filesystem store: {exc}") from exc

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @staticmethod
    def _info(key: str, path: Path, st: os.stat_result) -> BlobInfo:
        content_type = (
            _TYPES.get(path.suffix)
            or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream"
        )
        modified = datetime.fromtimestamp(st.st_mtime, UTC)
        return BlobInfo(key=key, size=st.st_size, content_type=content_type, modified=modified)

    def _get(self, key: str, path: Path) -> Blob | None:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return Blob(info=self._info(key, path, st), data=data)

    @staticmethod
    def _open(path: Path) -> tuple[BinaryIO, os.stat_result] | None:
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by stream(), which owns it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        try:
            return f, os.fstat(f.fileno())
        except BaseException:
            f.close()
            raise

    async def _chunks(self, f: BinaryIO) -> AsyncIterator[bytes]:
        while chunk := await self._run(f.read, CHUNK_SIZE):
            yield chunk

    def _head(self, key: str, path: Path) -> BlobInfo | None:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._info(key, path, st) if path.is_file() else None

    @staticmethod
    def _delete(path: Path) -> bool:
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return False
        return True

    @staticmethod
    def _delete_tree(path: Path) -> int:
        if not path.is_dir():
            return 0
        # Move the folder aside first so a concurrent writer cannot repopulate what
        # we are deleting, then count and remove it at leisure.
        doomed = path.with_name(f".deleting-{path.name}-{uuid.uuid4().hex}")
        try:
            os.replace(path, doomed)
        except FileNotFoundError:
            return 0
        count = sum(1 for p in doomed.rglob("*") if p.is_file())
        shutil.rmtree(doomed, ignore_errors=True)
        return count

    def _check_writable(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"filesystem store root is not writable: {self.root}")

"""The filesystem backend: one file per blob under a root folder.

Writes go to a temporary file in the destination folder and are moved into place
with os.replace, so a reader never sees a half-written blob. File I/O runs in worker
threads, so it never blocks the event loop, with one exception: `stream` first tries
to read from the page cache without blocking (preadv2 with RWF_NOWAIT), because for a
small stored variant a trip to a thread costs more than the read (it waits for the
GIL behind the busy event loop): that doubles the rate of hits.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import mimetypes
import os
import shutil
import stat
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


# An open blob file, its stat, and its first chunk.
_Opened = tuple[BinaryIO, os.stat_result, bytes]


class _NotCached:
    """The page cache cannot answer without blocking: read in a thread instead."""


_NOT_CACHED = _NotCached()


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        # Cleared for good the first time the filesystem turns out not to support
        # non-blocking reads (NFS, FUSE, tmpfs): then even the open goes to a thread,
        # as an open on a network filesystem may block for long.
        self.reads_inline = True

    def path_for(self, key: str) -> Path:
        """`key` below the root, for reading; InvalidKey for a key that is not a plain
        relative path. check_key refuses "..", "." and absolute keys, so the join
        cannot leave the root lexically. Not resolved: that costs a syscall per
        segment on every hit, and only a symlink an operator made could lead out."""
        return self.root / check_key(key)

    def _writable(self, key: str) -> Path:
        """`key` below the root, resolved, for what writes or deletes: never through
        a symlink out of the root."""
        path = self.path_for(key).resolve()
        if os.path.commonpath([self.root, path]) != str(self.root):
            raise InvalidKey(f"blob key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(self._put, self._writable(key), data)

    async def get(self, key: str) -> Blob | None:
        return await self._run(self._get, key, self.path_for(key))

    @asynccontextmanager
    async def stream(self, key: str) -> AsyncIterator[BlobStream | None]:
        path = self.path_for(key)
        opened = self._open_cached(path) if self.reads_inline else _NOT_CACHED
        if isinstance(opened, _NotCached):
            opened = await self._run(self._open, path)
        if opened is None:
            yield None
            return
        f, st, first = opened
        try:
            info = self._info(key, path, st)
            yield BlobStream(
                info=info,
                chunks=self._chunks(f, first, info.size),
                read_range=functools.partial(self._range, f, first),
            )
        finally:
            # Closing a file opened for reading does no I/O worth a thread, and doing it
            # here, not in a worker, means a cancelled request cannot leak the descriptor.
            f.close()

    async def head(self, key: str) -> BlobInfo | None:
        return await self._run(self._head, key, self.path_for(key))

    async def delete(self, key: str) -> bool:
        return await self._run(self._delete, self._writable(key))

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise InvalidKey(f"a prefix names a folder and ends in '/': {prefix!r}")
        return await self._run(self._delete_tree, self._writable(prefix))

    async def usage(self, prefix: str) -> tuple[int, int]:
        if not prefix.endswith("/"):
            raise InvalidKey(f"a prefix names a folder and ends in '/': {prefix!r}")
        return await self._run(self._usage, self.path_for(prefix))

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
    def _open(path: Path) -> _Opened | None:
        """The open file, its stat and its first chunk: most variants fit in one chunk,
        so a hit costs one trip to a worker thread, not three."""
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by stream(), which owns it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        try:
            return f, os.fstat(f.fileno()), f.read(CHUNK_SIZE)
        except BaseException:
            f.close()
            raise

    def _open_cached(self, path: Path) -> _Opened | _NotCached | None:
        """What `_open` returns, read on the event loop from the page cache; or
        _NOT_CACHED when that would block (the first chunk is not all in memory), or
        the kernel or filesystem cannot tell: then the caller uses a thread."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return _NOT_CACHED
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                return None
            first = bytearray(min(st.st_size, CHUNK_SIZE))
            if first and os.preadv(fd, [first], 0, os.RWF_NOWAIT) < len(first):
                raise BlockingIOError(errno.EAGAIN, "partly cached")
            f = os.fdopen(fd, "rb")
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EOPNOTSUPP:
                self.reads_inline = False
            return _NOT_CACHED
        f.seek(len(first))
        return f, st, bytes(first)

    async def _chunks(self, f: BinaryIO, first: bytes, size: int) -> AsyncIterator[bytes]:
        # A blob's file is never rewritten in place (puts replace the path), so the
        # open file keeps the size it had at open.
        sent = len(first)
        if first:
            yield first
        while sent < size and (chunk := await self._run(f.read, CHUNK_SIZE)):
            sent += len(chunk)
            yield chunk

    async def _range(
        self, f: BinaryIO, first: bytes, start: int, stop: int
    ) -> AsyncIterator[bytes]:
        # The first chunk is in memory already, and most variants fit in it whole.
        if start < len(first):
            yield first[start:stop]
            start = len(first)
        # pread leaves the file's position alone, so `chunks` still reads from where it was.
        while start < stop and (
            chunk := await self._run(os.pread, f.fileno(), min(CHUNK_SIZE, stop - start), start)
        ):
            start += len(chunk)
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

    @staticmethod
    def _usage(path: Path) -> tuple[int, int]:
        """Files and their bytes below `path`, with os.scandir (whose entries carry
        the file type, so only files cost a stat); a worker thread's job. Names that
        start with '.' are a put's temporary files, not blobs."""
        blobs = size = 0
        folders = [path]
        while folders:
            try:
                entries = os.scandir(folders.pop())
            except (FileNotFoundError, NotADirectoryError):
                continue  # no such folder, or deleted meanwhile
            with entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                            blobs += 1
                    except FileNotFoundError:
                        continue  # purged meanwhile
        return blobs, size

    def _check_writable(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise StoreUnavailable(f"filesystem store root is not writable: {self.root}")

"""The blob-store contract, run against every backend (the filesystem, for now)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import BlobStore, FilesystemStore, InvalidKey


@pytest.fixture(params=["filesystem"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    backend = FilesystemStore(tmp_path / "store")
    yield backend
    await backend.close()


async def test_put_get_head_delete(store: BlobStore) -> None:
    assert await store.get("variants/a/1/x.webp") is None
    assert await store.head("variants/a/1/x.webp") is None
    await store.put("variants/a/1/x.webp", b"RIFF....", "image/webp")
    blob = await store.get("variants/a/1/x.webp")
    assert blob is not None and blob.data == b"RIFF...."
    assert blob.info.size == 8 and blob.info.content_type == "image/webp"
    info = await store.head("variants/a/1/x.webp")
    assert info is not None and info.size == 8
    await store.put("variants/a/1/x.webp", b"second", "image/webp")
    assert (await store.get("variants/a/1/x.webp")).data == b"second"  # type: ignore[union-attr]
    assert await store.delete("variants/a/1/x.webp") is True
    assert await store.delete("variants/a/1/x.webp") is False
    assert await store.get("variants/a/1/x.webp") is None


async def test_delete_prefix_removes_only_that_folder(store: BlobStore) -> None:
    for key in ("variants/a/1/x.webp", "variants/a/2/y.png", "variants/ab/1/z.png"):
        await store.put(key, b"data", "image/png")
    assert await store.delete_prefix("variants/a/") == 2
    assert await store.get("variants/a/1/x.webp") is None
    assert await store.get("variants/ab/1/z.png") is not None
    assert await store.delete_prefix("variants/none/") == 0


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b", "x" * 2000],
)
async def test_keys_that_could_escape_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await store.put(key, b"x", "image/png")
    with pytest.raises(InvalidKey):
        await store.get(key)


async def test_prefix_must_name_a_folder(store: BlobStore) -> None:
    with pytest.raises(InvalidKey):
        await store.delete_prefix("variants/a")


async def test_health(store: BlobStore) -> None:
    await store.health()


async def test_filesystem_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    await store.health()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "store" / "link")
    with pytest.raises(InvalidKey):
        await store.put("link/x", b"x", "image/png")
    assert not (outside / "x").exists()


async def test_filesystem_readers_never_see_a_partial_write(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    big, other = b"a" * 4_000_000, b"b" * 4_000_000
    await store.put("k/blob", big, "image/png")
    seen: set[bytes] = set()

    async def reader() -> None:
        for _ in range(40):
            blob = await store.get("k/blob")
            assert blob is not None
            seen.add(blob.data[:1] + blob.data[-1:])
            assert blob.data in (big, other)

    async def writer() -> None:
        for i in range(20):
            await store.put("k/blob", other if i % 2 else big, "image/png")

    await asyncio.gather(reader(), writer(), reader())
    assert seen <= {b"aa", b"bb"}
    leftovers = [p.name for p in (tmp_path / "store" / "k").iterdir() if p.name != "blob"]
    assert leftovers == []  # no temp files left behind

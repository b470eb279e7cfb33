"""The blob-store contract, run against every backend: the filesystem, and S3 through a
moto server on loopback. Then what only one backend has: path containment on disk;
checksums, timeouts and retries against S3."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from imgorigin.settings import Settings
from storage import (
    CHUNK_SIZE,
    BlobStore,
    BlobStream,
    FilesystemStore,
    InvalidKey,
    S3Store,
    StorageSettings,
    StoreUnavailable,
    open_store,
)
from storage.s3 import call_deadline
from tests.s3server import free_port, running_moto, s3_settings


@pytest.fixture(params=["filesystem", "s3"])
def storage_settings(request: pytest.FixtureRequest) -> StorageSettings:
    """Settings of each backend; S3's only start moto when an S3 test runs."""
    if request.param == "filesystem":
        return StorageSettings()
    endpoint = request.getfixturevalue("s3_endpoint")
    return s3_settings(endpoint, request.getfixturevalue("s3_storage_url"))


@pytest.fixture
async def store(storage_settings: StorageSettings, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if storage_settings.url:
        # Pages of 3 keys, so every delete_prefix below of more than 3 blobs pages.
        async with S3Store.open(storage_settings, page_size=3) as s3:
            yield s3
    else:
        async with open_store(storage_settings, tmp_path) as opened:
            yield opened


async def read_stream(store: BlobStore, key: str) -> bytes | None:
    async with store.stream(key) as blob:
        if blob is None:
            return None
        chunks = [chunk async for chunk in blob.chunks]
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    return b"".join(chunks)


async def read_range(blob: BlobStream, start: int, stop: int) -> bytes:
    chunks = [chunk async for chunk in blob.ranged(start, stop)]
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)
    return b"".join(chunks)


# The contract.


async def test_put_then_get_and_head(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=1)
    await store.put("variants/a/1/x.webp", b"RIFF....", "image/webp")
    blob = await store.get("variants/a/1/x.webp")
    assert blob is not None and blob.data == b"RIFF...."
    assert blob.info.key == "variants/a/1/x.webp"
    assert blob.info.size == 8 and blob.info.content_type == "image/webp"
    assert before < blob.info.modified < datetime.now(UTC) + timedelta(minutes=1)
    assert await store.head("variants/a/1/x.webp") == blob.info


async def test_content_type_is_kept(store: BlobStore) -> None:
    await store.put("variants/a/1/x.avif", b"....ftypavif", "image/avif")
    info = await store.head("variants/a/1/x.avif")
    assert info is not None and info.content_type == "image/avif"


async def test_missing_blobs_are_none(store: BlobStore) -> None:
    assert await store.get("variants/none/1/x.webp") is None
    assert await store.head("variants/none/1/x.webp") is None
    assert await read_stream(store, "variants/none/1/x.webp") is None
    assert await store.delete("variants/none/1/x.webp") is False


async def test_delete_says_whether_the_blob_existed(store: BlobStore) -> None:
    await store.put("variants/a/1/x.webp", b"data", "image/webp")
    assert await store.delete("variants/a/1/x.webp") is True
    assert await store.delete("variants/a/1/x.webp") is False
    assert await store.get("variants/a/1/x.webp") is None


async def test_overwrite_replaces_the_whole_blob(store: BlobStore) -> None:
    await store.put("k/blob", b"first, longer", "image/png")
    await store.put("k/blob", b"second", "image/png")
    blob = await store.get("k/blob")
    assert blob is not None and blob.data == b"second" and blob.info.size == 6


async def test_readers_never_see_a_partial_write(store: BlobStore) -> None:
    big, other = b"a" * 1_000_000, b"b" * 1_000_000
    await store.put("k/blob", big, "image/png")

    async def reader() -> None:
        for _ in range(15):
            blob = await store.get("k/blob")
            assert blob is not None and blob.data in (big, other)
            assert await read_stream(store, "k/blob") in (big, other)

    async def writer() -> None:
        for i in range(10):
            await store.put("k/blob", other if i % 2 else big, "image/png")

    await asyncio.gather(reader(), writer(), reader())


async def test_delete_prefix_removes_only_that_folder(store: BlobStore) -> None:
    for key in ("variants/a/1/x.webp", "variants/a/2/y.png", "variants/ab/1/z.png"):
        await store.put(key, b"data", "image/png")
    assert await store.delete_prefix("variants/a/") == 2
    assert await store.get("variants/a/1/x.webp") is None
    assert await store.get("variants/ab/1/z.png") is not None
    assert await store.delete_prefix("variants/none/") == 0


async def test_delete_prefix_counts_every_page(store: BlobStore) -> None:
    keys = [f"variants/p/{i % 3}/{i}.png" for i in range(10)]
    for key in [*keys, "variants/q/1/kept.png"]:
        await store.put(key, b"data", "image/png")
    assert await store.delete_prefix("variants/p/") == 10
    assert [await store.head(key) for key in keys] == [None] * 10
    assert await store.head("variants/q/1/kept.png") is not None


async def test_usage_counts_the_blobs_and_bytes_of_a_folder(store: BlobStore) -> None:
    sizes = [1, 10, 100, 1000, 5]  # more than a page of 3
    for i, size in enumerate(sizes):
        await store.put(f"variants/u/{i % 2}/{i}.png", b"x" * size, "image/png")
    await store.put("variants/uv/1/other.png", b"x" * 7, "image/png")
    assert await store.usage("variants/u/") == (len(sizes), sum(sizes))
    assert await store.usage("variants/u/1/") == (2, 10 + 1000)
    assert await store.usage("variants/none/") == (0, 0)
    with pytest.raises(InvalidKey):
        await store.usage("variants/u")


async def test_stream_gives_the_blob_in_bounded_chunks(store: BlobStore) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 12345)
    await store.put("variants/s/1/big.png", data, "image/png")
    async with store.stream("variants/s/1/big.png") as blob:
        assert blob is not None
        assert blob.info.size == len(data) and blob.info.content_type == "image/png"
        chunks = [chunk async for chunk in blob.chunks]
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= CHUNK_SIZE for chunk in chunks)


async def test_leaving_a_stream_early_frees_it(store: BlobStore) -> None:
    data = os.urandom(4 * CHUNK_SIZE)
    await store.put("variants/s/1/big.png", data, "image/png")
    for _ in range(20):
        async with store.stream("variants/s/1/big.png") as blob:
            assert blob is not None
            first = await anext(blob.chunks)
            assert data.startswith(first)
            part = await anext(blob.ranged(CHUNK_SIZE, len(data)))
            assert data[CHUNK_SIZE:].startswith(part)
    # Nothing was left holding a file or a connection: the store still answers.
    assert await read_stream(store, "variants/s/1/big.png") == data


async def test_a_range_gives_those_bytes_in_bounded_chunks(store: BlobStore) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 100)
    size = len(data)
    await store.put("variants/s/1/big.png", data, "image/png")
    async with store.stream("variants/s/1/big.png") as blob:
        assert blob is not None
        for start, stop in [
            (0, 1),
            (5, 10),
            (CHUNK_SIZE - 1, CHUNK_SIZE + 1),  # across the end of the first chunk
            (CHUNK_SIZE + 7, 3 * CHUNK_SIZE + 3),  # past the first chunk, over several
            (size - 1, size),
            (0, size),
        ]:
            assert await read_range(blob, start, stop) == data[start:stop], (start, stop)
        # Ranges leave the whole blob to read as well.
        assert b"".join([chunk async for chunk in blob.chunks]) == data


@pytest.mark.parametrize(("start", "stop"), [(0, 0), (-1, 3), (5, 4), (0, 9), (8, 9)])
async def test_a_range_must_be_a_part_of_the_blob(store: BlobStore, start: int, stop: int) -> None:
    await store.put("k/blob", b"8 bytes.", "image/png")
    async with store.stream("k/blob") as blob:
        assert blob is not None
        with pytest.raises(ValueError):
            blob.ranged(start, stop)


async def test_a_range_is_of_the_blob_the_stream_found(store: BlobStore) -> None:
    # Past the first chunk, so that the range is read from the store, not from memory.
    padding, start, stop = bytes(CHUNK_SIZE), CHUNK_SIZE + 6, CHUNK_SIZE + 13
    await store.put("k/blob", padding + b"first version", "image/png")
    async with store.stream("k/blob") as blob:
        assert blob is not None
        await store.put("k/blob", padding + b"second version, longer", "image/png")
        if isinstance(store, S3Store):  # the object it found is gone: S3 can only refuse
            with pytest.raises(StoreUnavailable, match="PreconditionFailed"):
                await read_range(blob, start, stop)
        else:  # the open file is still the one it found
            assert await read_range(blob, start, stop) == b"version"


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b", "x" * 2000],
)
async def test_keys_that_could_escape_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        await store.put(key, b"x", "image/png")
    with pytest.raises(InvalidKey):
        await store.get(key)
    with pytest.raises(InvalidKey):
        await store.head(key)
    with pytest.raises(InvalidKey):
        await store.delete(key)
    with pytest.raises(InvalidKey):
        await read_stream(store, key)


async def test_prefix_must_name_a_folder(store: BlobStore) -> None:
    with pytest.raises(InvalidKey):
        await store.delete_prefix("variants/a")
    with pytest.raises(InvalidKey):
        await store.delete_prefix("../")


async def test_health(store: BlobStore) -> None:
    await store.health()


# The filesystem only.


async def test_filesystem_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    await store.health()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "store" / "link")
    with pytest.raises(InvalidKey):
        await store.put("link/x", b"x", "image/png")
    assert not (outside / "x").exists()


async def test_filesystem_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    await asyncio.gather(
        *(store.put("k/blob", bytes([i]) * 100_000, "image/png") for i in range(20))
    )
    assert [p.name for p in (tmp_path / "store" / "k").iterdir()] == ["blob"]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
async def test_filesystem_usage_skips_temporary_files(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    await store.put("variants/t/1/a.png", b"abc", "image/png")
    (tmp_path / "variants" / "t" / "1" / ".tmp-half-written").write_bytes(b"x" * 100)
    assert await store.usage("variants/t/") == (1, 3)


async def test_filesystem_stream_closes_its_file(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    await store.put("k/blob", os.urandom(3 * CHUNK_SIZE), "image/png")
    open_files = len(os.listdir("/proc/self/fd"))
    async with store.stream("k/blob") as blob:
        assert blob is not None
        await anext(blob.chunks)
        assert len(os.listdir("/proc/self/fd")) == open_files + 1
    assert len(os.listdir("/proc/self/fd")) == open_files


def evict(path: Path) -> None:
    """Write the file out and drop its pages from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


async def test_filesystem_stream_reads_the_page_cache_else_a_thread(tmp_path: Path) -> None:
    from storage.filesystem import _NotCached

    store = FilesystemStore(tmp_path / "store")
    data = os.urandom(CHUNK_SIZE + 1000)
    await store.put("k/blob", data, "image/png")
    path = store.path_for("k/blob")
    cached = store._open_cached(path)
    assert isinstance(cached, tuple) and cached[2] == data[:CHUNK_SIZE]
    cached[0].close()
    # Drop the file's pages from memory: reading now needs the disk, so not inline.
    evict(path)
    assert isinstance(store._open_cached(path), _NotCached)
    evict(path)
    async with store.stream("k/blob") as blob:
        assert blob is not None
        assert b"".join([chunk async for chunk in blob.chunks]) == data
    assert store._open_cached(store.path_for("k")) is None  # a folder is no blob


async def test_open_store_defaults_to_the_data_dir(tmp_path: Path) -> None:
    async with open_store(StorageSettings(), tmp_path) as store:
        await store.put("k/blob", b"x", "image/png")
    assert (tmp_path / "store" / "k" / "blob").read_bytes() == b"x"
    url = StorageSettings(url=f"file://{tmp_path / 'elsewhere'}")
    async with open_store(url, tmp_path) as store:
        await store.put("k/blob", b"y", "image/png")
    assert (tmp_path / "elsewhere" / "k" / "blob").read_bytes() == b"y"


# S3 only.


@pytest.fixture
def s3(s3_endpoint: str, s3_storage_url: str) -> StorageSettings:
    return s3_settings(s3_endpoint, s3_storage_url)


@pytest.fixture
async def s3_store(s3: StorageSettings) -> AsyncIterator[S3Store]:
    async with S3Store.open(s3) as store:
        yield store


def sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def record_requests(store: S3Store, operation: str) -> list[Any]:
    """Every HTTP request the store's client sends for `operation`, retries included:
    an observer on botocore's events, which lets the request go on unchanged."""
    sent: list[Any] = []
    store.client.meta.events.register(
        f"before-send.s3.{operation}", lambda request, **_: sent.append(request)
    )
    return sent


async def test_open_store_opens_s3_under_the_prefix(tmp_path: Path, s3: StorageSettings) -> None:
    async with open_store(s3, tmp_path) as store:
        assert isinstance(store, S3Store)
        await store.put("k/blob", b"x", "image/png")
        listing = await store.client.list_objects_v2(Bucket=store.bucket)
    assert [item["Key"] for item in listing["Contents"]] == ["some-prefix/k/blob"]


async def test_put_sends_our_sha256_and_s3_keeps_it(s3_store: S3Store) -> None:
    sent = record_requests(s3_store, "PutObject")
    await s3_store.put("k/blob", b"payload", "image/png")
    assert sent[0].headers["x-amz-checksum-sha256"].decode() == sha256_base64(b"payload")
    head = await s3_store.client.head_object(
        Bucket=s3_store.bucket, Key="some-prefix/k/blob", ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"] == sha256_base64(b"payload")


async def test_a_blob_that_fails_its_checksum_is_not_served(s3_store: S3Store) -> None:
    # AWS and MinIO refuse such a put; moto stores it, which stands in for bit rot.
    await s3_store.client.put_object(
        Bucket=s3_store.bucket,
        Key="some-prefix/k/rotten",
        Body=b"payload",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=sha256_base64(b"other"),
    )
    with pytest.raises(StoreUnavailable, match="k/rotten"):
        await s3_store.get("k/rotten")
    with pytest.raises(StoreUnavailable):
        await read_stream(s3_store, "k/rotten")


async def test_a_range_asks_s3_for_those_bytes_only(s3_store: S3Store) -> None:
    data = os.urandom(2 * CHUNK_SIZE)
    await s3_store.put("k/blob", data, "image/png")
    sent = record_requests(s3_store, "GetObject")
    async with s3_store.stream("k/blob") as blob:
        assert blob is not None
        assert await read_range(blob, 1000, 1010) == data[1000:1010]
    whole, ranged = sent
    assert "Range" not in whole.headers
    assert ranged.headers["Range"] == b"bytes=1000-1009"
    assert ranged.headers["If-Match"]


async def test_an_s3_that_ignores_ranges_is_unavailable(s3_store: S3Store) -> None:
    await s3_store.put("k/blob", b"the whole blob", "image/png")

    def drop_range(request: Any, **_: Any) -> None:
        request.headers.pop("Range", None)

    s3_store.client.meta.events.register("before-send.s3.GetObject", drop_range)
    async with s3_store.stream("k/blob") as blob:
        assert blob is not None
        with pytest.raises(StoreUnavailable, match="asked for 5 bytes, answered with 14"):
            await read_range(blob, 4, 9)


async def test_delete_objects_carries_content_md5_not_crc32(s3_store: S3Store) -> None:
    # MinIO refuses DeleteObjects without Content-MD5, which botocore no longer sends.
    for i in range(3):
        await s3_store.put(f"variants/x/{i}.png", b"data", "image/png")
    sent = record_requests(s3_store, "DeleteObjects")
    assert await s3_store.delete_prefix("variants/x/") == 3
    (request,) = sent
    md5 = base64.b64encode(hashlib.md5(request.body).digest()).decode()
    assert request.headers["Content-MD5"].decode() == md5
    assert not [name for name in request.headers if name.lower().startswith("x-amz-checksum")]


async def test_a_missing_bucket_is_unavailable_not_missing(s3_endpoint: str) -> None:
    settings = s3_settings(s3_endpoint, "s3://no-such-bucket-here/p")
    async with S3Store.open(settings) as store:
        with pytest.raises(StoreUnavailable, match="health check"):
            await store.health()
        with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
            await store.get("k/blob")
        with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
            await store.put("k/blob", b"x", "image/png")


async def test_a_stream_cut_off_by_s3_raises_store_unavailable(tmp_path: Path) -> None:
    with running_moto(tmp_path / "moto.log") as server:
        settings = s3_settings(server.url, "s3://cut-off/p", s3_max_attempts=1)
        async with S3Store.open(settings) as store:
            await store.client.create_bucket(Bucket="cut-off")
            await store.put("k/big", os.urandom(32 * 1024 * 1024), "image/png")
            async with store.stream("k/big") as blob:
                assert blob is not None
                await anext(blob.chunks)
                server.stop()
                with pytest.raises(StoreUnavailable, match="k/big"):
                    async for _ in blob.chunks:
                        pass


# S3 outages: nobody listening, or a peer that never answers.


@pytest.fixture
def dead_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def hung_endpoint() -> AsyncIterator[str]:
    """A server that accepts connections, reads the request, and never answers."""

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and hangs up
        writer.close()

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def call(store: S3Store, operation: str) -> object:
    if operation == "put":
        return await store.put("k/blob", b"x", "image/png")
    if operation == "health":
        return await store.health()
    if operation == "stream":
        return await read_stream(store, "k/blob")
    if operation == "delete_prefix":
        return await store.delete_prefix("k/")
    return await store.get("k/blob")


@pytest.mark.parametrize("operation", ["get", "put", "health", "stream", "delete_prefix"])
async def test_nobody_listening_is_unavailable_at_once(dead_endpoint: str, operation: str) -> None:
    settings = s3_settings(
        dead_endpoint, "s3://bucket/p", s3_connect_timeout=0.5, s3_max_attempts=1
    )
    async with S3Store.open(settings) as store:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Could not connect"):
            await call(store, operation)
        assert time.monotonic() - started < 1.0


async def test_connection_failures_are_retried(dead_endpoint: str) -> None:
    settings = s3_settings(dead_endpoint, "s3://bucket/p", s3_max_attempts=2)
    async with S3Store.open(settings) as store:
        sent = record_requests(store, "GetObject")
        with pytest.raises(StoreUnavailable):
            await store.get("k/blob")
    assert len(sent) == 2


async def test_an_s3_that_never_answers_times_out(hung_endpoint: str) -> None:
    settings = s3_settings(hung_endpoint, "s3://bucket/p", s3_read_timeout=0.3, s3_max_attempts=2)
    async with S3Store.open(settings) as store:
        sent = record_requests(store, "GetObject")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="timeout"):
            await store.get("k/blob")
        elapsed = time.monotonic() - started
    assert len(sent) == 2
    assert 0.6 <= elapsed < 2.5  # two read timeouts and at most 1s of back-off


async def test_the_deadline_bounds_every_request(hung_endpoint: str) -> None:
    # A deadline shorter than botocore's own timeouts shows the outer bound at work.
    settings = s3_settings(hung_endpoint, "s3://bucket/p", s3_read_timeout=30.0)
    async with S3Store.open(settings) as store:
        store.deadline = 0.3
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match=r"no answer within 0\.3s"):
            await store.health()
        assert time.monotonic() - started < 1.0


# Settings.


def test_call_deadline_covers_every_attempt_and_back_off() -> None:
    settings = StorageSettings(s3_connect_timeout=3, s3_read_timeout=10, s3_max_attempts=3)
    assert call_deadline(settings) == 3 * 13 + 1 + 2


def test_s3_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "IMGORIGIN_STORAGE_URL": "s3://media/img/",
            "IMGORIGIN_S3_ENDPOINT_URL": "http://minio:9000",
            "IMGORIGIN_S3_REGION": "eu-west-3",
            "IMGORIGIN_S3_ADDRESSING_STYLE": "path",
            "IMGORIGIN_S3_CONNECT_TIMEOUT": "1.5",
            "IMGORIGIN_S3_READ_TIMEOUT": "4",
            "IMGORIGIN_S3_MAX_ATTEMPTS": "5",
        }
    ).storage
    assert settings.s3_location() == ("media", "img/")
    assert (settings.s3_endpoint_url, settings.s3_region) == ("http://minio:9000", "eu-west-3")
    assert (settings.s3_connect_timeout, settings.s3_read_timeout) == (1.5, 4.0)
    assert (settings.s3_addressing_style, settings.s3_max_attempts) == ("path", 5)


@pytest.mark.parametrize(
    ("url", "location"),
    [("s3://media", ("media", "")), ("s3://media/", ("media", "")), ("s3://m/a/b", ("m", "a/b/"))],
)
def test_s3_location(url: str, location: tuple[str, str]) -> None:
    assert StorageSettings(url=url).s3_location() == location


@pytest.mark.parametrize(
    "changes",
    [
        {"url": "ftp://x"},
        {"url": "file://"},
        {"url": "s3://"},
        {"url": "s3:///prefix"},
        {"url": "s3://bucket/a/../b"},
        {"s3_endpoint_url": "minio:9000"},
        {"s3_endpoint_url": "http://"},
        {"s3_addressing_style": "sideways"},
        {"s3_connect_timeout": 0},
        {"s3_read_timeout": -1},
        {"s3_max_attempts": 0},
    ],
)
def test_bad_storage_settings_are_refused(changes: dict[str, Any]) -> None:
    from imgorigin.settings import Settings

    with pytest.raises(ValueError):  # ranges are checked by the settings root
        Settings(storage=StorageSettings(**changes)).validated()


def test_page_size_is_what_one_request_may_carry() -> None:
    for page_size in (0, 1001):
        with pytest.raises(ValueError):
            S3Store(None, "bucket", "", deadline=1.0, page_size=page_size)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a tmpfs at /dev/shm")
async def test_filesystem_without_nonblocking_reads_uses_threads_only() -> None:
    # tmpfs refuses RWF_NOWAIT (EOPNOTSUPP), as NFS and FUSE do.
    with tempfile.TemporaryDirectory(dir="/dev/shm") as folder:
        store = FilesystemStore(Path(folder))
        await store.put("k/blob", b"pixels", "image/png")
        for _ in range(2):
            async with store.stream("k/blob") as blob:
                assert blob is not None
                assert b"".join([chunk async for chunk in blob.chunks]) == b"pixels"
        assert store.reads_inline is False

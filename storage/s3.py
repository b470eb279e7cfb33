"""The S3 backend (AWS, MinIO or any S3-compatible service), on aiobotocore.

Every put is one PutObject carrying our SHA-256 of the bytes: S3 refuses a body that
does not match it, keeps it with the object, and botocore checks it again on every
read of a whole blob, so a torn or corrupted blob is never served whole (S3 keeps no
checksum of a range). Every way a call can fail becomes StoreUnavailable, and no call
outlives its deadline.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC
from typing import Any, TypeVar

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

from storage.base import (
    CHUNK_SIZE,
    Blob,
    BlobInfo,
    BlobStream,
    InvalidKey,
    StoreUnavailable,
    check_key,
)
from storage.settings import StorageSettings

T = TypeVar("T")

# The most keys one DeleteObjects (and one ListObjectsV2 page) may carry.
MAX_PAGE = 1000
# Streams hold a connection while the client downloads, so the pool must be larger
# than botocore's default of 10 for slow clients not to starve every other read.
MAX_CONNECTIONS = 64
# Error codes meaning "no such object": GetObject says NoSuchKey, HeadObject has no
# body and so only its status.
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_DEFAULT_TYPE = "application/octet-stream"


def call_deadline(settings: StorageSettings) -> float:
    """Seconds after which one S3 request is abandoned: every attempt using its whole
    connect and read timeouts, plus the longest back-off botocore's standard retry mode
    waits before each retry (2**n seconds, at most 20)."""
    attempts = settings.s3_max_attempts
    backoff = sum(min(2**retry, 20) for retry in range(attempts - 1))
    return attempts * (settings.s3_connect_timeout + settings.s3_read_timeout) + backoff


def client_config(settings: StorageSettings) -> AioConfig:
    return AioConfig(
        region_name=settings.s3_region or None,
        connect_timeout=settings.s3_connect_timeout,
        read_timeout=settings.s3_read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.s3_max_attempts},
        s3={"addressing_style": settings.s3_addressing_style},
        max_pool_connections=MAX_CONNECTIONS,
    )


class S3Store:
    """Blobs as objects under `prefix` (empty, or ending in '/') in one bucket."""

    def __init__(
        self, client: Any, bucket: str, prefix: str, *, deadline: float, page_size: int = MAX_PAGE
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE}")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.deadline = deadline
        self.page_size = page_size

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: StorageSettings, *, page_size: int = MAX_PAGE
    ) -> AsyncIterator[S3Store]:
        """A store with its own client, closed when the block ends.

        Credentials come from botocore's usual chain (environment, profile, instance
        role); `page_size` is there so tests can page through a handful of keys.
        """
        bucket, prefix = settings.s3_location()
        endpoint = settings.s3_endpoint_url or None
        creating = get_session().create_client(
            "s3", endpoint_url=endpoint, config=client_config(settings)
        )
        async with creating as client:
            client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5_only)
            yield cls(client, bucket, prefix, deadline=call_deadline(settings), page_size=page_size)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        name = self._name(key)
        checksum = await asyncio.to_thread(_sha256_base64, data)
        async with self._failures("put", key):
            await self._send(
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=data,
                    ContentType=content_type,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
            )

    async def get(self, key: str) -> Blob | None:
        name = self._name(key)
        async with self._failures("get", key):
            response = await self._send(_unless_missing(self._get_object(name)))
            if response is None:
                return None
            async with response["Body"] as body:
                data = await self._send(body.read())
        return Blob(info=_info(key, response), data=data)

    @asynccontextmanager
    async def stream(self, key: str) -> AsyncIterator[BlobStream | None]:
        name = self._name(key)
        async with self._failures("stream", key):
            response = await self._send(_unless_missing(self._get_object(name)))
        if response is None:
            yield None
            return
        # botocore checks the stored SHA-256 as the last chunk is read: a corrupt blob
        # fails at the end of the iteration, so a stream is whole only once it ends.
        body = response["Body"]
        # A fully read response has already gone back to the pool; closing one left
        # part-way drops its connection, which could not be reused anyway.
        with ExitStack() as bodies:
            bodies.callback(body.close)
            yield BlobStream(
                info=_info(key, response),
                chunks=self._chunks(key, body),
                read_range=functools.partial(self._range, key, response["ETag"], bodies),
            )

    async def head(self, key: str) -> BlobInfo | None:
        name = self._name(key)
        async with self._failures("head", key):
            response = await self._send(_unless_missing(self._head_object(name)))
        return None if response is None else _info(key, response)

    async def delete(self, key: str) -> bool:
        # DeleteObject succeeds whether or not the object was there, so ask first.
        name = self._name(key)
        async with self._failures("delete", key):
            if await self._send(_unless_missing(self._head_object(name))) is None:
                return False
            await self._send(self.client.delete_object(Bucket=self.bucket, Key=name))
        return True

    async def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise InvalidKey(f"a prefix names a folder and ends in '/': {prefix!r}")
        name = self._name(prefix)
        deleted = 0
        async with self._failures("delete_prefix", prefix):
            async for names in self._pages(name):
                deleted += await self._delete_batch(names)
        return deleted

    async def usage(self, prefix: str) -> tuple[int, int]:
        if not prefix.endswith("/"):
            raise InvalidKey(f"a prefix names a folder and ends in '/': {prefix!r}")
        name = self._name(prefix)
        blobs = size = 0
        async with self._failures("usage", prefix):
            async for objects in self._listing(name):
                blobs += len(objects)
                size += sum(item["Size"] for item in objects)
        return blobs, size

    async def health(self) -> None:
        async with self._failures("health check", f"s3://{self.bucket}"):
            await self._send(self.client.head_bucket(Bucket=self.bucket))

    async def close(self) -> None:
        await self.client.close()

    def _name(self, key: str) -> str:
        """The object name of `key`: under the store's prefix."""
        return self.prefix + check_key(key)

    def _get_object(self, name: str) -> Awaitable[dict[str, Any]]:
        return self.client.get_object(Bucket=self.bucket, Key=name)

    def _head_object(self, name: str) -> Awaitable[dict[str, Any]]:
        return self.client.head_object(Bucket=self.bucket, Key=name)

    async def _chunks(self, key: str, body: Any) -> AsyncIterator[bytes]:
        while True:
            async with self._failures("stream", key):
                chunk: bytes = await self._send(body.read(CHUNK_SIZE))
            if not chunk:
                return
            yield chunk

    async def _range(
        self, key: str, etag: str, bodies: ExitStack, start: int, stop: int
    ) -> AsyncIterator[bytes]:
        """A second GetObject, for the range only, of the very object the stream found
        (If-Match): bytes of one that replaced it since would not fit the size already
        told to the client."""
        async with self._failures("stream", key):
            response = await self._send(
                self.client.get_object(
                    Bucket=self.bucket,
                    Key=self._name(key),
                    Range=f"bytes={start}-{stop - 1}",
                    IfMatch=etag,
                )
            )
        body = response["Body"]
        bodies.callback(body.close)  # closed with the stream, however far it was read
        # A service that does not do ranges would send the whole object instead.
        if response["ContentLength"] != stop - start:
            raise StoreUnavailable(
                f"S3 stream {key!r}: asked for {stop - start} bytes, "
                f"answered with {response['ContentLength']}"
            )
        async for chunk in self._chunks(key, body):
            yield chunk

    async def _pages(self, name_prefix: str) -> AsyncIterator[list[str]]:
        """The object names under `name_prefix`, a page of at most `page_size` at a time."""
        async for objects in self._listing(name_prefix):
            yield [item["Key"] for item in objects]

    async def _listing(self, name_prefix: str) -> AsyncIterator[list[dict[str, Any]]]:
        """ListObjectsV2's entries (Key, Size, ...) under `name_prefix`, page by page."""
        params = {"Bucket": self.bucket, "Prefix": name_prefix, "MaxKeys": self.page_size}
        while True:
            page = await self._send(self.client.list_objects_v2(**params))
            yield page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def _delete_batch(self, names: list[str]) -> int:
        """Delete up to a page of objects in one request; DeleteObjects answers 200 even
        when some keys failed, listing them in Errors, so those are checked here."""
        if not names:
            return 0
        objects = [{"Key": name} for name in names]
        response = await self._send(
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        )
        if errors := response.get("Errors"):
            first = errors[0]
            raise StoreUnavailable(
                f"S3 delete_prefix: {len(errors)} of {len(names)} objects not deleted, "
                f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
            )
        return len(names)

    async def _send(self, request: Awaitable[T]) -> T:
        """Await one S3 request, giving up after the deadline so nothing can hang."""
        async with asyncio.timeout(self.deadline):
            return await request

    @asynccontextmanager
    async def _failures(self, operation: str, key: str) -> AsyncIterator[None]:
        """Turn every way an S3 call can fail into StoreUnavailable with a clear message."""
        what = f"S3 {operation} {key!r}"
        try:
            yield
        except (ClientError, BotoCoreError, aiohttp.ClientError) as exc:
            # botocore's own timeouts are TimeoutErrors too, with a better message.
            raise StoreUnavailable(f"{what}: {str(exc) or type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise StoreUnavailable(f"{what}: no answer within {self.deadline:.1f}s") from exc
        except OSError as exc:
            raise StoreUnavailable(f"{what}: {exc}") from exc


async def _unless_missing(request: Awaitable[T]) -> T | None:
    """The answer, or None when S3 says there is no such object."""
    try:
        return await request
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise


def _info(key: str, response: dict[str, Any]) -> BlobInfo:
    return BlobInfo(
        key=key,
        size=response["ContentLength"],
        content_type=response.get("ContentType") or _DEFAULT_TYPE,
        modified=response["LastModified"].astimezone(UTC),
    )


def _sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _content_md5_only(request: AWSRequest, **_: Any) -> None:
    """Send DeleteObjects with Content-MD5 and no flexible checksum.

    S3's documentation requires Content-MD5 on DeleteObjects and MinIO enforces it,
    but botocore since 1.36 sends a CRC32 instead, which MinIO refuses. AWS accepts
    either. MD5 here guards the request body in transit, not the blobs.
    """
    flexible = [
        name
        for name in request.headers
        if name.lower().startswith(("x-amz-checksum-", "x-amz-sdk-checksum-"))
    ]
    for name in flexible:
        del request.headers[name]
    digest = hashlib.md5(request.body, usedforsecurity=False).digest()
    request.headers["Content-MD5"] = base64.b64encode(digest).decode()

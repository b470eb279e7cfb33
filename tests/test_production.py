"""The production backends in one process: S3 (moto) and Redis, and what the origin
does when either goes away: Redis down is `degraded` and still serves; S3 down answers
misses with 503 and Retry-After, and conditional requests still with 304."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from imgorigin.app import Services, build_apps, open_services
from imgorigin.settings import Settings
from storage.base import CHUNK_SIZE
from tests import images
from tests.conftest import Tenant, error_of, new_tenant, upload
from tests.redisserver import free_port
from tests.s3server import running_moto, s3_settings

Clients = tuple[TestClient, TestClient, Tenant, Services]
Open = Callable[..., AbstractAsyncContextManager[Clients]]


@pytest.fixture
def serving(settings: Settings, aiohttp_client) -> Open:  # type: ignore[no-untyped-def]
    """`async with serving(storage=..., cache=...) as (origin, admin, tenant, services)`:
    the apps on `settings` with those sections replaced."""

    @asynccontextmanager
    async def open_with(**sections: object) -> AsyncIterator[Clients]:
        async with open_services(dataclasses.replace(settings, **sections)) as services:
            tenant = await new_tenant(services)
            origin_app, admin_app = build_apps(services)
            origin, admin = await aiohttp_client(origin_app), await aiohttp_client(admin_app)
            yield origin, admin, tenant, services

    return open_with


async def readiness(origin: TestClient) -> tuple[int, dict]:
    response = await origin.get("/readyz")
    return response.status, await response.json()


async def test_ready_on_the_embedded_defaults(origin: TestClient) -> None:
    status, body = await readiness(origin)
    assert status == 200 and body == {
        "status": "ok",
        "checks": {"catalog": "ok", "store": "ok"},
    }


async def test_s3_and_redis_serve_and_store(
    serving: Open,
    settings: Settings,
    s3_endpoint: str,
    s3_storage_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    storage = s3_settings(s3_endpoint, s3_storage_url)
    cache = dataclasses.replace(settings.cache, redis_url=redis_url, redis_prefix=redis_prefix)
    async with serving(storage=storage, cache=cache) as (origin, admin, tenant, _):
        status, body = await readiness(origin)
        assert status == 200 and body["checks"] == {"catalog": "ok", "store": "ok", "redis": "ok"}
        await upload(admin, tenant, images.jpeg(800, 600), key="a.jpg", activate="true")
        first = await origin.get(f"/{tenant.name}/a.jpg?w=200&fm=png")
        second = await origin.get(f"/{tenant.name}/a.jpg?w=200&fm=png")
        assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
        assert await first.read() == await second.read()
        assert images.encoded(await second.read()).width == 200


async def test_without_redis_the_origin_serves_degraded(
    serving: Open, settings: Settings, tmp_path: Path
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    cache = dataclasses.replace(settings.cache, redis_url=dead, redis_timeout=0.2)
    async with serving(cache=cache) as (origin, admin, tenant, _):
        status, body = await readiness(origin)
        assert status == 200 and body["status"] == "degraded"
        assert body["checks"]["redis"].startswith("failed")
        await upload(admin, tenant, images.jpeg(400, 300), key="b.jpg", activate="true")
        response = await origin.get(f"/{tenant.name}/b.jpg?w=100")
        assert response.status == 200 and response.headers["X-Cache"] == "MISS"
        assert (await origin.get(f"/{tenant.name}/b.jpg?w=100")).headers["X-Cache"] == "HIT"


async def test_an_s3_outage_answers_503_and_still_304(serving: Open, tmp_path: Path) -> None:
    with running_moto(tmp_path / "moto.log") as moto:
        from aiobotocore.session import get_session

        async with get_session().create_client("s3", endpoint_url=moto.url) as client:
            await client.create_bucket(Bucket="outage")
        storage = s3_settings(moto.url, "s3://outage/p", s3_max_attempts=1)
        async with serving(storage=storage) as (origin, admin, tenant, _):
            await upload(admin, tenant, images.jpeg(400, 300), key="c.jpg", activate="true")
            stored = await origin.get(f"/{tenant.name}/c.jpg?w=100")
            assert stored.status == 200
            etag = stored.headers["ETag"]
            moto.stop()

            miss = await origin.get(f"/{tenant.name}/c.jpg?w=120")
            assert await error_of(miss) == "store_unavailable"
            assert miss.status == 503 and miss.headers["Retry-After"]
            hit = await origin.get(f"/{tenant.name}/c.jpg?w=100")
            assert hit.status == 503  # the stored copy is out of reach too
            conditional = await origin.get(
                f"/{tenant.name}/c.jpg?w=100", headers={"If-None-Match": etag}
            )
            assert conditional.status == 304  # decided without the store
            status, body = await readiness(origin)
            assert status == 503 and body["status"] == "unavailable"
            assert body["checks"]["store"].startswith("failed")


@pytest.mark.parametrize("size", [5000, 3 * CHUNK_SIZE])
async def test_a_stored_variant_failing_its_checksum_is_never_whole(
    serving: Open, s3_endpoint: str, s3_storage_url: str, size: int
) -> None:
    """A variant read in one chunk is checked before anything is sent (503); a larger
    one is cut short at its end, the headers being out by then."""
    from aiohttp import ClientPayloadError

    from origin import dialect
    from origin.variants import Variant
    from storage import S3Store

    async with serving(storage=s3_settings(s3_endpoint, s3_storage_url)) as clients:
        origin, admin, tenant, services = clients
        await upload(admin, tenant, images.jpeg(400, 300), key="d.jpg", activate="true")
        image = await services.resolver.resolve(tenant.name, "d.jpg")
        assert image is not None
        variant = Variant.of(image, dialect.parse("w=100&fm=png"))
        store = services.store
        assert isinstance(store, S3Store)
        # Bit rot: bytes that do not match the checksum S3 keeps (moto stores them).
        await store.client.put_object(
            Bucket=store.bucket,
            Key=store.prefix + variant.key,
            Body=b"x" * size,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(b"y").digest()).decode(),
        )
        response = await origin.get(f"/{tenant.name}/d.jpg?w=100&fm=png")
        if size < CHUNK_SIZE:
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "store_unavailable"
        else:
            assert response.status == 200 and response.headers["X-Cache"] == "HIT"
            with pytest.raises(ClientPayloadError):
                await response.read()  # cut short: never a whole-looking image
        healthy = await origin.get("/healthz")  # the next request is not out of step
        assert healthy.status == 200 and (await healthy.json())["status"] == "ok"

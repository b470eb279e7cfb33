"""Many processes, one render: real `imgorigin serve` processes on shared backends.

- `--workers 2` on PostgreSQL, Redis and the S3 server: a herd of 64 first requests
  for one variant, over 64 connections that SO_REUSEPORT spreads over both workers.
- Two separate servers (two hosts, as far as they can tell) on the same backends.
- `--workers 2` on the embedded defaults: file locks instead of Redis.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import boto3
import pytest

from tests import images
from tests.processes import Served, clean_env


async def upload(served: Served, *, activate: bool = True) -> tuple[str, str]:
    """Upload a photo under a key of its own (tests share the database); return the
    image id and the path of a variant of it."""
    key = f"cats/{uuid.uuid4().hex[:8]}.jpg"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{served.admin}/v1/libraries/demo/images?key={key}&activate={str(activate).lower()}",
            data=images.jpeg(3000, 2000),
            headers={"Authorization": f"Bearer {served.key}", "Content-Type": "image/jpeg"},
        ) as response,
    ):
        body = await response.json()
        assert response.status == 201, body
    return body["id"], f"/demo/{key}?w=640&fm=webp"


async def get(session: aiohttp.ClientSession, url: str) -> tuple[str, bytes]:
    async with session.get(url) as response:
        assert response.status == 200, await response.text()
        return response.headers["X-Cache"], await response.read()


def fresh_connections() -> aiohttp.ClientSession:
    # One connection per request, so the kernel picks a worker for each.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0))


async def herd(urls: list[str]) -> Counter[str]:
    async with fresh_connections() as session:
        results = await asyncio.gather(*(get(session, url) for url in urls))
    assert len({data for _, data in results}) == 1, "every answer has the same bytes"
    assert images.encoded(results[0][1]).width == 640
    return Counter(outcome for outcome, _ in results)


def assert_one_render(outcomes: Counter[str]) -> None:
    assert outcomes["MISS"] == 1, outcomes
    assert set(outcomes) <= {"MISS", "COALESCED", "HIT"}, outcomes


async def worker_pids(served: Served, tries: int = 40) -> set[int]:
    async with fresh_connections() as session:
        pids = set()
        for _ in range(tries):
            async with session.get(served.origin + "/healthz") as response:
                pids.add((await response.json())["pid"])
        return pids


def variant_objects(endpoint: str, storage_url: str) -> list[str]:
    bucket, _, prefix = storage_url.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/variants/".lstrip("/"))
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def production_env(
    database_url: str, redis_url: str, redis_prefix: str, s3_endpoint: str, s3_storage_url: str
) -> dict[str, str]:
    return clean_env(
        IMGORIGIN_DATABASE_URL=database_url,
        IMGORIGIN_REDIS_URL=redis_url,
        IMGORIGIN_REDIS_PREFIX=redis_prefix,
        IMGORIGIN_STORAGE_URL=s3_storage_url,
        IMGORIGIN_S3_ENDPOINT_URL=s3_endpoint,
        IMGORIGIN_LOG_LEVEL="WARNING",
    )


async def test_two_workers_on_postgres_redis_and_s3_render_once(
    tmp_path: Path, production_env: dict[str, str], s3_endpoint: str, s3_storage_url: str
) -> None:
    served = Served(tmp_path / "data", production_env, ("--workers", "2")).start()
    try:
        assert len(await worker_pids(served)) == 2, "both workers answer on the shared port"
        async with (
            aiohttp.ClientSession() as session,
            session.get(served.origin + "/readyz") as response,
        ):
            ready = await response.json()
        assert response.status == 200 and ready["status"] == "ok", ready
        assert set(ready["checks"]) == {"catalog", "store", "redis"}
        _, variant = await upload(served)
        assert_one_render(await herd([served.origin + variant] * 64))
        assert len(variant_objects(s3_endpoint, s3_storage_url)) == 1
        assert served.stop() == 0  # SIGTERM: a graceful stop
    finally:
        served.stop()


async def test_two_hosts_share_one_render(
    tmp_path: Path, production_env: dict[str, str], s3_endpoint: str, s3_storage_url: str
) -> None:
    hosts = [Served(tmp_path / f"host{n}", production_env).start() for n in range(2)]
    try:
        # Each `--demo` start revokes the previous demo key: the last host's is live.
        _, variant = await upload(hosts[-1])
        urls = [host.origin + variant for host in hosts for _ in range(32)]
        assert_one_render(await herd(urls))
        assert len(variant_objects(s3_endpoint, s3_storage_url)) == 1
    finally:
        for host in hosts:
            host.stop()


async def test_activating_on_one_host_is_seen_by_the_other_at_once(
    tmp_path: Path, production_env: dict[str, str]
) -> None:
    # A lookup cache far longer than the test: only the invalidation through Redis can
    # explain the other host serving the image right after it is activated.
    env = {**production_env, "IMGORIGIN_RESOLVE_CACHE_TTL": "600"}
    observer, writer = [Served(tmp_path / f"host{n}", env).start() for n in range(2)]
    try:
        image_id, variant = await upload(writer, activate=False)
        async with aiohttp.ClientSession() as session:
            async with session.get(observer.origin + variant) as response:
                assert response.status == 404  # pending: the observer caches "not here"
            async with session.post(
                f"{writer.admin}/v1/libraries/demo/images/{image_id}/activate",
                headers={"Authorization": f"Bearer {writer.key}"},
            ) as response:
                assert response.status == 200
            for _ in range(100):
                async with session.get(observer.origin + variant) as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.02)
            assert response.status == 200, json.loads(await response.text())
    finally:
        observer.stop()
        writer.stop()


async def test_deactivating_on_one_host_ends_the_others_answers_from_memory(
    tmp_path: Path, production_env: dict[str, str]
) -> None:
    # Both hosts answer the URL from memory (origin.hits) after its second request; a
    # lookup cache far longer than the test leaves only the invalidation through Redis
    # to end the observer's.
    env = {**production_env, "IMGORIGIN_RESOLVE_CACHE_TTL": "600"}
    observer, writer = [Served(tmp_path / f"host{n}", env).start() for n in range(2)]
    try:
        image_id, variant = await upload(writer)
        async with aiohttp.ClientSession() as session:
            for host in (writer, observer, writer, observer, observer):
                assert (await get(session, host.origin + variant))[0] in ("MISS", "HIT")
            async with session.post(
                f"{writer.admin}/v1/libraries/demo/images/{image_id}/deactivate",
                headers={"Authorization": f"Bearer {writer.key}"},
            ) as response:
                assert response.status == 200
            async with session.get(writer.origin + variant) as response:
                assert response.status == 404  # at once where it was changed
            for _ in range(100):
                async with session.get(observer.origin + variant) as response:
                    if response.status == 404:
                        break
                await asyncio.sleep(0.02)
            assert response.status == 404, response.headers.get("X-Cache")
    finally:
        observer.stop()
        writer.stop()


async def test_two_workers_on_the_embedded_defaults_render_once(tmp_path: Path) -> None:
    served = Served(tmp_path / "data", clean_env(IMGORIGIN_LOG_LEVEL="WARNING"), ("--workers", "2"))
    served.start()
    try:
        assert len(await worker_pids(served)) == 2
        _, variant = await upload(served)
        assert_one_render(await herd([served.origin + variant] * 64))
        assert len(list((tmp_path / "data" / "store" / "variants").rglob("*.webp"))) == 1
        assert served.stop() == 0
        assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
    finally:
        served.stop()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_stop_when_their_supervisor_is_killed(
    tmp_path: Path, database_url: str
) -> None:
    env = clean_env(IMGORIGIN_DATABASE_URL=database_url, IMGORIGIN_LOG_LEVEL="WARNING")
    served = Served(tmp_path / "data", env, ("--workers", "2")).start()
    try:
        workers = await worker_pids(served)
        assert len(workers) == 2
        assert served.process is not None
        served.process.kill()  # SIGKILL: the supervisor cannot pass anything on
        served.process.wait()
        for _ in range(100):
            alive = [pid for pid in workers if running(pid)]
            if not alive:
                break
            await asyncio.sleep(0.1)
        assert not alive, "orphaned workers keep serving"
    finally:
        served.stop()


async def test_a_worker_that_dies_is_replaced(tmp_path: Path, database_url: str) -> None:
    env = clean_env(IMGORIGIN_DATABASE_URL=database_url, IMGORIGIN_LOG_LEVEL="WARNING")
    served = Served(tmp_path / "data", env, ("--workers", "2")).start()
    try:
        before = await worker_pids(served)
        assert len(before) == 2
        dead = min(before)
        os.kill(dead, signal.SIGKILL)
        now: set[int] = set()
        for _ in range(100):
            await asyncio.sleep(0.1)
            try:
                now = await worker_pids(served, tries=10)
            except aiohttp.ClientError:
                continue  # a connection queued on the dying worker's socket is reset
            if dead not in now and len(now) == 2:
                break
        assert dead not in now and len(now) == 2, now
    finally:
        assert served.stop() == 0

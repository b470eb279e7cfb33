"""Concurrent requests for one missing variant render it once (in-process)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from cache import Outcome, VariantCache
from origin.errors import Unavailable
from origin.pipeline.pool import RenderPool
from storage import FilesystemStore


async def test_one_render_for_many_concurrent_misses(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    cache = VariantCache(store)
    release = asyncio.Event()
    renders = 0

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        await release.wait()
        return b"pixels"

    waiting = [
        asyncio.create_task(cache.get_or_render("variants/i/1/a.png", "image/png", render))
        for _ in range(20)
    ]
    await asyncio.sleep(0.05)
    release.set()
    results = await asyncio.gather(*waiting)
    assert renders == 1
    assert [o for _, o in results].count(Outcome.MISS) == 1
    assert [o for _, o in results].count(Outcome.COALESCED) == 19
    assert {d for d, _ in results} == {b"pixels"}
    assert await cache.get_or_render("variants/i/1/a.png", "image/png", render) == (
        b"pixels",
        Outcome.HIT,
    )
    assert renders == 1


async def test_render_finishes_when_its_first_requester_goes_away(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    cache = VariantCache(store)
    release = asyncio.Event()

    async def render() -> bytes:
        await release.wait()
        return b"done"

    first = asyncio.create_task(cache.get_or_render("variants/i/1/b.png", "image/png", render))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(cache.get_or_render("variants/i/1/b.png", "image/png", render))
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert await second == (b"done", Outcome.COALESCED)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (await store.get("variants/i/1/b.png")).data == b"done"  # type: ignore[union-attr]


async def test_a_failed_render_fails_every_waiter_and_stores_nothing(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    cache = VariantCache(store)

    async def render() -> bytes:
        await asyncio.sleep(0.02)
        raise ValueError("bad pixels")

    results = await asyncio.gather(
        *(cache.get_or_render("variants/i/1/c.png", "image/png", render) for _ in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, ValueError) for r in results)
    assert await store.get("variants/i/1/c.png") is None


async def test_purge_waits_for_renders_in_flight(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    cache = VariantCache(store)
    release = asyncio.Event()

    async def render() -> bytes:
        await release.wait()
        return b"late"

    flight = asyncio.create_task(cache.get_or_render("variants/p/1/a.png", "image/png", render))
    await asyncio.sleep(0.01)
    purge = asyncio.create_task(cache.purge("p"))
    await asyncio.sleep(0.01)
    assert not purge.done()
    release.set()
    await flight
    assert await purge == 1
    assert await store.get("variants/p/1/a.png") is None


async def test_pool_refuses_past_its_queue() -> None:
    pool = RenderPool(workers=1, queue=1)
    gate = threading.Event()
    try:
        running = asyncio.create_task(pool.submit(gate.wait, 5))
        queued = asyncio.create_task(pool.submit(lambda: "queued"))
        await asyncio.sleep(0.05)
        with pytest.raises(Unavailable) as caught:
            await pool.submit(lambda: "refused")
        assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "1"
        gate.set()
        assert await running is True
        assert await queued == "queued"
    finally:
        gate.set()
        pool.close()


async def test_a_variant_unwanted_once_stored_is_deleted_again(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)
    cache = VariantCache(store)
    checked_after_put = []

    async def render() -> bytes:
        return b"late"

    async def deleted_meanwhile() -> None:
        checked_after_put.append(await store.get("variants/d/1/a.png") is not None)
        raise LookupError("its image was deleted during the render")

    with pytest.raises(LookupError):
        await cache.get_or_render("variants/d/1/a.png", "image/png", render, deleted_meanwhile)
    assert checked_after_put == [True]
    assert await store.get("variants/d/1/a.png") is None


async def test_a_herd_asks_the_store_once(tmp_path: Path) -> None:
    class CountingStore(FilesystemStore):
        streams = 0

        def stream(self, key: str):  # type: ignore[no-untyped-def]
            CountingStore.streams += 1
            return super().stream(key)

    store = CountingStore(tmp_path)
    cache = VariantCache(store)
    renders = 0

    async def render() -> bytes:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.05)
        return b"pixels"

    async def request() -> bytes:
        # What the origin does: the stored variant, else a render.
        async with cache.stored("variants/h/1/a.png") as stored:
            if stored is not None:
                return b"".join([chunk async for chunk in stored.chunks])
        data, _ = await cache.get_or_render("variants/h/1/a.png", "image/png", render)
        return data

    assert await asyncio.gather(*(request() for _ in range(20))) == [b"pixels"] * 20
    assert renders == 1 and CountingStore.streams == 1
    # Once stored, concurrent hits each read it (after one lookup says it is there).
    assert await asyncio.gather(*(request() for _ in range(5))) == [b"pixels"] * 5
    assert renders == 1 and CountingStore.streams == 1 + 5

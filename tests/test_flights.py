"""One render per variant across processes: file locks on one host, Redis in a fleet.

Two VariantCaches with their own locks (own file descriptors, own Redis links) stand
for two processes; one test holds a lock from a real second process and kills it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cache import (
    CacheSettings,
    FileFlights,
    Flights,
    FlightTimeout,
    Outcome,
    RedisFlights,
    RedisLink,
    VariantCache,
)
from catalog import Resolver
from storage import FilesystemStore
from tests.redisserver import PrivateRedis

KEY = "variants/img/1/abc.webp"


class Renders:
    """A render that takes `seconds` and counts how often it ran."""

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds
        self.count = 0

    async def __call__(self) -> bytes:
        self.count += 1
        await asyncio.sleep(self.seconds)
        return b"pixels"


@asynccontextmanager
async def linked(url: str, prefix: str, **settings: float) -> AsyncIterator[RedisLink]:
    link = RedisLink(CacheSettings(redis_url=url, redis_prefix=prefix, **settings))
    await link.start(wait=2)
    try:
        yield link
    finally:
        await link.close()


async def herd(caches: list[VariantCache], each: int, render: Renders) -> list[Outcome]:
    results = await asyncio.gather(
        *(c.get_or_render(KEY, "image/webp", render) for c in caches for _ in range(each))
    )
    assert {data for data, _ in results} == {b"pixels"}
    return [outcome for _, outcome in results]


def assert_one_render(outcomes: list[Outcome], render: Renders) -> None:
    assert render.count == 1
    assert outcomes.count(Outcome.MISS) == 1
    assert set(outcomes) <= {Outcome.MISS, Outcome.COALESCED, Outcome.HIT}


async def test_file_locks_render_once_across_processes(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "store")
    caches = [VariantCache(store, FileFlights(tmp_path / "locks")) for _ in range(2)]
    render = Renders()
    assert_one_render(await herd(caches, 16, render), render)
    assert list((tmp_path / "locks").iterdir()) == []  # lock files are removed on release


async def test_a_file_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    store = FilesystemStore(tmp_path / "store")
    claim = FileFlights(locks).claim(KEY)
    locks.mkdir()
    # A real second process holds the lock, as a worker in the middle of a render would.
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n",
        str(claim._path),  # type: ignore[attr-defined]
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 10)).strip() == b"locked"
        render = Renders(0.01)
        waiting = asyncio.create_task(
            VariantCache(store, FileFlights(locks)).get_or_render(KEY, "image/webp", render)
        )
        await asyncio.sleep(0.3)
        assert not waiting.done() and render.count == 0  # it waits for the holder
        holder.kill()  # dies mid-render: the kernel drops its lock
        assert await asyncio.wait_for(waiting, 5) == (b"pixels", Outcome.MISS)
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()


async def test_redis_renders_once_across_processes(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    store = FilesystemStore(tmp_path)
    async with linked(redis_url, redis_prefix) as a, linked(redis_url, redis_prefix) as b:
        assert a.available and b.available
        caches = [VariantCache(store, RedisFlights(link, lease=5)) for link in (a, b)]
        render = Renders()
        assert_one_render(await herd(caches, 16, render), render)
        # The lease is released and the claim key gone.
        assert await a.client.exists(f"{redis_prefix}flight:{KEY}") == 0


async def test_a_waiter_is_woken_by_done_not_by_polling(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    store = FilesystemStore(tmp_path)
    async with linked(redis_url, redis_prefix) as a, linked(redis_url, redis_prefix) as b:
        render = Renders(0.3)
        first = asyncio.create_task(
            VariantCache(store, RedisFlights(a, 5)).get_or_render(KEY, "image/webp", render)
        )
        await asyncio.sleep(0.05)
        started = time.monotonic()
        second = VariantCache(store, RedisFlights(b, 5))
        assert await second.get_or_render(KEY, "image/webp", render) == (
            b"pixels",
            Outcome.COALESCED,
        )
        # Done at ~0.25 s; the 1 s safety poll would have made it >= 1 s.
        assert time.monotonic() - started < 0.8
        assert (await first)[1] == Outcome.MISS


async def test_a_stale_claim_is_taken_over_when_its_lease_lapses(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    store = FilesystemStore(tmp_path)
    async with linked(redis_url, redis_prefix) as link:
        # A claimant that died mid-render: its lease is there, nobody renews it.
        await link.client.set(f"{redis_prefix}flight:{KEY}", "dead-process", px=800)
        render = Renders(0.01)
        started = time.monotonic()
        cache = VariantCache(store, RedisFlights(link, lease=5))
        assert await cache.get_or_render(KEY, "image/webp", render) == (b"pixels", Outcome.MISS)
        assert 0.7 < time.monotonic() - started < 2.5
        assert render.count == 1


async def test_the_lease_is_renewed_while_a_long_render_runs(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    store = FilesystemStore(tmp_path)
    async with linked(redis_url, redis_prefix) as a, linked(redis_url, redis_prefix) as b:
        render = Renders(1.0)  # more than three leases long
        caches = [VariantCache(store, RedisFlights(link, lease=0.3)) for link in (a, b)]
        first = asyncio.create_task(caches[0].get_or_render(KEY, "image/webp", render))
        await asyncio.sleep(0.1)
        second = await caches[1].get_or_render(KEY, "image/webp", render)
        assert second == (b"pixels", Outcome.COALESCED)
        assert (await first)[1] == Outcome.MISS
        assert render.count == 1


async def test_waiting_longer_than_render_wait_is_a_flight_timeout(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    async with linked(redis_url, redis_prefix) as link:
        await link.client.set(f"{redis_prefix}flight:{KEY}", "busy", px=10_000)
        cache = VariantCache(FilesystemStore(tmp_path), RedisFlights(link, 5), wait=0.3)
        started = time.monotonic()
        with pytest.raises(FlightTimeout):
            await cache.get_or_render(KEY, "image/webp", Renders())
        assert time.monotonic() - started < 1.5


async def test_without_redis_renders_still_happen(tmp_path: Path, redis_prefix: str) -> None:
    dead = f"redis://127.0.0.1:{PrivateRedis(tmp_path).port}/0"  # nothing listens there
    async with linked(dead, redis_prefix, redis_timeout=0.2) as link:
        assert not link.available
        assert not await link.ping()
        cache = VariantCache(FilesystemStore(tmp_path), RedisFlights(link, 5))
        started = time.monotonic()
        render = Renders(0.01)
        outcomes = await herd([cache], 8, render)
        assert_one_render(outcomes, render)  # in-process coalescing still holds
        assert time.monotonic() - started < 1.0


async def test_redis_going_away_and_coming_back(
    tmp_path: Path, private_redis: PrivateRedis, redis_prefix: str
) -> None:
    store = FilesystemStore(tmp_path)
    async with linked(private_redis.url, redis_prefix, redis_timeout=0.2) as link:
        flights: Flights = RedisFlights(link, 5)
        cache = VariantCache(store, flights)
        assert link.available
        private_redis.stop()
        render = Renders(0.01)
        # The first command after the outage fails and falls back; later ones do not try.
        for n in range(3):
            key = f"variants/img/1/{n}.webp"
            assert await cache.get_or_render(key, "image/webp", render) == (
                b"pixels",
                Outcome.MISS,
            )
        assert not link.available
        private_redis.start()  # same port
        deadline = time.monotonic() + 10
        while not link.available:
            assert time.monotonic() < deadline, "the link did not come back"
            await asyncio.sleep(0.1)
        assert await cache.get_or_render("variants/img/1/x.webp", "image/webp", render) == (
            b"pixels",
            Outcome.MISS,
        )


async def test_invalidations_reach_every_process(redis_url: str, redis_prefix: str) -> None:
    lookups = {"b": 0}

    async def lookup(library: str, key: str) -> None:
        lookups["b"] += 1

    async with linked(redis_url, redis_prefix) as a, linked(redis_url, redis_prefix) as b:
        here = Resolver(lookup, ttl=60, size=10, broadcast=a.broadcast_invalidation)
        there = Resolver(lookup, ttl=60, size=10, broadcast=b.broadcast_invalidation)
        b.on_invalidate = lambda message: there.forget(*message)
        await there.resolve("lib", "cat.jpg")
        await there.resolve("lib", "cat.jpg")
        assert lookups["b"] == 1  # cached
        await here.invalidate("lib", "cat.jpg")
        deadline = time.monotonic() + 3
        while lookups["b"] == 1:
            await there.resolve("lib", "cat.jpg")
            assert time.monotonic() < deadline, "the other process never forgot it"
            await asyncio.sleep(0.02)


async def test_a_malformed_invalidation_is_ignored(redis_url: str, redis_prefix: str) -> None:
    forgotten: list[tuple[str, str]] = []
    async with linked(redis_url, redis_prefix) as link:
        link.on_invalidate = lambda message: forgotten.append(tuple(message))  # type: ignore[arg-type]
        await link.client.publish(link.invalidate_channel, b"\xff not json")
        await link.broadcast_invalidation("lib", "k")
        deadline = time.monotonic() + 3
        while not forgotten:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert forgotten == [("lib", "k")] and link.available


async def test_file_lock_waiters_back_off(tmp_path: Path) -> None:
    class CountingStore(FilesystemStore):
        gets = 0

        async def get(self, key: str):  # type: ignore[no-untyped-def]
            CountingStore.gets += 1
            return await super().get(key)

    store = CountingStore(tmp_path / "store")
    caches = [VariantCache(store, FileFlights(tmp_path / "locks")) for _ in range(2)]
    render = Renders(1.0)
    first = asyncio.create_task(caches[0].get_or_render(KEY, "image/webp", render))
    await asyncio.sleep(0.01)
    assert (await caches[1].get_or_render(KEY, "image/webp", render))[1] == Outcome.COALESCED
    await first
    # A poll every 20 ms would be ~50 lookups in that second; backing off to 250 ms, ~12.
    assert CountingStore.gets < 20


class Blackhole:
    """A TCP proxy to Redis that can go silent without closing anything, as a NAT or a
    load balancer that forgets a connection does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.silent = False
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._pipe_both, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _pipe_both(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.port)
        await asyncio.gather(
            self._pipe(reader, upstream_writer),
            self._pipe(upstream_reader, writer),
            return_exceptions=True,
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            if not self.silent:
                writer.write(data)
                await writer.drain()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_silently_dropped_pubsub_connection_is_noticed(
    private_redis: PrivateRedis, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cache import redislink

    monkeypatch.setattr(redislink, "HEARTBEAT", 0.5)
    monkeypatch.setattr(redislink, "HEARTBEAT_TIMEOUT", 0.5)
    proxy = Blackhole(private_redis.port)
    url = await proxy.start()
    try:
        async with linked(url, redis_prefix, redis_timeout=0.3) as link:
            assert link.available
            proxy.silent = True  # nothing gets through, and nothing is closed
            deadline = time.monotonic() + 6
            while link.available:
                assert time.monotonic() < deadline, "a silent connection went unnoticed"
                await asyncio.sleep(0.1)
            proxy.silent = False  # the reader's new connections get through again
            deadline = time.monotonic() + 10
            while not link.available:
                assert time.monotonic() < deadline, "the link did not come back"
                await asyncio.sleep(0.1)
    finally:
        proxy.close()

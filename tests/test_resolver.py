"""The in-process key cache: TTL, LRU bound, invalidation, and the refill race."""

from __future__ import annotations

import asyncio

from catalog import Image, Resolver


class Lookups:
    """A lookup function that counts calls and can be held mid-flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.answer: Image | None = None

    async def __call__(self, library: str, key: str) -> Image | None:
        self.calls += 1
        answer = self.answer
        await self.gate.wait()
        return answer


async def test_hits_misses_and_invalidation() -> None:
    lookups = Lookups()
    resolver = Resolver(lookups, ttl=60, size=10)
    assert await resolver.resolve("lib", "a") is None
    assert await resolver.resolve("lib", "a") is None
    assert lookups.calls == 1  # the miss was cached
    await resolver.invalidate("lib", "a")
    await resolver.resolve("lib", "a")
    assert lookups.calls == 2
    await resolver.resolve("lib", "a", fresh=True)
    assert lookups.calls == 3


async def test_size_bound_evicts_least_recently_used() -> None:
    lookups = Lookups()
    resolver = Resolver(lookups, ttl=60, size=2)
    for key in ("a", "b", "a", "c"):  # c evicts b, the least recently used
        await resolver.resolve("lib", key)
    calls = lookups.calls
    await resolver.resolve("lib", "a")
    assert lookups.calls == calls
    await resolver.resolve("lib", "b")
    assert lookups.calls == calls + 1


async def test_zero_ttl_caches_nothing() -> None:
    lookups = Lookups()
    resolver = Resolver(lookups, ttl=0, size=2)
    await resolver.resolve("lib", "a")
    await resolver.resolve("lib", "a")
    assert lookups.calls == 2


async def test_a_lookup_racing_an_invalidation_is_not_cached() -> None:
    lookups = Lookups()
    lookups.answer = "stale image"  # type: ignore[assignment]
    resolver = Resolver(lookups, ttl=60, size=10)
    lookups.gate.clear()
    slow = asyncio.create_task(resolver.resolve("lib", "a"))
    await asyncio.sleep(0.01)
    await resolver.invalidate("lib", "a")  # the image is deleted while the lookup is out
    lookups.answer = None
    lookups.gate.set()
    assert await slow == "stale image"  # that request saw the world before the delete
    assert await resolver.resolve("lib", "a") is None  # but it was not cached


async def test_concurrent_misses_share_one_lookup_until_an_invalidation() -> None:
    lookups = Lookups()
    resolver = Resolver(lookups, ttl=60, size=10)
    lookups.gate.clear()
    herd = [asyncio.create_task(resolver.resolve("lib", "a")) for _ in range(20)]
    await asyncio.sleep(0.01)
    assert lookups.calls == 1
    resolver.forget("lib", "a")  # changed while the query is out
    lookups.answer = "new image"  # type: ignore[assignment]
    late = asyncio.create_task(resolver.resolve("lib", "a"))
    await asyncio.sleep(0.01)
    assert lookups.calls == 2  # the late caller did not join the stale query
    herd[0].cancel()  # one caller going away does not cancel the others' query
    lookups.gate.set()
    results = await asyncio.gather(*herd[1:], late)
    assert results[:-1] == [None] * 19 and results[-1] == "new image"

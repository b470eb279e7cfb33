"""Hot-path lookups by `library/key` (the active image; a library's URL policy),
cached briefly in process.

Misses are cached too, so a flood of requests for an unknown key costs one query
per TTL. Whatever this process changes it invalidates at once, and `broadcast`
tells the other processes (through Redis, wired by the composition root), which
`forget` it in turn; a lookup that was under way while an invalidation happened is
not cached, since it may have read the row from before the change.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
Lookup = Callable[[str, str], Awaitable[T | None]]
Broadcast = Callable[[str, str], Awaitable[None]]


class Forgetting(Protocol):
    """What else forgets when a resolver does: caches built on what it resolved."""

    def forget(self, library: str, key: str) -> None: ...

    def clear(self) -> None: ...


class Resolver(Generic[T]):
    def __init__(
        self,
        lookup: Lookup[T],
        ttl: float,
        size: int,
        broadcast: Broadcast | None = None,
        also: Forgetting | None = None,
    ) -> None:
        self._lookup = lookup
        self._broadcast = broadcast
        self._also = also
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[float, T | None]] = OrderedDict()
        self._invalidations = 0
        self._pending: dict[tuple[str, str], asyncio.Future[T | None]] = {}

    async def resolve(self, library: str, key: str, *, fresh: bool = False) -> T | None:
        """What library/key looks up to; `fresh` skips the cache (and refills it)."""
        slot = (library, key)
        now = time.monotonic()
        hit = self._entries.get(slot)
        if hit is not None and hit[0] > now and not fresh:
            self._entries.move_to_end(slot)
            return hit[1]
        if not fresh and (pending := self._pending.get(slot)) is not None:
            return await asyncio.shield(pending)
        lookup = asyncio.ensure_future(self._look_up(slot, now))
        if not fresh:
            # Concurrent misses for one key (a herd) share this one query.
            self._pending[slot] = lookup
            lookup.add_done_callback(lambda done: self._landed(slot, done))
        return await asyncio.shield(lookup)

    def cached_until(self, library: str, key: str) -> float:
        """Until when (time.monotonic()) library/key is answered from the cache without
        a lookup; 0 when it is not cached."""
        hit = self._entries.get((library, key))
        return hit[0] if hit is not None else 0.0

    async def _look_up(self, slot: tuple[str, str], now: float) -> T | None:
        before = self._invalidations
        value = await self._lookup(*slot)
        if self._ttl > 0 and before == self._invalidations:
            self._entries[slot] = (now + self._ttl, value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def _landed(self, slot: tuple[str, str], lookup: asyncio.Future[T | None]) -> None:
        if self._pending.get(slot) is lookup:
            del self._pending[slot]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: a failure nobody awaits any more is not logged

    async def invalidate(self, library: str, key: str) -> None:
        """library/key changed: forget it here and in every other process."""
        self.forget(library, key)
        if self._broadcast is not None:
            await self._broadcast(library, key)

    def forget(self, library: str, key: str) -> None:
        self._invalidations += 1
        self._entries.pop((library, key), None)
        self._pending.pop((library, key), None)  # later callers must not join a stale query
        if self._also is not None:
            self._also.forget(library, key)

    def clear(self) -> None:
        """Forget everything: invalidations from other processes may have been missed."""
        self._invalidations += 1
        self._entries.clear()
        self._pending.clear()
        if self._also is not None:
            self._also.clear()

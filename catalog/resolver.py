"""The hot-path lookup `library/key -> active image`, cached briefly in process.

Misses are cached too, so a flood of requests for an unknown key costs one query
per TTL. Whatever this process changes it invalidates at once, and `broadcast`
tells the other processes (through Redis, wired by the composition root), which
`forget` it in turn; a lookup that was under way while an invalidation happened is
not cached, since it may have read the row from before the change.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from catalog.models import Image

Lookup = Callable[[str, str], Awaitable[Image | None]]
Broadcast = Callable[[str, str], Awaitable[None]]


class Resolver:
    def __init__(
        self, lookup: Lookup, ttl: float, size: int, broadcast: Broadcast | None = None
    ) -> None:
        self._lookup = lookup
        self._broadcast = broadcast
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[float, Image | None]] = OrderedDict()
        self._invalidations = 0

    async def resolve(self, library: str, key: str, *, fresh: bool = False) -> Image | None:
        """The active image at library/key; `fresh` skips the cache (and refills it)."""
        slot = (library, key)
        now = time.monotonic()
        hit = self._entries.get(slot)
        if hit is not None and hit[0] > now and not fresh:
            self._entries.move_to_end(slot)
            return hit[1]
        before = self._invalidations
        image = await self._lookup(library, key)
        if self._ttl > 0 and before == self._invalidations:
            self._entries[slot] = (now + self._ttl, image)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return image

    async def invalidate(self, library: str, key: str) -> None:
        """library/key changed: forget it here and in every other process."""
        self.forget(library, key)
        if self._broadcast is not None:
            await self._broadcast(library, key)

    def forget(self, library: str, key: str) -> None:
        self._invalidations += 1
        self._entries.pop((library, key), None)

    def clear(self) -> None:
        """Forget everything: invalidations from other processes may have been missed."""
        self._invalidations += 1
        self._entries.clear()

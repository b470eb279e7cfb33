"""The hot-path lookup `library/key -> active image`, cached briefly in process.

Misses are cached too, so a flood of requests for an unknown key costs one query
per TTL. Whatever this process changes it invalidates at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from catalog.models import Image

Lookup = Callable[[str, str], Awaitable[Image | None]]


class Resolver:
    def __init__(self, lookup: Lookup, ttl: float, size: int) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[float, Image | None]] = OrderedDict()

    async def resolve(self, library: str, key: str) -> Image | None:
        slot = (library, key)
        now = time.monotonic()
        hit = self._entries.get(slot)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(slot)
            return hit[1]
        image = await self._lookup(library, key)
        if self._ttl > 0:
            self._entries[slot] = (now + self._ttl, image)
            self._entries.move_to_end(slot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return image

    def invalidate(self, library: str, key: str) -> None:
        self._entries.pop((library, key), None)

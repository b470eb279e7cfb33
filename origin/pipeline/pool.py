"""Bounded CPU work: a fixed number of render threads and a bounded wait in front.

The executor's thread count is the hard cap on concurrent renders. The semaphore in
front is admission control: a request that would wait behind more than `queue`
others is refused at once with 503 and Retry-After, rather than letting memory and
latency grow. A slot is taken before the original is fetched, so waiting requests
hold no original bytes in memory.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from origin.errors import Unavailable

T = TypeVar("T")


class RenderPool:
    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self._executor = concurrent.futures.ThreadPoolExecutor(workers, "render")
        self._slots = asyncio.Semaphore(workers)
        self._waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots.locked() and self._waiting >= self.queue:
            raise Unavailable(
                "too many renders in progress", code="overloaded", headers={"Retry-After": "1"}
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` on a render thread; call it while holding a slot."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def submit(self, fn: Callable[..., T], *args: object) -> T:
        """Take a slot, then run `fn(*args)` on a render thread."""
        async with self.slot():
            return await self.run(fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

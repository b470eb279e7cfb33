"""The variant cache: serve from the store, or render once however many ask at once.

Within one process, requests for the same missing variant share one render task;
the task is shielded, so the render and the store write finish even when the
request that started them goes away. Across processes, that task claims the render
through `Flights` (file locks on one host, a Redis lease in a fleet); a task that
loses the claim waits for the winner and reads what it stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import StrEnum

from cache.flights import Flights, LocalFlights
from cache.variants import variant_prefix
from storage import BlobStore, BlobStream

log = logging.getLogger(__name__)

Render = Callable[[], Awaitable[bytes]]
Confirm = Callable[[], Awaitable[None]]


async def _always() -> None:
    """Every render is still wanted once stored."""


class Outcome(StrEnum):
    HIT = "HIT"  # read from the store
    MISS = "MISS"  # this request rendered it
    COALESCED = "COALESCED"  # this request waited for another request's render


class FlightTimeout(Exception):
    """Another process held the render of this variant for longer than we may wait."""


class VariantCache:
    def __init__(
        self, store: BlobStore, flights: Flights | None = None, wait: float = 30.0
    ) -> None:
        self._store = store
        self._claims = flights or LocalFlights()
        self._wait = wait
        self._running: dict[str, asyncio.Task[tuple[bytes, Outcome]]] = {}
        self._lookups: dict[str, asyncio.Future[bool]] = {}

    async def get_or_render(
        self, key: str, content_type: str, render: Render, confirm: Confirm = _always
    ) -> tuple[bytes, Outcome]:
        """The stored variant, or the one this call (or a concurrent one) renders.
        Callers on the hot path read the store first themselves, as a stream.

        `confirm` runs after a rendered variant is stored; when it raises (its image was
        deleted or replaced meanwhile, so a purge may have run before our put), the
        variant is deleted again and the error goes to every waiter. Checking after the
        put, not before, leaves no window in which a purge can miss it."""
        flight = self._running.get(key)
        if flight is not None:
            data, _ = await asyncio.shield(flight)
            return data, Outcome.COALESCED
        flight = asyncio.create_task(self._render_and_put(key, content_type, render, confirm))
        self._running[key] = flight
        flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    @asynccontextmanager
    async def stored(self, key: str) -> AsyncIterator[BlobStream | None]:
        """The stored variant as a stream, or None when it is to be rendered (then call
        get_or_render). While this process is looking a key up or rendering it, other
        requests for it wait for that instead of asking the store too: a herd costs
        the store one lookup per process, not one per request."""
        if key in self._running:
            yield None
            return
        other = self._lookups.get(key)
        if other is not None:
            if not await asyncio.shield(other):
                yield None  # missing: the request that looked has started the render
                return
            async with self._store.stream(key) as stream:  # found: each reads its own
                yield stream
            return
        lookup = self._lookups[key] = asyncio.get_running_loop().create_future()
        try:
            async with self._store.stream(key) as stream:
                self._settle(key, lookup, found=stream is not None)
                yield stream
        finally:
            self._settle(key, lookup, found=False)  # also when the lookup failed

    def _settle(self, key: str, lookup: asyncio.Future[bool], *, found: bool) -> None:
        if not lookup.done():
            lookup.set_result(found)
        if self._lookups.get(key) is lookup:
            del self._lookups[key]

    async def _render_and_put(
        self, key: str, content_type: str, render: Render, confirm: Confirm
    ) -> tuple[bytes, Outcome]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        waited = 0
        while True:
            async with self._claims.claim(key) as claim:
                # Re-check once the claim is settled: a render (here or in another
                # process) that finished since our miss has stored it already.
                blob = await self._store.get(key)
                if blob is not None:
                    return blob.data, Outcome.COALESCED if waited else Outcome.HIT
                if claim.held:
                    data = await render()
                    await self._store.put(key, data, content_type)
                    try:
                        await confirm()
                    except Exception:
                        await self._store.delete(key)
                        raise
                    return data, Outcome.MISS
                left = deadline - loop.time()
                if left <= 0:
                    raise FlightTimeout(f"waited {self._wait:g}s for another render of {key}")
                await claim.wait(left, waited)
                waited += 1

    async def purge(self, image_id: str) -> int:
        """Delete every stored variant of an image, after letting this process's
        renders of it land, so none of them writes a variant back after the purge."""
        prefix = variant_prefix(image_id)
        landing = [f for key, f in self._running.items() if key.startswith(prefix)]
        await asyncio.gather(*landing, return_exceptions=True)
        return await self._store.delete_prefix(prefix)

    def _landed(self, key: str, flight: asyncio.Task[tuple[bytes, Outcome]]) -> None:
        self._running.pop(key, None)
        if not flight.cancelled() and flight.exception() is not None:
            # Retrieved here so that a render nobody waits for any more is still logged once.
            log.debug("render of %s failed: %r", key, flight.exception())

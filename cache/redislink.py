"""One process's link to Redis: a command client, one pub/sub connection, and health.

The pub/sub connection subscribes once, at start, to every "done" channel (a pattern)
and to the invalidation channel; a single reader task dispatches messages to local
waiters and handlers. Nothing subscribes per request, so the connection is only ever
read by that task, and a request never waits for a subscription round trip.

When a command or the reader fails, the link is marked unavailable; callers then fall
back to working without Redis (see `available`) instead of failing requests, and the
reader reconnects with backoff. Invalidations missed while it was down are covered by
the `on_reconnect` hook (the composition root clears the lookup cache).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from cache.settings import CacheSettings

log = logging.getLogger(__name__)

# What a Redis outage looks like through redis-py.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)

Handler = Callable[[Any], None]

# Seconds of silence on the pub/sub connection before we ping it, and then before we
# take it for dead and reconnect.
HEARTBEAT = 5.0
HEARTBEAT_TIMEOUT = 3.0


class RedisLink:
    def __init__(self, settings: CacheSettings) -> None:
        self.prefix = settings.redis_prefix
        # No retries inside redis-py: a failed command falls back at once, and the
        # reader task is the one place that waits for Redis to come back.
        self.client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self.done_pattern = f"{self.prefix}done:*"
        self.invalidate_channel = f"{self.prefix}invalidate"
        self.on_invalidate: Handler = lambda message: None
        self.on_reconnect: Callable[[], None] = lambda: None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._up = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        """Subscribed and answering: claims and waits may rely on Redis."""
        return self._up.is_set()

    async def start(self, wait: float) -> None:
        """Start the reader; wait up to `wait` seconds for it to subscribe (not fatal)."""
        self._reader = asyncio.create_task(self._read_forever(), name="redis-reader")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), wait)
        if not self.available:
            log.warning("Redis is unavailable; rendering with per-process single-flight")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.client.aclose()

    def failed(self, exc: BaseException) -> None:
        """A command failed: stop relying on Redis until the reader reconnects."""
        if self.available:
            log.warning("Redis failed (%r); falling back until it is back", exc)
        self._up.clear()

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())
        except REDIS_ERRORS as exc:
            self.failed(exc)
            return False

    async def health(self) -> None:
        """Raise unless Redis answers (for /readyz, where Redis is optional)."""
        if not await self.ping():
            raise ConnectionError("Redis does not answer; renders are coordinated per process")

    # Channels

    def done_channel(self, key: str) -> str:
        return f"{self.prefix}done:{key}"

    @contextlib.contextmanager
    def watching(self, channel: str) -> Iterator[asyncio.Event]:
        """An event set by every message on `channel` while the block runs."""
        event = asyncio.Event()
        self._waiters.setdefault(channel, set()).add(event)
        try:
            yield event
        finally:
            events = self._waiters[channel]
            events.discard(event)
            if not events:
                del self._waiters[channel]

    async def broadcast_invalidation(self, library: str, key: str) -> None:
        """Tell every process (this one too) that library/key changed."""
        await self.publish(self.invalidate_channel, [library, key])

    async def publish(self, channel: str, message: Any) -> None:
        try:
            await self.client.publish(channel, json.dumps(message))
        except REDIS_ERRORS as exc:
            self.failed(exc)

    # The reader

    async def _read_forever(self) -> None:
        backoff = 0.1
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.done_pattern)
                await pubsub.subscribe(self.invalidate_channel)
                heard, pinged = loop.time(), None
                while True:
                    if not self._up.is_set():
                        # Subscribed (again), and commands answer: rely on Redis again.
                        await self.client.ping()
                        self._up.set()
                        self.on_reconnect()
                        backoff = 0.1
                    message = await pubsub.get_message(timeout=1.0)
                    now = loop.time()
                    if message is not None:
                        heard, pinged = now, None
                        if message["type"] in ("message", "pmessage"):
                            self._dispatch(message)
                    # A connection dropped without a reset (by a NAT or load balancer)
                    # just goes quiet: ping it when idle, and give up on it unanswered.
                    elif pinged is not None and now - pinged > HEARTBEAT_TIMEOUT:
                        raise ConnectionError("the pub/sub connection does not answer")
                    elif pinged is None and now - heard > HEARTBEAT:
                        await pubsub.ping()
                        pinged = now
            except REDIS_ERRORS as exc:
                self.failed(exc)
            finally:
                with contextlib.suppress(*REDIS_ERRORS):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        if channel == self.invalidate_channel:
            try:
                self.on_invalidate(json.loads(message["data"]))
            except (ValueError, TypeError) as exc:
                log.warning("ignoring a malformed invalidation %r: %r", message["data"], exc)
            return
        for event in self._waiters.get(channel, ()):
            event.set()

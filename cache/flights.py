"""Who renders a missing variant when several processes want it at once.

A `claim(key)` is entered by one request per process (requests inside a process have
already coalesced in VariantCache). Inside it, `held` says whether this process won
the right to render; a process that did not calls `wait()`, which returns when the
holder may have finished (or its claim may have lapsed), and then re-checks the store
and claims again. Three kinds:

- LocalFlights: no coordination between processes (one process, or Redis is down).
- FileFlights: `flock` on a file per variant under the data dir: every worker on one
  host. The kernel drops the lock when its holder dies, so takeover is immediate.
- RedisFlights: a lease in Redis (`SET NX PX`, renewed while the render runs,
  released by compare-and-delete), and a "done" message that wakes the waiters: a
  fleet. A claimant that dies stops renewing; its lease lapses and a waiter takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from cache.redislink import REDIS_ERRORS, RedisLink

log = logging.getLogger(__name__)


class Claim(Protocol):
    held: bool

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def wait(self, at_most: float, waited: int) -> None:
        """Return when the holder may have finished, or after at most `at_most` seconds;
        `waited` is how often this request has waited for this variant already."""


class Flights(Protocol):
    def claim(self, key: str) -> Claim: ...


class _Held:
    """A claim that is always ours: no one else to coordinate with."""

    held = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def wait(self, at_most: float, waited: int) -> None:
        raise AssertionError("a held claim never waits")


class LocalFlights:
    def claim(self, key: str) -> Claim:
        return _Held()


def _token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class FileFlights:
    def __init__(self, folder: Path, poll: float = 0.02, max_poll: float = 0.25) -> None:
        self.folder = folder
        self.poll = poll
        self.max_poll = max_poll

    def claim(self, key: str) -> Claim:
        return _FileClaim(self, self.folder / f"{_token(key)}.lock")


class _FileClaim:
    def __init__(self, flights: FileFlights, path: Path) -> None:
        self._flights = flights
        self._path = path
        self._fd: int | None = None
        self.held = False

    async def __aenter__(self) -> Self:
        # open + flock(LOCK_NB) + two stats: microseconds, no thread needed.
        self._fd = self._try_lock()
        self.held = self._fd is not None
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._fd is None:
            return
        # Unlink while still holding the lock: a process that opened the old file and
        # locks it after us sees that its inode is no longer the path's, and retries.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
        os.close(self._fd)
        self._fd = None

    async def wait(self, at_most: float, waited: int) -> None:
        # Poll, backing off: each poll costs a lock attempt and a store lookup.
        poll = min(self._flights.poll * 1.5**waited, self._flights.max_poll)
        await asyncio.sleep(min(at_most, poll))

    def _try_lock(self) -> int | None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino == os.stat(self._path).st_ino:
                return fd
        except OSError as exc:
            # Busy, or unlinked by its previous holder between our open and stat.
            if exc.errno not in (errno.EWOULDBLOCK, errno.ENOENT):
                os.close(fd)
                raise
        os.close(fd)
        return None


# Renew or release the lease only while it is still ours: a claimant that stalled
# past its lease must not extend or delete the lease of the one that took over.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisFlights:
    def __init__(self, link: RedisLink, lease: float) -> None:
        self.link = link
        self.lease_ms = max(1, round(lease * 1000))
        self.renew = link.client.register_script(_RENEW)
        self.release = link.client.register_script(_RELEASE)

    def claim(self, key: str) -> Claim:
        if not self.link.available:
            return _Held()
        return _RedisClaim(self, key)


class _RedisClaim:
    def __init__(self, flights: RedisFlights, key: str) -> None:
        self._flights = flights
        self._link = flights.link
        self._name = f"{self._link.prefix}flight:{key}"
        self._channel = self._link.done_channel(key)
        self._token = secrets.token_hex(16)
        self._watch = contextlib.ExitStack()
        self._renewal: asyncio.Task[None] | None = None
        self._done: asyncio.Event | None = None
        self.held = False

    async def __aenter__(self) -> Self:
        # Watch for "done" before trying to claim, so a render that finishes between
        # our failed claim and our wait still wakes us.
        self._done = self._watch.enter_context(self._link.watching(self._channel))
        try:
            claimed = await self._link.client.set(
                self._name, self._token, nx=True, px=self._flights.lease_ms
            )
        except REDIS_ERRORS as exc:
            self._link.failed(exc)
            self.held = True  # fall back: render here rather than fail the request
            return self
        self.held = bool(claimed)
        if self.held:
            self._renewal = asyncio.create_task(self._renew_forever())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._watch.close()
        if self._renewal is None:
            return
        self._renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewal
        try:
            await self._flights.release(keys=[self._name], args=[self._token])
        except REDIS_ERRORS as exc:
            self._link.failed(exc)  # the lease lapses on its own
            return
        # Wake the waiters whether the render succeeded or failed: on success they
        # find the variant; on failure one of them claims and tries itself.
        await self._link.publish(self._channel, 1)

    async def wait(self, at_most: float, waited: int) -> None:
        assert self._done is not None
        try:
            lease_left = await self._link.client.pttl(self._name)
        except REDIS_ERRORS as exc:
            self._link.failed(exc)
            return
        if lease_left < 0:  # released or lapsed: claim again
            return
        # Woken by "done"; else when the lease would lapse (its holder died); and at
        # least once a second, in case a "done" message was lost with a connection.
        limit = min(at_most, lease_left / 1000 + 0.005, 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), limit)

    async def _renew_forever(self) -> None:
        interval = self._flights.lease_ms / 3000
        while True:
            await asyncio.sleep(interval)
            try:
                still_ours = await self._flights.renew(
                    keys=[self._name], args=[self._token, self._flights.lease_ms]
                )
            except REDIS_ERRORS as exc:
                self._link.failed(exc)
                continue
            if not still_ours:
                # Another process took over after we stalled; both store the same bytes.
                log.warning("render lease %s lapsed and was taken over", self._name)
                return

"""What a cold-render workload runs against: a server over HTTP (the origin, a peer) or
raw pyvips in this process, behind one interface, so that every workload treats them
alike and interleaves them in one loop.

A workload asks for variants as (copy, width) pairs: `copy` names one of several
copies of the same original (other image ids, or other files, so the same work), and
each pair is asked for once, so that no cache can answer.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from bench import load
from bench.rss import Peak, cpu_seconds, peak_rss
from bench.source import raw_render
from origin.spec import OutputFormat

Pair = tuple[int, int]  # (copy, width)


def pairs(copies: int, widths: range) -> Iterator[Pair]:
    """Every width of the first copy, then of the next: each pair once."""
    for copy in range(copies):
        for width in widths:
            yield copy, width


class Target(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def expected(self) -> str:
        """The outcome of each load's requests: see load.Rate.unexpected."""
        ...

    async def once(self, client: aiohttp.ClientSession, pair: Pair) -> tuple[float, int]:
        """(seconds, bytes) of one render."""
        ...

    async def load(
        self, variants: Iterator[Pair], connections: int, seconds: float, cap: int
    ) -> load.Rate: ...

    def memory(self) -> AbstractContextManager[Peak]:
        """Peak memory of whatever does the rendering, while the block runs."""
        ...

    def cpu(self) -> float:
        """CPU seconds used so far by whatever does the rendering."""
        ...


@dataclass(frozen=True)
class Http:
    name: str
    url: Callable[[Pair], str]
    pid: int  # the server's, for its memory (its children count too)
    expected: str  # the outcome of a cold render: X-Cache "MISS", or "200" without one

    async def once(self, client: aiohttp.ClientSession, pair: Pair) -> tuple[float, int]:
        start = time.perf_counter()
        async with client.get(self.url(pair)) as response:
            body = await response.read()
            seconds = time.perf_counter() - start
            cache = response.headers.get("X-Cache", "200")
            assert response.status == 200, (self.url(pair), response.status, body[:200])
        assert cache == self.expected, (self.url(pair), cache)
        return seconds, len(body)

    async def load(
        self, variants: Iterator[Pair], connections: int, seconds: float, cap: int
    ) -> load.Rate:
        return await load.cold_load(
            (self.url(pair) for pair in variants), connections, seconds, cap
        )

    def memory(self) -> AbstractContextManager[Peak]:
        return peak_rss(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)


@dataclass(frozen=True)
class Raw:
    """pyvips in this process, on the same bytes, with the origin's output options;
    concurrency is that many threads of this process, each rendering in turn (libvips
    releases the GIL, and runs its own threads inside each render as the origin's do)."""

    name: str
    data: bytes
    fmt: OutputFormat
    expected: str = "200"

    def render(self, pair: Pair) -> bytes:
        return raw_render(self.data, pair[1], self.fmt)

    async def once(self, client: aiohttp.ClientSession, pair: Pair) -> tuple[float, int]:
        start = time.perf_counter()
        body = await asyncio.to_thread(self.render, pair)
        return time.perf_counter() - start, len(body)

    async def load(
        self, variants: Iterator[Pair], connections: int, seconds: float, cap: int
    ) -> load.Rate:
        return await asyncio.to_thread(
            load.thread_load, self.render, variants, connections, seconds, cap
        )

    def memory(self) -> AbstractContextManager[Peak]:
        # This process only: the servers the bench started are its children.
        return peak_rss(os.getpid(), tree=False)

    def cpu(self) -> float:
        return cpu_seconds(os.getpid(), tree=False)

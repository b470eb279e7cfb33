"""Closed-loop load at a fixed number of connections.

Hits (one URL over and over): wrk when installed, else aiohttp. wrk is preferred
because a Python client on asyncio tops out around 4000 req/s, below what the origin
serves from the store; the aiohttp figures are then the client's.

Cold renders (a new URL every request, a few hundred requests/s at most): this
process's aiohttp client, far from its limit; and the same closed loop over threads
for raw pyvips. Both stop taking new work at a deadline or a count, whichever comes
first, and then wait for the work in flight.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp

from bench.client import REQUEST_TIMEOUT, fetch, timed_get

T = TypeVar("T")

CONNECTIONS = 16
SECONDS = 3
_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class Load:
    rate: float  # requests/s
    p50: float  # seconds
    errors: str = ""  # what went wrong, if anything did


def generator() -> str:
    """Which load generator `measure` uses, for the printout."""
    if shutil.which("wrk"):
        return f"wrk -t2 -c{CONNECTIONS} -d{SECONDS}s"
    return f"aiohttp client, {CONNECTIONS} connections, {SECONDS}s (no wrk found)"


async def measure(url: str) -> Load:
    if shutil.which("wrk"):
        return await asyncio.to_thread(wrk, url)
    return await aiohttp_load(url)


def wrk(url: str) -> Load:
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 30, check=True)
    return parse_wrk(done.stdout)


def parse_wrk(report: str) -> Load:
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.M)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", report, re.M)
    if rate is None or p50 is None:
        raise SystemExit(f"cannot read wrk's report:\n{report}")
    # wrk counts these but still reports a rate: they must not pass for hits.
    errors = re.findall(r"^\s*(Non-2xx or 3xx responses: \d+|Socket errors: .*)$", report, re.M)
    return Load(
        rate=float(rate[1]),
        p50=float(p50[1]) * _WRK_UNITS[p50[2]],
        errors="; ".join(errors),
    )


async def aiohttp_load(url: str) -> Load:
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        start = time.perf_counter()
        deadline = start + SECONDS

        async def client() -> None:
            while time.perf_counter() < deadline:
                latencies.append((await timed_get(session, url))[0])

        await asyncio.gather(*(client() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - start
    return Load(rate=len(latencies) / elapsed, p50=statistics.median(latencies))


@dataclass(frozen=True)
class Rate:
    """Completed work per second of one closed-loop run."""

    done: int  # answered 200 (HTTP), or finished (threads)
    seconds: float  # from the start to the last completion
    # By count: X-Cache of each 200 ("200" when there is none), else the failure.
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def unexpected(self, expected: str) -> dict[str, int]:
        """Outcomes other than `expected`: "MISS" from the origin (each request a new
        render), "200" from a peer."""
        return {k: n for k, n in self.outcomes.items() if k != expected}


async def cold_load(urls: Iterator[str], connections: int, seconds: float, cap: int) -> Rate:
    """`connections` clients, each GETting the next of `urls` as soon as its last answer
    is read, until `seconds` have passed or `cap` requests have started."""
    outcomes: Counter[str] = Counter()
    started = done = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        start = time.perf_counter()
        deadline, last = start + seconds, start

        async def client() -> None:
            nonlocal started, done, last
            while time.perf_counter() < deadline and started < cap:
                url = next(urls, None)
                if url is None:
                    return
                started += 1
                try:
                    _, status, cache = await fetch(session, url)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcomes[type(exc).__name__] += 1
                    continue
                if status != 200:
                    outcomes[f"HTTP {status}"] += 1
                    continue
                outcomes[cache or "200"] += 1
                done += 1
                last = time.perf_counter()

        await asyncio.gather(*(client() for _ in range(connections)))
    return Rate(done=done, seconds=last - start, outcomes=outcomes)


def thread_load(
    work: Callable[[T], object], items: Iterator[T], threads: int, seconds: float, cap: int
) -> Rate:
    """The closed loop of `cold_load` over `threads` threads calling `work(item)`."""
    lock = threading.Lock()
    done = started = 0
    start = time.perf_counter()
    deadline, last = start + seconds, start

    def worker() -> None:
        nonlocal done, started, last
        while True:
            with lock:
                item = next(items, None)
                if item is None or started >= cap or time.perf_counter() >= deadline:
                    return
                started += 1
            work(item)
            with lock:
                done += 1
                last = time.perf_counter()

    pool = [threading.Thread(target=worker, name=f"raw-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return Rate(done=done, seconds=last - start, outcomes=Counter({"200": done}))

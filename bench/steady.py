"""The steady-memory soak of issue #17, part of `make bench`: a mixed load (cold
renders of every source, and hits on stored variants) for BENCH_SOAK_SECONDS
(default 180), with the server's memory sampled throughout. The goal: at the end its
RSS is at most 1.1x what it was after the first minute (the first third of a
shortened run), i.e. memory is flat once warm.

RSS is the sum over the server's process tree (bench/rss.py), and "at" a moment is
the largest sample of the WINDOW seconds before it: RSS moves with the renders in
flight, and the largest value of a window is what a leak or fragmentation raises.
(`python -m bench.soak` is issue #18's longer soak, with hostile URLs and nginx.)
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp

from bench.client import REQUEST_TIMEOUT, fetch
from bench.cold import Workload, origin_urls
from bench.processes import Server
from bench.rss import MIB, memory, sampling
from origin.spec import OutputFormat

SECONDS = float(os.environ.get("BENCH_SOAK_SECONDS", "180"))
COLD_CONNECTIONS, HIT_CONNECTIONS = 2, 6
# Widths no cold workload asks for (they take 201-300, 300-315, 800-899), so that
# every cold request of the soak is a new variant.
WIDTHS = range(400, 700)
FORMATS = (OutputFormat.WEBP, OutputFormat.JPG, OutputFormat.AVIF)
SAMPLE_EVERY = 0.5  # seconds


@dataclass(frozen=True)
class Soak:
    seconds: float
    outcomes: dict[str, Counter[str]]  # by "cold"/"hits": X-Cache or failure, by count
    samples: list[tuple[float, int]]  # (seconds since the start, RSS bytes)

    @property
    def window(self) -> float:
        return min(10.0, self.seconds / 6)

    def rss_at(self, moment: float) -> int:
        """The largest RSS sampled in the window before `moment`."""
        return max(
            (rss for t, rss in self.samples if moment - self.window <= t <= moment), default=0
        )

    @property
    def first(self) -> float:
        """The first minute, or the first third of a shorter soak."""
        return min(60.0, self.seconds / 3)

    @property
    def after_first(self) -> int:
        return self.rss_at(self.first)

    @property
    def at_end(self) -> int:
        return self.rss_at(self.seconds)


@contextmanager
def sampled(pid: int) -> Iterator[list[tuple[float, int]]]:
    """(seconds since the start, RSS of the tree under `pid`) every SAMPLE_EVERY
    seconds while the block runs."""
    samples: list[tuple[float, int]] = []
    start = time.perf_counter()

    def record(pids: list[int]) -> None:
        samples.append((time.perf_counter() - start, sum(memory(p)[0] for p in pids)))

    with sampling(pid, record, interval=SAMPLE_EVERY):
        yield samples


async def run(server: Server, prefix: str, workloads: list[Workload]) -> Soak:
    """Cold renders of copy 0 of each workload's source at new widths, in every
    format, beside hits on the variants the workloads stored (their warm-ups)."""
    url = origin_urls(server, prefix)
    sources = list(dict.fromkeys(w.source for w in workloads))
    cold = (
        url(fmt, source, (0, width)) for width in WIDTHS for fmt in FORMATS for source in sources
    )
    hits = itertools.cycle([url(w.fmt, w.source, (0, w.widths[0])) for w in workloads])
    outcomes: dict[str, Counter[str]] = {"cold": Counter(), "hits": Counter()}
    deadline = time.perf_counter() + SECONDS

    async def client(session: aiohttp.ClientSession, urls: Iterator[str], kind: str) -> None:
        while time.perf_counter() < deadline and (next_url := next(urls, None)) is not None:
            try:
                _, status, cache = await fetch(session, next_url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcomes[kind][type(exc).__name__] += 1
                continue
            outcomes[kind][cache if status == 200 else f"HTTP {status}"] += 1

    connector = aiohttp.TCPConnector(limit=COLD_CONNECTIONS + HIT_CONNECTIONS)
    start = time.perf_counter()
    with sampled(server.pid) as samples:
        async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
            await asyncio.gather(
                *(client(session, cold, "cold") for _ in range(COLD_CONNECTIONS)),
                *(client(session, hits, "hits") for _ in range(HIT_CONNECTIONS)),
            )
    soak = Soak(time.perf_counter() - start, outcomes, samples)
    print_soak(soak)
    return soak


def print_soak(soak: Soak) -> None:
    print(
        f"soak: {soak.seconds:.0f} s of mixed load, {COLD_CONNECTIONS} connections of cold"
        f" renders and {HIT_CONNECTIONS} of hits; RSS of the server's processes"
    )
    for kind, counts in soak.outcomes.items():
        print(f"  {kind}: " + ", ".join(f"{name} {n}" for name, n in counts.most_common()))
    step = max(soak.window, soak.seconds / 6)
    marks = [step * i for i in range(1, int(soak.seconds / step) + 1)]
    print(
        f"  RSS, largest of the {soak.window:.0f} s before: "
        + ", ".join(f"{t:.0f} s {soak.rss_at(t) / MIB:.0f} MiB" for t in marks)
    )
    if failed := {
        k: n for c in soak.outcomes.values() for k, n in c.items() if k not in ("MISS", "HIT")
    }:
        print(f"  !! outcomes other than MISS and HIT: {failed}")

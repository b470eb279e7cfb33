"""Fleet style: `serve --workers N` with Redis; the herd across workers, and the
stored-variant hit rate per store and worker count."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench import load
from bench.bare import running_bare
from bench.client import fetch, fresh_connection_session, ms, session, timed_get, upload
from bench.processes import Server

HERD = 64
REFERENCE_RENDERS = 5
# Each worker's first render pays one-time costs (libvips start-up, store and database
# connections), kept out of the figures by warming every worker first: 8 new
# connections miss one of 2 workers once in 128 runs.
WARMUP_RENDERS = 8
SPEC = "w=640&fm=webp"


@dataclass(frozen=True)
class Herd:
    store: str
    renders: int
    failed: dict[int, int]  # by status
    seconds: float  # from the first request to the last answer
    one_render: float  # seconds, a cold render of the same work

    @property
    def ok(self) -> bool:
        return self.renders == 1 and not self.failed


async def herd(server: Server, data: bytes, prefix: str, store: str) -> Herd:
    """Prints the herd's outcomes and time / one cold render."""
    async with session() as admin, fresh_connection_session() as client:
        herd_url = await upload(admin, server, f"{prefix}/herd.jpg", data)
        one_render = await reference_render(admin, client, server, data, prefix)
        start = time.perf_counter()
        outcomes = await asyncio.gather(*(fetch(client, f"{herd_url}?{SPEC}") for _ in range(HERD)))
        seconds = time.perf_counter() - start

    caches = Counter(cache for _, status, cache in outcomes if status == 200)
    failed = Counter(status for _, status, _ in outcomes if status != 200)
    print(
        f"fleet herd: {HERD} concurrent first requests, one connection each; "
        f"{server.workers} workers, Redis, {store}"
    )
    print(
        f"  renders {caches['MISS']}, coalesced {caches['COALESCED']}, hits {caches['HIT']}"
        + (f", failed {dict(failed)}" if failed else "")
    )
    print(
        f"  herd {ms(seconds)} / one cold render {ms(one_render)} "
        f"(median of {REFERENCE_RENDERS}) = {seconds / one_render:.2f}"
    )
    # Where the time went: the render's own request, against the waiters' answers.
    rendered = [s for s, status, cache in outcomes if status == 200 and cache == "MISS"]
    waited = sorted(s for s, status, cache in outcomes if status == 200 and cache != "MISS")
    if rendered and waited:
        print(
            f"  the rendering request {ms(rendered[0])}; the waiters' answers: first"
            f" {ms(waited[0])}, median {ms(statistics.median(waited))}, last {ms(waited[-1])}"
        )
    return Herd(store, caches["MISS"], dict(failed), seconds, one_render)


async def reference_render(
    admin: aiohttp.ClientSession,
    client: aiohttp.ClientSession,
    server: Server,
    data: bytes,
    prefix: str,
) -> float:
    """Median seconds of one cold render of the herd's work, after warming the workers.

    The same bytes under other keys are other image ids, so other variants of the
    herd's spec that take the same render work."""
    references = [
        await upload(admin, server, f"{prefix}/reference-{i}.jpg", data)
        for i in range(REFERENCE_RENDERS)
    ]
    warmup = (f"{references[0]}?w={700 + i}&fm=webp" for i in range(WARMUP_RENDERS))
    await asyncio.gather(*(timed_get(client, url) for url in warmup))
    seconds = []
    for url in references:
        elapsed, cache = await timed_get(client, f"{url}?{SPEC}")
        assert cache == "MISS", cache
        seconds.append(elapsed)
    return statistics.median(seconds)


@dataclass(frozen=True)
class Hits:
    """Hits on one stored variant, and a bare aiohttp app's on the same bytes with as
    many processes, measured one after the other in the same run (issue #17)."""

    ours: load.Load
    bare: load.Load


async def stored_hits(server: Server, data: bytes, key: str, folder: Path) -> Hits:
    """Requests/s and p50 of hits on one stored variant, and of the bare app."""
    async with session() as client:
        url = f"{await upload(client, server, key, data)}?{SPEC}"
        await timed_get(client, url)  # renders and stores it
        _, cache = await timed_get(client, url)
        assert cache == "HIT", cache
        async with client.get(url) as response:
            body, mime = await response.read(), response.content_type
    ours = await load.measure(url)
    with running_bare(body, mime, server.workers, folder) as bare_url:
        bare = await load.measure(bare_url)
    return Hits(ours, bare)


def print_hits(stores: list[str], hits: dict[tuple[str, int], Hits]) -> None:
    """The table, then the ratios between its rows; `hits` by (store, workers)."""
    print(
        f"stored-variant hits at {load.CONNECTIONS} connections, every server on Redis, "
        f"beside a bare aiohttp app serving the same bytes (load: {load.generator()})"
    )
    print(
        f"  {'store':<12} {'workers':>7} {'req/s':>9} {'p50':>10} {'bare req/s':>11} {'ratio':>6}"
    )
    for (store, workers), result in hits.items():
        ours, bare = result.ours, result.bare
        print(
            f"  {store:<12} {workers:>7} {ours.rate:>9.0f} {ms(ours.p50):>10}"
            f" {bare.rate:>11.0f} {ours.rate / bare.rate:>5.2f}x"
        )
    print(
        "  2 workers / 1 worker: "
        + ", ".join(f"{s} {hits[s, 2].ours.rate / hits[s, 1].ours.rate:.2f}x" for s in stores)
    )
    base, other = stores
    print(
        f"  {other} / {base}: "
        + ", ".join(
            f"{w} worker{'s' if w > 1 else ''}"
            f" {hits[other, w].ours.rate / hits[base, w].ours.rate:.2f}x"
            for w in (1, 2)
        )
    )
    for (store, workers), result in hits.items():
        for name, figures in (("ours", result.ours), ("bare", result.bare)):
            if figures.errors:
                print(f"  !! {store}, {workers} workers, {name}: {figures.errors}")

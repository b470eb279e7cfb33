"""One process, filesystem store: cold render against raw pyvips, herd, stored hits."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from bench import load
from bench.client import ms, p, session, timed_get, upload
from bench.processes import Server
from bench.source import raw_render

HERD = 32
SEQUENTIAL_HITS = 200


async def run(server: Server, data: bytes, prefix: str, rounds: int) -> None:
    async with session() as client:
        url = await upload(client, server, f"{prefix}/big.jpg", data)
        one_render = await cold(client, url, data, rounds)
        await herd(client, url, one_render)
        await hits(client, f"{url}?w=800&fm=webp", one_render)


async def cold(client: aiohttp.ClientSession, url: str, data: bytes, rounds: int) -> float:
    """Median seconds of a cold render over HTTP; prints it against raw pyvips."""
    await timed_get(client, f"{url}?w=700&fm=webp")  # warm both paths
    await asyncio.to_thread(raw_render, data, 700)

    origin_times, raw_times = [], []
    # Interleaved, so that both see the same machine state; every width is a new variant.
    for i in range(rounds):
        seconds, cache = await timed_get(client, f"{url}?w={800 + i}&fm=webp")
        assert cache == "MISS"
        origin_times.append(seconds)
        start = time.perf_counter()
        await asyncio.to_thread(raw_render, data, 800 + i)
        raw_times.append(time.perf_counter() - start)
    o50, r50 = statistics.median(origin_times), statistics.median(raw_times)
    print(f"cold render 6000x4000 JPEG -> 800px WebP, sequential, {rounds} rounds")
    print(f"  origin over HTTP   p50 {ms(o50)}  p95 {ms(p(origin_times, 0.95))}")
    print(f"  raw pyvips         p50 {ms(r50)}  p95 {ms(p(raw_times, 0.95))}")
    print(f"  ratio origin/raw   p50 {o50 / r50:.3f}")
    return o50


async def herd(client: aiohttp.ClientSession, url: str, one_render: float) -> None:
    outcomes = await asyncio.gather(
        *(timed_get(client, f"{url}?w=640&fm=webp") for _ in range(HERD))
    )
    total = max(s for s, _ in outcomes)
    caches = [c for _, c in outcomes]
    print(f"herd: {HERD} concurrent first requests for one variant")
    print(
        f"  renders {caches.count('MISS')}, coalesced {caches.count('COALESCED')}, "
        f"hits {caches.count('HIT')}; herd time / one render {total / one_render:.2f}"
    )


async def hits(client: aiohttp.ClientSession, hit_url: str, one_render: float) -> None:
    sequential = [(await timed_get(client, hit_url))[0] for _ in range(SEQUENTIAL_HITS)]
    concurrent = await load.measure(hit_url)
    print(f"stored-variant hits (filesystem store, one process; load: {load.generator()})")
    print(
        f"  sequential p50 {ms(statistics.median(sequential))}; "
        f"{load.CONNECTIONS} concurrent {concurrent.rate:.0f} req/s"
        f" ({concurrent.rate * one_render:.0f}x a cold render's rate)"
    )

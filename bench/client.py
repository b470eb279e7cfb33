"""HTTP helpers for the load this process generates, and number formatting."""

from __future__ import annotations

import time

import aiohttp

from bench.processes import Server

# Every request of the bench has a deadline; a cold render of the source takes ~1 s.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=120)


def session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)


def fresh_connection_session() -> aiohttp.ClientSession:
    """Every request on a connection of its own, none reused, no limit on how many at
    once: with SO_REUSEPORT the kernel spreads new connections over the workers."""
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    return aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT)


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[float, int, str]:
    """(seconds, status, X-Cache) of one GET, body read."""
    start = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        return time.perf_counter() - start, response.status, response.headers.get("X-Cache", "")


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, str]:
    seconds, status, cache = await fetch(session, url)
    assert status == 200, (url, status)
    return seconds, cache


async def upload(
    session: aiohttp.ClientSession,
    server: Server,
    key: str,
    data: bytes,
    mime: str = "image/jpeg",
) -> str:
    """Upload and activate `data` as `key` in the demo library; its origin URL."""
    async with session.post(
        f"{server.admin}/v1/libraries/demo/images?key={key}&activate=true",
        data=data,
        headers={"Authorization": f"Bearer {server.key}", "Content-Type": mime},
    ) as response:
        assert response.status == 201, await response.text()
    return f"{server.origin}/demo/{key}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

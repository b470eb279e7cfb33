"""Closed-loop load at a fixed number of connections: wrk when installed, else aiohttp.

wrk is preferred because a Python client on asyncio tops out around 4000 req/s, below
what the origin serves from the store; the aiohttp figures are then the client's.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

import aiohttp

from bench.client import REQUEST_TIMEOUT, timed_get

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

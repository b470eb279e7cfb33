"""Benchmarks, printed as ratios measured side by side in one run.

1. Cold render, 6000x4000 JPEG -> 800 px WebP: the origin over HTTP (every request a
   new width, so a new variant) against raw in-process pyvips on the same bytes,
   interleaved so both see the same machine state.
2. Herd: 32 concurrent first requests for one variant: renders, and time / one render.
3. Stored-variant hits: sequential latency and requests/s at 16 concurrent.

The server runs as `imgorigin serve` in its own process on 127.0.0.1 (embedded
PostgreSQL unless IMGORIGIN_DATABASE_URL is set); this process is the load generator.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import pyvips

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))


def source_jpeg(width: int = 6000, height: int = 4000) -> bytes:
    """A photo-like JPEG: gradient plus noise, so it compresses like a real photo."""
    xyz = pyvips.Image.xyz(width, height)
    base = (xyz[0] * (200 / width)).bandjoin([xyz[1] * (200 / height), xyz[0] * 0 + 90])
    noise = pyvips.Image.gaussnoise(width, height, sigma=18, mean=0)
    image = (base + noise).cast("uchar").copy(interpretation="srgb")
    return bytes(image.jpegsave_buffer(Q=85))


def raw_render(data: bytes, width: int) -> bytes:
    return bytes(pyvips.Image.thumbnail_buffer(data, width).write_to_buffer(".webp"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str, str, str]:
    origin_port, admin_port = free_port(), free_port()
    env = {**os.environ, "IMGORIGIN_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imgorigin",
            "serve",
            "--demo",
            "--data-dir",
            str(data_dir),
            "--origin-port",
            str(origin_port),
            "--admin-port",
            str(admin_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    key = ""
    while not key.startswith("io_"):
        line = process.stdout.readline()
        if not line:
            raise SystemExit("imgorigin serve did not start")
        key = line.strip()
    return process, f"http://127.0.0.1:{origin_port}", f"http://127.0.0.1:{admin_port}", key


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, str]:
    start = time.perf_counter()
    async with session.get(url) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
        return time.perf_counter() - start, response.headers["X-Cache"]


async def run(data: bytes, origin: str, admin: str, key: str) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        async with session.post(
            f"{admin}/v1/libraries/demo/images?key=bench/big.jpg&activate=true",
            data=data,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "image/jpeg"},
        ) as response:
            assert response.status == 201, await response.text()
        url = f"{origin}/demo/bench/big.jpg"
        await timed_get(session, f"{url}?w=700&fm=webp")  # warm both paths
        await asyncio.to_thread(raw_render, data, 700)

        origin_times, raw_times = [], []
        for i in range(ROUNDS):
            seconds, cache = await timed_get(session, f"{url}?w={800 + i}&fm=webp")
            assert cache == "MISS"
            origin_times.append(seconds)
            start = time.perf_counter()
            await asyncio.to_thread(raw_render, data, 800 + i)
            raw_times.append(time.perf_counter() - start)
        o50, r50 = statistics.median(origin_times), statistics.median(raw_times)
        print(f"cold render 6000x4000 JPEG -> 800px WebP, sequential, {ROUNDS} rounds")
        print(f"  origin over HTTP   p50 {ms(o50)}  p95 {ms(p(origin_times, 0.95))}")
        print(f"  raw pyvips         p50 {ms(r50)}  p95 {ms(p(raw_times, 0.95))}")
        print(f"  ratio origin/raw   p50 {o50 / r50:.3f}")

        herd = await asyncio.gather(
            *(timed_get(session, f"{url}?w=640&fm=webp") for _ in range(32))
        )
        total = max(s for s, _ in herd)
        outcomes = [c for _, c in herd]
        print("herd: 32 concurrent first requests for one variant")
        print(
            f"  renders {outcomes.count('MISS')}, coalesced {outcomes.count('COALESCED')}, "
            f"hits {outcomes.count('HIT')}; herd time / one render {total / o50:.2f}"
        )

        hit_url = f"{url}?w=800&fm=webp"
        hits = [(await timed_get(session, hit_url))[0] for _ in range(200)]
        start = time.perf_counter()
        count = 0

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() - start < 3:
                await timed_get(session, hit_url)
                count += 1

        await asyncio.gather(*(worker() for _ in range(16)))
        rate = count / (time.perf_counter() - start)
        print("stored-variant hits (filesystem store, one process)")
        print(
            f"  sequential p50 {ms(statistics.median(hits))}; 16 concurrent {rate:.0f} req/s"
            f" ({rate * o50:.0f}x a cold render's rate)"
        )


def main() -> None:
    version = ".".join(str(pyvips.version(i)) for i in range(3))
    print(f"libvips {version}, {os.cpu_count()} cores")
    data = source_jpeg()
    print(f"source: 6000x4000 JPEG, {len(data) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="imgorigin-bench-") as tmp:
        process, origin, admin, key = start_server(Path(tmp))
        try:
            asyncio.run(run(data, origin, admin, key))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


if __name__ == "__main__":
    main()

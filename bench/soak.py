"""A soak (issue #18): 32 connections for ten minutes mixing cold renders, hits, cache
busters and hostile URLs, through nginx and straight at the origin. It prints what
came back, the server's memory over time and the rows of `served_uris`, and says
whether the run held: no 5xx but the documented 503s, memory flat, `served_uris`
within its cap.

    IMGORIGIN_DATABASE_URL=postgresql://... python -m bench.soak [--seconds 600]

It needs a PostgreSQL of its own (the rows it counts are the whole database's: use an
empty one) and nginx with the cache-purge module (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from bench.client import session
from bench.processes import Server, running_server, server_env
from bench.rss import descendants, machine_state, memory
from tests.images import jpeg, png_with_alpha
from tests.nginxserver import Nginx, nginx_binary

CAP = 100  # IMGORIGIN_NGINX_URIS_PER_IMAGE, the default
SAMPLE_EVERY = 10.0  # seconds between memory and served_uris samples
DOCUMENTED_503 = frozenset(
    {"overloaded", "render_timeout", "render_busy", "store_unavailable", "catalog_unavailable"}
)
IMAGES = {
    "soak/photo.jpg": lambda: jpeg(2400, 1600),
    "soak/small.jpg": lambda: jpeg(800, 600),
    "soak/alpha.png": lambda: png_with_alpha(900, 600),
}
HOT = [f"/demo/{key}?w={w}&fm={fm}" for key in IMAGES for w in (200, 400) for fm in ("webp", "jpg")]
# Each is a client's mistake or an attack: a 4xx, never a 5xx.
HOSTILE = [
    "/demo/soak/photo.jpg?w=99999",
    "/demo/soak/photo.jpg?w=8192&h=8192&fit=scale",
    "/demo/soak/photo.jpg?fm=bmp",
    "/demo/soak/photo.jpg?w=100&w=200",
    "/demo/soak/photo.jpg?" + "&".join(f"x{i}=1" for i in range(60)),
    "/demo/soak/photo.jpg?rect=99999,0,10,10",
    "/demo/soak/photo.jpg?w=%ff",
    "/demo/soak/photo.jpg?expires=1&s=abc",
    "/demo/../etc/passwd",
    "/demo/soak/%2e%2e/%2e%2e/etc/passwd",
    "/demo/no-such.jpg?w=100",
    "/nolibrary/soak/photo.jpg?w=100",
    "/insecure/w:100/plain/demo/soak/photo.jpg?cb=1",
    "/insecure/w:100/plain/http://example.com/a.jpg",
    "/insecure/w:100/!!!not-base64",
    "/cdn-cgi/image/width=100,trim=1/demo/soak/photo.jpg",
    "/_ipx/w_100/demo/soak/photo.jpg?v=2",
    "/_ipx/w_10/../../etc/passwd",
    "/" + "a/" * 500 + "x.jpg",
]


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)  # (kind, status)
    server_errors: Counter[str] = field(default_factory=Counter)  # 5xx by code
    failures: Counter[str] = field(default_factory=Counter)  # no answer at all
    requests: int = 0


async def request(client: aiohttp.ClientSession, url: str, kind: str, tally: Tally) -> None:
    try:
        async with client.get(url) as response:
            await response.read()
            tally.statuses[(kind, response.status)] += 1
            if response.status >= 500:
                code = "?"
                if response.content_type == "application/json":
                    code = (await response.json()).get("error", {}).get("code", "?")
                tally.server_errors[f"{response.status} {code}"] += 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.failures[f"{kind}: {type(exc).__name__}"] += 1
    tally.requests += 1


def pick(front: str, origin: str, rng: random.Random) -> tuple[str, str]:
    """One request of the mix: (kind, URL)."""
    base = front if rng.random() < 0.7 else origin  # most traffic comes through nginx
    roll = rng.random()
    key = rng.choice(list(IMAGES))
    if roll < 0.35:
        return "hit", base + rng.choice(HOT)
    if roll < 0.5:  # a width nobody asked for yet: a render
        fm = rng.choice(("webp", "jpg", "avif", "png"))
        return "cold", f"{base}/demo/{key}?w={rng.randint(40, 1200)}&fm={fm}"
    if roll < 0.8:  # one variant under endless URIs
        buster = rng.choice(
            (
                f"w=200&fm=webp&ixlib=js-{rng.random()}",
                f"fm=webp&w=200&ixlib=py-{rng.random()}",
                f"w=0200&fm=webp&ixlib=x{rng.randint(0, 1 << 30)}",
            )
        )
        return "buster", f"{base}/demo/{key}?{buster}"
    return "hostile", base + rng.choice(HOSTILE)


async def load(front: str, origin: str, seconds: float, connections: int, tally: Tally) -> None:
    deadline = time.monotonic() + seconds

    async def connection(index: int) -> None:
        rng = random.Random(index)
        async with session() as client:
            while time.monotonic() < deadline:
                kind, url = pick(front, origin, rng)
                await request(client, url, kind, tally)

    await asyncio.gather(*(connection(i) for i in range(connections)))


@dataclass
class Sample:
    at: float
    rss_mib: float
    pss_mib: float
    rows: int
    most_a_key: int


async def sampler(pid: int, database: str, start: float, out: list[Sample]) -> None:
    connection = await asyncpg.connect(database)
    try:
        while True:
            figures = [memory(p) for p in descendants(pid)]
            total, most = await connection.fetchrow(
                "SELECT coalesce(sum(n), 0), coalesce(max(n), 0) FROM"
                " (SELECT count(*) AS n FROM served_uris GROUP BY library_id, key) k"
            )
            out.append(
                Sample(
                    time.monotonic() - start,
                    sum(r for r, _ in figures) / 2**20,
                    sum(p for _, p in figures) / 2**20,
                    int(total),
                    int(most),
                )
            )
            await asyncio.sleep(SAMPLE_EVERY)
    finally:
        await connection.close()


async def soak(
    server: Server, front: Nginx, database: str, seconds: float, connections: int
) -> bool:
    async with session() as client:
        for key, make in IMAGES.items():
            async with client.post(
                f"{server.admin}/v1/libraries/demo/images?key={key}&activate=true",
                data=make(),
                headers={"Authorization": f"Bearer {server.key}"},
            ) as response:
                assert response.status == 201, await response.text()
    tally, samples = Tally(), list[Sample]()
    start = time.monotonic()
    watching = asyncio.create_task(sampler(server.pid, database, start, samples))
    try:
        await load(front.url, server.origin, seconds, connections, tally)
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    elapsed = time.monotonic() - start
    async with (
        session() as client,
        client.post(
            f"{server.admin}/v1/purge",
            json={"library": "demo"},
            headers={"Authorization": f"Bearer {server.key}"},
        ) as response,
    ):
        purge = await response.json()
    return report(tally, samples, elapsed, connections, purge)


def report(
    tally: Tally, samples: list[Sample], elapsed: float, connections: int, purge: dict
) -> bool:
    print(
        f"{tally.requests} requests in {elapsed:.0f} s at {connections} connections "
        f"({tally.requests / elapsed:.0f} req/s)"
    )
    for kind in ("hit", "cold", "buster", "hostile"):
        line = ", ".join(
            f"{status}: {n}" for (k, status), n in sorted(tally.statuses.items()) if k == kind
        )
        print(f"  {kind:<8} {line}")
    print(f"  5xx by code: {dict(tally.server_errors) or 'none'}")
    print(f"  no answer:   {dict(tally.failures) or 'none'}")
    print("  t (s)   RSS MiB   PSS MiB   served_uris   most for one key")
    for s in samples:
        print(
            f"  {s.at:5.0f}   {s.rss_mib:7.0f}   {s.pss_mib:7.0f}"
            f"   {s.rows:11d}   {s.most_a_key:7d}"
        )
    print(f"  purge of the library: {purge.get('hooks', {}).get('nginx')}")
    undocumented = {
        code: n
        for code, n in tally.server_errors.items()
        if not (code.startswith("503 ") and code[4:] in DOCUMENTED_503)
    }
    # Flat: the last third's mean within 15% of the middle third's (the first third warms up).
    third = max(1, len(samples) // 3)
    middle = statistics.mean(s.pss_mib for s in samples[third : 2 * third] or samples)
    last = statistics.mean(s.pss_mib for s in samples[2 * third :] or samples)
    flat = last <= middle * 1.15
    bounded = all(s.most_a_key <= CAP for s in samples) and all(
        s.rows <= CAP * len(IMAGES) for s in samples
    )
    held = not undocumented and not tally.failures and flat and bounded
    print(
        f"  undocumented 5xx: {undocumented or 'none'}; no answer: {sum(tally.failures.values())}"
    )
    print(
        f"  memory: middle third {middle:.0f} MiB PSS, last third {last:.0f} MiB PSS: "
        f"{'flat' if flat else 'GROWING'}"
    )
    print(f"  served_uris within {CAP} a key: {'yes' if bounded else 'NO'}")
    print(f"soak {'held' if held else 'FAILED'}")
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    database = os.environ.get("IMGORIGIN_DATABASE_URL")
    if not database:
        raise SystemExit("set IMGORIGIN_DATABASE_URL to an empty PostgreSQL database")
    if nginx_binary() is None:
        raise SystemExit("nginx with the cache-purge module is not installed")
    print(machine_state())
    with tempfile.TemporaryDirectory(prefix="imgorigin-soak-") as folder:
        front = Nginx(Path(folder) / "nginx", upstreams=())
        env = server_env(IMGORIGIN_NGINX_PURGE_URLS=front.purge_url)
        with running_server(Path(folder) / "data", env, args.workers) as server:
            front.upstreams = (urlsplit(server.origin).netloc,)
            front.start()
            try:
                held = asyncio.run(soak(server, front, database, args.seconds, args.connections))
            finally:
                front.stop()
    raise SystemExit(0 if held else 1)


if __name__ == "__main__":
    main()

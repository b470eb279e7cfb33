"""nginx in front: requests/s for a variant nginx has cached, against the same nginx
serving the same bytes as a static file, both at 16 connections, interleaved."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench import load
from bench.client import session, upload
from bench.processes import Server, free_port
from tests.nginxserver import Nginx, nginx_binary

ROUNDS = 3
SPEC = "w=800&fm=webp"


@dataclass
class FrontAndStatic(Nginx):
    """The project's nginx front, plus one more server block in the same nginx serving
    the static copy: same binary, workers and http settings, so the ratio is the cache's
    cost alone."""

    static_port: int = field(default_factory=free_port)

    @property
    def static_url(self) -> str:
        return f"http://127.0.0.1:{self.static_port}"

    def config(self) -> Path:
        path = super().config()
        text = path.read_text()
        static = (
            f"    server {{ listen 127.0.0.1:{self.static_port}; root {self.folder}/static;"
            " types { image/webp webp; } }\n"
        )
        end = text.rindex("}")  # the http block's closing brace
        path.write_text(text[:end] + static + text[end:])
        return path


def run(server: Server, data: bytes, key: str, folder: Path) -> dict[str, load.Load] | None:
    """The best "cached" and "static" rates; None when nginx is not installed."""
    if nginx_binary() is None:
        print("nginx: not installed (make bench installs it); skipped")
        return None
    origin = urlsplit(server.origin).netloc
    front = FrontAndStatic(folder / "front", upstreams=(origin,)).start()
    try:
        body = asyncio.run(cached_variant(server, front, data, key))
        (front.folder / "static").mkdir()
        (front.folder / "static" / "variant.webp").write_bytes(body)
        rates: dict[str, list[load.Load]] = {"static": [], "cached": []}
        for _ in range(ROUNDS):
            rates["static"].append(asyncio.run(load.measure(f"{front.static_url}/variant.webp")))
            rates["cached"].append(asyncio.run(load.measure(f"{front.url}/demo/{key}?{SPEC}")))
    finally:
        front.stop()
    best = {name: max(results, key=lambda r: r.rate) for name, results in rates.items()}
    print(
        f"nginx in front ({len(body)} B WebP, {load.CONNECTIONS} connections, "
        f"best of {ROUNDS} interleaved runs; load: {load.generator()})"
    )
    for name, result in best.items():
        print(f"  {name:<7} {result.rate:>9.0f} req/s")
    print(f"  cached / static = {best['cached'].rate / best['static'].rate:.2f}")
    for name, results in rates.items():
        for result in results:
            if result.errors:
                print(f"  !! {name}: {result.errors}")
    return best


async def cached_variant(server: Server, front: Nginx, data: bytes, key: str) -> bytes:
    """The variant's bytes once nginx has it cached."""
    async with session() as client:
        await upload(client, server, key, data)
        url = f"{front.url}/demo/{key}?{SPEC}"
        for expected in ("MISS", "HIT"):
            async with client.get(url) as response:
                assert response.status == 200, response.status
                assert response.headers["X-Cache-Status"] == expected
                body = await response.read()
    return body

"""nginx in front: requests/s for a variant nginx has cached, against the same nginx
serving the same bytes as a static file, both at 16 connections, interleaved."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from urllib.parse import urlsplit

from bench import load
from bench.client import session, upload
from bench.processes import Server
from tests.nginxserver import Nginx, nginx_binary

ROUNDS = 3
SPEC = "w=800&fm=webp"


STATIC = """\
user {user};
worker_processes auto;
pid {folder}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    client_body_temp_path {folder}/body_temp;
    proxy_temp_path {folder}/proxy_temp;
    fastcgi_temp_path {folder}/fastcgi_temp;
    uwsgi_temp_path {folder}/uwsgi_temp;
    scgi_temp_path {folder}/scgi_temp;
    types {{ image/webp webp; }}
    server {{ listen 127.0.0.1:{port}; root {folder}/static; }}
}}
"""


class StaticNginx(Nginx):
    """The same nginx, workers and socket settings as the front, serving files."""

    def config(self) -> Path:
        path = self.folder / "nginx.conf"
        path.write_text(STATIC.format(user=getpass.getuser(), folder=self.folder, port=self.port))
        return path


def run(server: Server, data: bytes, key: str, folder: Path) -> None:
    if nginx_binary() is None:
        print("nginx: not installed (make bench installs it); skipped")
        return
    origin = urlsplit(server.origin).netloc
    front = Nginx(folder / "front", upstreams=(origin,)).start()
    static = StaticNginx(folder / "static-nginx", upstreams=())
    try:
        body = asyncio.run(cached_variant(server, front, data, key))
        (static.folder / "static").mkdir(parents=True)
        (static.folder / "static" / "variant.webp").write_bytes(body)
        static.start()
        rates: dict[str, list[load.Load]] = {"static": [], "cached": []}
        for _ in range(ROUNDS):
            rates["static"].append(asyncio.run(load.measure(f"{static.url}/variant.webp")))
            rates["cached"].append(asyncio.run(load.measure(f"{front.url}/demo/{key}?{SPEC}")))
    finally:
        front.stop()
        static.stop()
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

"""The reference for direct hits (issue #17): a bare aiohttp app that answers every
GET with the same bytes, in N processes sharing a port as the origin's workers do.
What it serves is the practical limit of a Python origin on this machine.

    python -m bench.bare FILE MIME PORT WORKERS
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from bench.processes import free_port, running_process


def serve(body: bytes, mime: str, port: int) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=mime)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


@contextmanager
def running_bare(body: bytes, mime: str, workers: int, folder: Path) -> Iterator[str]:
    """The URL of the bare app serving `body` in `workers` processes, for the block."""
    path = folder / "bare-body"
    path.write_bytes(body)
    port = free_port()
    command = [sys.executable, "-m", "bench.bare", str(path), mime, str(port), str(workers)]
    url = f"http://127.0.0.1:{port}/"
    with running_process("bare aiohttp", command, url, folder / "bare.log"):
        yield url


def main() -> None:
    path, mime, port, workers = sys.argv[1:]
    body = Path(path).read_bytes()
    processes = [
        multiprocessing.Process(target=serve, args=(body, mime, int(port)))
        for _ in range(int(workers))
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main()

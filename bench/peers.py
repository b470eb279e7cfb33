"""`make bench-peers`: thumbor and ipx on workloads 1, 2 and 5 of the suite, in one
run with our origin and raw pyvips, and our ratio to each.

The peers are installed outside the repo, in ${XDG_CACHE_HOME:-~/.cache}/
imgorigin-bench-peers (kept between runs): thumbor from PyPI into a venv of its own,
ipx from npm. A peer whose install or first render fails is skipped, with the reason.

- ours: `imgorigin serve`, one process (its render pool one thread per core),
  filesystem store, embedded PostgreSQL; the sources uploaded to the demo library.
- thumbor: `--processes 2` (one per core: its renders run on the event loop), the
  file loader over a folder of the sources, no storage and no result storage (its
  defaults cache nothing either), PIL engine, QUALITY 75 (our default quality).
- ipx: its CLI (`ipx serve --dir`), one node process (sharp renders on libuv's pool
  of 4 threads), the same folder; `q_75`. ipx keeps no results.
- raw pyvips: this process, as in `make bench`.

Each asks for the same variants: a new (copy, width) per request, the copies being
other names (or image ids) for the same bytes, so no cache anywhere can answer. Every
server binds 127.0.0.1, and every load is bounded by BENCH_SECONDS and a count.
Encoders differ beyond the quality number (thumbor: Pillow's libwebp and libjpeg;
ipx: sharp's libvips with mozjpeg off), so bytes are printed alongside.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import cold
from bench.client import session
from bench.processes import Server, free_port, running_process, running_server, server_env
from bench.rss import MIB, machine_state
from bench.source import BIG, SMALL, configure_libvips, libvips_version, source_jpeg
from bench.summary import Row, print_table, ratio_at_least
from bench.targets import Http, Pair, Raw, Target
from origin.spec import OutputFormat

THUMBOR = "thumbor==7.8.*"
IPX = "ipx@3"
INSTALL_TIMEOUT = 900  # seconds, each
OURS, THUMBOR_NAME, IPX_NAME, RAW = "ours", "thumbor", "ipx", "raw pyvips"
QUALITY = 75  # origin.spec.DEFAULT_QUALITY, asked of the peers explicitly
WORKLOADS = {
    "webp": cold.big(OutputFormat.WEBP, (4, 16), memory_at=16),
    "jpg": cold.big(OutputFormat.JPG, (4,), memory_at=None),
    "small": cold.small(16),
}
# A peer's name for each format, in its URLs.
PEER_FORMAT = {OutputFormat.WEBP: "webp", OutputFormat.JPG: "jpeg"}


def scratch() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "imgorigin-bench-peers"


def run_step(command: list[str], what: str, cwd: Path | None = None) -> str | None:
    """Run one install step; None when it worked, else why it did not."""
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{what}: {exc}"
    if done.returncode != 0:
        return f"{what} exited with {done.returncode}:\n{(done.stdout + done.stderr)[-2000:]}"
    return None


def install_thumbor(root: Path) -> tuple[Path | None, str]:
    """(thumbor's executable, its version), or (None, why not)."""
    venv = root / "thumbor-venv"
    thumbor = venv / "bin" / "thumbor"
    if not thumbor.exists():
        print(f"installing {THUMBOR} into {venv}")
        for step, what in (
            ([sys.executable, "-m", "venv", "--clear", str(venv)], "python -m venv"),
            ([str(venv / "bin" / "pip"), "install", "--quiet", THUMBOR], f"pip install {THUMBOR}"),
        ):
            if (error := run_step(step, what)) is not None:
                return None, error
    try:
        version = subprocess.run(
            [str(thumbor), "--version"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"thumbor --version: {exc}"
    return thumbor, version


def install_ipx(root: Path) -> tuple[Path | None, str]:
    """(ipx's CLI script, its and sharp's versions), or (None, why not)."""
    prefix = root / "ipx"
    cli = prefix / "node_modules" / "ipx" / "bin" / "ipx.mjs"
    if not cli.exists():
        print(f"installing {IPX} into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", IPX]
        if (error := run_step(command, f"npm install {IPX}")) is not None:
            return None, error
    modules = prefix / "node_modules"
    try:
        versions = [
            f"{name} {json.loads((modules / name / 'package.json').read_text())['version']}"
            for name in ("ipx", "sharp")
        ]
    except (OSError, ValueError, KeyError) as exc:
        return None, f"reading ipx's version: {exc}"
    return cli, ", ".join(versions)


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    url: Callable[[OutputFormat, str, Pair], str]  # (format, source, pair) -> URL
    pid: int


def thumbor_url(base: str) -> Callable[[OutputFormat, str, Pair], str]:
    def url(fmt: OutputFormat, source: str, pair: Pair) -> str:
        copy, width = pair
        return f"{base}/unsafe/{width}x0/filters:format({PEER_FORMAT[fmt]})/{source}-{copy}.jpg"

    return url


def ipx_url(base: str) -> Callable[[OutputFormat, str, Pair], str]:
    def url(fmt: OutputFormat, source: str, pair: Pair) -> str:
        copy, width = pair
        return f"{base}/w_{width},f_{PEER_FORMAT[fmt]},q_{QUALITY}/{source}-{copy}.jpg"

    return url


@contextmanager
def thumbor_server(executable: Path, version: str, images: Path, folder: Path) -> Iterator[Peer]:
    config = folder / "thumbor.conf"
    config.write_text(
        "LOADER = 'thumbor.loaders.file_loader'\n"
        f"FILE_LOADER_ROOT_PATH = {str(images)!r}\n"
        "STORAGE = 'thumbor.storages.no_storage'\n"
        "RESULT_STORAGE = None\n"
        f"QUALITY = {QUALITY}\n"
    )
    port = free_port()
    command = [str(executable), "-i", "127.0.0.1", "-p", str(port), "-c", str(config)]
    command += ["--processes", "2", "-l", "warning"]
    base = f"http://127.0.0.1:{port}"
    log = folder / "thumbor.log"
    with running_process("thumbor", command, f"{base}/healthcheck", log) as pid:
        yield Peer(THUMBOR_NAME, version, thumbor_url(base), pid)


@contextmanager
def ipx_server(cli: Path, version: str, images: Path, folder: Path) -> Iterator[Peer]:
    port = free_port()
    command = ["node", str(cli), "serve", "--dir", str(images)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    # Its only answer without an image is an error document: that means it is up.
    with running_process("ipx", command, f"{base}/_/x", folder / "ipx.log") as pid:
        yield Peer(IPX_NAME, version, ipx_url(base), pid)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    configure_libvips()
    root = scratch()
    root.mkdir(parents=True, exist_ok=True)
    installs = {THUMBOR_NAME: install_thumbor(root), IPX_NAME: install_ipx(root)}
    for name, (path, detail) in installs.items():
        if path is None:
            print(f"!! {name} skipped: its install failed\n{detail}")
    print(f"libvips {libvips_version()}; {machine_state()}")
    sources = {"big": source_jpeg(*BIG), "small": source_jpeg(*SMALL)}
    prefix = f"peers-{secrets.token_hex(4)}"
    copies = cold.copies_needed(WORKLOADS.values())
    with tempfile.TemporaryDirectory(prefix="imgorigin-peers-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        images = folder / "images"
        images.mkdir()
        for source, count in copies.items():
            (images / f"{source}-0.jpg").write_bytes(sources[source])
            for copy in range(1, count):  # other names for the same bytes
                os.link(images / f"{source}-0.jpg", images / f"{source}-{copy}.jpg")
        local = server_env(IMGORIGIN_STORAGE_URL="", IMGORIGIN_REDIS_URL="")
        server = stack.enter_context(running_server(folder / "data", local))
        peers = []
        for name, starter in ((THUMBOR_NAME, thumbor_server), (IPX_NAME, ipx_server)):
            path, version = installs[name]
            if path is None:
                continue
            try:
                peers.append(stack.enter_context(starter(path, version, images, folder)))
            except SystemExit as exc:  # did not start: the others still run
                print(f"!! {name} skipped: {exc}")
        print(f"{OURS}: imgorigin serve, 1 process")
        for peer in peers:
            print(f"{peer.name}: {peer.version}")
        results = asyncio.run(run_all(server, peers, sources, prefix))
    print(f"at the end: {machine_state()}")
    print()
    print_table("ours against the peers (same run)", rows(results, [p.name for p in peers]))


async def run_all(
    server: Server, peers: list[Peer], sources: dict[str, bytes], prefix: str
) -> dict[str, dict[str, cold.Figures]]:
    await cold.upload_copies(server, sources, prefix, WORKLOADS.values())
    working = [p for p in peers if await first_render(p)]
    results = {}
    for name, workload in WORKLOADS.items():
        targets: list[Target] = [cold.origin_target(OURS, server, prefix, workload)]
        for peer in working:
            url = functools.partial(peer.url, workload.fmt, workload.source)
            targets.append(Http(peer.name, url, peer.pid, expected="200"))
        targets.append(Raw(RAW, sources[workload.source], workload.fmt))
        results[name] = await cold.run(workload, targets, cold.ROUNDS, cold.SECONDS)
    return results


async def first_render(peer: Peer) -> bool:
    """Whether the peer renders at all (sharp's binary, thumbor's engine); says why not."""
    url = peer.url(OutputFormat.WEBP, "small", (0, 300))
    async with session() as client, client.get(url) as response:
        body = await response.read()
        if response.status == 200 and response.content_type == "image/webp":
            return True
        print(f"!! {peer.name} skipped: {url} answered {response.status}: {body[:300]!r}")
        return False


def rows(results: dict[str, dict[str, cold.Figures]], peers: list[str]) -> list[Row]:
    """Our figures against each peer's (and raw pyvips'): ratio = ours / theirs, so
    above 1 is better for rates and below 1 is better for times and memory."""
    table: list[Row] = []
    for other in [*peers, RAW]:
        for name, workload in WORKLOADS.items():
            ours, theirs = results[name][OURS], results[name][other]
            label = f"{'small ' if workload.source == 'small' else ''}{workload.fmt.value}"
            if workload.sequential:
                table.append(Row(f"{label} seq p50 vs {other}", ours.p50, "ms", other, theirs.p50))
            for c in workload.connections:
                # Issue #8: cold 24 MP renders at 4 connections, 1.3x thumbor's rate.
                big_at_4 = workload.source == "big" and c == 4
                goal = ratio_at_least(1.3) if other == THUMBOR_NAME and big_at_4 else None
                table.append(
                    Row(
                        f"{label} {c} conn vs {other}",
                        ours.rates[c].rate,
                        "req/s",
                        other,
                        theirs.rates[c].rate,
                        goal,
                    )
                )
            c = workload.connections[0]
            table.append(
                Row(
                    f"{label} CPU/render, {c} conn, vs {other}",
                    ours.cpu_per_render(c),
                    "ms",
                    other,
                    theirs.cpu_per_render(c),
                )
            )
            if workload.memory_at is not None and ours.peak and theirs.peak:
                table.append(
                    Row(
                        f"{label} {workload.memory_at} conn peak RSS vs {other}",
                        ours.peak.rss / MIB,
                        "MiB",
                        other,
                        theirs.peak.rss / MIB,
                    )
                )
    return table


if __name__ == "__main__":
    main()

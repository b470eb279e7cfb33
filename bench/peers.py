"""`make bench-peers`: thumbor and ipx on the cold-render workloads of the suite (the
generated 24 MP and small sources, and the real photos of bench.source.PHOTOS), in one
run with our origin and raw pyvips; then the goals of issue #17: in every cell our rate
at least 1.2x the best peer's and our CPU a render no more than the cheapest peer's,
and, per output format, our bytes no more at no lower SSIM than each peer's.

The peers are installed outside the repo, in ${XDG_CACHE_HOME:-~/.cache}/
imgorigin-bench-peers (kept between runs): thumbor from PyPI into a venv of its own,
ipx from npm. A peer whose install or first render fails is skipped, with the reason.

- ours: `imgorigin serve` as a user starts it (a worker per available CPU),
  filesystem store, embedded PostgreSQL; the sources uploaded to the demo library.
- thumbor: `--processes 2` (one per core: its renders run on the event loop), the
  file loader over a folder of the sources, no storage and no result storage (its
  defaults cache nothing either), PIL engine, QUALITY 75 (our default quality).
- ipx: its CLI (`ipx serve --dir`), one node process (sharp renders on libuv's pool
  of 4 threads), the same folder; `q_75`. ipx keeps no results.
- raw pyvips: this process, as in `make bench`.

Each asks for the same variants: a new (copy, width) per request, the copies being
other names (or image ids) for the same bytes, so no cache anywhere can answer. Every
server binds 127.0.0.1, and every load is bounded by BENCH_SECONDS and a count. A
peer runs a workload only if its first render of it answers the format asked for
(neither reads HEIC as installed: thumbor lacks pillow-heif, sharp's prebuilt libvips
lacks HEVC); otherwise that cell is skipped, and the reason printed. Encoders differ
beyond the quality number (thumbor: Pillow's libwebp, libjpeg and libavif; ipx:
sharp's libvips with mozjpeg off), so bytes and SSIM are compared at the end: each
photo at w=800 in each format, SSIM of the luma against a Lanczos resize of the
original (bench/fidelity.py).
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

from bench import cold, fidelity
from bench.client import session
from bench.processes import Server, free_port, running_process, running_server, server_env
from bench.rss import MIB, machine_state
from bench.source import (
    GENERATED,
    PHOTOS,
    configure_libvips,
    copy_name,
    libvips_version,
    missing_photos,
    originals,
)
from bench.summary import Row, print_table, ratio_at_least, ratio_at_most
from bench.targets import Http, Pair, Raw, Target
from origin.spec import OutputFormat

THUMBOR = "thumbor==7.8.*"
IPX = "ipx@3"
INSTALL_TIMEOUT = 900  # seconds, each
OURS, THUMBOR_NAME, IPX_NAME, RAW = "ours", "thumbor", "ipx", "raw pyvips"
# Why a peer, as installed here, answers a HEIC with an error (its answer is printed too).
NO_HEIC = {
    THUMBOR_NAME: "thumbor's PIL engine reads HEIC only with pillow-heif (thumbor[extra-libs])",
    IPX_NAME: "sharp's prebuilt libvips has libheif without an HEVC decoder",
}
QUALITY = 75  # origin.spec.DEFAULT_QUALITY, asked of the peers explicitly
# A peer's name for each format, in its URLs, and the Content-Type it must answer.
PEER_FORMAT = {OutputFormat.WEBP: "webp", OutputFormat.JPG: "jpeg", OutputFormat.AVIF: "avif"}
GOAL_RATE, GOAL_CPU = 1.2, 1.0  # issue #17: ours / the best peer's in each cell


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
        return (
            f"{base}/unsafe/{width}x0/filters:format({PEER_FORMAT[fmt]})/{copy_name(source, copy)}"
        )

    return url


def ipx_url(base: str) -> Callable[[OutputFormat, str, Pair], str]:
    def url(fmt: OutputFormat, source: str, pair: Pair) -> str:
        copy, width = pair
        return f"{base}/w_{width},f_{PEER_FORMAT[fmt]},q_{QUALITY}/{copy_name(source, copy)}"

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
    workloads = cold.suite(photos=True)
    if missing := missing_photos({w.source for w in workloads.values()}):
        print(f"!! real photos not found in {PHOTOS} ({', '.join(missing)}): their rows skipped")
        workloads = cold.suite(photos=False)
    sources = originals({w.source for w in workloads.values()})
    prefix = f"peers-{secrets.token_hex(4)}"
    copies = cold.copies_needed(workloads.values())
    with tempfile.TemporaryDirectory(prefix="imgorigin-peers-") as tmp, ExitStack() as stack:
        folder = Path(tmp)
        images = folder / "images"
        images.mkdir()
        for source, count in copies.items():
            first = images / copy_name(source, 0)
            first.write_bytes(sources[source])
            for copy in range(1, count):  # other names for the same bytes
                os.link(first, images / copy_name(source, copy))
        local = server_env(IMGORIGIN_STORAGE_URL="", IMGORIGIN_REDIS_URL="")
        server = stack.enter_context(running_server(folder / "data", local, workers=None))
        peers = []
        for name, starter in ((THUMBOR_NAME, thumbor_server), (IPX_NAME, ipx_server)):
            path, version = installs[name]
            if path is None:
                continue
            try:
                peers.append(stack.enter_context(starter(path, version, images, folder)))
            except SystemExit as exc:  # did not start: the others still run
                print(f"!! {name} skipped: {exc}")
        print(f"{OURS}: imgorigin serve, {server.workers} workers (the default)")
        for peer in peers:
            print(f"{peer.name}: {peer.version}")
        results, quality = asyncio.run(run_all(server, peers, sources, workloads, prefix))
    print(f"at the end: {machine_state()}")
    print()
    table = rows(results, workloads, [p.name for p in peers]) + fidelity.rows(quality, OURS)
    print_table("ours against the best peer in each cell (same run; issue #17 goals)", table)


async def run_all(
    server: Server,
    peers: list[Peer],
    sources: dict[str, bytes],
    workloads: dict[str, cold.Workload],
    prefix: str,
) -> tuple[dict[str, dict[str, cold.Figures]], fidelity.Results]:
    """Every workload over ours, the peers that render it, and raw pyvips; then bytes
    and SSIM of each photo at w=800 in each format."""
    await cold.upload_copies(server, sources, prefix, workloads.values())
    results = {}
    for name, workload in workloads.items():
        targets: list[Target] = [cold.origin_target(OURS, server, prefix, workload)]
        for peer in peers:
            if await renders(peer, workload):
                url = functools.partial(peer.url, workload.fmt, workload.source)
                targets.append(Http(peer.name, url, peer.pid, expected="200"))
        targets.append(Raw(RAW, sources[workload.source], workload.fmt))
        results[name] = await cold.run(workload, targets, cold.ROUNDS, cold.SECONDS)
    # The JPEG photos' w=800 workloads: their copy 0 at w=800 is each target's warm-up.
    compared = [
        w
        for w in workloads.values()
        if w.widths[0] == fidelity.WIDTH and w.source not in GENERATED and not w.heic
    ]
    urls = {OURS: cold.origin_urls(server, prefix), **{p.name: p.url for p in peers}}
    quality = await fidelity.compare(
        {w.source: sources[w.source] for w in compared}, [w.fmt for w in compared], urls
    )
    return results, quality


async def renders(peer: Peer, workload: cold.Workload) -> bool:
    """Whether the peer renders the workload's source in its format (a HEIC, AVIF);
    says why not."""
    url = peer.url(workload.fmt, workload.source, (0, workload.widths[0]))
    async with session() as client, client.get(url) as response:
        body = await response.read()
        if response.status == 200 and response.content_type == f"image/{PEER_FORMAT[workload.fmt]}":
            return True
        why = f" ({NO_HEIC[peer.name]})" if workload.heic and peer.name in NO_HEIC else ""
        print(
            f"!! {peer.name} skipped in {workload.title}{why}: {url} answered"
            f" {response.status} {response.content_type}: {body[:200]!r}"
        )
        return False


def rows(
    results: dict[str, dict[str, cold.Figures]],
    workloads: dict[str, cold.Workload],
    peers: list[str],
) -> list[Row]:
    """In each cell our rate against the best peer's, and our CPU a render against the
    cheapest peer's (ratio = ours / theirs), with the goals of issue #17; and our peak
    memory at 16 connections of 24 MP beside each peer's."""
    table: list[Row] = []
    for name, workload in workloads.items():
        figures = results[name]
        ours, present = figures[OURS], [p for p in peers if p in figures]
        for c in workload.connections:
            if not present:
                table.append(
                    Row(f"{workload.label} {c} conn", ours.rates[c].rate, "req/s", "no peer", None)
                )
                continue
            fastest = max(present, key=lambda p: figures[p].rates[c].rate)
            cheapest = min(present, key=lambda p: figures[p].cpu_per_render(c))
            table += [
                Row(
                    f"{workload.label} {c} conn",
                    ours.rates[c].rate,
                    "req/s",
                    fastest,
                    figures[fastest].rates[c].rate,
                    ratio_at_least(GOAL_RATE),
                ),
                Row(
                    f"{workload.label} {c} conn CPU/render",
                    ours.cpu_per_render(c),
                    "ms",
                    cheapest,
                    figures[cheapest].cpu_per_render(c),
                    ratio_at_most(GOAL_CPU),
                ),
            ]
        if workload.memory_at is not None and ours.peak:
            for peer in present:
                theirs = figures[peer].peak
                if theirs is not None:
                    table.append(
                        Row(
                            f"{workload.label} {workload.memory_at} conn peak RSS",
                            ours.peak.rss / MIB,
                            "MiB",
                            peer,
                            theirs.rss / MIB,
                        )
                    )
    return table


if __name__ == "__main__":
    main()

"""Benchmarks, printed as ratios measured side by side in one run.

1. Cold render, 6000x4000 JPEG -> 800 px WebP: the origin over HTTP (every request a
   new width, so a new variant) against raw in-process pyvips on the same bytes,
   interleaved so both see the same machine state.
2. Herd: 32 concurrent first requests for one variant: renders, and time / one render.
3. Stored-variant hits: sequential latency and requests/s at 16 concurrent.
4. nginx in front (the `imgorigin nginx-config` configuration): a cached variant
   against the same nginx serving the same bytes as a static file, 16 connections.
5. Fleet herd: `serve --workers 2` on Redis, on the filesystem store and on S3 (a moto
   server): 64 concurrent first requests, each on its own connection so that both
   workers get some: renders, and time / one cold render of the same work.
6. Stored-variant hits at 16 connections: filesystem vs S3, 1 vs 2 workers.

Servers run as `imgorigin serve` in their own processes on 127.0.0.1, one after
another, sharing one data dir (embedded PostgreSQL unless IMGORIGIN_DATABASE_URL is
set); the fleet's Redis is IMGORIGIN_REDIS_URL (default redis://127.0.0.1:6379/0)
under a prefix of this run's own. This process generates the load, through wrk for
the hit rates when it is installed. BENCH_ROUNDS shortens the cold-render phase.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import tempfile
from pathlib import Path

from bench import fleet, front, single
from bench.load import Load
from bench.processes import (
    AWS_ENV,
    check_redis,
    create_bucket,
    moto_server,
    running_server,
    server_env,
)
from bench.source import libvips_version, source_jpeg

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
REDIS_URL = os.environ.get("IMGORIGIN_REDIS_URL") or "redis://127.0.0.1:6379/0"
FILESYSTEM, S3 = "filesystem", "S3 (moto)"


def main() -> None:
    # The servers write their warnings to our stderr: flush each line of ours at once,
    # so the two stay in order when stdout is a pipe.
    sys.stdout.reconfigure(line_buffering=True)
    # Python's default SIGTERM ends the process without unwinding; the servers live in
    # sessions of their own, so they would outlive it. Unwind instead: they get stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    check_redis(REDIS_URL)
    print(f"libvips {libvips_version()}, {os.cpu_count()} cores")
    data = source_jpeg()
    print(f"source: 6000x4000 JPEG, {len(data) / 1e6:.1f} MB")
    # Keys, Redis prefix and bucket of this run's own: IMGORIGIN_DATABASE_URL and the
    # Redis may be kept between runs.
    prefix = f"bench-{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="imgorigin-bench-") as tmp:
        folder = Path(tmp)
        data_dir = folder / "data"  # one initdb, one filesystem store for all servers
        local = server_env(IMGORIGIN_STORAGE_URL="", IMGORIGIN_REDIS_URL="")
        with running_server(data_dir, local) as server:
            asyncio.run(single.run(server, data, prefix, ROUNDS))
            front.run(server, data, f"{prefix}/front.jpg", folder)
        herd_ok, hits = fleet_phases(folder, data_dir, data, prefix)
    fleet.print_hits([FILESYSTEM, S3], hits)
    if not herd_ok:
        raise SystemExit("fleet herd: expected exactly one render and no failed request")


def fleet_phases(
    folder: Path, data_dir: Path, data: bytes, prefix: str
) -> tuple[bool, dict[tuple[str, int], Load]]:
    """The herds (True if each rendered once), and the hit rates by (store, workers)."""
    redis = {"IMGORIGIN_REDIS_URL": REDIS_URL, "IMGORIGIN_REDIS_PREFIX": f"{prefix}:"}
    filesystem = server_env(**redis, IMGORIGIN_STORAGE_URL="")
    fs_ok, fs_hits = store_phases(data_dir, filesystem, FILESYSTEM, data, f"{prefix}/fs")
    with moto_server(folder / "moto.log") as endpoint:
        create_bucket(endpoint, prefix)
        s3 = server_env(
            **redis,
            **AWS_ENV,
            IMGORIGIN_STORAGE_URL=f"s3://{prefix}/bench",
            IMGORIGIN_S3_ENDPOINT_URL=endpoint,
        )
        s3_ok, s3_hits = store_phases(data_dir, s3, S3, data, f"{prefix}/s3")
    hits = {(FILESYSTEM, w): rate for w, rate in fs_hits.items()}
    hits |= {(S3, w): rate for w, rate in s3_hits.items()}
    return fs_ok and s3_ok, hits


def store_phases(
    data_dir: Path, env: dict[str, str], store: str, data: bytes, prefix: str
) -> tuple[bool, dict[int, Load]]:
    """Hit rates with 1 and 2 workers on one store, and the herd on 2 workers."""
    herd_ok, hits = True, {}
    for workers in (1, 2):
        with running_server(data_dir, env, workers) as server:
            if workers > 1:
                herd_ok = asyncio.run(fleet.herd(server, data, f"{prefix}/herd", store))
            key = f"{prefix}/hits-{workers}.jpg"
            hits[workers] = asyncio.run(fleet.stored_hits(server, data, key))
    return herd_ok, hits


if __name__ == "__main__":
    main()

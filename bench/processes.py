"""The processes the bench starts: `imgorigin serve`, a moto S3 server, and the peers'
servers of `bench.peers`.

Each runs in a session of its own on 127.0.0.1, and is stopped when its `with` block
ends, however it ends: SIGTERM first (a server finishes its requests and stops its
workers and embedded PostgreSQL), SIGKILL to the whole session if it lingers.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import boto3
import redis
from botocore.config import Config

# The first start of a data dir runs initdb for the embedded PostgreSQL.
STARTUP_TIMEOUT = 120.0
# A stopping server lets renders in flight finish: its render timeout (20 s) and some.
STOP_TIMEOUT = 45.0
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Server:
    origin: str
    admin: str
    key: str
    workers: int
    pid: int  # of `imgorigin serve`; its workers, if any, are its children


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment (so IMGORIGIN_DATABASE_URL, if set, is used), quiet
    logs, and `settings` on top."""
    return {**os.environ, "IMGORIGIN_LOG_LEVEL": "WARNING", **settings}


def stop(process: subprocess.Popen[bytes]) -> bool:
    """Stop it; whether it had to be killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the workers go too
        process.wait(STOP_TIMEOUT)
        return True
    return False


@contextmanager
def running_server(
    data_dir: Path, env: dict[str, str], workers: int | None = None
) -> Iterator[Server]:
    """`imgorigin serve` for the block; with `workers` None, as a user starts it (a
    worker per available CPU, unless the environment sets IMGORIGIN_WORKERS)."""
    command = [
        *(sys.executable, "-m", "imgorigin", "serve", "--demo"),
        *("--data-dir", str(data_dir)),
        *(() if workers is None else ("--workers", str(workers))),
        *("--origin-port", str(free_port()), "--admin-port", str(free_port())),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, bufsize=0, start_new_session=True
    )
    try:
        yield parse_announcement(read_announcement(process), process.pid)
    finally:
        killed = stop(process)
        if process.stdout is not None:
            process.stdout.close()
        # A server that stops cleanly leaves the embedded PostgreSQL to pgserver, which
        # stops it with its last user: another server on the same data dir may still
        # be one.
        if killed or process.returncode != 0:
            stop_embedded_postgres(data_dir)


def stop_embedded_postgres(data_dir: Path) -> None:
    """Stop the embedded PostgreSQL a killed server left running: pg_ctl starts it
    in a session of its own, out of killpg's reach, and it must not outlive the data
    dir it is about to lose."""
    pgdata = data_dir / "postgres"
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        alive = str(pgdata) in Path(f"/proc/{pid}/cmdline").read_text()
    except (OSError, ValueError, IndexError):
        return  # stopped cleanly, or never started (IMGORIGIN_DATABASE_URL)
    if alive:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        deadline = time.monotonic() + STOP_TIMEOUT
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def read_announcement(process: subprocess.Popen[bytes]) -> list[str]:
    """The lines `serve` prints, up to the demo key that comes last.

    Read with select on the raw pipe, not readline, so that a server that hangs at
    start fails the bench after STARTUP_TIMEOUT instead of blocking it forever."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    text = ""
    while True:
        lines = text.split("\n")[:-1]  # complete lines only
        if lines and lines[-1].startswith("io_"):
            return lines
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise SystemExit(f"imgorigin serve did not start within {STARTUP_TIMEOUT:.0f}s")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise SystemExit(f"imgorigin serve exited with {process.wait()} before it was ready")
        text += chunk.decode()


def parse_announcement(lines: list[str], pid: int) -> Server:
    values = {}
    for line in lines:
        label, _, value = line.rpartition(" ")
        values[label.strip()] = value
    return Server(
        origin=values["origin"],
        admin=values["admin API"],
        key=lines[-1],
        workers=int(values["workers"]),
        pid=pid,
    )


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """`http://127.0.0.1:<port>` of a moto S3 server running for the block."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url, process, log)
        yield url
    finally:
        stop(process)


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path, name: str = "moto"
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # an error document is an answer
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.1)
    raise SystemExit(f"{name} did not answer at {url} within {STARTUP_TIMEOUT:.0f}s")


@contextmanager
def running_process(
    name: str, command: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None
) -> Iterator[int]:
    """A server of another project (a peer) running for the block, once `ready_url`
    answers; its pid. Stopped by session: SIGTERM to every process in it (thumbor's
    forked children do not hear their parent's), SIGKILL if it lingers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        wait_for_http(ready_url, process, log, name)
        yield process.pid
    finally:
        stop_session(process)


def stop_session(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever of the session is left
    process.wait(STOP_TIMEOUT)


def create_bucket(endpoint: str, name: str) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=AWS_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2}),
    )
    client.create_bucket(Bucket=name)


def check_redis(url: str) -> None:
    """Fail at once, not after the first phases, when the fleet's Redis is not there."""
    try:
        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        raise SystemExit(
            f"the fleet benchmarks need Redis at {url} (set IMGORIGIN_REDIS_URL): {exc}"
        ) from None

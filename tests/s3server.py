"""S3 for tests: a moto server on a free loopback port, speaking the real S3 protocol
over HTTP, one per session; a fresh bucket for each test that asks for one.

Without moto the S3 tests are skipped, unless IMGORIGIN_REQUIRE_SERVICES=1 (CI),
where that is a failure.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession, get_session

from storage import StorageSettings
from tests.processes import free_port

REQUIRE_SERVICES = os.environ.get("IMGORIGIN_REQUIRE_SERVICES") == "1"
STARTUP_TIMEOUT = 30.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # an S3 error document is an answer
    except OSError:
        return False


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"a moto S3 server is required in CI: {reason}")
    pytest.skip(f"no moto S3 server: {reason}")


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the server (again, harmlessly, if it is already stopped)."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def wait_until_up(self, log: Path) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(self.url):
            if self.process.poll() is not None:
                _unavailable(f"it exited with {self.process.returncode}: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                _unavailable(f"no answer at {self.url} within {STARTUP_TIMEOUT:.0f}s")
            time.sleep(0.1)


@contextmanager
def running_moto(log: Path) -> Iterator[MotoServer]:
    """A moto server of the caller's own on a free port, logging to `log`; a test may
    stop it part-way to show what the store does when S3 goes away."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = MotoServer(f"http://127.0.0.1:{port}", process)
    try:
        server.wait_until_up(log)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`http://127.0.0.1:<port>` of a moto server running for the whole session."""
    with running_moto(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server.url


@pytest.fixture(scope="session")
def _bucket_maker() -> AioSession:
    """One botocore session for making buckets: it loads the S3 model once, not per test."""
    return get_session()


@pytest.fixture
async def s3_storage_url(s3_endpoint: str, _bucket_maker: AioSession) -> str:
    """`s3://<a new bucket>/some-prefix`, so tests sharing the server never meet."""
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    async with _bucket_maker.create_client("s3", endpoint_url=s3_endpoint) as client:
        await client.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/some-prefix"


def s3_settings(endpoint: str, url: str, **changes: Any) -> StorageSettings:
    """Storage settings for `url` on the server at `endpoint`, with short timeouts so a
    broken test fails in seconds; `changes` override any field."""
    settings = StorageSettings(
        url=url,
        s3_endpoint_url=endpoint,
        s3_connect_timeout=2.0,
        s3_read_timeout=5.0,
        s3_max_attempts=2,
    )
    settings = dataclasses.replace(settings, **changes)
    settings.validate()
    return settings

"""`imgorigin serve` as a real process: started on free ports, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

EXE = [sys.executable, "-m", "imgorigin"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**settings: str) -> dict[str, str]:
    """The environment without any IMGORIGIN_ variable of ours, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGORIGIN_")}
    return {**env, **settings}


@dataclass
class Served:
    """A running `imgorigin serve --demo`, with what it printed at start."""

    data_dir: Path
    env: dict[str, str]
    args: tuple[str, ...] = ()
    origin_port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.origin_port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def key(self) -> str:
        """The demo library's admin key: printed alone on the last line."""
        return self.lines[-1]

    def start(self, timeout: float = 90) -> Served:
        self.process = subprocess.Popen(
            [
                *EXE,
                "serve",
                "--demo",
                "--data-dir",
                str(self.data_dir),
                "--origin-port",
                str(self.origin_port),
                "--admin-port",
                str(self.admin_port),
                *self.args,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if self.lines[-1].startswith("io_"):
                return self
        self.stop()
        raise AssertionError(f"serve did not start: {self.lines}, stderr: {self.stderr()}")

    def stderr(self) -> str:
        if self.process is None or self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as an orchestrator stops it; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

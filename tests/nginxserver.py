"""A real nginx (Debian's, with the cache-purge module) running the configuration that
`imgorigin nginx-config` prints, on a free port of 127.0.0.1. `make test` installs it;
the benchmark runs it too."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from cache.purge import PURGE_PATH
from imgorigin import nginxconf
from tests.processes import free_port


def nginx_binary() -> str | None:
    """nginx, when it and the cache-purge module are installed."""
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    return binary if binary and Path(nginxconf.MODULE).exists() else None


@dataclass
class Nginx:
    folder: Path
    upstreams: tuple[str, ...]
    port: int = field(default_factory=free_port)
    purge_allow: tuple[str, ...] = nginxconf.NginxOptions.purge_allow
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "error.log"

    @property
    def purge_url(self) -> str:
        return self.url + PURGE_PATH

    def config(self) -> Path:
        options = nginxconf.NginxOptions(
            listen=f"127.0.0.1:{self.port}",
            upstreams=self.upstreams,
            cache_dir=self.folder,
            purge_allow=self.purge_allow,
            # Root's workers would otherwise run as nobody, who cannot write here.
            user=getpass.getuser(),
            access_log="off",
        )
        path = self.folder / "nginx.conf"
        path.write_text(nginxconf.render(options))
        return path

    def start(self, timeout: float = 10) -> Self:
        binary = nginx_binary()
        assert binary is not None, "nginx with the cache-purge module is not installed"
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.config()
        # A file, not a pipe: a pipe nobody reads would block nginx once full.
        with open(self.log, "ab") as log:
            command = [binary, "-p", str(self.folder), "-c", str(config), "-e", "stderr"]
            self.process = subprocess.Popen(
                [*command, "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port} within {timeout}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # fast shutdown
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

"""The embedded PostgreSQL of the zero-configuration mode, from the pgserver wheel.

pgserver shares one server between every process that opens the same folder and
stops it when the last of them exits, so `imgorigin keys create` works while
`imgorigin serve` is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import warnings
from pathlib import Path

import asyncpg

DATABASE = "imgorigin"


def _start(data_dir: Path) -> tuple[str, str]:
    """Start or join the server; return the URLs of our database and of `postgres`."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # pgserver keeps its lock file there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = data_dir.resolve() / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri(DATABASE)), str(server.get_uri("postgres"))


async def start_embedded(data_dir: Path, connect_timeout: float) -> str:
    """Start (or join) the embedded server and return a URL of its `imgorigin` database."""
    url, admin_url = await asyncio.to_thread(_start, data_dir)
    conn = await asyncpg.connect(admin_url, timeout=connect_timeout)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
    return url

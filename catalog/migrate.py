"""Applies the top-level migrations/*.sql in order, each once, under a PostgreSQL advisory lock.

The lock makes several processes starting together take turns: the first applies
what is new, the others then find nothing left to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    """A checkout's top-level `migrations/`; an install's copy inside this package
    (pyproject maps one to the other). An install is never taken for a checkout, so
    it cannot pick up another project's `site-packages/migrations`; without its own
    copy it finds nothing, and `migrate` refuses to run."""
    here = Path(__file__).resolve().parent
    if (here.parent / "pyproject.toml").is_file():
        return here.parent / "migrations"
    return here / "migrations"


MIGRATIONS_DIR = _migrations_dir()
_LOCK_ID = 0x1D_0817_1A  # any constant that is ours alone


def pending(applied: set[str], directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return [p for p in sorted(directory.glob("*.sql")) if p.name not in applied]


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is new; return the names applied by this call."""
    if not pending(set(), directory):
        # Never "nothing new": an install without its SQL files would serve on no schema.
        raise FileNotFoundError(f"no migrations in {directory}: the install is incomplete")
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        done = []
        for path in pending(applied, directory):
            async with conn.transaction():
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
            log.info("applied migration %s", path.name)
            done.append(path.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)

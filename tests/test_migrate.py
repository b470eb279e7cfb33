"""Migrations: applied in order, each once, even when processes start together."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from catalog.migrate import MIGRATIONS_DIR, migrate
from tests.conftest import with_database


async def test_concurrent_migrations_apply_each_file_once(
    database_url: str, tmp_path: Path
) -> None:
    name = f"imgorigin_mig_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url, timeout=10)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        directory = tmp_path / "migrations"
        directory.mkdir()
        (directory / "0001_a.sql").write_text("CREATE TABLE a (x int); SELECT pg_sleep(0.2);")
        (directory / "0002_b.sql").write_text("INSERT INTO a VALUES (1);")
        url = with_database(database_url, name)
        conns = [await asyncpg.connect(url, timeout=10) for _ in range(4)]
        try:
            results = await asyncio.gather(*(migrate(c, directory) for c in conns))
            assert sorted(map(tuple, results)) == [(), (), (), ("0001_a.sql", "0002_b.sql")]
            assert await conns[0].fetchval("SELECT count(*) FROM a") == 1
            (directory / "0003_c.sql").write_text("INSERT INTO a VALUES (2);")
            assert await migrate(conns[1], directory) == ["0003_c.sql"]
        finally:
            for conn in conns:
                await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_folder_without_migrations_is_an_error(database_url: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        with pytest.raises(FileNotFoundError, match="no migrations"):
            await migrate(conn, tmp_path)
    finally:
        await conn.close()


def test_a_checkout_applies_the_top_level_migrations() -> None:
    # The design card's place; pyproject installs the same files as catalog/migrations.
    assert Path(__file__).resolve().parent.parent / "migrations" == MIGRATIONS_DIR


def test_the_shipped_migrations_are_numbered() -> None:
    names = [p.name for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]
    assert names and all(n[:4].isdigit() and n[4] == "_" for n in names)
    assert len({n[:4] for n in names}) == len(names)

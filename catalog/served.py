"""The URIs the origin served per key, for nginx's purge by exact URI. Its consumer,
`cache`, declares the protocol (`cache.purge.ServedLog`): it may not import us."""

from __future__ import annotations

import asyncpg


class PgServedUris:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record_served(self, library_id: int, key: str, uri: str) -> None:
        await self._pool.execute(
            "INSERT INTO served_uris (library_id, key, uri) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            library_id,
            key,
            uri,
        )

    async def served_uris(self, library_id: int, keys: list[str] | None) -> list[str]:
        """The URIs served under these keys of a library; None: under any of its keys."""
        rows = await self._pool.fetch(
            "SELECT uri FROM served_uris WHERE library_id = $1"
            " AND ($2::text[] IS NULL OR key = ANY($2::text[]))",
            library_id,
            keys,
        )
        return [row["uri"] for row in rows]

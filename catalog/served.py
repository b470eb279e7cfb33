"""The URIs the origin served per key, for nginx's purge by exact URI; bounded per key
and in time (cache.purge.ServedUris says why). Its consumer, `cache`, declares the
protocol (`cache.purge.ServedLog`): it may not import us."""

from __future__ import annotations

import asyncpg


class PgServedUris:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record_served(
        self, library_id: int, key: str, uri: str, cap: int, lifetime: float
    ) -> bool:
        """Record that `uri` answered under the key just now; False, recording nothing,
        when the key already has `cap` other URIs answered within `lifetime` seconds
        (older rows of the key are dropped first). Exact under concurrency: the key's
        rows are counted and added under a lock of their own."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"served_uris/{library_id}/{key}",
            )
            if await conn.fetchval(
                "UPDATE served_uris SET served_at = now()"
                " WHERE library_id = $1 AND key = $2 AND uri = $3 RETURNING true",
                library_id,
                key,
                uri,
            ):
                return True
            await conn.execute(
                "DELETE FROM served_uris WHERE library_id = $1 AND key = $2"
                " AND served_at < now() - make_interval(secs => $3)",
                library_id,
                key,
                lifetime,
            )
            held = await conn.fetchval(
                "SELECT count(*) FROM served_uris WHERE library_id = $1 AND key = $2",
                library_id,
                key,
            )
            if held >= cap:
                return False
            await conn.execute(
                "INSERT INTO served_uris (library_id, key, uri) VALUES ($1, $2, $3)",
                library_id,
                key,
                uri,
            )
            return True

    async def prune_served(self, lifetime: float, batch: int = 10_000) -> int:
        """Drop up to `batch` URIs not answered for `lifetime` seconds; how many."""
        return int(
            await self._pool.fetchval(
                "WITH old AS (DELETE FROM served_uris WHERE ctid = ANY(ARRAY("
                " SELECT ctid FROM served_uris"
                " WHERE served_at < now() - make_interval(secs => $1) LIMIT $2))"
                " RETURNING 1) SELECT count(*) FROM old",
                lifetime,
                batch,
            )
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

"""Stats: what a library holds, and the renders and hits the fleet counted for it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import asyncpg

from catalog.models import Library


class Stats(Protocol):
    async def usage(self, library: Library) -> dict[str, int]:
        """Images by status, and the bytes of the live ones' current originals."""

    async def add_counts(self, counts: Mapping[int, tuple[int, int]]) -> None:
        """Add (renders, hits) to each library's counters, by library id, in one
        statement; libraries deleted meanwhile are skipped."""

    async def counts(self, library: Library) -> tuple[int, int, datetime] | None:
        """(renders, hits, since when) added for the library; None before the first."""


class PgStats(Stats):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def usage(self, library: Library) -> dict[str, int]:
        row = await self._pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
            "       count(*) FILTER (WHERE status = 'active') AS active,"
            "       count(*) FILTER (WHERE status = 'deleted') AS deleted,"
            "       coalesce(sum(bytes) FILTER (WHERE status <> 'deleted'), 0)::bigint AS bytes"
            " FROM images WHERE library_id = $1",
            library.id,
        )
        return dict(row)

    async def add_counts(self, counts: Mapping[int, tuple[int, int]]) -> None:
        # Rows are written in id order, so processes flushing at once cannot deadlock.
        ids = sorted(counts)
        await self._pool.execute(
            "INSERT INTO library_counters (library_id, renders, hits)"
            " SELECT d.library_id, d.renders, d.hits"
            " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])"
            "      WITH ORDINALITY AS d(library_id, renders, hits, n)"
            " JOIN libraries l ON l.id = d.library_id ORDER BY d.n"
            " ON CONFLICT (library_id) DO UPDATE"
            " SET renders = library_counters.renders + EXCLUDED.renders,"
            "     hits = library_counters.hits + EXCLUDED.hits",
            ids,
            [counts[i][0] for i in ids],
            [counts[i][1] for i in ids],
        )

    async def counts(self, library: Library) -> tuple[int, int, datetime] | None:
        row = await self._pool.fetchrow(
            "SELECT renders, hits, since FROM library_counters WHERE library_id = $1",
            library.id,
        )
        return (row["renders"], row["hits"], row["since"]) if row else None

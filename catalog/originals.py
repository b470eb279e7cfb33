"""Originals: the journal of blobs being written or dropped, and the lock under which
a row may start or stop pointing at one.

The blob store has no transactions, so every put or delete of an original is
journalled first (`unsettle`) and the entry removed once it ended (`settle`); entries
left by a process that died are found by age (`unsettled`) and their originals
dropped unless an image uses them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import asyncpg

from catalog.errors import KeyConflict, QuotaExceeded
from catalog.images import fetch_image
from catalog.models import CONTENT_COLUMNS, Content, Image, NewImage


class Originals(Protocol):
    async def unsettle(self, hashes: list[str]) -> list[int]:
        """Journal originals about to be written or dropped (committed at once, outside
        any lock's transaction, so the entries outlive the process); their ids."""

    async def settle(self, entry_ids: list[int]) -> None: ...

    async def unsettled(self, older_than: float, limit: int) -> list[tuple[int, str]]:
        """(id, sha256) of entries made more than `older_than` seconds ago."""

    def lock(self, sha256: str) -> AbstractAsyncContextManager[OriginalLock]:
        """A transaction holding a fleet-wide lock on one content-addressed original.

        Whoever stores the blob and commits the row pointing at it, or deletes the
        blob once no row points at it, does so inside this lock, so a delete never
        removes a blob that an upload is about to point a row at. Everything runs on
        the one connection, so a full pool cannot deadlock against itself."""


class PgOriginals(Originals):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def unsettle(self, hashes: list[str]) -> list[int]:
        rows = await self._pool.fetch(
            "INSERT INTO unsettled_originals (sha256) SELECT unnest($1::text[]) RETURNING id",
            hashes,
        )
        return [row["id"] for row in rows]

    async def settle(self, entry_ids: list[int]) -> None:
        await self._pool.execute("DELETE FROM unsettled_originals WHERE id = ANY($1)", entry_ids)

    async def unsettled(self, older_than: float, limit: int) -> list[tuple[int, str]]:
        rows = await self._pool.fetch(
            "SELECT id, sha256 FROM unsettled_originals"
            " WHERE since < now() - make_interval(secs => $1) ORDER BY id LIMIT $2",
            older_than,
            limit,
        )
        return [(row["id"], row["sha256"]) for row in rows]

    @asynccontextmanager
    async def lock(self, sha256: str) -> AsyncIterator[OriginalLock]:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", sha256)
            yield OriginalLock(conn, sha256)


async def journal_library_originals(
    conn: asyncpg.Connection, library_id: int
) -> list[tuple[int, str]]:
    """Journal every original of a library's images and their versions, in `conn`'s
    transaction (the one deleting the library); (id, sha256) of the entries."""
    entries = await conn.fetch(
        "INSERT INTO unsettled_originals (sha256)"
        " SELECT DISTINCT v.sha256 FROM image_versions v"
        " JOIN images i ON i.id = v.image_id WHERE i.library_id = $1 RETURNING id, sha256",
        library_id,
    )
    return [(row["id"], row["sha256"]) for row in entries]


class OriginalLock:
    """The catalog work that must happen under `Originals.lock`."""

    def __init__(self, conn: asyncpg.Connection, sha256: str) -> None:
        self._conn = conn
        self.sha256 = sha256

    async def in_use(self) -> bool:
        """Whether a live image has this original, now or as an earlier version."""
        return bool(
            await self._conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM images WHERE sha256 = $1 AND status <> 'deleted')"
                " OR EXISTS (SELECT 1 FROM image_versions v JOIN images i ON i.id = v.image_id"
                "            WHERE v.sha256 = $1 AND i.status <> 'deleted')",
                self.sha256,
            )
        )

    async def insert_image(
        self, new: NewImage, quota_bytes: int | None = None, quota_images: int | None = None
    ) -> Image:
        """Commit the row of an image whose original is stored; KeyConflict when the
        key is taken, QuotaExceeded when the library's quotas leave no room."""
        assert new.content.sha256 == self.sha256
        # A savepoint: a refused insert rolls back, not the lock's transaction.
        async with self._conn.transaction():
            if quota_bytes is not None or quota_images is not None:
                await self._check_quota(
                    new.library_id, quota_bytes, quota_images, new.content.bytes, 1
                )
            content = new.content
            try:
                await self._conn.execute(
                    "INSERT INTO images (id, library_id, key, status, alt, created_by,"
                    " activated_at, pending_since, " + ", ".join(CONTENT_COLUMNS) + ")"
                    " VALUES ($1, $2, $3, $4, $5, $6,"
                    "         CASE WHEN $4 = 'active' THEN now() END,"
                    "         CASE WHEN $4 = 'pending' THEN now() END, "
                    + _placeholders(7, len(CONTENT_COLUMNS))
                    + ")",
                    new.id,
                    new.library_id,
                    new.key,
                    new.status.value,
                    new.alt,
                    new.created_by,
                    *content.column_values(),
                )
            except asyncpg.UniqueViolationError as exc:
                raise KeyConflict(new.key) from exc
            await self._add_version(new.id, 1, content, new.created_by)
            await self._conn.executemany(
                "INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)",
                [(new.id, tag) for tag in new.tags],
            )
            return await fetch_image(self._conn, new.id)

    async def _check_quota(
        self,
        library_id: int,
        quota_bytes: int | None,
        quota_images: int | None,
        more_bytes: int,
        more_images: int,
    ) -> None:
        """QuotaExceeded unless the library has room for `more_bytes` and `more_images`.

        The library's row lock makes concurrent uploads check one after another.
        NO KEY UPDATE: it does not wait for inserts that merely reference the row."""
        await self._conn.execute(
            "SELECT 1 FROM libraries WHERE id = $1 FOR NO KEY UPDATE", library_id
        )
        used = await self._conn.fetchrow(
            "SELECT count(*) AS images, coalesce(sum(bytes), 0) AS bytes FROM images"
            " WHERE library_id = $1 AND status <> 'deleted'",
            library_id,
        )
        if quota_images is not None and used["images"] + more_images > quota_images:
            raise QuotaExceeded(f"the library holds its quota of {quota_images} images")
        if quota_bytes is not None and used["bytes"] + more_bytes > quota_bytes:
            raise QuotaExceeded(
                f"{more_bytes} more bytes would pass the library's quota of"
                f" {quota_bytes} ({used['bytes']} used)"
            )

    async def _add_version(
        self, image_id: str, version: int, content: Content, created_by: str | None
    ) -> None:
        await self._conn.execute(
            "INSERT INTO image_versions (image_id, version, created_by, "
            + ", ".join(CONTENT_COLUMNS)
            + ") VALUES ($1, $2, $3, "
            + _placeholders(4, len(CONTENT_COLUMNS))
            + ")",
            image_id,
            version,
            created_by,
            *content.column_values(),
        )

    async def replace_original(
        self,
        image: Image,
        content: Content,
        created_by: str | None,
        quota_bytes: int | None = None,
    ) -> Image | None:
        """Point a live image at this original as its next version; None when the
        image was deleted or given another original meanwhile (whose replacer would
        not know to drop `image`'s). QuotaExceeded when a larger original would pass
        the library's `quota_bytes`."""
        assert content.sha256 == self.sha256
        async with self._conn.transaction():
            if quota_bytes is not None and content.bytes > image.bytes:
                await self._check_quota(
                    image.library_id, quota_bytes, None, content.bytes - image.bytes, 0
                )
            assignments = ", ".join(f"{c} = ${n}" for n, c in enumerate(CONTENT_COLUMNS, 4))
            version = await self._conn.fetchval(
                "UPDATE images SET version = version + 1, updated_at = now(), "
                + assignments
                + " WHERE id = $1 AND sha256 = $2 AND version = $3 AND status <> 'deleted'"
                " RETURNING version",
                image.id,
                image.sha256,
                image.version,
                *content.column_values(),
            )
            if version is None:
                return None
            await self._add_version(image.id, version, content, created_by)
            return await fetch_image(self._conn, image.id)


def _placeholders(first: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(first, first + count))

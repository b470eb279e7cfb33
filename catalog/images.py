"""Images: the rows, their tags and versions, and the origin's lookup by key.

New rows and new versions are written under an original's lock (`OriginalLock`),
not here: their blob must be stored before they point at it.
"""

from __future__ import annotations

from typing import Any, Protocol

import asyncpg

from catalog.errors import KeyConflict, LimitReached
from catalog.models import Content, Image, ImageVersion, Library, Status
from catalog.query import ImageQuery, encode_cursor, list_sql

IMAGE_SELECT = """
    SELECT i.*, l.name AS library, l.created_at AS library_created_at,
           coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM image_tags t
                     WHERE t.image_id = i.id), '{}') AS tags
    FROM images i JOIN libraries l ON l.id = i.library_id
"""


class Unset:
    """The type of UNSET: a field a change leaves alone (None may be a value)."""


UNSET = Unset()


class Images(Protocol):
    async def get(self, library: Library, image_id: str) -> Image | None:
        """A live image of the library."""

    async def resolve(self, library: str, key: str) -> Image | None:
        """The active image published under library/key: the origin's one query."""

    async def set_status(
        self, library: Library, image_id: str, status: Status, *, unpublished_only: bool = False
    ) -> Image | None:
        """Move a live image (with `unpublished_only`, one pending since its upload, never
        activated) to `status`; None when there is no such image."""

    async def live_ids(self, library: Library) -> list[str]:
        """Every image of a library that may still have variants (pending ones too)."""

    async def by(self, library: Library, column: str, values: list[str]) -> list[Image]:
        """The images of a library whose `column` (id, key or sha256) is one of `values`:
        by id in any status, deleted too (a purge may be run again after a delete); by
        key or content, the live ones."""

    async def page(self, library: Library, query: ImageQuery) -> tuple[list[Image], str | None]:
        """One page of a library's images, and the cursor of the next (None: the last)."""

    async def update(
        self,
        library: Library,
        image_id: str,
        *,
        key: str | None = None,
        alt: str | Unset | None = UNSET,
        tags: tuple[str, ...] | None = None,
        add_tags: tuple[str, ...] = (),
        remove_tags: tuple[str, ...] = (),
        max_tags: int | None = None,
    ) -> Image | None:
        """Change a live image's key, alt text or tags (all of them, or some added and
        removed) in one transaction; None when there is no such live image,
        KeyConflict when another live image has `key`, LimitReached when it would
        have more than `max_tags` (checked under the image's row lock, which the
        UPDATE takes, so concurrent changes cannot pass it together)."""

    async def tag_counts(self, library: Library) -> list[tuple[str, int]]:
        """Each tag of the library's live images, with how many have it, by tag."""

    async def versions(self, image: Image) -> list[ImageVersion]:
        """Every version of an image's original, newest first."""

    async def version(self, image: Image, number: int) -> ImageVersion | None: ...

    async def expired_pending(self, default_ttl: int, limit: int) -> list[tuple[Library, Image]]:
        """Uploads never activated, pending for longer than their library's
        `pending_ttl` (0: kept forever). A deactivated image is kept: it was published."""


class PgImages(Images):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, library: Library, image_id: str) -> Image | None:
        row = await self._pool.fetchrow(
            IMAGE_SELECT + " WHERE i.library_id = $1 AND i.id = $2 AND i.status <> 'deleted'",
            library.id,
            image_id,
        )
        return Image.from_row(row) if row else None

    async def resolve(self, library: str, key: str) -> Image | None:
        row = await self._pool.fetchrow(
            IMAGE_SELECT + " WHERE l.name = $1 AND i.key = $2 AND i.status = 'active'",
            library,
            key,
        )
        return Image.from_row(row) if row else None

    async def set_status(
        self, library: Library, image_id: str, status: Status, *, unpublished_only: bool = False
    ) -> Image | None:
        row = await self._pool.fetchrow(
            "UPDATE images SET status = $3, updated_at = now(),"
            " activated_at = CASE WHEN $3 = 'active' THEN coalesce(activated_at, now())"
            "                     ELSE activated_at END,"
            " pending_since = CASE WHEN $3 = 'pending' THEN pending_since END,"
            " deleted_at = CASE WHEN $3 = 'deleted' THEN now() END"
            " WHERE library_id = $1 AND id = $2 AND status <> 'deleted'"
            "   AND (NOT $4 OR (status = 'pending' AND activated_at IS NULL))"
            " RETURNING id",
            library.id,
            image_id,
            status.value,
            unpublished_only,
        )
        return await fetch_image(self._pool, image_id) if row else None

    async def live_ids(self, library: Library) -> list[str]:
        rows = await self._pool.fetch(
            "SELECT id FROM images WHERE library_id = $1 AND status <> 'deleted'", library.id
        )
        return [row["id"] for row in rows]

    async def by(self, library: Library, column: str, values: list[str]) -> list[Image]:
        assert column in ("id", "key", "sha256")
        live = " AND i.status <> 'deleted'" if column != "id" else ""
        rows = await self._pool.fetch(
            IMAGE_SELECT + f" WHERE i.library_id = $1 AND i.{column} = ANY($2::text[])" + live,
            library.id,
            values,
        )
        return [Image.from_row(row) for row in rows]

    async def page(self, library: Library, query: ImageQuery) -> tuple[list[Image], str | None]:
        sql, args = list_sql(library.id, query, IMAGE_SELECT)
        rows = await self._pool.fetch(sql, *args)
        found = [Image.from_row(row) for row in rows[: query.limit]]
        if len(rows) <= query.limit:
            return found, None
        last = rows[query.limit - 1]
        return found, encode_cursor(query.sort, last[query.sort.column], last["id"])

    async def update(
        self,
        library: Library,
        image_id: str,
        *,
        key: str | None = None,
        alt: str | Unset | None = UNSET,
        tags: tuple[str, ...] | None = None,
        add_tags: tuple[str, ...] = (),
        remove_tags: tuple[str, ...] = (),
        max_tags: int | None = None,
    ) -> Image | None:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                found = await conn.fetchval(
                    "UPDATE images SET updated_at = now(), key = coalesce($3, key),"
                    " alt = CASE WHEN $4 THEN $5 ELSE alt END"
                    " WHERE library_id = $1 AND id = $2 AND status <> 'deleted' RETURNING id",
                    library.id,
                    image_id,
                    key,
                    not isinstance(alt, Unset),
                    None if isinstance(alt, Unset) else alt,
                )
            except asyncpg.UniqueViolationError:
                raise KeyConflict(key) from None
            if found is None:
                return None
            if tags is not None:
                await conn.execute("DELETE FROM image_tags WHERE image_id = $1", image_id)
                add_tags = tags
            await conn.execute(
                "DELETE FROM image_tags WHERE image_id = $1 AND tag = ANY($2::text[])",
                image_id,
                list(remove_tags),
            )
            await conn.execute(
                "INSERT INTO image_tags (image_id, tag) SELECT $1, unnest($2::text[])"
                " ON CONFLICT DO NOTHING",
                image_id,
                list(add_tags),
            )
            if max_tags is not None and max_tags < await conn.fetchval(
                "SELECT count(*) FROM image_tags WHERE image_id = $1", image_id
            ):
                raise LimitReached(f"an image has at most {max_tags} tags")
            return await fetch_image(conn, image_id)

    async def tag_counts(self, library: Library) -> list[tuple[str, int]]:
        rows = await self._pool.fetch(
            "SELECT t.tag, count(*) AS n FROM image_tags t JOIN images i ON i.id = t.image_id"
            " WHERE i.library_id = $1 AND i.status <> 'deleted' GROUP BY t.tag ORDER BY t.tag",
            library.id,
        )
        return [(row["tag"], row["n"]) for row in rows]

    async def versions(self, image: Image) -> list[ImageVersion]:
        rows = await self._pool.fetch(
            "SELECT * FROM image_versions WHERE image_id = $1 ORDER BY version DESC", image.id
        )
        return [_version(row) for row in rows]

    async def version(self, image: Image, number: int) -> ImageVersion | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM image_versions WHERE image_id = $1 AND version = $2", image.id, number
        )
        return _version(row) if row else None

    async def expired_pending(self, default_ttl: int, limit: int) -> list[tuple[Library, Image]]:
        rows = await self._pool.fetch(
            IMAGE_SELECT + " WHERE i.status = 'pending' AND i.activated_at IS NULL"
            " AND i.pending_since < now() -"
            " make_interval(secs => coalesce((l.settings->>'pending_ttl')::bigint, $1))"
            " AND coalesce((l.settings->>'pending_ttl')::bigint, $1) > 0"
            " ORDER BY i.pending_since LIMIT $2",
            default_ttl,
            limit,
        )
        return [
            (
                Library(row["library_id"], row["library"], row["library_created_at"]),
                Image.from_row(row),
            )
            for row in rows
        ]


async def fetch_image(conn: asyncpg.Pool | asyncpg.Connection, image_id: str) -> Image:
    return Image.from_row(await conn.fetchrow(IMAGE_SELECT + " WHERE i.id = $1", image_id))


def _version(row: Any) -> ImageVersion:
    return ImageVersion(row["version"], Content.from_row(row), row["created_by"], row["created_at"])

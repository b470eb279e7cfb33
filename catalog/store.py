"""The catalog on PostgreSQL: every query the program makes, in one place."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from catalog.migrate import migrate
from catalog.models import (
    CONTENT_COLUMNS,
    ApiKey,
    ApiKeyRecord,
    Content,
    Image,
    ImageVersion,
    Library,
    LibrarySettings,
    NewImage,
    Role,
    Scheme,
    SigningKey,
    Status,
    UrlPolicy,
    Webhook,
    check_signing_secret,
)
from catalog.query import ImageQuery, encode_cursor, list_sql
from catalog.settings import CatalogSettings


class KeyConflict(Exception):
    """Another live image in the library already has this key."""


class Unset:
    """The type of UNSET: a field a change leaves alone (None may be a value)."""


UNSET = Unset()


class LibraryExists(Exception):
    """A library of this name exists already."""


class LimitReached(Exception):
    """A change would pass a fixed limit (tags of an image, webhooks of a library)."""


class QuotaExceeded(Exception):
    """The library's quota leaves no room for this image; the message says which."""


# What a PostgreSQL outage or overload looks like through asyncpg: the caller may
# retry later. (asyncpg raises TimeoutError for statement and connect timeouts.)
UNAVAILABLE = (
    TimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


_IMAGE_SELECT = """
    SELECT i.*, l.name AS library, l.created_at AS library_created_at,
           coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM image_tags t
                     WHERE t.image_id = i.id), '{}') AS tags
    FROM images i JOIN libraries l ON l.id = i.library_id
"""

_KEY_SELECT = """
    SELECT k.id, l.name AS library, k.name, k.role, k.prefix, k.created_at, k.expires_at,
           k.revoked_at, k.last_used_at
    FROM api_keys k LEFT JOIN libraries l ON l.id = k.library_id
"""

_KEY_PREFIX = "io_"


def hash_api_key(key: str) -> bytes:
    # API keys carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).digest()


class Catalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str, settings: CatalogSettings) -> AsyncIterator[Catalog]:
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=settings.pool_size,
            timeout=settings.timeout,
            command_timeout=settings.timeout,
        )
        try:
            yield cls(pool)
        finally:
            await pool.close()

    async def ping(self) -> None:
        """Raise (one of UNAVAILABLE) unless PostgreSQL answers a query."""
        await self.pool.fetchval("SELECT 1")

    async def migrate(self) -> list[str]:
        async with self.pool.acquire() as conn:
            return await migrate(conn)

    # Libraries and API keys

    async def ensure_library(self, name: str) -> Library:
        row = await self.pool.fetchrow(
            "INSERT INTO libraries (name) VALUES ($1)"
            " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
            " RETURNING id, name, created_at",
            name,
        )
        return Library(**dict(row))

    async def get_library(self, name: str) -> Library | None:
        row = await self.pool.fetchrow(
            "SELECT id, name, created_at FROM libraries WHERE name = $1", name
        )
        return Library(**dict(row)) if row else None

    async def create_library(self, name: str, settings: LibrarySettings) -> Library:
        """A new library; LibraryExists when the name is taken."""
        try:
            row = await self.pool.fetchrow(
                "INSERT INTO libraries (name, settings) VALUES ($1, $2::jsonb)"
                " RETURNING id, name, created_at",
                name,
                json.dumps(settings.to_json()),
            )
        except asyncpg.UniqueViolationError:
            raise LibraryExists(name) from None
        return Library(**dict(row))

    async def libraries(self, library_id: int | None = None) -> list[Library]:
        """Every library by name, or the one with `library_id` (a scoped key's view)."""
        rows = await self.pool.fetch(
            "SELECT id, name, created_at FROM libraries"
            " WHERE $1::bigint IS NULL OR id = $1 ORDER BY name",
            library_id,
        )
        return [Library(**dict(row)) for row in rows]

    async def delete_library(self, library: Library) -> tuple[list[str], list[tuple[int, str]]]:
        """The library's row, and with it (cascade) its keys, webhooks and images:
        the ids of the live images, and journal entries (`unsettle_originals`) for
        every original they and their versions had, to be dropped unless used.

        The row lock first: uploads in flight commit before it, later ones wait and
        then fail, so none is removed by the cascade without its original listed."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM libraries WHERE id = $1 FOR UPDATE", library.id)
            live = await conn.fetch(
                "SELECT id FROM images WHERE library_id = $1 AND status <> 'deleted'", library.id
            )
            entries = await conn.fetch(
                "INSERT INTO unsettled_originals (sha256)"
                " SELECT DISTINCT v.sha256 FROM image_versions v"
                " JOIN images i ON i.id = v.image_id WHERE i.library_id = $1 RETURNING id, sha256",
                library.id,
            )
            await conn.execute("DELETE FROM libraries WHERE id = $1", library.id)
        return [row["id"] for row in live], [(row["id"], row["sha256"]) for row in entries]

    async def create_api_key(
        self,
        library: Library | None,
        role: Role,
        name: str = "",
        *,
        expires_at: datetime | None = None,
        replace_named: bool = False,
    ) -> tuple[str, ApiKeyRecord]:
        """Make a key (for one library, or every library with None) and store its
        hash; the key itself is returned once, here.

        With `replace_named`, earlier live keys of the same scope and name are revoked
        in the same transaction (how `serve --demo` rotates its key).
        """
        plain = _KEY_PREFIX + secrets.token_urlsafe(32)
        library_id = library.id if library else None
        async with self.pool.acquire() as conn, conn.transaction():
            if replace_named:
                await conn.execute(
                    "UPDATE api_keys SET revoked_at = now()"
                    " WHERE library_id IS NOT DISTINCT FROM $1 AND name = $2"
                    "   AND revoked_at IS NULL",
                    library_id,
                    name,
                )
            row = await conn.fetchrow(
                "INSERT INTO api_keys (library_id, name, role, key_hash, prefix, expires_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                library_id,
                name,
                role.value,
                hash_api_key(plain),
                plain[:10],
                expires_at,
            )
            record = await conn.fetchrow(_KEY_SELECT + " WHERE k.id = $1", row["id"])
        return plain, _key_record(record)

    async def api_keys(self, library_id: int | None = None) -> list[ApiKeyRecord]:
        """Every key, revoked and expired ones too, or those scoped to `library_id`."""
        rows = await self.pool.fetch(
            _KEY_SELECT + " WHERE $1::bigint IS NULL OR k.library_id = $1 ORDER BY k.id", library_id
        )
        return [_key_record(row) for row in rows]

    async def revoke_api_key(self, key_id: int, library_id: int | None = None) -> bool:
        """Revoke a live key (of `library_id`'s scope when given); False if none."""
        revoked = await self.pool.fetchval(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE id = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR library_id = $2)"
            " RETURNING id",
            key_id,
            library_id,
        )
        return revoked is not None

    async def authenticate(self, plain: str) -> ApiKey | None:
        """The live key with this secret, or None (unknown, revoked or expired).

        `last_used_at` is written at most once a minute per key, so a busy client
        does not turn every call into a write of the same row.
        """
        row = await self.pool.fetchrow(
            "WITH k AS (SELECT id, library_id, name, role, prefix, last_used_at FROM api_keys"
            "           WHERE key_hash = $1 AND revoked_at IS NULL"
            "             AND (expires_at IS NULL OR expires_at > now())),"
            " touched AS (UPDATE api_keys a SET last_used_at = now() FROM k"
            "             WHERE a.id = k.id AND (k.last_used_at IS NULL"
            "                   OR k.last_used_at < now() - interval '1 minute'))"
            " SELECT id, library_id, name, role, prefix FROM k",
            hash_api_key(plain),
        )
        if row is None:
            return None
        return ApiKey(row["id"], row["library_id"], row["name"], Role(row["role"]), row["prefix"])

    # URL signing

    async def create_signing_key(
        self, library: Library, scheme: Scheme, secret: str | None = None
    ) -> SigningKey:
        """A new live key: with a fresh secret, or with `secret` brought from elsewhere
        (InvalidSecret when its scheme cannot use it)."""
        row = await self.pool.fetchrow(
            "INSERT INTO signing_keys (id, library_id, scheme, secret) VALUES ($1, $2, $3, $4)"
            " RETURNING id, scheme, secret",
            "sk_" + secrets.token_hex(6),
            library.id,
            scheme.value,
            _new_secret(scheme) if secret is None else check_signing_secret(scheme, secret),
        )
        return _signing_key(row)

    async def revoke_signing_key(self, library: Library, key_id: str) -> bool:
        revoked = await self.pool.fetchval(
            "UPDATE signing_keys SET revoked_at = now()"
            " WHERE library_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id",
            library.id,
            key_id,
        )
        return revoked is not None

    async def signing_keys(self, library: Library) -> list[SigningKey]:
        """The live keys, newest first."""
        rows = await self.pool.fetch(
            "SELECT id, scheme, secret FROM signing_keys"
            " WHERE library_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
            library.id,
        )
        return [_signing_key(row) for row in rows]

    async def library_settings(self, library: Library) -> LibrarySettings:
        raw = await self.pool.fetchval("SELECT settings FROM libraries WHERE id = $1", library.id)
        return _settings(raw)

    async def set_library_settings(self, library: Library, settings: LibrarySettings) -> None:
        await self.pool.execute(
            "UPDATE libraries SET settings = $2::jsonb WHERE id = $1",
            library.id,
            json.dumps(settings.to_json()),
        )

    async def url_policy(self, library: str, _: str = "") -> UrlPolicy | None:
        """The library's URL policy: the origin's one query before it resolves a key.
        (Shaped as a Resolver lookup, which is how the origin caches it.)"""
        row = await self.pool.fetchrow(
            "SELECT settings,"
            "       coalesce((SELECT array_agg(ARRAY[k.id, k.scheme, k.secret] ORDER BY k.id)"
            "                 FROM signing_keys k"
            "                 WHERE k.library_id = l.id AND k.revoked_at IS NULL), '{}') AS keys"
            " FROM libraries l WHERE name = $1",
            library,
        )
        if row is None:
            return None
        keys = tuple(
            SigningKey(k_id, Scheme(scheme), secret) for k_id, scheme, secret in row["keys"]
        )
        return UrlPolicy(settings=_settings(row["settings"]), keys=keys)

    # Images

    async def get_image(self, library: Library, image_id: str) -> Image | None:
        row = await self.pool.fetchrow(
            _IMAGE_SELECT + " WHERE i.library_id = $1 AND i.id = $2 AND i.status <> 'deleted'",
            library.id,
            image_id,
        )
        return Image.from_row(row) if row else None

    async def resolve(self, library: str, key: str) -> Image | None:
        """The active image published under library/key: the origin's one query."""
        row = await self.pool.fetchrow(
            _IMAGE_SELECT + " WHERE l.name = $1 AND i.key = $2 AND i.status = 'active'",
            library,
            key,
        )
        return Image.from_row(row) if row else None

    async def set_status(
        self, library: Library, image_id: str, status: Status, *, unpublished_only: bool = False
    ) -> Image | None:
        """Move a live image (with `unpublished_only`, one pending since its upload, never
        activated) to `status`; None when there is no such image."""
        row = await self.pool.fetchrow(
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
        return await _image(self.pool, image_id) if row else None

    async def live_image_ids(self, library: Library) -> list[str]:
        """Every image of a library that may still have variants (pending ones too)."""
        rows = await self.pool.fetch(
            "SELECT id FROM images WHERE library_id = $1 AND status <> 'deleted'", library.id
        )
        return [row["id"] for row in rows]

    async def images_by(self, library: Library, column: str, values: list[str]) -> list[Image]:
        """The images of a library whose `column` (id, key or sha256) is one of `values`:
        by id in any status, deleted too (a purge may be run again after a delete); by
        key or content, the live ones."""
        assert column in ("id", "key", "sha256")
        live = " AND i.status <> 'deleted'" if column != "id" else ""
        rows = await self.pool.fetch(
            _IMAGE_SELECT + f" WHERE i.library_id = $1 AND i.{column} = ANY($2::text[])" + live,
            library.id,
            values,
        )
        return [Image.from_row(row) for row in rows]

    async def list_images(
        self, library: Library, query: ImageQuery
    ) -> tuple[list[Image], str | None]:
        """One page of a library's images, and the cursor of the next (None: the last)."""
        sql, args = list_sql(library.id, query, _IMAGE_SELECT)
        rows = await self.pool.fetch(sql, *args)
        found = [Image.from_row(row) for row in rows[: query.limit]]
        if len(rows) <= query.limit:
            return found, None
        last = rows[query.limit - 1]
        return found, encode_cursor(query.sort, last[query.sort.column], last["id"])

    async def update_image(
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
        async with self.pool.acquire() as conn, conn.transaction():
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
            return await _image(conn, image_id)

    async def tag_counts(self, library: Library) -> list[tuple[str, int]]:
        """Each tag of the library's live images, with how many have it, by tag."""
        rows = await self.pool.fetch(
            "SELECT t.tag, count(*) AS n FROM image_tags t JOIN images i ON i.id = t.image_id"
            " WHERE i.library_id = $1 AND i.status <> 'deleted' GROUP BY t.tag ORDER BY t.tag",
            library.id,
        )
        return [(row["tag"], row["n"]) for row in rows]

    async def versions(self, image: Image) -> list[ImageVersion]:
        """Every version of an image's original, newest first."""
        rows = await self.pool.fetch(
            "SELECT * FROM image_versions WHERE image_id = $1 ORDER BY version DESC", image.id
        )
        return [_version(row) for row in rows]

    async def version(self, image: Image, number: int) -> ImageVersion | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM image_versions WHERE image_id = $1 AND version = $2", image.id, number
        )
        return _version(row) if row else None

    async def expired_pending(self, default_ttl: int, limit: int) -> list[tuple[Library, Image]]:
        """Uploads never activated, pending for longer than their library's
        `pending_ttl` (0: kept forever). A deactivated image is kept: it was published."""
        rows = await self.pool.fetch(
            _IMAGE_SELECT + " WHERE i.status = 'pending' AND i.activated_at IS NULL"
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

    async def usage(self, library: Library) -> dict[str, int]:
        """Images by status, and the bytes of the live ones' current originals."""
        row = await self.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,"
            "       count(*) FILTER (WHERE status = 'active') AS active,"
            "       count(*) FILTER (WHERE status = 'deleted') AS deleted,"
            "       coalesce(sum(bytes) FILTER (WHERE status <> 'deleted'), 0)::bigint AS bytes"
            " FROM images WHERE library_id = $1",
            library.id,
        )
        return dict(row)

    async def add_counts(self, counts: Mapping[int, tuple[int, int]]) -> None:
        """Add (renders, hits) to each library's counters, by library id, in one
        statement; libraries deleted meanwhile are skipped. Rows are written in id
        order, so processes flushing at once cannot deadlock."""
        ids = sorted(counts)
        await self.pool.execute(
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
        """(renders, hits, since when) added for the library; None before the first."""
        row = await self.pool.fetchrow(
            "SELECT renders, hits, since FROM library_counters WHERE library_id = $1",
            library.id,
        )
        return (row["renders"], row["hits"], row["since"]) if row else None

    # Webhooks

    async def create_webhook(
        self, library: Library, url: str, events: list[str], max_webhooks: int
    ) -> Webhook:
        """A new webhook with a fresh secret; LimitReached past `max_webhooks` (counted
        under the library's row lock, so concurrent calls cannot pass it together)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT 1 FROM libraries WHERE id = $1 FOR NO KEY UPDATE", library.id
            )
            count = await conn.fetchval(
                "SELECT count(*) FROM webhooks WHERE library_id = $1", library.id
            )
            if count >= max_webhooks:
                raise LimitReached(f"a library has at most {max_webhooks} webhooks")
            row = await conn.fetchrow(
                "INSERT INTO webhooks (id, library_id, url, events, secret)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING *",
                "wh_" + secrets.token_hex(6),
                library.id,
                url,
                events,
                secrets.token_urlsafe(32),
            )
        return _webhook(row)

    async def webhooks(
        self, library_id: int, event: str | None = None, at: datetime | None = None
    ) -> list[Webhook]:
        """The library's webhooks; with `event`, those that hear it (and with `at`,
        those that existed when it happened)."""
        rows = await self.pool.fetch(
            "SELECT * FROM webhooks WHERE library_id = $1"
            " AND ($2::text IS NULL OR events = '{}' OR $2 = ANY(events))"
            " AND ($3::timestamptz IS NULL OR created_at <= $3) ORDER BY created_at, id",
            library_id,
            event,
            at,
        )
        return [_webhook(row) for row in rows]

    async def delete_webhook(self, library: Library, webhook_id: str) -> bool:
        deleted = await self.pool.fetchval(
            "DELETE FROM webhooks WHERE library_id = $1 AND id = $2 RETURNING id",
            library.id,
            webhook_id,
        )
        return deleted is not None

    # URIs served per key, for purges by exact URI (nginx)

    async def record_served(self, library_id: int, key: str, uri: str) -> None:
        await self.pool.execute(
            "INSERT INTO served_uris (library_id, key, uri) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            library_id,
            key,
            uri,
        )

    async def served_uris(self, library_id: int, keys: list[str] | None) -> list[str]:
        """The URIs served under these keys of a library; None: under any of its keys."""
        rows = await self.pool.fetch(
            "SELECT uri FROM served_uris WHERE library_id = $1"
            " AND ($2::text[] IS NULL OR key = ANY($2::text[]))",
            library_id,
            keys,
        )
        return [row["uri"] for row in rows]

    async def unsettle_originals(self, hashes: list[str]) -> list[int]:
        """Journal originals about to be written or dropped (committed at once, outside
        any lock's transaction, so the entries outlive the process); their ids."""
        rows = await self.pool.fetch(
            "INSERT INTO unsettled_originals (sha256) SELECT unnest($1::text[]) RETURNING id",
            hashes,
        )
        return [row["id"] for row in rows]

    async def settle_originals(self, entry_ids: list[int]) -> None:
        await self.pool.execute("DELETE FROM unsettled_originals WHERE id = ANY($1)", entry_ids)

    async def unsettled_originals(self, older_than: float, limit: int) -> list[tuple[int, str]]:
        """(id, sha256) of entries made more than `older_than` seconds ago."""
        rows = await self.pool.fetch(
            "SELECT id, sha256 FROM unsettled_originals"
            " WHERE since < now() - make_interval(secs => $1) ORDER BY id LIMIT $2",
            older_than,
            limit,
        )
        return [(row["id"], row["sha256"]) for row in rows]

    @asynccontextmanager
    async def original_lock(self, sha256: str) -> AsyncIterator[OriginalLock]:
        """A transaction holding a fleet-wide lock on one content-addressed original.

        Whoever stores the blob and commits the row pointing at it, or deletes the
        blob once no row points at it, does so inside this lock, so a delete never
        removes a blob that an upload is about to point a row at. Everything runs on
        the one connection, so a full pool cannot deadlock against itself.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", sha256)
            yield OriginalLock(conn, sha256)


class OriginalLock:
    """The catalog work that must happen under `Catalog.original_lock`."""

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
            return await _image(self._conn, new.id)

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
            return await _image(self._conn, image.id)


async def _image(conn: asyncpg.Pool | asyncpg.Connection, image_id: str) -> Image:
    return Image.from_row(await conn.fetchrow(_IMAGE_SELECT + " WHERE i.id = $1", image_id))


def _placeholders(first: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(first, first + count))


def _version(row: Any) -> ImageVersion:
    return ImageVersion(row["version"], Content.from_row(row), row["created_by"], row["created_at"])


def _new_secret(scheme: Scheme) -> str:
    if scheme is Scheme.IMGPROXY:
        # imgproxy's own advice: a 64-byte key and salt, hex-encoded.
        return f"{secrets.token_hex(64)}:{secrets.token_hex(64)}"
    return secrets.token_urlsafe(32)


def _webhook(row: Any) -> Webhook:
    return Webhook(row["id"], row["url"], tuple(row["events"]), row["secret"], row["created_at"])


def _key_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(**dict(row) | {"role": Role(row["role"])})


def _signing_key(row: Any) -> SigningKey:
    return SigningKey(row["id"], Scheme(row["scheme"]), row["secret"])


def _settings(raw: str) -> LibrarySettings:
    # Only settings this version knows: a newer version may have stored more.
    data = json.loads(raw)
    known = {f.name for f in dataclasses.fields(LibrarySettings)}
    return LibrarySettings.from_json({k: v for k, v in data.items() if k in known})

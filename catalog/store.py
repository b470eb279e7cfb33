"""The catalog on PostgreSQL: every query the program makes, in one place."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from catalog.migrate import migrate
from catalog.models import (
    ApiKey,
    Image,
    Library,
    LibrarySettings,
    NewImage,
    Role,
    Scheme,
    SigningKey,
    Status,
    UrlPolicy,
    check_signing_secret,
)
from catalog.settings import CatalogSettings


class KeyConflict(Exception):
    """Another live image in the library already has this key."""


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
    SELECT i.*, l.name AS library,
           coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM image_tags t
                     WHERE t.image_id = i.id), '{}') AS tags
    FROM images i JOIN libraries l ON l.id = i.library_id
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

    async def create_api_key(
        self, library: Library, role: Role, name: str = "", *, replace_named: bool = False
    ) -> tuple[str, ApiKey]:
        """Make a key and store its hash; the key itself is returned once, here.

        With `replace_named`, earlier live keys of the library with the same name are
        revoked in the same transaction (how `serve --demo` rotates its key).
        """
        plain = _KEY_PREFIX + secrets.token_urlsafe(32)
        async with self.pool.acquire() as conn, conn.transaction():
            if replace_named:
                await conn.execute(
                    "UPDATE api_keys SET revoked_at = now()"
                    " WHERE library_id = $1 AND name = $2 AND revoked_at IS NULL",
                    library.id,
                    name,
                )
            row = await conn.fetchrow(
                "INSERT INTO api_keys (library_id, name, role, key_hash, prefix)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                library.id,
                name,
                role.value,
                hash_api_key(plain),
                plain[:10],
            )
        key = ApiKey(row["id"], library.id, name, role, plain[:10])
        return plain, key

    async def authenticate(self, plain: str) -> ApiKey | None:
        """The live key with this secret, or None (unknown, revoked or expired)."""
        row = await self.pool.fetchrow(
            "UPDATE api_keys SET last_used_at = now()"
            " WHERE key_hash = $1 AND revoked_at IS NULL"
            "   AND (expires_at IS NULL OR expires_at > now())"
            " RETURNING id, library_id, name, role, prefix",
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

    async def set_status(self, library: Library, image_id: str, status: Status) -> Image | None:
        """Move a live image to `status`; None when there is no such live image."""
        row = await self.pool.fetchrow(
            "UPDATE images SET status = $3, updated_at = now(),"
            " activated_at = CASE WHEN $3 = 'active' THEN coalesce(activated_at, now())"
            "                     ELSE activated_at END,"
            " deleted_at = CASE WHEN $3 = 'deleted' THEN now() END"
            " WHERE library_id = $1 AND id = $2 AND status <> 'deleted'"
            " RETURNING id",
            library.id,
            image_id,
            status.value,
        )
        if row is None:
            return None
        found = await self.pool.fetchrow(_IMAGE_SELECT + " WHERE i.id = $1", image_id)
        return Image.from_row(found)

    async def live_image_ids(self, library: Library) -> list[str]:
        """Every image of a library that may still have variants (pending ones too)."""
        rows = await self.pool.fetch(
            "SELECT id FROM images WHERE library_id = $1 AND status <> 'deleted'", library.id
        )
        return [row["id"] for row in rows]

    async def images_by(self, library: Library, column: str, values: list[str]) -> list[Image]:
        """The images of a library whose `column` (id or key) is one of `values`: by id
        in any status, deleted too (a purge may be run again after a delete); by key,
        the live ones."""
        assert column in ("id", "key")
        live = " AND i.status <> 'deleted'" if column == "key" else ""
        rows = await self.pool.fetch(
            _IMAGE_SELECT + f" WHERE i.library_id = $1 AND i.{column} = ANY($2::text[])" + live,
            library.id,
            values,
        )
        return [Image.from_row(row) for row in rows]

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
        return bool(
            await self._conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM images WHERE sha256 = $1 AND status <> 'deleted')",
                self.sha256,
            )
        )

    async def insert_image(self, new: NewImage) -> Image:
        assert new.sha256 == self.sha256
        # A savepoint: a key conflict rolls back the insert, not the lock's transaction.
        async with self._conn.transaction():
            try:
                await self._conn.execute(
                    "INSERT INTO images (id, library_id, key, status, sha256, format,"
                    " width, height, bytes, alt, activated_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                    "         CASE WHEN $4 = 'active' THEN now() END)",
                    new.id,
                    new.library_id,
                    new.key,
                    new.status.value,
                    new.sha256,
                    new.format,
                    new.width,
                    new.height,
                    new.bytes,
                    new.alt,
                )
            except asyncpg.UniqueViolationError as exc:
                raise KeyConflict(new.key) from exc
            await self._conn.executemany(
                "INSERT INTO image_tags (image_id, tag) VALUES ($1, $2)",
                [(new.id, tag) for tag in new.tags],
            )
            row = await self._conn.fetchrow(_IMAGE_SELECT + " WHERE i.id = $1", new.id)
        return Image.from_row(row)

    async def replace_original(
        self, image: Image, format: str, width: int, height: int, size: int
    ) -> Image | None:
        """Point a live image at this original as its next version; None when the
        image was deleted or given another original meanwhile (whose replacer would
        not know to drop `image`'s)."""
        updated = await self._conn.fetchval(
            "UPDATE images SET sha256 = $2, format = $3, width = $4, height = $5, bytes = $6,"
            " version = version + 1, updated_at = now()"
            " WHERE id = $1 AND sha256 = $7 AND status <> 'deleted' RETURNING id",
            image.id,
            self.sha256,
            format,
            width,
            height,
            size,
            image.sha256,
        )
        if updated is None:
            return None
        return Image.from_row(
            await self._conn.fetchrow(_IMAGE_SELECT + " WHERE i.id = $1", image.id)
        )


def _new_secret(scheme: Scheme) -> str:
    if scheme is Scheme.IMGPROXY:
        # imgproxy's own advice: a 64-byte key and salt, hex-encoded.
        return f"{secrets.token_hex(64)}:{secrets.token_hex(64)}"
    return secrets.token_urlsafe(32)


def _signing_key(row: Any) -> SigningKey:
    return SigningKey(row["id"], Scheme(row["scheme"]), row["secret"])


def _settings(raw: str) -> LibrarySettings:
    # Only settings this version knows: a newer version may have stored more.
    data = json.loads(raw)
    known = {f.name for f in dataclasses.fields(LibrarySettings)}
    return LibrarySettings.from_json({k: v for k, v in data.items() if k in known})

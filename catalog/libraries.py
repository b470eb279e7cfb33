"""Libraries: the namespaces, their settings, and the URL policy the origin reads."""

from __future__ import annotations

import dataclasses
import json
from typing import Protocol

import asyncpg

from catalog.errors import LibraryExists
from catalog.models import Library, LibrarySettings, Scheme, SigningKey, UrlPolicy
from catalog.originals import journal_library_originals


class Libraries(Protocol):
    async def ensure(self, name: str) -> Library:
        """The library of this name, made if there is none."""

    async def get(self, name: str) -> Library | None: ...

    async def create(self, name: str, settings: LibrarySettings) -> Library:
        """A new library; LibraryExists when the name is taken."""

    async def listed(self, library_id: int | None = None) -> list[Library]:
        """Every library by name, or the one with `library_id` (a scoped key's view)."""

    async def delete(self, library: Library) -> tuple[list[str], list[tuple[int, str]]]:
        """The library's row, and with it (cascade) its keys, webhooks and images:
        the ids of the live images, and journal entries (`Originals.unsettle`) for
        every original they and their versions had, to be dropped unless used."""

    async def settings(self, library: Library) -> LibrarySettings: ...

    async def set_settings(self, library: Library, settings: LibrarySettings) -> None: ...

    async def url_policy(self, library: str, _: str = "") -> UrlPolicy | None:
        """The library's URL policy: the origin's one query before it resolves a key.
        (Shaped as a Resolver lookup, which is how the origin caches it.)"""


class PgLibraries(Libraries):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def ensure(self, name: str) -> Library:
        row = await self._pool.fetchrow(
            "INSERT INTO libraries (name) VALUES ($1)"
            " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
            " RETURNING id, name, created_at",
            name,
        )
        return Library(**dict(row))

    async def get(self, name: str) -> Library | None:
        row = await self._pool.fetchrow(
            "SELECT id, name, created_at FROM libraries WHERE name = $1", name
        )
        return Library(**dict(row)) if row else None

    async def create(self, name: str, settings: LibrarySettings) -> Library:
        try:
            row = await self._pool.fetchrow(
                "INSERT INTO libraries (name, settings) VALUES ($1, $2::jsonb)"
                " RETURNING id, name, created_at",
                name,
                json.dumps(settings.to_json()),
            )
        except asyncpg.UniqueViolationError:
            raise LibraryExists(name) from None
        return Library(**dict(row))

    async def listed(self, library_id: int | None = None) -> list[Library]:
        rows = await self._pool.fetch(
            "SELECT id, name, created_at FROM libraries"
            " WHERE $1::bigint IS NULL OR id = $1 ORDER BY name",
            library_id,
        )
        return [Library(**dict(row)) for row in rows]

    async def delete(self, library: Library) -> tuple[list[str], list[tuple[int, str]]]:
        # The row lock first: uploads in flight commit before it, later ones wait and
        # then fail, so none is removed by the cascade without its original journalled
        # (in this transaction: the journal and the delete commit together).
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM libraries WHERE id = $1 FOR UPDATE", library.id)
            live = await conn.fetch(
                "SELECT id FROM images WHERE library_id = $1 AND status <> 'deleted'", library.id
            )
            entries = await journal_library_originals(conn, library.id)
            await conn.execute("DELETE FROM libraries WHERE id = $1", library.id)
        return [row["id"] for row in live], entries

    async def settings(self, library: Library) -> LibrarySettings:
        raw = await self._pool.fetchval("SELECT settings FROM libraries WHERE id = $1", library.id)
        return _settings(raw)

    async def set_settings(self, library: Library, settings: LibrarySettings) -> None:
        await self._pool.execute(
            "UPDATE libraries SET settings = $2::jsonb WHERE id = $1",
            library.id,
            json.dumps(settings.to_json()),
        )

    async def url_policy(self, library: str, _: str = "") -> UrlPolicy | None:
        row = await self._pool.fetchrow(
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


def _settings(raw: str) -> LibrarySettings:
    # Only settings this version knows: a newer version may have stored more.
    data = json.loads(raw)
    known = {f.name for f in dataclasses.fields(LibrarySettings)}
    return LibrarySettings.from_json({k: v for k, v in data.items() if k in known})

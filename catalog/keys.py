"""API keys of the admin API: stored hashed, scoped to a library or to all of them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from catalog.models import ApiKey, ApiKeyRecord, Library, Role

_KEY_SELECT = """
    SELECT k.id, l.name AS library, k.name, k.role, k.prefix, k.created_at, k.expires_at,
           k.revoked_at, k.last_used_at
    FROM api_keys k LEFT JOIN libraries l ON l.id = k.library_id
"""

_KEY_PREFIX = "io_"


def hash_api_key(key: str) -> bytes:
    # API keys carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).digest()


class ApiKeys(Protocol):
    async def create(
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
        in the same transaction (how `serve --demo` rotates its key)."""

    async def listed(self, library_id: int | None = None) -> list[ApiKeyRecord]:
        """Every key, revoked and expired ones too, or those scoped to `library_id`."""

    async def revoke(self, key_id: int, library_id: int | None = None) -> bool:
        """Revoke a live key (of `library_id`'s scope when given); False if none."""

    async def authenticate(self, plain: str) -> ApiKey | None:
        """The live key with this secret, or None (unknown, revoked or expired)."""


class PgApiKeys(ApiKeys):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self,
        library: Library | None,
        role: Role,
        name: str = "",
        *,
        expires_at: datetime | None = None,
        replace_named: bool = False,
    ) -> tuple[str, ApiKeyRecord]:
        plain = _KEY_PREFIX + secrets.token_urlsafe(32)
        library_id = library.id if library else None
        async with self._pool.acquire() as conn, conn.transaction():
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

    async def listed(self, library_id: int | None = None) -> list[ApiKeyRecord]:
        rows = await self._pool.fetch(
            _KEY_SELECT + " WHERE $1::bigint IS NULL OR k.library_id = $1 ORDER BY k.id", library_id
        )
        return [_key_record(row) for row in rows]

    async def revoke(self, key_id: int, library_id: int | None = None) -> bool:
        revoked = await self._pool.fetchval(
            "UPDATE api_keys SET revoked_at = now()"
            " WHERE id = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR library_id = $2)"
            " RETURNING id",
            key_id,
            library_id,
        )
        return revoked is not None

    async def authenticate(self, plain: str) -> ApiKey | None:
        # `last_used_at` is written at most once a minute per key, so a busy client
        # does not turn every call into a write of the same row.
        row = await self._pool.fetchrow(
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


def _key_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(**dict(row) | {"role": Role(row["role"])})

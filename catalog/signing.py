"""Signing keys: the secrets a library's public URLs are signed with, several live
at once for rotation."""

from __future__ import annotations

import secrets
from typing import Any, Protocol

import asyncpg

from catalog.models import Library, Scheme, SigningKey, check_signing_secret


class SigningKeys(Protocol):
    async def create(
        self, library: Library, scheme: Scheme, secret: str | None = None
    ) -> SigningKey:
        """A new live key: with a fresh secret, or with `secret` brought from elsewhere
        (InvalidSecret when its scheme cannot use it)."""

    async def revoke(self, library: Library, key_id: str) -> bool: ...

    async def live(self, library: Library) -> list[SigningKey]:
        """The live keys, newest first."""


class PgSigningKeys(SigningKeys):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, library: Library, scheme: Scheme, secret: str | None = None
    ) -> SigningKey:
        row = await self._pool.fetchrow(
            "INSERT INTO signing_keys (id, library_id, scheme, secret) VALUES ($1, $2, $3, $4)"
            " RETURNING id, scheme, secret",
            "sk_" + secrets.token_hex(6),
            library.id,
            scheme.value,
            _new_secret(scheme) if secret is None else check_signing_secret(scheme, secret),
        )
        return _signing_key(row)

    async def revoke(self, library: Library, key_id: str) -> bool:
        revoked = await self._pool.fetchval(
            "UPDATE signing_keys SET revoked_at = now()"
            " WHERE library_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING id",
            library.id,
            key_id,
        )
        return revoked is not None

    async def live(self, library: Library) -> list[SigningKey]:
        rows = await self._pool.fetch(
            "SELECT id, scheme, secret FROM signing_keys"
            " WHERE library_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
            library.id,
        )
        return [_signing_key(row) for row in rows]


def _new_secret(scheme: Scheme) -> str:
    if scheme is Scheme.IMGPROXY:
        # imgproxy's own advice: a 64-byte key and salt, hex-encoded.
        return f"{secrets.token_hex(64)}:{secrets.token_hex(64)}"
    return secrets.token_urlsafe(32)


def _signing_key(row: Any) -> SigningKey:
    return SigningKey(row["id"], Scheme(row["scheme"]), row["secret"])

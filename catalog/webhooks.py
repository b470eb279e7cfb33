"""Webhooks: where a library's events are sent (the delivery is admin_api's)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from catalog.errors import LimitReached
from catalog.models import Library, Webhook


class WebhookRegistry(Protocol):
    async def create(
        self, library: Library, url: str, events: list[str], max_webhooks: int
    ) -> Webhook:
        """A new webhook with a fresh secret; LimitReached past `max_webhooks` (counted
        under the library's row lock, so concurrent calls cannot pass it together)."""

    async def listed(
        self, library_id: int, event: str | None = None, at: datetime | None = None
    ) -> list[Webhook]:
        """The library's webhooks; with `event`, those that hear it (and with `at`,
        those that existed when it happened)."""

    async def delete(self, library: Library, webhook_id: str) -> bool: ...


class PgWebhooks(WebhookRegistry):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(
        self, library: Library, url: str, events: list[str], max_webhooks: int
    ) -> Webhook:
        async with self._pool.acquire() as conn, conn.transaction():
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

    async def listed(
        self, library_id: int, event: str | None = None, at: datetime | None = None
    ) -> list[Webhook]:
        rows = await self._pool.fetch(
            "SELECT * FROM webhooks WHERE library_id = $1"
            " AND ($2::text IS NULL OR events = '{}' OR $2 = ANY(events))"
            " AND ($3::timestamptz IS NULL OR created_at <= $3) ORDER BY created_at, id",
            library_id,
            event,
            at,
        )
        return [_webhook(row) for row in rows]

    async def delete(self, library: Library, webhook_id: str) -> bool:
        deleted = await self._pool.fetchval(
            "DELETE FROM webhooks WHERE library_id = $1 AND id = $2 RETURNING id",
            library.id,
            webhook_id,
        )
        return deleted is not None


def _webhook(row: Any) -> Webhook:
    return Webhook(row["id"], row["url"], tuple(row["events"]), row["secret"], row["created_at"])

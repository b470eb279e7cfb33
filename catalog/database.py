"""The catalog on PostgreSQL: every repository on one asyncpg pool.

A thin composite for the composition root and the write side, which use several
repositories; a consumer that needs one is handed that one (its Protocol).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from catalog.images import Images, PgImages
from catalog.keys import ApiKeys, PgApiKeys
from catalog.libraries import Libraries, PgLibraries
from catalog.migrate import migrate
from catalog.originals import Originals, PgOriginals
from catalog.served import PgServedUris
from catalog.settings import CatalogSettings
from catalog.signing import PgSigningKeys, SigningKeys
from catalog.stats import PgStats, Stats
from catalog.webhooks import PgWebhooks, WebhookRegistry


class Catalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.libraries: Libraries = PgLibraries(pool)
        self.images: Images = PgImages(pool)
        self.api_keys: ApiKeys = PgApiKeys(pool)
        self.signing_keys: SigningKeys = PgSigningKeys(pool)
        self.webhooks: WebhookRegistry = PgWebhooks(pool)
        self.stats: Stats = PgStats(pool)
        self.originals: Originals = PgOriginals(pool)
        self.served = PgServedUris(pool)

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

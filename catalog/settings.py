"""Catalog settings: where PostgreSQL is and how the hot-path lookups are cached."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CatalogSettings:
    database_url: str = field(
        default="",
        metadata={
            "env": "IMGORIGIN_DATABASE_URL",
            "help": "PostgreSQL URL (`postgresql://user@host:5432/db`). Empty starts an "
            "embedded PostgreSQL (pgserver) under `<data dir>/postgres`.",
        },
    )
    pool_size: int = field(
        default=10,
        metadata={"env": "IMGORIGIN_DB_POOL_SIZE", "min": 1, "help": "Connections per process."},
    )
    timeout: float = field(
        default=5.0,
        metadata={
            "env": "IMGORIGIN_DB_TIMEOUT",
            "above": 0,
            "help": "Seconds allowed for connecting and for each statement.",
        },
    )
    resolve_cache_ttl: float = field(
        default=5.0,
        metadata={
            "env": "IMGORIGIN_RESOLVE_CACHE_TTL",
            "min": 0,
            "help": "Seconds a key-to-image lookup is cached in each process "
            "(0 turns the cache off). Changes made through this process are seen at once.",
        },
    )
    resolve_cache_size: int = field(
        default=10_000,
        metadata={
            "env": "IMGORIGIN_RESOLVE_CACHE_SIZE",
            "min": 1,
            "help": "Entries in that cache, least recently used evicted first.",
        },
    )

    def validate(self) -> None:
        if self.database_url and urlsplit(self.database_url).scheme not in (
            "postgres",
            "postgresql",
        ):
            raise ValueError("IMGORIGIN_DATABASE_URL must be a postgresql:// URL")

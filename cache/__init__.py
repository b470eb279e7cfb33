"""The variant cache: variant keys, single-flight renders, purge of every layer."""

from __future__ import annotations

from cache.flights import FileFlights, Flights, LocalFlights, RedisFlights
from cache.purge import (
    Purger,
    PurgeReport,
    PurgeTarget,
    ServedUris,
    image_tag,
    library_tag,
    purge_hooks,
)
from cache.redislink import RedisLink
from cache.settings import CacheSettings, PurgeSettings
from cache.singleflight import FlightTimeout, Outcome, VariantCache
from cache.variants import etag, variant_key, variant_prefix

__all__ = [
    "CacheSettings",
    "FileFlights",
    "FlightTimeout",
    "Flights",
    "LocalFlights",
    "Outcome",
    "PurgeReport",
    "PurgeSettings",
    "PurgeTarget",
    "Purger",
    "RedisFlights",
    "RedisLink",
    "ServedUris",
    "VariantCache",
    "etag",
    "image_tag",
    "library_tag",
    "purge_hooks",
    "variant_key",
    "variant_prefix",
]

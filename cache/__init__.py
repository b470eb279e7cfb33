"""The variant cache: variant keys, single-flight renders, purge."""

from __future__ import annotations

from cache.flights import FileFlights, Flights, LocalFlights, RedisFlights
from cache.redislink import RedisLink
from cache.settings import CacheSettings
from cache.singleflight import FlightTimeout, Outcome, VariantCache
from cache.variants import etag, variant_key, variant_prefix

__all__ = [
    "CacheSettings",
    "FileFlights",
    "FlightTimeout",
    "Flights",
    "LocalFlights",
    "Outcome",
    "RedisFlights",
    "RedisLink",
    "VariantCache",
    "etag",
    "variant_key",
    "variant_prefix",
]

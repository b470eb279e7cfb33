"""The variant cache: variant keys, single-flight renders, purge."""

from __future__ import annotations

from cache.singleflight import Outcome, VariantCache
from cache.variants import etag, variant_key, variant_prefix

__all__ = ["Outcome", "VariantCache", "etag", "variant_key", "variant_prefix"]

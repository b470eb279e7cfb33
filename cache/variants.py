"""Variant keys: where a rendered variant lives, derived from the canonical spec."""

from __future__ import annotations

import hashlib


def variant_prefix(image_id: str) -> str:
    """Every variant of an image, all versions: what a purge deletes."""
    return f"variants/{image_id}/"


def variant_key(image_id: str, version: int, canonical_spec: str, extension: str) -> str:
    spec_hash = hashlib.sha256(canonical_spec.encode()).hexdigest()[:32]
    return f"{variant_prefix(image_id)}{version}/{spec_hash}.{extension}"


def etag(key: str) -> str:
    """A strong ETag: the key names one image version and one exact spec, so the bytes
    behind a key never change (a replaced original gets a new version, a new key)."""
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'

"""Where originals live in the store: content-addressed, so equal bytes are kept once."""

from __future__ import annotations


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"

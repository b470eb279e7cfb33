"""Process-wide libvips setup for serving untrusted images."""

from __future__ import annotations

import pyvips

from origin.pipeline.formats import LOADERS


def configure() -> None:
    """Allow only our loaders, refuse libvips' untrusted operations, cache nothing.

    The operation cache pays off for repeated calls on one image; an origin renders
    each variant once, so the cache would only hold memory. Idempotent.
    """
    pyvips.cache_set_max(0)
    pyvips.block_untrusted_set(True)
    pyvips.operation_block_set("VipsForeignLoad", True)
    for loader in LOADERS.values():
        pyvips.operation_block_set(loader, False)

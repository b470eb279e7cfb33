"""Process-wide libvips setup for serving untrusted images."""

from __future__ import annotations

import pyvips

from origin.pipeline.formats import LOADERS

# How libvips reports a file it cannot decode. pyvips decodes libvips' messages and
# metadata names as UTF-8, and a damaged file can put other bytes there, so its
# failure to read the error is a decode failure too.
VIPS_ERRORS = (pyvips.Error, UnicodeDecodeError)


def reason(exc: Exception) -> str:
    """The most specific line of a libvips error, fit for a client to read."""
    if isinstance(exc, UnicodeDecodeError):
        return "unreadable image data"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else "unreadable image data"


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

"""Encoding the final image, one set of encoder options per output format.

Metadata is never written (`keep="none"`): EXIF may hold GPS positions, and
libvips keeps metadata by default. Pixels are already sRGB, which is what a
viewer assumes when there is no profile.
"""

from __future__ import annotations

from typing import Any

import pyvips

from origin.spec import OutputFormat

# AVIF at effort 2 costs about what WebP at its default effort does; higher
# efforts cost several times more per render for a few percent of bytes.
AVIF_EFFORT = 2

_OPTIONS: dict[OutputFormat, tuple[str, dict[str, Any]]] = {
    OutputFormat.JPG: (".jpg", {"optimize_coding": True}),
    OutputFormat.PNG: (".png", {"compression": 6}),
    OutputFormat.WEBP: (".webp", {"effort": 4}),
    OutputFormat.AVIF: (".avif", {"compression": "av1", "effort": AVIF_EFFORT}),
    OutputFormat.GIF: (".gif", {}),
}


def encode(image: pyvips.Image, fmt: OutputFormat, quality: int) -> bytes:
    suffix, options = _OPTIONS[fmt]
    if fmt.lossy:
        options = {**options, "Q": quality}
    return bytes(image.write_to_buffer(suffix, keep="none", **options))

"""Encoding the final image, one set of encoder options per output format.

Metadata is never written: EXIF may hold GPS positions, and libvips keeps metadata
by default. Pixels are sRGB, which is what a viewer assumes when there is no
profile, unless `cs=origin` keeps the source's colours, and then its profile.
"""

from __future__ import annotations

from typing import Any

import pyvips

from origin.spec import ColourSpace, OutputFormat, TransformSpec

# AVIF at effort 2 costs about what WebP at its default effort does; higher
# efforts cost several times more per render for a few percent of bytes.
AVIF_EFFORT = 2
SRGB_PROFILE = bytes(pyvips.Image.profile_load("srgb"))

_OPTIONS: dict[OutputFormat, tuple[str, dict[str, Any]]] = {
    OutputFormat.JPG: (".jpg", {"optimize_coding": True}),
    OutputFormat.PJPG: (".jpg", {"optimize_coding": True, "interlace": True}),
    OutputFormat.PNG: (".png", {"compression": 6}),
    OutputFormat.PNG8: (".png", {"compression": 6, "palette": True}),
    OutputFormat.PNG32: (".png", {"compression": 6}),
    OutputFormat.WEBP: (".webp", {"effort": 4}),
    OutputFormat.AVIF: (".avif", {"compression": "av1", "effort": AVIF_EFFORT}),
    OutputFormat.GIF: (".gif", {}),
}


def encode(image: pyvips.Image, spec: TransformSpec, *, keep_profile: bool = False) -> bytes:
    """`spec.format` with its quality; no metadata but, with `keep_profile`, the ICC
    profile (sRGB's for cs=srgb, whatever the pixels are in otherwise)."""
    assert spec.format is not None
    suffix, options = _OPTIONS[spec.format]
    if spec.lossless:
        options = {**options, "lossless": True}
    elif spec.format.lossy:
        options = {**options, "Q": max(1, spec.quality)}  # libvips' encoders start at 1
    if spec.colour_space is ColourSpace.SRGB:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", SRGB_PROFILE)
    keep = "icc" if keep_profile else "none"
    return bytes(image.write_to_buffer(suffix, keep=keep, **options))

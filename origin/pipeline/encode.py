"""Encoding the final image, one set of encoder options per output format.

Metadata is never written: EXIF may hold GPS positions, and libvips keeps metadata
by default. Pixels are sRGB, which is what a viewer assumes when there is no
profile, unless `cs=origin` keeps the source's colours, and then its profile.
An animation's frame height, delays and loop count are not metadata: the GIF and
WebP encoders write them from the image whatever `keep` says.

`q` is one scale for every format, JPEG's: libjpeg's quality goes to JPEG and WebP
as it is, and AVIF gets the quality that gives about the same picture (see
avif_quality). Measured by `python -m bench.quality`.
"""

from __future__ import annotations

from typing import Any

import pyvips

from origin.spec import DEFAULT_QUALITY, ColourSpace, OutputFormat, TransformSpec

# AVIF at effort 2 costs about what WebP at its default effort does; higher
# efforts cost several times more per render for a few percent of bytes.
AVIF_EFFORT = 2
SRGB_PROFILE = bytes(pyvips.Image.profile_load("srgb"))

# libvips in pyvips' wheel encodes JPEG with mozjpeg: trellis quantisation, its
# deringing and its quantisation table 3 (tuned on photos for perceived quality)
# make an 800 px photo a quarter to a half smaller at the same SSIM, for about 10 ms.
# Chroma is subsampled 4:2:0 below quality 90 (libvips' "auto"), as everyone does.
_JPEG = {
    "optimize_coding": True,
    "trellis_quant": True,
    "overshoot_deringing": True,
    "quant_table": 3,
}

_OPTIONS: dict[OutputFormat, tuple[str, dict[str, Any]]] = {
    OutputFormat.JPG: (".jpg", _JPEG),
    # Progressive scans chosen for size, as mozjpeg's own default does.
    OutputFormat.PJPG: (".jpg", {**_JPEG, "interlace": True, "optimize_scans": True}),
    OutputFormat.PNG: (".png", {"compression": 6}),
    # libimagequant at effort 3: a quarter of the time of libvips' default 7 for a
    # tenth more bytes (a 1200x800 photo: 0.3 s, not 1.1 s).
    OutputFormat.PNG8: (".png", {"compression": 6, "palette": True, "effort": 3}),
    OutputFormat.PNG32: (".png", {"compression": 6}),
    OutputFormat.WEBP: (".webp", {"effort": 4}),
    OutputFormat.AVIF: (".avif", {"compression": "av1", "effort": AVIF_EFFORT}),
    # libimagequant at effort 1 quantises six times faster than at libvips' default
    # 7, at the same SSIM and 5% more bytes: 100 frames of 320x180 in 4 s, not 28 s.
    OutputFormat.GIF: (".gif", {"effort": 1}),
}


def avif_quality(q: int) -> int:
    """AVIF's quality for JPEG's `q`: two thirds of it up to the default 75 (AVIF's
    50 is WebP's 75 in SSIM, at about four fifths of its bytes), then rising to 100
    at 100. AVIF's own scale at 75 would make files several times WebP's."""
    if q <= DEFAULT_QUALITY:
        return max(1, round(q * 2 / 3))
    knee = round(DEFAULT_QUALITY * 2 / 3)
    return knee + round((q - DEFAULT_QUALITY) * (100 - knee) / (100 - DEFAULT_QUALITY))


def encode(image: pyvips.Image, spec: TransformSpec, *, keep_profile: bool = False) -> bytes:
    """`spec.format` with its quality; no metadata but, with `keep_profile`, the ICC
    profile (sRGB's for cs=srgb, whatever the pixels are in otherwise)."""
    assert spec.format is not None
    suffix, options = _OPTIONS[spec.format]
    if spec.lossless:
        options = {**options, "lossless": True}
    elif spec.format is OutputFormat.AVIF:
        options = {**options, "Q": avif_quality(spec.quality)}
    elif spec.format.lossy:
        options = {**options, "Q": max(1, spec.quality)}  # libvips' encoders start at 1
    if spec.colour_space is ColourSpace.SRGB:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", SRGB_PROFILE)
    keep = "icc" if keep_profile else "none"
    return bytes(image.write_to_buffer(suffix, keep=keep, **options))

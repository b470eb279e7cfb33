"""Encoding the final image, one set of encoder options per output format.

Metadata is never written: EXIF may hold GPS positions, and libvips keeps metadata
by default. Pixels are sRGB, which is what a viewer assumes when there is no
profile, unless `cs=origin` keeps the source's colours, and then its profile.
An animation's frame height, delays and loop count are not metadata: the GIF and
WebP encoders write them from the image whatever `keep` says.

`q` is one scale for every format, libjpeg's: WebP and AVIF take it as it is, and
our JPEG the quality that gives at least libjpeg's picture at that `q` in fewer bytes
(see jpeg_quality). Measured on real photos by `python -m bench.quality`.
"""

from __future__ import annotations

from typing import Any

import pyvips

from origin.spec import DEFAULT_QUALITY, ColourSpace, OutputFormat, TransformSpec

# AVIF at effort 2: an 800 px photo in 0.2 s of CPU; effort 3 takes 0.34 s and
# effort 4 (sharp's default) 1.7 s, for 2-3% fewer bytes at the same SSIM. AVIF takes
# `q` on its own scale: at 75, 9 real photos at w=800 keep an SSIM of 0.981, where
# thumbor's and ipx's AVIF keep 0.96-0.98 (AVIF 50, as before, kept 0.947).
AVIF_EFFORT = 2
SRGB_PROFILE = bytes(pyvips.Image.profile_load("srgb"))

# libvips in pyvips' wheel encodes JPEG with mozjpeg. Its quantisation table 7
# (Ahumada, Watson and Peterson's), at the quality jpeg_quality gives, makes 9 real
# photos at w=800 2.5% smaller than libjpeg's own table at q=75 does (sharp; Pillow
# is 0.7% smaller than that) at a higher SSIM (at w=300: 1.6% larger, SSIM 0.966
# against 0.962). Trellis quantisation would save 2.5% more bytes but costs 25 ms of
# CPU on an 800 px photo, where the whole encode is 4 ms without it: not kept.
# Chroma is subsampled 4:2:0 below q=90, as everyone does.
_JPEG = {
    "optimize_coding": True,
    "overshoot_deringing": True,
    "quant_table": 7,
}
# The quality on table 7 that gives the picture libjpeg's table gives at the default q.
JPEG_DEFAULT_QUALITY = 52
JPEG_FULL_CHROMA = 90

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


def jpeg_quality(q: int) -> int:
    """Table 7's quality for libjpeg's `q`: scaled so the default 75 is
    JPEG_DEFAULT_QUALITY, then rising to 100 at 100. On 9 real photos at w=800,
    against libjpeg's table at the same q: at 75, 2.5% fewer bytes at SSIM 0.9683
    against 0.9678; at 50, 13% more for 0.953 against 0.945 (libjpeg's q=60 picture
    in 2% fewer bytes); at 90 (chroma 4:4:4), 11% more for 0.9865 against 0.9853."""
    knee = JPEG_DEFAULT_QUALITY
    if q <= DEFAULT_QUALITY:
        return max(1, round(q * knee / DEFAULT_QUALITY))
    return knee + round((q - DEFAULT_QUALITY) * (100 - knee) / (100 - DEFAULT_QUALITY))


def encode(image: pyvips.Image, spec: TransformSpec, *, keep_profile: bool = False) -> bytes:
    """`spec.format` with its quality; no metadata but, with `keep_profile`, the ICC
    profile (sRGB's for cs=srgb, whatever the pixels are in otherwise)."""
    assert spec.format is not None
    suffix, options = _OPTIONS[spec.format]
    if spec.lossless:
        options = {**options, "lossless": True}
    elif spec.format in (OutputFormat.JPG, OutputFormat.PJPG):
        # Chroma at full resolution from libjpeg's q=90 up, as libvips does by Q.
        subsample = "off" if spec.quality >= JPEG_FULL_CHROMA else "on"
        options = {**options, "Q": jpeg_quality(spec.quality), "subsample_mode": subsample}
    elif spec.format.lossy:
        options = {**options, "Q": max(1, spec.quality)}  # libvips' encoders start at 1
    if spec.colour_space is ColourSpace.SRGB:
        image = image.copy()
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", SRGB_PROFILE)
    keep = "icc" if keep_profile else "none"
    return bytes(image.write_to_buffer(suffix, keep=keep, **options))

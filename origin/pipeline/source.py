"""An original made ready for libvips, whatever its format.

Most formats go to libvips as they are stored, so that its thumbnail can shrink on
load. SVG goes through svg.sanitise first. HEIC is decoded by pillow-heif (the libvips
in pyvips' wheel has no HEVC decoder) into pixels libvips then takes from memory:
that decode is whole-size, as HEVC has no shrink-on-load anyway. Pillow's own format
detection is never used, so it opens nothing we did not allowlist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pillow_heif
import pyvips

from origin.errors import Unprocessable, UnsupportedMediaType
from origin.pipeline import svg
from origin.pipeline.formats import SOURCE_FORMATS, sniff

_BANDS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


@dataclass(slots=True)
class Source:
    format: str  # as formats.sniff names it
    data: bytes  # what the decoder reads: the original, or the sanitised SVG
    # HEIC's pixels, decoded once for all the uses of one Source (an upload's probe
    # and analysis, a render's trim and load): HEVC has no shrink-on-load, so each
    # decode is of the whole picture.
    _decoded: pyvips.Image | None = field(default=None, repr=False)

    def image(self, **options: Any) -> pyvips.Image:
        """The whole picture (its first page or frame unless `n` says otherwise),
        lazily where the format allows."""
        if self.format == "heic":
            return self._heif()
        return pyvips.Image.new_from_buffer(self.data, "", **options)

    def thumbnail(self, width: int, **options: Any) -> pyvips.Image:
        """libvips' thumbnail: shrink-on-load, EXIF orientation, colour management."""
        if self.format == "heic":
            # The loader's options (fail_on, n) are for libvips' own loaders.
            options.pop("option_string", None)
            return pyvips.Image.thumbnail_image(self._heif(), width, **options)
        return pyvips.Image.thumbnail_buffer(self.data, width, **options)

    def _heif(self) -> pyvips.Image:
        if self._decoded is None:
            self._decoded = _heif_image(self.data)
        return self._decoded


def open_source(original: bytes) -> Source:
    """The original as its decoder takes it; 415 for what we do not take."""
    fmt = sniff(original)
    if fmt is None:
        raise UnsupportedMediaType(
            "not an image we accept: " + ", ".join(f.upper() for f in SOURCE_FORMATS),
            code="unsupported_image",
        )
    return Source(fmt, svg.sanitise(original) if fmt == "svg" else original)


# What pillow-heif raises for a file it cannot read: libheif's errors come through as
# ValueError or RuntimeError, but its Python layer also lets through SyntaxError (an
# unknown box version), IndexError (no picture in the file) and the like. The file is
# untrusted input; any of these means it is damaged.
HEIF_ERRORS = (ValueError, RuntimeError, EOFError, SyntaxError, IndexError, KeyError, OSError)
# pillow-heif's modes (8 bits a channel but for grey: convert_hdr_to_8bit leaves a
# 10- or 12-bit grey picture at 16 bits) as bands and libvips' format.
_MODES = {
    "L": (1, "uchar", "b-w"),
    "LA": (2, "uchar", "b-w"),
    "RGB": (3, "uchar", "srgb"),
    "RGBA": (4, "uchar", "srgb"),
    "I;16": (1, "ushort", "grey16"),
}


def heif_header(data: bytes) -> tuple[int, int, bool, bool]:
    """Width, height (as displayed), alpha and an embedded ICC profile, from the
    container alone: pillow-heif decodes pixels only when they are read."""
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        return heif.size[0], heif.size[1], heif.has_alpha, bool(heif.info.get("icc_profile"))
    except HEIF_ERRORS as exc:
        raise Unprocessable(
            f"the image could not be decoded: {exc}", code="undecodable_image"
        ) from None


def _heif_image(data: bytes) -> pyvips.Image:
    """The primary picture, turned as its container says, with its ICC profile
    attached. Errors are pyvips.Error, as libvips' own decoders raise, so callers
    handle every format's damage in one place."""
    try:
        heif = pillow_heif.open_heif(data, convert_hdr_to_8bit=True)
        width, height = heif.size
        bands, fmt, interpretation = _MODES[heif.mode]
        row = width * bands * (2 if fmt == "ushort" else 1)
        rows, stride = heif.data, heif.stride
        pixels = (
            bytes(rows)
            if stride == row
            else b"".join(rows[y * stride : y * stride + row] for y in range(height))
        )
        profile = heif.info.get("icc_profile")
    except HEIF_ERRORS as exc:
        raise pyvips.Error(f"heif: {exc}") from None
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, fmt)
    image = image.copy(interpretation=interpretation)
    if profile:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(profile))
    return image

"""What an upload is, checked before it is stored: format, size, decodability."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from origin.errors import Unprocessable
from origin.pipeline.header import SourceLimits, read_header
from origin.pipeline.source import Source, open_source
from origin.pipeline.steps import flatten, to_srgb
from origin.pipeline.vips import VIPS_ERRORS, reason


@dataclass(frozen=True, slots=True)
class Probe:
    format: str
    width: int
    height: int
    has_alpha: bool
    frames: int  # of an animation; 1 for a still picture
    colour: str  # "#rrggbb": the average colour in sRGB, alpha laid on white


def probe(data: bytes, limits: SourceLimits) -> Probe:
    """probe_source on the bytes of an upload."""
    return probe_source(open_source(data), limits)


def probe_source(source: Source, limits: SourceLimits) -> Probe:
    """Identify and fully decode (at a small scale) an upload; typed errors otherwise.

    The small decode goes through the colour steps every render takes, so truncated,
    corrupt and unrenderable files (odd band counts, say) are refused at upload, not
    at the first render; with shrink-on-load it costs little even for large JPEGs.
    Its per-band average is the picture's average colour (a placeholder's background).
    """
    header = read_header(source, limits.max_pixels)
    limits.check_animation(header)
    try:
        # Every frame of an animation (within the caps just checked): renders keep
        # them all, so a damaged later frame must be refused here too.
        frames = ",n=-1" if header.animated else ""
        small = source.thumbnail(64, option_string=f"fail_on=truncated{frames}")
        # In memory (64 px: tiny), so each band's average reads it, not the file again.
        colour = average_colour(flatten(to_srgb(small)).copy_memory())
    except VIPS_ERRORS as exc:
        raise Unprocessable(
            f"the image is damaged: {reason(exc)}",
            code="undecodable_image",
        ) from None
    return Probe(
        source.format, header.width, header.height, header.has_alpha, header.frames, colour
    )


def average_colour(image: pyvips.Image) -> str:
    """The colour of an 8-bit sRGB or grey image without alpha, as "#rrggbb": each
    band's mean."""
    means = [image.extract_band(band).avg() for band in range(image.bands)]
    if len(means) == 1:  # grey
        means *= 3
    return "#" + "".join(f"{max(0, min(255, round(m))):02x}" for m in means[:3])

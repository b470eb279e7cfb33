"""What an original's header says, read without decoding its pixels."""

from __future__ import annotations

from dataclasses import dataclass

from origin.errors import Unprocessable
from origin.pipeline.formats import ANIMATED_FORMATS
from origin.pipeline.source import Source, heif_header
from origin.pipeline.vips import VIPS_ERRORS

_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image by 90°
MAX_FRAMES = 200
MAX_ANIMATION_PIXELS = 100_000_000


@dataclass(frozen=True, slots=True)
class Header:
    width: int  # as displayed, after the EXIF orientation
    height: int  # of one frame, for an animation
    has_alpha: bool
    frames: int  # of an animated GIF or WebP; 1 for everything else (a TIFF's pages too)
    has_profile: bool  # an embedded ICC profile
    cmyk: bool

    @property
    def animated(self) -> bool:
        return self.frames > 1


@dataclass(frozen=True, slots=True)
class SourceLimits:
    max_pixels: int  # of a picture, or of one frame of an animation
    max_frames: int = MAX_FRAMES
    max_animation_pixels: int = MAX_ANIMATION_PIXELS  # of all frames together

    def animates(self, header: Header) -> bool:
        """Whether renders keep the animation (else: its first frame)."""
        frame = header.width * header.height
        return 1 < header.frames <= self.max_frames and (
            frame * header.frames <= self.max_animation_pixels
        )

    def check_animation(self, header: Header) -> None:
        """Refuse an upload whose animation renders could not keep."""
        if header.frames > self.max_frames:
            raise Unprocessable(
                f"the animation has {header.frames} frames; the most is {self.max_frames}",
                code="too_many_frames",
            )
        if not self.animates(header) and header.animated:
            raise Unprocessable(
                f"the animation has {header.width}x{header.height} pixels in each of "
                f"{header.frames} frames; the most is {self.max_animation_pixels} in all",
                code="animation_too_large",
            )


def read_header(source: Source, max_pixels: int) -> Header:
    """Read the size without decoding pixels, and refuse sources (or frames of an
    animation) over the pixel cap."""
    if source.format == "heic":
        width, height, has_alpha, has_profile = heif_header(source.data)
        header = Header(width, height, has_alpha, 1, has_profile, cmyk=False)
    else:
        header = _vips_header(source)
    if header.width * header.height > max_pixels:
        raise Unprocessable(
            f"the image has {header.width}x{header.height} pixels; the most is {max_pixels}",
            code="image_too_large",
        )
    return header


def _vips_header(source: Source) -> Header:
    try:
        image = source.image(access="sequential")
        # get_typeof, not get_fields: a damaged EXIF block can hold names pyvips
        # cannot decode, and we need only these.
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
        pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
        has_alpha = bool(image.hasalpha())
        has_profile = bool(image.get_typeof("icc-profile-data"))
    except VIPS_ERRORS:
        raise Unprocessable("the image could not be decoded", code="undecodable_image") from None
    width, height = image.width, image.height
    frames = pages if source.format in ANIMATED_FORMATS else 1
    # libvips would turn an animation's frames as one tall picture, not one by one:
    # animations are shown as stored (browsers ignore their EXIF orientation too).
    if orientation in _SWAPPING_ORIENTATIONS and frames == 1:
        width, height = height, width
    return Header(width, height, has_alpha, frames, has_profile, image.interpretation == "cmyk")

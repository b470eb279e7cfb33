"""What an original's header says, read without decoding its pixels."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from origin.errors import Unprocessable
from origin.pipeline.vips import VIPS_ERRORS

_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image by 90°


@dataclass(frozen=True, slots=True)
class Header:
    width: int  # as displayed, after the EXIF orientation
    height: int
    has_alpha: bool
    pages: int
    has_profile: bool  # an embedded ICC profile
    cmyk: bool


def read_header(data: bytes, max_pixels: int) -> Header:
    """Read the size without decoding pixels, and refuse sources over the pixel cap."""
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        # get_typeof, not get_fields: a damaged EXIF block can hold names pyvips
        # cannot decode, and we need only these two.
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
        pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
        has_alpha = bool(image.hasalpha())
        has_profile = bool(image.get_typeof("icc-profile-data"))
    except VIPS_ERRORS:
        raise Unprocessable("the image could not be decoded", code="undecodable_image") from None
    width, height = image.width, image.height
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    if width * height > max_pixels:
        raise Unprocessable(
            f"the image has {width}x{height} pixels; the most is {max_pixels}",
            code="image_too_large",
        )
    cmyk = image.interpretation == "cmyk"
    return Header(width, height, has_alpha, pages, has_profile, cmyk)

"""One render: original bytes and a concrete spec in, encoded variant bytes out.

Runs in a worker thread (libvips releases the GIL); everything here is blocking.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from origin.errors import Unprocessable
from origin.pipeline.encode import encode
from origin.pipeline.plan import plan
from origin.pipeline.steps import load, steps_for
from origin.spec import TransformSpec

_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image by 90°


@dataclass(frozen=True, slots=True)
class Header:
    width: int  # as displayed, after the EXIF orientation
    height: int
    loader: str
    has_alpha: bool
    pages: int


def read_header(data: bytes, max_pixels: int) -> Header:
    """Read the size without decoding pixels, and refuse sources over the pixel cap."""
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
    except pyvips.Error:
        raise Unprocessable("the image could not be decoded", code="undecodable_image") from None
    fields = set(image.get_fields())
    orientation = image.get("orientation") if "orientation" in fields else 1
    width, height = image.width, image.height
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    if width * height > max_pixels:
        raise Unprocessable(
            f"the image has {width}x{height} pixels; the most is {max_pixels}",
            code="image_too_large",
        )
    return Header(
        width=width,
        height=height,
        loader=image.get("vips-loader"),
        has_alpha=bool(image.hasalpha()),
        pages=image.get("n-pages") if "n-pages" in fields else 1,
    )


def render(original: bytes, spec: TransformSpec, max_pixels: int) -> bytes:
    """Render `spec` (its format fixed) from the original's bytes."""
    assert spec.format is not None, "render takes a concrete spec"
    header = read_header(original, max_pixels)
    geometry = plan(spec, header.width, header.height)
    try:
        image = load(original, geometry)
        for step in steps_for(geometry, spec.format):
            image = step(image)
        return encode(image, spec.format, spec.quality)
    except pyvips.Error as exc:
        raise Unprocessable(
            f"the original could not be rendered: {str(exc).splitlines()[0]}",
            code="undecodable_image",
        ) from None

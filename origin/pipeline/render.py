"""One render: original bytes and a concrete spec in, encoded variant bytes out.

Runs in a worker thread (libvips releases the GIL); everything here is blocking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyvips

from origin.errors import Unavailable, Unprocessable
from origin.pipeline.encode import encode
from origin.pipeline.plan import plan
from origin.pipeline.steps import load, steps_for
from origin.pipeline.vips import VIPS_ERRORS, reason
from origin.spec import OutputFormat, TransformSpec

# GIF's palette quantiser runs after the pixels are made, where the render deadline
# cannot stop it, and takes about a second per megapixel: GIF outputs get their own cap.
GIF_MAX_PIXELS = 4_000_000


@dataclass(frozen=True, slots=True)
class RenderLimits:
    max_source_pixels: int
    max_output_pixels: int
    timeout: float  # seconds of pixel work; the encoders' own last pass is not included

    def output_pixels(self, fmt: OutputFormat) -> int:
        if fmt is OutputFormat.GIF:
            return min(self.max_output_pixels, GIF_MAX_PIXELS)
        return self.max_output_pixels


_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that turn the image by 90°


@dataclass(frozen=True, slots=True)
class Header:
    width: int  # as displayed, after the EXIF orientation
    height: int
    has_alpha: bool
    pages: int


def read_header(data: bytes, max_pixels: int) -> Header:
    """Read the size without decoding pixels, and refuse sources over the pixel cap."""
    try:
        image = pyvips.Image.new_from_buffer(data, "", access="sequential")
        # get_typeof, not get_fields: a damaged EXIF block can hold names pyvips
        # cannot decode, and we need only these two.
        orientation = image.get("orientation") if image.get_typeof("orientation") else 1
        pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
        has_alpha = bool(image.hasalpha())
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
    return Header(width, height, has_alpha, pages)


def _kill_after(image: pyvips.Image, deadline: float) -> None:
    """Make libvips abandon the computation of `image` once `deadline` has passed."""

    def on_eval(target: pyvips.Image, _progress: object) -> None:
        if time.monotonic() > deadline:
            target.set_kill(True)

    image.set_progress(True)
    image.signal_connect("eval", on_eval)


def render(original: bytes, spec: TransformSpec, limits: RenderLimits) -> bytes:
    """Render `spec` (its format fixed) from the original's bytes."""
    assert spec.format is not None, "render takes a concrete spec"
    header = read_header(original, limits.max_source_pixels)
    geometry = plan(spec, header.width, header.height, limits.output_pixels(spec.format))
    deadline = time.monotonic() + limits.timeout
    try:
        # Lazy until encode: the steps only describe the pipeline, encode pulls pixels.
        image = load(original, geometry)
        for step in steps_for(geometry, spec.format):
            image = step(image)
        _kill_after(image, deadline)
        return encode(image, spec.format, spec.quality)
    except VIPS_ERRORS as exc:
        if time.monotonic() > deadline:
            raise Unavailable(
                f"the render took longer than {limits.timeout:g} seconds",
                code="render_timeout",
                headers={"Retry-After": "10"},
            ) from None
        raise Unprocessable(
            f"the original could not be rendered: {reason(exc)}",
            code="undecodable_image",
        ) from None

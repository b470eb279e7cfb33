"""One render: original bytes and a concrete spec in, encoded variant bytes out.

Runs in a worker thread (libvips releases the GIL); everything here is blocking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyvips

from origin.errors import Unavailable, Unprocessable
from origin.pipeline.describe import describe_as
from origin.pipeline.encode import encode
from origin.pipeline.header import Header, SourceLimits, read_header
from origin.pipeline.plan import Box, plan, source_region
from origin.pipeline.source import Source, open_source
from origin.pipeline.steps import animation, load, run, steps_for, to_srgb
from origin.pipeline.vips import VIPS_ERRORS, reason
from origin.spec import ColourSpace, OutputFormat, TransformSpec

# The palette quantiser of GIF and PNG8 runs after a picture's pixels are made, where
# the render deadline cannot stop it, and takes up to a second per megapixel: those
# outputs get their own cap (for an animation, of each frame: the deadline is checked
# between frames).
QUANTISED_MAX_PIXELS = 4_000_000


@dataclass(frozen=True, slots=True)
class RenderLimits:
    source: SourceLimits
    max_output_pixels: int  # of a picture, or of each frame of an animation
    timeout: float  # seconds of pixel work; the encoders' own last pass is not included

    def output_pixels(self, fmt: OutputFormat) -> int:
        if fmt in (OutputFormat.GIF, OutputFormat.PNG8):
            return min(self.max_output_pixels, QUANTISED_MAX_PIXELS)
        return self.max_output_pixels

    def frame_pixels(self, fmt: OutputFormat, frames: int) -> int:
        """The most pixels of one frame: all frames together stay within
        max_output_pixels, as the steps that need a picture in memory hold every
        frame of an animation at once."""
        return max(1, min(self.output_pixels(fmt), self.max_output_pixels // frames))


def _kill_after(image: pyvips.Image, deadline: float) -> None:
    """Make libvips abandon the computation of `image` once `deadline` has passed."""

    def on_eval(target: pyvips.Image, _progress: object) -> None:
        if time.monotonic() > deadline:
            target.set_kill(True)

    image.set_progress(True)
    image.signal_connect("eval", on_eval)


TRIM_SAMPLE = 1024  # trim=auto looks for borders on a copy at most this large
MIN_TRIM_SAMPLE = 3
TRIM_THRESHOLD = 10  # how far from the border colour a pixel may be and still be border


def trimmed(source: Source, header: Header, region: Box) -> Box:
    """The part of `region` left when borders of one colour are cut off (imgix's
    trim=auto), found on a small copy and scaled back to source pixels."""
    x, y, w, h = region
    scale = min(1.0, TRIM_SAMPLE / max(header.width, header.height))
    sample = source.thumbnail(
        max(1, round(header.width * scale)),
        height=max(1, round(header.height * scale)),
        size="force",
    )
    # The region on the sample, kept inside it whatever the rounding.
    box_x = min(round(x * scale), sample.width - 1)
    box_y = min(round(y * scale), sample.height - 1)
    box_w = min(max(1, round(w * scale)), sample.width - box_x)
    box_h = min(max(1, round(h * scale)), sample.height - box_y)
    if box_w < MIN_TRIM_SAMPLE or box_h < MIN_TRIM_SAMPLE:
        return region  # too small to tell a border from the picture (libvips' 3x3 median)
    sample = to_srgb(sample).extract_area(box_x, box_y, box_w, box_h)
    sample = sample.flatten() if sample.hasalpha() else sample
    left, top, width, height = sample.find_trim(
        threshold=TRIM_THRESHOLD, background=sample.getpoint(0, 0)
    )
    if width == 0 or height == 0:  # all one colour: nothing to keep but the whole
        return region
    return (
        x + round(left / scale),
        y + round(top / scale),
        max(1, min(w, round(width / scale))),
        max(1, min(h, round(height / scale))),
    )


def render(original: bytes, spec: TransformSpec, limits: RenderLimits) -> bytes:
    """Render `spec` (its format fixed) from the original's bytes."""
    assert spec.format is not None, "render takes a concrete spec"
    if not spec.format.is_picture:
        return describe_as(original, spec.format, limits.source)
    source = open_source(original)
    header = read_header(source, limits.source.max_pixels)
    deadline = time.monotonic() + limits.timeout
    # Keep the source's colours and profile only when asked to, never CMYK ones, and
    # not in GIF, which cannot carry the profile that says what the colours are.
    keep_colours = (
        spec.colour_space is ColourSpace.ORIGIN
        and not header.cmyk
        and spec.format is not OutputFormat.GIF
    )
    frames = header.frames if spec.format.animates and limits.source.animates(header) else 1
    try:
        region = source_region(spec.rect, header.width, header.height)
        if spec.trim:
            region = trimmed(source, header, region)
        geometry = plan(
            spec, (header.width, header.height), region, limits.frame_pixels(spec.format, frames)
        )
        # Lazy until encode: the steps only describe the pipeline, encode pulls pixels.
        loaded = load(
            source,
            geometry,
            to_srgb=header.has_profile and not keep_colours,
            frames=frames,
            upright=not header.animated,
        )
        # Not every step is lazy: in_memory computes its input while the steps are
        # made. Images made from `loaded` report their progress to it, so the deadline
        # is on it too, and it must stay referenced until encode is done: libvips calls
        # back through it.
        _kill_after(loaded, deadline)
        steps = steps_for(geometry, spec, spec.format)
        image = run(loaded, steps) if frames == 1 else animation(loaded, frames, steps)
        _kill_after(image, deadline)
        return encode(
            image, spec, keep_profile=keep_colours or spec.colour_space is ColourSpace.SRGB
        )
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

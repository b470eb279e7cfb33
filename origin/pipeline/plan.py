"""The geometry of a render, worked out before any pixel is touched.

A pure function of the spec and the source's displayed size (after EXIF rotation):
what size libvips' thumbnail should produce, whether it crops, and whether the
result is then padded to a box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from origin.errors import BadRequest
from origin.spec import MAX_DIMENSION, Fit, TransformSpec


@dataclass(frozen=True, slots=True)
class Plan:
    width: int  # what thumbnail makes, exactly
    height: int
    crop: bool  # fill width x height and cut the overflow around the centre
    canvas: tuple[int, int] | None = None  # then pad to this box

    @property
    def output_size(self) -> tuple[int, int]:
        return self.canvas or (self.width, self.height)


def _round(x: float) -> int:
    return max(1, math.floor(x + 0.5))  # never a zero side


def plan(
    spec: TransformSpec, source_width: int, source_height: int, max_pixels: int = 2**62
) -> Plan:
    """The geometry for `spec`; BadRequest when the output passes MAX_DIMENSION a side
    or `max_pixels` in all."""
    box_w, box_h = spec.width, spec.height
    if box_w is None and box_h is None:
        result = Plan(source_width, source_height, crop=False)
    elif box_w is not None and box_h is not None and spec.fit is Fit.SCALE:
        result = Plan(box_w, box_h, crop=False)
    elif box_w is not None and box_h is not None and spec.fit is Fit.CROP:
        result = Plan(box_w, box_h, crop=True)
    else:
        scale = min(
            box_w / source_width if box_w is not None else math.inf,
            box_h / source_height if box_h is not None else math.inf,
        )
        if spec.fit is Fit.MAX:
            scale = min(scale, 1.0)
        width, height = _round(source_width * scale), _round(source_height * scale)
        # The side that constrains the box is met exactly, whatever the rounding.
        if box_w is not None and scale == box_w / source_width:
            width = box_w
        if box_h is not None and scale == box_h / source_height:
            height = box_h
        canvas = (box_w, box_h) if spec.fit is Fit.FILL and box_w and box_h else None
        if canvas == (width, height):
            canvas = None
        result = Plan(width, height, crop=False, canvas=canvas)
    out_w, out_h = result.output_size
    if out_w > MAX_DIMENSION or out_h > MAX_DIMENSION or out_w * out_h > max_pixels:
        raise BadRequest(
            f"the output would be {out_w}x{out_h}; the most is {MAX_DIMENSION} a side "
            f"and {max_pixels} pixels in all",
            code="output_too_large",
        )
    return result

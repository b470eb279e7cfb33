"""The geometry of a render, worked out before any pixel is touched.

Pure functions of the spec and sizes. The region of the source to use (`rect`, then
`trim` inside it) comes first; `plan` then says how large to decode the whole source
so that the region comes out at the size the fit mode needs (libvips' thumbnail
shrinks on load), where to cut, and what box to put the result on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from origin.errors import BadRequest
from origin.spec import MAX_DIMENSION, Crop, Fit, Length, Ratio, Rect, TransformSpec

Box = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True, slots=True)
class Plan:
    load: tuple[int, int]  # decode the whole source to exactly this size
    region: Box | None  # then keep this part of it (the rect, scaled), if not all
    resize: tuple[int, int] | None = None  # then resize that part to this size
    # Then a box this size, placed by libvips' smartcrop with this `interesting`.
    smart: tuple[int, int, str] | None = None
    canvas: tuple[int, int] | None = None  # then centre the result on a box this size

    @property
    def size(self) -> tuple[int, int]:
        """The picture's size before rotation and padding."""
        if self.canvas is not None:
            return self.canvas
        if self.smart is not None:
            return self.smart[:2]
        if self.resize is not None:
            return self.resize
        return self.region[2:] if self.region is not None else self.load


def _round(x: float) -> int:
    return max(1, math.floor(x + 0.5))  # never a zero side


def _pixels(length: Length, whole: int) -> int:
    return length.of(whole) if isinstance(length, Ratio) else length


def source_region(rect: Rect | None, width: int, height: int) -> Box:
    """The part of the source `rect` names, clipped to the source, as imgix does; a
    rect wholly outside it is a mistake."""
    if rect is None:
        return (0, 0, width, height)
    x, y = (
        round(v.value * whole) if isinstance(v, Ratio) else v
        for v, whole in zip(rect[:2], (width, height), strict=True)
    )
    w, h = (_pixels(v, whole) for v, whole in zip(rect[2:], (width, height), strict=True))
    if x >= width or y >= height:
        raise BadRequest(
            f"rect starts at {x},{y}, outside the {width}x{height} image", code="invalid_parameter"
        )
    return (x, y, min(w, width - x), min(h, height - y))


def plan(
    spec: TransformSpec,
    source: tuple[int, int],
    region: Box | None = None,
    max_pixels: int = 2**62,
) -> Plan:
    """The geometry for `spec` on a source of `source` size (as displayed), using
    `region` of it; BadRequest when the output passes MAX_DIMENSION a side or
    `max_pixels` in all, or a smart crop would choose from more than `max_pixels`."""
    region = region or (0, 0, *source)
    rw, rh = region[2:]
    box_w, box_h = _box(spec, rw, rh)
    if spec.fit is Fit.SCALE and box_w is not None and box_h is not None:
        result = _placed(source, region, (box_w, box_h))
    elif spec.fit in (Fit.CROP, Fit.MIN) and box_w is not None and box_h is not None:
        result = _cropped(spec, source, region, box_w, box_h, max_pixels)
    else:
        size = _fitted(spec, rw, rh, box_w, box_h)
        if spec.fit in (Fit.CLIP, Fit.MAX):
            size = _within_limits(spec, size, max_pixels)
        canvas = None
        if spec.fit in (Fit.FILL, Fit.FILLMAX) and box_w and box_h and (box_w, box_h) != size:
            canvas = (box_w, box_h)
        result = _placed(source, region, size, canvas=canvas)
    _check_output(spec, result.size, max_pixels)
    return result


def _cropped(
    spec: TransformSpec,
    source: tuple[int, int],
    region: Box,
    box_w: int,
    box_h: int,
    max_pixels: int,
) -> Plan:
    """Cover the box, then cut it: where the cut goes is known now for the sides and
    the focal point, so the box becomes a region of the source and nothing larger
    than the output is ever made; a smart crop needs the covering picture itself."""
    x, y, rw, rh = region
    cover = max(box_w / rw, box_h / rh)
    if spec.fit is Fit.MIN and cover > 1:
        # Never enlarge: the largest box of the asked shape the region holds.
        cover, box_w, box_h = 1.0, _round(box_w / cover), _round(box_h / cover)
    if Crop.FOCALPOINT in spec.crop:
        cover *= spec.focal[2]
    size = (max(box_w, _round(rw * cover)), max(box_h, _round(rh * cover)))
    smart = _SMART.get(spec.crop[0]) if spec.crop else None
    if smart is not None:
        # libvips holds the covering picture in memory to choose the place.
        _check_size("the picture a smart crop chooses from", size, max_pixels, MAX_SMART_SIDE)
        return _placed(source, region, size, smart=(box_w, box_h, smart))
    fx, fy = _anchor(spec)
    sx, sy = size[0] / rw, size[1] / rh
    left = min(round(_offset(size[0], box_w, fx) / sx), rw - 1)
    top = min(round(_offset(size[1], box_h, fy) / sy), rh - 1)
    width = min(max(1, round(box_w / sx)), rw - left)
    height = min(max(1, round(box_h / sy)), rh - top)
    return _placed(source, (x + left, y + top, width, height), (box_w, box_h))


def _box(spec: TransformSpec, rw: int, rh: int) -> tuple[int | None, int | None]:
    """The box to fit into: relative sides resolved, the missing side from `ar`, and
    the min/max limits applied side by side (max wins)."""
    w = _pixels(spec.width, rw) if spec.width is not None else None
    h = _pixels(spec.height, rh) if spec.height is not None else None
    if spec.aspect is not None:
        if w is None and h is None:  # the largest box of that shape in the region
            w, h = min(rw, _round(rh * spec.aspect)), min(rh, _round(rw / spec.aspect))
        elif h is None:
            h = _round(w / spec.aspect)  # type: ignore[operator]
        elif w is None:
            w = _round(h * spec.aspect)
    if spec.fit in (Fit.CROP, Fit.MIN, Fit.SCALE, Fit.FILL, Fit.FILLMAX):
        w = _clamped(w, spec.min_width, spec.max_width)
        h = _clamped(h, spec.min_height, spec.max_height)
    return w, h


def _clamped(side: int | None, low: int | None, high: int | None) -> int | None:
    if side is None:
        return None
    return min(max(side, low or 1), high or MAX_DIMENSION)


def _fitted(
    spec: TransformSpec, rw: int, rh: int, box_w: int | None, box_h: int | None
) -> tuple[int, int]:
    """The size of the region fitted inside the box (the region's own size without
    one), keeping its shape."""
    scale = min(
        box_w / rw if box_w is not None else math.inf,
        box_h / rh if box_h is not None else math.inf,
    )
    if scale == math.inf:
        scale = 1.0
    if spec.fit in (Fit.MAX, Fit.FILLMAX):
        scale = min(scale, 1.0)
    if spec.fit in (Fit.CLIP, Fit.MAX):  # the limits bound the picture, keeping its shape
        limits = ((rw, spec.min_width, spec.max_width), (rh, spec.min_height, spec.max_height))
        for side, low, high in limits:
            if low is not None and side * scale < low:
                scale = low / side
            if high is not None and side * scale > high:
                scale = high / side
    width, height = _round(rw * scale), _round(rh * scale)
    # The side that constrains the box is met exactly, whatever the rounding.
    if box_w is not None and scale == box_w / rw:
        width = box_w
    if box_h is not None and scale == box_h / rh:
        height = box_h
    return width, height


def _within_limits(spec: TransformSpec, size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """`size` shrunk, keeping its shape, until the output (turned and padded) fits
    MAX_DIMENSION a side and `max_pixels` in all. clip and max fit the picture inside
    a box, so a smaller picture still answers the URL: the imgix SDKs' srcsets go up to
    w=8192 whatever the source's shape. Only what the URL demands itself (`min-w`,
    `min-h`) is never shrunk below; _check_output then refuses it."""
    if _fits(output_size(spec, size), max_pixels):
        return size
    width, height = size
    # The output is k·(a, b) + 2·pad for the picture scaled by k, so the largest k that
    # fits solves a quadratic; rounding is then mended a pixel at a time.
    a, b = (v - 2 * spec.pad for v in output_size(spec, size))
    pad = 2 * spec.pad
    by_side = (MAX_DIMENSION - pad) / max(a, b)
    # (k·a + pad)(k·b + pad) <= max_pixels
    by_pixels = (-pad * (a + b) + math.sqrt(pad**2 * (a - b) ** 2 + 4 * a * b * max_pixels)) / (
        2 * a * b
    )
    scale = min(by_side, by_pixels)
    if scale <= 0:
        return size
    shrunk = (_round(width * scale), _round(height * scale))
    while not _fits(output_size(spec, shrunk), max_pixels) and max(shrunk) > 1:
        scale *= 1 - 1 / max(shrunk)
        shrunk = (_round(width * scale), _round(height * scale))
    if shrunk[0] < (spec.min_width or 1) or shrunk[1] < (spec.min_height or 1):
        return size  # the URL itself asks for more than the limits allow
    return shrunk


def _fits(size: tuple[int, int], max_pixels: int, max_side: int = MAX_DIMENSION) -> bool:
    width, height = size
    return width <= max_side and height <= max_side and width * height <= max_pixels


def _placed(
    source: tuple[int, int],
    region: Box,
    size: tuple[int, int],
    *,
    smart: tuple[int, int, str] | None = None,
    canvas: tuple[int, int] | None = None,
) -> Plan:
    """How to get the region at `size`: shrunk on load with the rest of the source
    and then cut out, or cut out first when it is enlarged."""
    sw, sh = source
    x, y, rw, rh = region
    sx, sy = size[0] / rw, size[1] / rh
    if (x, y, rw, rh) == (0, 0, sw, sh):
        load, scaled, resize = size, None, None
    elif sx <= 1 and sy <= 1:
        load = (_round(sw * sx), _round(sh * sy))
        left, top = min(math.floor(x * sx), load[0] - 1), min(math.floor(y * sy), load[1] - 1)
        scaled = (left, top, min(size[0], load[0] - left), min(size[1], load[1] - top))
        resize, size = None, scaled[2:]
    else:
        # Never decode the whole source enlarged.
        load, scaled, resize = source, region, size
    if smart is None:
        return Plan(load, scaled, resize, canvas=canvas)
    crop_w, crop_h, interesting = smart
    return Plan(
        load, scaled, resize, smart=(min(crop_w, size[0]), min(crop_h, size[1]), interesting)
    )


_SMART = {Crop.ENTROPY: "entropy", Crop.EDGES: "attention"}
# A smart crop's covering picture may pass MAX_DIMENSION (a thin box on a large source);
# the pixel budget is what bounds its memory.
MAX_SMART_SIDE = 65_535


def _anchor(spec: TransformSpec) -> tuple[float, float]:
    """Where in the picture (0–1 each way) the crop is centred."""
    if Crop.FOCALPOINT in spec.crop:
        return spec.focal[0], spec.focal[1]
    fx = 0.0 if Crop.LEFT in spec.crop else 1.0 if Crop.RIGHT in spec.crop else 0.5
    fy = 0.0 if Crop.TOP in spec.crop else 1.0 if Crop.BOTTOM in spec.crop else 0.5
    return fx, fy


def _offset(whole: int, part: int, anchor: float) -> int:
    """The start of a `part` centred on `anchor` of `whole`, kept inside it."""
    return min(max(0, round(anchor * whole - part / 2)), whole - part)


def output_size(spec: TransformSpec, size: tuple[int, int]) -> tuple[int, int]:
    """The final size: `size` turned by `rot` (a bounding box for odd angles), padded."""
    w, h = size
    if spec.rotate % 180 == 90:
        w, h = h, w
    elif spec.rotate % 90:
        angle = math.radians(spec.rotate)
        cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
        w, h = math.ceil(w * cos + h * sin), math.ceil(w * sin + h * cos)
    return w + 2 * spec.pad, h + 2 * spec.pad


def _check_output(spec: TransformSpec, size: tuple[int, int], max_pixels: int) -> None:
    _check_size("the output", output_size(spec, size), max_pixels)


def _check_size(
    what: str, size: tuple[int, int], max_pixels: int, max_side: int = MAX_DIMENSION
) -> None:
    width, height = size
    if not _fits(size, max_pixels, max_side):
        raise BadRequest(
            f"{what} would be {width}x{height}; the most is {max_side} a side "
            f"and {max_pixels} pixels in all",
            code="output_too_large",
        )

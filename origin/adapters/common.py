"""What the path dialects share: the Address a path names; the parsers for option
values and the 400s they raise; and Gravity and Turn, which say where a crop holds the
picture and how it is turned, written as imgix pairs on the source's axes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import unquote

from catalog import InvalidName, check_image_key, check_library_name
from origin.errors import BadRequest
from origin.spec import MAX_DIMENSION, Crop, Fit, decimal_text

Pair = tuple[str, str]
Ask = dict[str, Any]  # what a path's options asked for so far, before it becomes pairs
T = TypeVar("T")

MAX_BLUR_SIGMA = 200.0  # imgix blur 2000: our blur step's sigma is blur / 10
# imgproxy's and sharp's sharpen take libvips' sigma with a fixed strength; our sharp
# (0-100) fixes sigma at 1 and scales the strength, the same at sigma 1 as sharp=30.
SHARP_PER_SIGMA = 30
MAX_SHARPEN_SIGMA = 100 / SHARP_PER_SIGMA

_PIXELS = re.compile(r"[0-9]{1,6}", re.ASCII)
_SIGNED = re.compile(r"-?[0-9]{1,6}", re.ASCII)
_NUMBER = re.compile(r"[0-9]{1,6}(?:\.[0-9]{0,6})?|\.[0-9]{1,6}", re.ASCII)
_CSS_HEX = re.compile(r"#?([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Address:
    """What a path names: an image, the imgix parameters for the picture and, for an
    imgproxy path, its signature segment and the part of the path that it signs."""

    library: str
    key: str
    pairs: tuple[Pair, ...]
    signature: str | None = None
    signed_path: str = ""  # from the "/" after the signature segment, raw as sent
    # A native URL's query as sent, which its `s` signs (signed_path is then the
    # whole path); None for the path dialects.
    query: str | None = None


def _invalid(option: str, value: str, expected: str) -> BadRequest:
    return BadRequest(f"{option} {value!r}: expected {expected}", code="invalid_parameter")


def _unsupported(dialect_name: str, option: str) -> BadRequest:
    return BadRequest(
        f"{dialect_name} option {option!r} is not supported here", code="unknown_parameter"
    )


def _refused(message: str) -> BadRequest:
    """A combination the origin cannot render as the other service would."""
    return BadRequest(message, code="invalid_parameter")


def _bad_path(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_path")


def _pixels(option: str, value: str, low: int = 1) -> int:
    if not _PIXELS.fullmatch(value) or not low <= int(value) <= MAX_DIMENSION:
        raise _invalid(option, value, f"a whole number from {low} to {MAX_DIMENSION}")
    return int(value)


def _whole(option: str, value: str, low: int, high: int) -> int:
    if not _SIGNED.fullmatch(value) or not low <= int(value) <= high:
        raise _invalid(option, value, f"a whole number from {low} to {high}")
    return int(value)


def _number(option: str, value: str, low: float, high: float, *, above: bool = False) -> float:
    """A plain decimal (no sign, exponent, inf or nan) in [low, high], or (low, high]."""
    number = float(value) if _NUMBER.fullmatch(value) else None
    if number is None or not (low < number if above else low <= number) or number > high:
        raise _invalid(
            option, value, f"a number {'above' if above else 'from'} {low:g} to {high:g}"
        )
    return number


def _unquoted(text: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise _bad_path(f"{text!r} is not percent-encoded UTF-8") from None


def _image(source: str) -> tuple[str, str]:
    """`library/key`, decoded, held to the catalog's naming rules."""
    if "://" in source:
        raise _bad_path("the source is an image of this origin, library/key, never a URL")
    library, _, key = source.partition("/")
    try:
        return check_library_name(library), check_image_key(key)
    except (InvalidName, UnicodeError) as exc:
        raise _bad_path(f"{source!r} is not library/key: {exc}") from None


def _hex(colour: str) -> str:
    """A CSS hex colour (#RGB, #RGBA, #RRGGBB or #RRGGBBAA, `#` optional) in imgix's
    order: RRGGBB, or AARRGGBB, since imgix writes the alpha first."""
    match = _CSS_HEX.fullmatch(colour)
    if match is None:
        raise _invalid("background", colour, "a hex colour: RGB, RGBA, RRGGBB or RRGGBBAA")
    digits = match.group(1)
    digits = "".join(c * 2 for c in digits) if len(digits) <= 4 else digits
    return digits[6:] + digits[:6]


@dataclass(frozen=True, slots=True)
class Gravity:
    """Where a crop holds the picture, in the finished picture's orientation: x and y
    from 0 (left, top) to 1 (right, bottom), as a side or as a focal point; or a smart
    mode, which has no position."""

    x: float = 0.5
    y: float = 0.5
    focal: bool = False
    smart: Crop | None = None


CENTRE = Gravity()
_SIDE_NAMES = {("x", 0.0): "left", ("x", 1.0): "right", ("y", 0.0): "top", ("y", 1.0): "bottom"}


@dataclass(frozen=True, slots=True)
class Turn:
    """A clockwise right-angle rotation and the flips after it, as the pipeline applies
    them: after resizing. The other services take width, height and gravity in the
    finished picture's orientation, so those are turned back to the source's."""

    rotate: int = 0
    flip_h: bool = False
    flip_v: bool = False

    @classmethod
    def flipping_first(cls, rotate: int, flip_h: bool, flip_v: bool) -> Turn:
        """For services that flip before they rotate (Cloudflare, sharp): a flip before
        a quarter turn is the other flip after it."""
        if rotate % 180 == 90:
            flip_h, flip_v = flip_v, flip_h
        return cls(rotate, flip_h, flip_v)

    def box(self, width: T, height: T) -> tuple[T, T]:
        return (height, width) if self.rotate % 180 == 90 else (width, height)

    def source(self, gravity: Gravity) -> Gravity:
        """`gravity` on the picture before the turn, where the pipeline crops."""
        if gravity.smart is not None:
            return gravity
        x = 1 - gravity.x if self.flip_h else gravity.x
        y = 1 - gravity.y if self.flip_v else gravity.y
        unturned = {0: (x, y), 90: (y, 1 - x), 180: (1 - x, 1 - y), 270: (1 - y, x)}
        x, y = unturned[self.rotate]
        return replace(gravity, x=x, y=y)

    def pairs(self) -> list[Pair]:
        flip = ("h" if self.flip_h else "") + ("v" if self.flip_v else "")
        return [("rot", str(self.rotate))] * bool(self.rotate) + [("flip", flip)] * bool(flip)


def _crop_pairs(gravity: Gravity) -> list[Pair]:
    if gravity.smart is not None:
        return [("crop", gravity.smart.value)]
    if gravity.focal:
        return [
            ("crop", Crop.FOCALPOINT.value),
            ("fp-x", decimal_text(gravity.x)),
            ("fp-y", decimal_text(gravity.y)),
        ]
    sides = [_SIDE_NAMES.get(("y", gravity.y)), _SIDE_NAMES.get(("x", gravity.x))]
    named = [side for side in sides if side is not None]
    return [("crop", ",".join(named))] if named else []


def _picture(
    width: str | None, height: str | None, fit: Fit | None, gravity: Gravity, turn: Turn
) -> list[Pair]:
    """The box, how to fit it (None: as a preset or the default says) and where to
    crop, on the source's axes; then the turn."""
    source_width, source_height = turn.box(width, height)
    pairs = [(n, v) for n, v in (("w", source_width), ("h", source_height)) if v is not None]
    if fit is not None:
        pairs.append(("fit", fit.value))
    return pairs + _crop_pairs(turn.source(gravity)) + turn.pairs()


def _quarter_turn(option: str, value: str, low: int = -3600, high: int = 3600) -> int:
    degrees = _whole(option, value, low, high)
    if degrees % 90:
        # The services read width and height after a right-angle turn; any other
        # angle is turned after resizing here, which makes another picture.
        raise _invalid(option, value, "a multiple of 90")
    return degrees % 360


def _format_of(formats: dict[str, str]) -> Callable[[str, str], str]:
    """A service's format names read as `fm` values ("auto": auto=format)."""

    def parse(name: str, value: str) -> str:
        if value not in formats:
            raise BadRequest(
                f"{name} {value!r}: output formats are " + ", ".join(formats),
                code="unsupported_format",
            )
        return formats[value]

    return parse


def _setter(field: str, parse: Callable[[str, str], Any]) -> Callable[[str, str, Ask], None]:
    """An option that sets one field of the ask from its parsed value."""

    def apply(name: str, value: str, ask: Ask) -> None:
        ask[field] = parse(name, value)

    return apply

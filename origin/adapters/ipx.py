"""ipx's path dialect, as Nuxt Image writes it: `/_ipx/{modifiers}/{library}/{key}`,
read as imgix parameters (see origin.adapters)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from origin.adapters.common import (
    CENTRE,
    MAX_BLUR_SIGMA,
    MAX_SHARPEN_SIGMA,
    SHARP_PER_SIGMA,
    Address,
    Ask,
    Gravity,
    Pair,
    Turn,
    _bad_path,
    _format_of,
    _hex,
    _image,
    _invalid,
    _number,
    _picture,
    _pixels,
    _quarter_turn,
    _refused,
    _setter,
    _unquoted,
    _unsupported,
    _whole,
)
from origin.spec import Crop, Fit

_IPX_SEPARATOR = re.compile(r"[&,]")
_IPX_VALUE = re.compile(r"[:=_]")
_IPX_SIZE = re.compile(r"([0-9]{1,6})(?:x([0-9]{1,6}))?", re.ASCII)
_IPX_FITS = frozenset({"cover", "contain", "fill", "inside", "outside"})
_IPX_FORMATS = {
    "jpg": "pjpg",  # ipx writes progressive JPEG
    "jpeg": "pjpg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "gif": "gif",
    "auto": "auto",
}
_IPX_POSITIONS = {
    "top": Gravity(0.5, 0.0),
    "right top": Gravity(1.0, 0.0),
    "right": Gravity(1.0, 0.5),
    "right bottom": Gravity(1.0, 1.0),
    "bottom": Gravity(0.5, 1.0),
    "left bottom": Gravity(0.0, 1.0),
    "left": Gravity(0.0, 0.5),
    "left top": Gravity(0.0, 0.0),
    "centre": CENTRE,
    "entropy": Gravity(smart=Crop.ENTROPY),
    "attention": Gravity(smart=Crop.EDGES),  # both are libvips' attention
}
_IPX_POSITIONS |= {
    "north": _IPX_POSITIONS["top"],
    "northeast": _IPX_POSITIONS["right top"],
    "east": _IPX_POSITIONS["right"],
    "southeast": _IPX_POSITIONS["right bottom"],
    "south": _IPX_POSITIONS["bottom"],
    "southwest": _IPX_POSITIONS["left bottom"],
    "west": _IPX_POSITIONS["left"],
    "northwest": _IPX_POSITIONS["left top"],
    "center": CENTRE,
}
# sharp's numbers for the same: its gravity and strategy constants.
_IPX_POSITIONS |= {
    str(number): _IPX_POSITIONS[name]
    for number, name in (
        (0, "centre"),
        (1, "north"),
        (2, "east"),
        (3, "northeast"),
        (4, "south"),
        (6, "southeast"),
        (8, "west"),
        (9, "northwest"),
        (12, "southwest"),
        (16, "entropy"),
        (17, "attention"),
    )
}
_IPX_FLAGS = frozenset({"", "true", "1"})
# sharp's fits as imgix's, with enlarge and without.
_IPX_FIT_MODES = {
    "cover": (Fit.CROP, Fit.MIN),
    "contain": (Fit.FILL, Fit.FILLMAX),
    "fill": (Fit.SCALE, Fit.SCALE),
    "inside": (Fit.CLIP, Fit.MAX),
}


def ipx(path: str) -> Address:
    """An ipx path after `/_ipx/`, raw as sent: `{modifiers}/{library}/{key}`, modifiers
    `name_value` (or `name:value`, `name=value`) separated by commas (or `&`), `_` for
    none; a later one overrides an earlier."""
    modifiers, _, source = path.partition("/")
    if not modifiers:
        raise _bad_path("no modifiers: `_` for none")
    library, key = _image(_unquoted(source))
    ask: Ask = {}
    for modifier in _IPX_SEPARATOR.split(modifiers):
        name, *values = _IPX_VALUE.split(modifier)
        if not name:  # `_`, alone or in a list (as unpic writes it): nothing asked
            continue
        apply = _IPX_MODIFIERS.get(name)
        if apply is None:
            raise _unsupported("ipx", name)
        apply(name, "_".join(_unquoted(v) for v in values), ask)
    return Address(library, key, tuple(_ipx_pairs(ask)))


def _ipx_size(name: str, value: str) -> tuple[int, int]:
    """`{width}x{height}`, or `{size}` for a square, as ipx reads it."""
    match = _IPX_SIZE.fullmatch(value)
    if match is None:
        raise _invalid(name, value, "{width}x{height} or {size}")
    width = _pixels(name, match.group(1))
    return width, _pixels(name, match.group(2)) if match.group(2) else width


def _ipx_choice(choices: Any) -> Callable[[str, str], Any]:
    def parse(name: str, value: str) -> Any:
        # ipx writes sharp's two-word positions with "-" where a URL has no space.
        value = value.replace("-", " ")
        if value not in choices:
            raise _invalid(name, value, "one of " + ", ".join(choices))
        return choices[value] if isinstance(choices, dict) else value

    return parse


def _ipx_flag(name: str, value: str) -> bool:
    if value not in _IPX_FLAGS:
        raise _invalid(name, value, "no value")
    return True


def _ipx_rotate(name: str, value: str) -> int:
    # No angle: sharp's rotation by the EXIF orientation, which is always applied here.
    return 0 if value == "" else _quarter_turn(name, value)


_IPX_MODIFIERS: dict[str, Callable[[str, str, Ask], None]] = {
    "width": _setter("width", _pixels),
    "w": _setter("width", _pixels),
    "height": _setter("height", _pixels),
    "h": _setter("height", _pixels),
    "resize": _setter("size", _ipx_size),
    "s": _setter("size", _ipx_size),
    "enlarge": _setter("enlarge", _ipx_flag),
    "fit": _setter("fit", _ipx_choice(_IPX_FITS)),
    "position": _setter("gravity", _ipx_choice(_IPX_POSITIONS)),
    "pos": _setter("gravity", _ipx_choice(_IPX_POSITIONS)),
    "background": _setter("background", lambda n, v: _hex(v)),
    "b": _setter("background", lambda n, v: _hex(v)),
    "format": _setter("format", _format_of(_IPX_FORMATS)),
    "f": _setter("format", _format_of(_IPX_FORMATS)),
    "quality": _setter("quality", lambda n, v: _whole(n, v, 1, 100)),
    "q": _setter("quality", lambda n, v: _whole(n, v, 1, 100)),
    "rotate": _setter("rotate", _ipx_rotate),
    "flip": _setter("flip", _ipx_flag),  # sharp's flip: upside down
    "flop": _setter("flop", _ipx_flag),  # sharp's flop: mirrored
    # sharp's least blur is 0.3; without a sigma it does a mild pass of its own, which
    # has no match here.
    "blur": _setter("blur", lambda n, v: _number(n, v, 0.3, MAX_BLUR_SIGMA)),
    "sharpen": _setter("sharpen", lambda n, v: _number(n, v, 0, MAX_SHARPEN_SIGMA, above=True)),
}


def _ipx_fit(ask: Ask, both_sides: bool) -> Fit:
    """sharp's fit with ipx's enlarge (off by default). Without enlarge ipx shrinks the
    box, keeping its shape, until it fits in the source: fit=min for cover. For contain
    and inside the box stays as asked here, and the image is not enlarged in it."""
    enlarge = ask.get("enlarge", False)
    if not both_sides:
        return Fit.CLIP if enlarge else Fit.MAX
    fit = ask.get("fit", "cover")
    if fit == "outside":
        raise _refused("fit_outside (cover without cropping) is not supported here")
    return _IPX_FIT_MODES[fit][0 if enlarge else 1]


def _ipx_pairs(ask: Ask) -> list[Pair]:
    # sharp flips (flip: vertical, flop: horizontal) before it rotates.
    turn = Turn.flipping_first(ask.get("rotate", 0), "flop" in ask, "flip" in ask)
    if "size" in ask and ("width" in ask or "height" in ask):
        raise _refused("give the size once: s_{width}x{height}, or w_ and h_")
    # ipx applies w_ and h_ as two resizes of which sharp keeps one; both are read as
    # the box they mean (as Nuxt Image writes it, s_{width}x{height}).
    width, height = ask.get("size", (ask.get("width"), ask.get("height")))
    sides = [None if side is None else str(side) for side in (width, height)]
    fit = None if sides == [None, None] else _ipx_fit(ask, None not in sides)
    gravity = ask.get("gravity", CENTRE)
    if fit in (Fit.FILL, Fit.FILLMAX) and gravity != CENTRE:
        raise _refused("fit_contain places the image in the centre here: no position")
    pairs = _picture(sides[0], sides[1], fit, gravity, turn)
    if fit in (Fit.FILL, Fit.FILLMAX):
        # sharp's contain pads with the background, by default opaque black; ipx uses
        # the background for nothing else here (a transparent image stays so).
        pairs.append(("fill-color", ask.get("background", "000000")))
    if "quality" in ask:
        pairs.append(("q", str(ask["quality"])))
    fmt = ask.get("format")
    if fmt is not None:
        pairs.append(("auto", "format") if fmt == "auto" else ("fm", fmt))
    if "blur" in ask:
        pairs.append(("blur", str(max(1, round(ask["blur"] * 10)))))
    if "sharpen" in ask:
        pairs.append(("sharp", str(max(1, round(ask["sharpen"] * SHARP_PER_SIGMA)))))
    return pairs

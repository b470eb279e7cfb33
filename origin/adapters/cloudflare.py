"""Cloudflare's image resizing URLs: `/cdn-cgi/image/{options}/{library}/{key}`,
read as imgix parameters (see origin.adapters)."""

from __future__ import annotations

import re
from collections.abc import Callable

from origin.adapters.common import (
    CENTRE,
    Address,
    Ask,
    Gravity,
    Pair,
    Turn,
    _format_of,
    _hex,
    _image,
    _invalid,
    _number,
    _picture,
    _pixels,
    _quarter_turn,
    _setter,
    _unquoted,
    _unsupported,
    _whole,
)
from origin.spec import Crop, Fit, decimal_text

_CLOUDFLARE_FITS = {
    "scale-down": Fit.MAX,
    "contain": Fit.CLIP,
    "cover": Fit.CROP,
    # Shrinks and crops to the box, never enlarging; a smaller source is kept whole
    # at Cloudflare, where fit=min crops it to the box's shape.
    "crop": Fit.MIN,
    "pad": Fit.FILL,
    "squeeze": Fit.SCALE,
}
_CLOUDFLARE_FORMATS = {
    "auto": "auto",
    "webp": "webp",
    "avif": "avif",
    "png": "png",
    "jpeg": "pjpg",  # Cloudflare's jpeg is progressive
    "baseline-jpeg": "jpg",
    "json": "json",
}
_CLOUDFLARE_SIDES = {
    "left": Gravity(0.0, 0.5),
    "right": Gravity(1.0, 0.5),
    "top": Gravity(0.5, 0.0),
    "bottom": Gravity(0.5, 1.0),
    # Cloudflare's saliency and face detection; libvips' attention is ours for both,
    # as the imgix dialect reads crop=faces.
    "auto": Gravity(smart=Crop.EDGES),
    "face": Gravity(smart=Crop.EDGES),
}
_POINT = re.compile(r"([0-9.]{1,8})x([0-9.]{1,8})", re.ASCII)
# Accepted and ignored: they do not change the still picture this origin renders.
# anim: renders are of the first frame, which is what anim=false asks. metadata:
# metadata is always stripped. onerror: errors are answered as JSON, never redirected.
_CLOUDFLARE_IGNORED = {
    "anim": frozenset({"true", "false"}),
    "metadata": frozenset({"keep", "copyright", "none"}),
    "onerror": frozenset({"redirect"}),
}


def cloudflare(path: str) -> Address:
    """A Cloudflare path after `/cdn-cgi/image/`, raw as sent: `{options}/{library}/{key}`,
    options `name=value` separated by commas; a later one overrides an earlier."""
    options, _, source = path.partition("/")
    library, key = _image(_unquoted(source))
    ask: Ask = {}
    for option in options.split(","):
        name, equals, value = option.partition("=")
        apply = _CLOUDFLARE_OPTIONS.get(name)
        if apply is None:
            raise _unsupported("Cloudflare", name)
        if not equals:
            raise _invalid(name, value, "name=value")
        apply(name, _unquoted(value), ask)
    return Address(library, key, tuple(_cloudflare_pairs(ask)))


def _cf_fit(name: str, value: str) -> Fit:
    if value not in _CLOUDFLARE_FITS:
        raise _invalid(name, value, "one of " + ", ".join(_CLOUDFLARE_FITS))
    return _CLOUDFLARE_FITS[value]


def _cf_gravity(name: str, value: str) -> Gravity:
    point = _POINT.fullmatch(value)
    if point is not None:
        x, y = (_number(name, v, 0, 1) for v in point.groups())
        return Gravity(x, y, focal=True)
    if value not in _CLOUDFLARE_SIDES:
        raise _invalid(name, value, "auto, face, left, right, top, bottom, or XxY such as 0.5x0.3")
    return _CLOUDFLARE_SIDES[value]


def _cf_flip(name: str, value: str) -> tuple[bool, bool]:
    if value not in ("h", "v", "hv"):
        raise _invalid(name, value, "h, v or hv")
    return "h" in value, "v" in value


def _cf_ignored(name: str, value: str, ask: Ask) -> None:
    if value not in _CLOUDFLARE_IGNORED[name]:
        raise _invalid(name, value, "one of " + ", ".join(sorted(_CLOUDFLARE_IGNORED[name])))


_CLOUDFLARE_OPTIONS: dict[str, Callable[[str, str, Ask], None]] = {
    "width": _setter("width", _pixels),
    "w": _setter("width", _pixels),
    "height": _setter("height", _pixels),
    "h": _setter("height", _pixels),
    "fit": _setter("fit", _cf_fit),
    "format": _setter("format", _format_of(_CLOUDFLARE_FORMATS)),
    "f": _setter("format", _format_of(_CLOUDFLARE_FORMATS)),
    "quality": _setter("quality", lambda n, v: _whole(n, v, 1, 100)),
    "q": _setter("quality", lambda n, v: _whole(n, v, 1, 100)),
    "dpr": _setter("dpr", lambda n, v: _number(n, v, 0, 5, above=True)),
    "gravity": _setter("gravity", _cf_gravity),
    "g": _setter("gravity", _cf_gravity),
    "background": _setter("background", lambda n, v: _hex(v)),
    "blur": _setter("blur", lambda n, v: _whole(n, v, 0, 250)),
    "sharpen": _setter("sharpen", lambda n, v: _number(n, v, 0, 10)),
    "rotate": _setter("rotate", lambda n, v: _quarter_turn(n, v, 0, 270)),
    "flip": _setter("flip", _cf_flip),
    **dict.fromkeys(_CLOUDFLARE_IGNORED, _cf_ignored),
}


def _cloudflare_pairs(ask: Ask) -> list[Pair]:
    turn = Turn.flipping_first(ask.get("rotate", 0), *ask.get("flip", (False, False)))
    sides = [str(ask[s]) if s in ask else None for s in ("width", "height")]
    # With no fit, Cloudflare treats width and height as the most to scale down to.
    fit = ask.get("fit", None if sides == [None, None] else Fit.MAX)
    pairs = _picture(sides[0], sides[1], fit, ask.get("gravity", CENTRE), turn)
    if fit is Fit.FILL and "background" not in ask:
        pairs.append(("fill-color", "ffffff"))  # Cloudflare pads with white
    if "dpr" in ask:
        pairs.append(("dpr", decimal_text(ask["dpr"])))
    if "quality" in ask:
        pairs.append(("q", str(ask["quality"])))
    fmt = ask.get("format")
    if fmt is not None:
        pairs.append(("auto", "format") if fmt == "auto" else ("fm", fmt))
    if "background" in ask:
        pairs.append(("bg", ask["background"]))
    if ask.get("blur"):
        # Cloudflare's blur is a radius from 1 to 250; read as twice the Gaussian's
        # sigma, which our blur takes in tenths.
        pairs.append(("blur", str(ask["blur"] * 5)))
    if ask.get("sharpen"):
        pairs.append(("sharp", str(max(1, round(ask["sharpen"] * 10)))))  # 0-10 as 0-100
    return pairs

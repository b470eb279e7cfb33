"""imgproxy's path dialect: `/{signature}/{options...}/plain/{library}/{key}@{ext}`,
or the source as base64url; read as imgix parameters (see origin.adapters)."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from catalog import InvalidName, check_library_name
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
    _image,
    _invalid,
    _number,
    _picture,
    _pixels,
    _quarter_turn,
    _refused,
    _unquoted,
    _unsupported,
    _whole,
)
from origin.dialect import MAX_SOURCE_SIDE
from origin.spec import MAX_DIMENSION, Crop, Fit, decimal_text

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_HEX6 = re.compile(r"[0-9a-fA-F]{6}", re.ASCII)

_IMGPROXY_FORMATS = {
    "jpg": "jpg",
    "jpeg": "jpg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "gif": "gif",
}
_imgproxy_format = _format_of(_IMGPROXY_FORMATS)
_RESIZING_TYPES = frozenset({"fit", "fill", "fill-down", "force", "auto"})
_IMGPROXY_SIDES = {
    "ce": (0.5, 0.5),
    "no": (0.5, 0.0),
    "so": (0.5, 1.0),
    "ea": (1.0, 0.5),
    "we": (0.0, 0.5),
    "noea": (1.0, 0.0),
    "nowe": (0.0, 0.0),
    "soea": (1.0, 1.0),
    "sowe": (0.0, 1.0),
}
# Go's strconv.ParseBool, which imgproxy uses.
_GO_BOOLEANS = {v: True for v in ("1", "t", "T", "true", "TRUE", "True")} | {
    v: False for v in ("0", "f", "F", "false", "FALSE", "False")
}


def imgproxy(path: str) -> Address:
    """An imgproxy path, raw as sent, without its leading "/":
    `{signature}/{options...}/plain/{library}/{key}[@{ext}]`, or with the source as
    base64url of "library/key" (split by "/" anywhere, as imgproxy allows) and an
    optional `.{ext}`. Options are `name:arg:...`; a later one overrides an earlier."""
    signature, _, rest = path.partition("/")
    segments = rest.split("/")
    # As imgproxy reads it: the options end at the first segment without a ":".
    count = next((i for i, s in enumerate(segments) if ":" not in s), len(segments))
    library, key, extension = _imgproxy_source(segments[count:])
    ask: Ask = {}
    for option in segments[:count]:
        name, *args = option.split(":")
        apply = _IMGPROXY_OPTIONS.get(name)
        if apply is None:
            raise _unsupported("imgproxy", name)
        apply(name, args, ask)
    if extension:  # the extension wins over a format option, as in imgproxy
        ask["format"] = _imgproxy_format("extension", extension)
    return Address(library, key, tuple(_imgproxy_pairs(ask)), signature, "/" + rest)


def is_imgproxy(first: str, second: str) -> bool:
    """Whether a path with these first two segments (raw) is an imgproxy path rather
    than a native `/{library}/{key}`: its first segment cannot be a library (a
    signature has capitals or `_`; `insecure` and `unsafe` are reserved), or its second
    is `plain` or an imgproxy option. So native keys cannot start with such a segment."""
    try:
        check_library_name(first)
    except InvalidName:
        return True
    name, colon, _ = second.partition(":")
    return second == "plain" or (bool(colon) and name in IMGPROXY_OPTION_NAMES)


def _imgproxy_source(segments: list[str]) -> tuple[str, str, str]:
    """Library, key and extension from the segments after the options."""
    if segments[:1] == ["plain"] and len(segments) > 1:
        # Split at "@" before decoding, as imgproxy does: "%40" is an "@" of the key.
        encoded, *extensions = "/".join(segments[1:]).split("@")
        source = _unquoted(encoded)
    else:
        encoded, *extensions = "".join(segments).split(".")
        source = _base64url(encoded)
    if len(extensions) > 1:
        raise _bad_path("the source names more than one format")
    # Nuxt Image's imgproxy provider sends its source as "/library/key", plain and
    # base64 alike: one leading slash is taken, not more.
    return (*_image(source.removeprefix("/")), extensions[0] if extensions else "")


def _base64url(encoded: str) -> str:
    stripped = encoded.rstrip("=")
    try:
        if not _BASE64URL.fullmatch(stripped):
            raise ValueError("not base64url")
        padded = stripped + "=" * (-len(stripped) % 4)
        return base64.urlsafe_b64decode(padded).decode()
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise _bad_path("the source is neither plain/library/key nor base64url of it") from None


def _most(name: str, args: list[str], count: int) -> None:
    if len(args) > count:
        raise _invalid(name, ":".join(args), f"at most {count} argument(s)")


def _exactly(name: str, args: list[str], count: int) -> None:
    if len(args) != count:
        raise _invalid(name, ":".join(args), f"{count} argument(s)")


def _go_bool(name: str, value: str) -> bool:
    if value not in _GO_BOOLEANS:
        raise _invalid(name, value, "1, t or true; 0, f or false")
    return _GO_BOOLEANS[value]


def _gravity(name: str, args: list[str]) -> Gravity:
    kind, offsets = args[0], args[1:]
    if kind == "sm":
        _most(name, args, 1)
        # imgproxy's smart gravity is libvips' attention, as our crop=edges.
        return Gravity(smart=Crop.EDGES)
    if kind == "fp":
        _exactly(name, args, 3)
        x, y = (_number(name, v, 0, 1) for v in offsets)
        return Gravity(x, y, focal=True)
    if kind not in _IMGPROXY_SIDES:
        raise _invalid(name, kind, "one of ce no so ea we noea nowe soea sowe sm fp")
    _most(name, args, 3)
    if any(_number(name, v, 0, MAX_SOURCE_SIDE) for v in offsets):
        raise _refused(f"{name}: gravity offsets are not supported here")
    return Gravity(*_IMGPROXY_SIDES[kind])


def _resize(name: str, args: list[str], ask: Ask) -> None:
    """rs:{type}:{width}:{height}:{enlarge}:{extend}..., each part optional."""
    _most(name, args, 8)
    if args[0]:
        _resizing_type(name, args[:1], ask)
    _size(name, args[1:], ask)


def _size(name: str, args: list[str], ask: Ask) -> None:
    """s:{width}:{height}:{enlarge}:{extend}..., each part optional."""
    _most(name, args, 7)
    for side, value in zip(("width", "height"), args[:2], strict=False):
        if value:
            ask[side] = _pixels(name, value, low=0)  # 0: not set
    if len(args) > 2 and args[2]:
        ask["enlarge"] = _go_bool(name, args[2])
    if len(args) > 3 and args[3]:
        _extend(name, args[3:], ask)


def _resizing_type(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    if args[0] not in _RESIZING_TYPES:
        raise _invalid(name, args[0], "fit, fill, fill-down, force or auto")
    ask["type"] = args[0]


def _side(side: str) -> Callable[[str, list[str], Ask], None]:
    def apply(name: str, args: list[str], ask: Ask) -> None:
        _exactly(name, args, 1)
        ask[side] = _pixels(name, args[0], low=0)

    return apply


def _dpr(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["dpr"] = _number(name, args[0], 0, 5, above=True)


def _enlarge(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["enlarge"] = _go_bool(name, args[0])


def _extend(name: str, args: list[str], ask: Ask) -> None:
    _most(name, args, 4)
    ask["extend"] = _go_bool(name, args[0])
    if len(args) > 1 and _gravity(name, args[1:]) != CENTRE:
        raise _refused(f"{name}: the origin extends around the centre only (gravity ce)")


def _gravity_option(name: str, args: list[str], ask: Ask) -> None:
    ask["gravity"] = _gravity(name, args)


def _crop(name: str, args: list[str], ask: Ask) -> None:
    """c:{width}:{height}[:{gravity}...]: pixels from 1, a fraction below 1, 0 for all."""
    _most(name, args, 5)
    width = _number(name, args[0], 0, MAX_SOURCE_SIDE)
    height = _number(name, args[1], 0, MAX_SOURCE_SIDE) if len(args) > 1 else 0.0
    ask["crop"] = (width, height, _gravity(name, args[2:]) if len(args) > 2 else None)


def _quality(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    quality = _whole(name, args[0], 0, 100)
    if quality:
        ask["quality"] = quality
    else:  # imgproxy's "the default"
        ask.pop("quality", None)


def _format(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["format"] = _imgproxy_format(name, args[0])


def _blur(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["blur"] = _number(name, args[0], 0, MAX_BLUR_SIGMA, above=True)


def _sharpen(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["sharpen"] = _number(name, args[0], 0, MAX_SHARPEN_SIGMA, above=True)


def _rotate(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    ask["rotate"] = _quarter_turn(name, args[0], -MAX_SOURCE_SIDE, MAX_SOURCE_SIDE)


def _flip(name: str, args: list[str], ask: Ask) -> None:
    _most(name, args, 2)
    for side, value in zip(("flip_h", "flip_v"), args, strict=False):
        if value:
            ask[side] = _go_bool(name, value)


def _background(name: str, args: list[str], ask: Ask) -> None:
    if args == [""]:
        ask.pop("background", None)
    elif len(args) == 1 and _HEX6.fullmatch(args[0]):
        ask["background"] = args[0].lower()
    elif len(args) == 3:
        ask["background"] = "".join(f"{_whole(name, v, 0, 255):02x}" for v in args)
    else:
        raise _invalid(name, ":".join(args), "RRGGBB, or red:green:blue from 0 to 255")


def _padding(name: str, args: list[str], ask: Ask) -> None:
    """pd:{top}:{right}:{bottom}:{left}, missing sides as in CSS."""
    _most(name, args, 4)
    given = [_whole(name, v, 0, MAX_DIMENSION) if v else None for v in args]
    given += [None] * (4 - len(given))
    top = given[0] or 0
    right = top if given[1] is None else given[1]
    bottom = top if given[2] is None else given[2]
    left = right if given[3] is None else given[3]
    if len({top, right, bottom, left}) > 1:
        raise _refused(
            f"{name}: the origin pads every side alike; got {top}:{right}:{bottom}:{left}"
        )
    ask["pad"] = top


def _auto_rotate(name: str, args: list[str], ask: Ask) -> None:
    _exactly(name, args, 1)
    if not _go_bool(name, args[0]):
        raise _refused(f"{name}: the origin always applies the EXIF orientation")


def _preset(name: str, args: list[str], ask: Ask) -> None:
    if "" in args:
        raise _invalid(name, ":".join(args), "preset names")
    ask.setdefault("presets", []).extend(args)


def _cachebuster(name: str, args: list[str], ask: Ask) -> None:
    """Changes the URL, not the picture: the variant is the same one."""
    _exactly(name, args, 1)


_IMGPROXY_OPTIONS: dict[str, Callable[[str, list[str], Ask], None]] = {
    "resize": _resize,
    "rs": _resize,
    "size": _size,
    "s": _size,
    "resizing_type": _resizing_type,
    "rt": _resizing_type,
    "width": _side("width"),
    "w": _side("width"),
    "height": _side("height"),
    "h": _side("height"),
    "dpr": _dpr,
    "enlarge": _enlarge,
    "el": _enlarge,
    "extend": _extend,
    "ex": _extend,
    "gravity": _gravity_option,
    "g": _gravity_option,
    "crop": _crop,
    "c": _crop,
    "quality": _quality,
    "q": _quality,
    "format": _format,
    "f": _format,
    "ext": _format,
    "blur": _blur,
    "bl": _blur,
    "sharpen": _sharpen,
    "sh": _sharpen,
    "rotate": _rotate,
    "rot": _rotate,
    "flip": _flip,
    "fl": _flip,
    "background": _background,
    "bg": _background,
    "padding": _padding,
    "pd": _padding,
    "auto_rotate": _auto_rotate,
    "ar": _auto_rotate,
    "preset": _preset,
    "pr": _preset,
    "cachebuster": _cachebuster,
    "cb": _cachebuster,
}
# imgproxy's options this origin does not render; a path naming one is still an
# imgproxy path (answered 400 unknown_parameter), not a native key.
_IMGPROXY_UNSUPPORTED_NAMES = (
    "min-width mw min-height mh zoom z extend_aspect_ratio extend_ar exar trim t pixelate "
    "pix watermark wm strip_metadata sm keep_copyright kcr strip_color_profile scp "
    "enforce_thumbnail eth format_quality fq max_bytes mb skip_processing skp raw expires "
    "exp filename fn return_attachment att max_src_resolution msr max_src_file_size msfs "
    "max_animation_frames maf max_animation_frame_resolution mafr max_result_dimension "
    "mrd unsharp_masking ush adjust a brightness br contrast co saturation sa monochrome "
    "mc duotone dt colorize col gradient gr blur_detections bd draw_detections dd "
    "objects_position obj_pos op crop_aspect_ratio crop_ar car resizing_algorithm ra "
    "background_alpha bga style st page pg pages pgs disable_animation da "
    "video_thumbnail_second vts autoquality aq hashsum hs dpi fallback_image_url fiu "
    "watermark_url wmu watermark_text wmt watermark_size wms watermark_shadow wmsh"
)
IMGPROXY_OPTION_NAMES = frozenset(_IMGPROXY_OPTIONS) | frozenset(
    _IMGPROXY_UNSUPPORTED_NAMES.split()
)


def _imgproxy_fit(ask: Ask, both_sides: bool) -> Fit:
    """imgproxy's resizing type, enlarge (off by default) and extend as a fit mode."""
    kind, enlarge, extend = ask.get("type", "fit"), ask.get("enlarge"), ask.get("extend")
    if kind in ("fill", "fill-down", "auto"):
        # `auto` is fill or fit by whether the orientations match, which needs the
        # source's size: read as fill. Without enlarge, imgproxy's plain fill of a
        # small source keeps whatever fits of the box; fit=min (as fill-down) keeps
        # the box's shape instead.
        if extend and not enlarge and both_sides:
            raise _refused("fill with extend and without enlarge is not supported here")
        return Fit.CROP if enlarge else Fit.MIN
    if kind == "force":
        return Fit.SCALE  # stretched to the box, even without enlarge
    if extend:
        return Fit.FILL if enlarge else Fit.FILLMAX
    return Fit.CLIP if enlarge else Fit.MAX


def _imgproxy_pairs(ask: Ask) -> list[Pair]:
    # imgproxy flips after it rotates, as the pipeline does.
    turn = Turn(ask.get("rotate", 0), ask.get("flip_h", False), ask.get("flip_v", False))
    gravity = ask.get("gravity", CENTRE)
    pairs: list[Pair] = []
    if "crop" in ask:
        width, height, crop_gravity = ask["crop"]
        pairs += _region(width, height, crop_gravity or gravity, turn)
    sides = [str(ask[s]) if ask.get(s) else None for s in ("width", "height")]
    if ask.get("type") == "force" and sides.count(None) == 1:
        # force with one side keeps the other side of the source, not its shape.
        sides = [side or "1.0" for side in sides]
    # A fit when the path asks for one, or has a box: not otherwise, so that a preset's
    # fit holds when the path only changes its size.
    asked = any(option in ask for option in ("type", "enlarge", "extend"))
    boxed = sides != [None, None] and "presets" not in ask
    fit = _imgproxy_fit(ask, None not in sides) if asked or boxed else None
    pairs += _picture(sides[0], sides[1], fit, gravity, turn)
    dpr = ask.get("dpr", 1.0)
    if "dpr" in ask:
        pairs.append(("dpr", decimal_text(dpr)))
    if ask.get("pad"):
        pairs.append(("pad", str(round(ask["pad"] * dpr))))  # imgproxy's padding is in CSS pixels
    if "quality" in ask:
        pairs.append(("q", str(ask["quality"])))
    if "format" in ask:
        pairs.append(("fm", ask["format"]))
    if "blur" in ask:
        pairs.append(("blur", str(max(1, round(ask["blur"] * 10)))))
    if "sharpen" in ask:
        pairs.append(("sharp", str(max(1, round(ask["sharpen"] * SHARP_PER_SIGMA)))))
    if "background" in ask:
        pairs.append(("bg", ask["background"]))
    presets = list(dict.fromkeys(ask.get("presets", [])))
    if len(presets) > 1:
        raise _refused("name one preset: the origin does not combine presets")
    return pairs + [("p", name) for name in presets]


def _region(width: float, height: float, gravity: Gravity, turn: Turn) -> list[Pair]:
    """imgproxy's crop, a region of the source before resizing, as an imgix rect. The
    source's size is not known here, so a side in pixels must start at the source's
    edge (gravity nowe on that axis); a fraction can be held anywhere."""
    if gravity.smart is not None:
        raise _refused("crop with gravity sm is not supported here: use fill with g:sm")
    source_width, source_height = turn.box(width, height)
    anchor = turn.source(gravity)
    x, w = _rect_side(source_width, anchor.x, anchor.focal)
    y, h = _rect_side(source_height, anchor.y, anchor.focal)
    return [] if (w, h) == ("1.0", "1.0") else [("rect", f"{x},{y},{w},{h}")]


def _rect_side(size: float, anchor: float, focal: bool) -> tuple[str, str]:
    """Start and length of a crop on one axis of the source."""
    if size == 0:
        return "0", "1.0"
    if size >= 1:
        if anchor == 0 and not focal:
            return "0", str(int(size))
        raise _refused(
            "a crop in pixels must start at the image's top or left edge here (gravity "
            "nowe), as its size is not known when the URL is read; or give the crop as "
            "fractions of the image, such as c:0.5:0.5"
        )
    start = min(max(anchor - size / 2, 0.0), 1 - size) if focal else anchor * (1 - size)
    # An edge as pixel 0, as written for a crop in pixels: one rect, one variant.
    return "0" if _ratio(start) == "0.0" else _ratio(start), _ratio(size)


def _ratio(value: float) -> str:
    """A fraction of the source, always with its decimal point (`1` would be a pixel)."""
    text = f"{value:.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text

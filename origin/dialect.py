"""The imgix query dialect, the origin's own: `?w=400&fit=crop&fm=webp`.

A table of small per-parameter parsers, each strict about its grammar: Python's
int() and float() accept " 1 ", "1_0", "١" and "inf", which no URL should. The other
dialects (origin.adapters) translate their options into these parameters and are
read by the same table, so every dialect has the same ranges, errors and variants.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from catalog import LibrarySettings
from origin.errors import BadRequest
from origin.spec import (
    MAX_DIMENSION,
    MAX_PAD,
    MAX_RATIO,
    Colour,
    ColourSpace,
    Crop,
    Fill,
    Fit,
    Flip,
    Length,
    OutputFormat,
    Ratio,
    TransformSpec,
)

MAX_PARAMETERS = 32
DEFAULT_RULES = LibrarySettings()
# Parameters of the URL itself (signing), not of the picture.
URL_PARAMETERS = frozenset({"s", "expires"})
IGNORED_PARAMETERS = frozenset({"ixlib"})
BASE64_SUFFIX = "64"  # `dl64=...`: any parameter, its value base64url-encoded
MIN_RATIO = 0.0001
MAX_SOURCE_SIDE = 65_535  # rect is in source pixels, which may pass MAX_DIMENSION
_UINT = re.compile(r"[0-9]{1,6}")
_DECIMAL = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
_RATIO = re.compile(r"[0-9]{1,2}\.[0-9]{1,4}")  # a decimal point: relative to the source
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HEX_COLOUR = re.compile(r"[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")
_FILENAME = re.compile(r"[^\x00-\x1f\x7f\"\\/]{1,200}")
_BOOLEANS = {"1": True, "true": True, "0": False, "false": False}


def _invalid(name: str, value: str, expected: str) -> BadRequest:
    return BadRequest(f"{name}={value!r}: expected {expected}", code="invalid_parameter")


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        if not _UINT.fullmatch(value) or not low <= int(value) <= high:
            raise _invalid(name, value, f"a whole number from {low} to {high}")
        return int(value)

    return parse


def _decimal(low: float, high: float, *, above: bool = False) -> Callable[[str, str], float]:
    """A plain decimal in [low, high] (or (low, high] when `above`)."""

    def parse(name: str, value: str) -> float:
        number = float(value) if _DECIMAL.fullmatch(value) else None
        if number is None or not (low < number if above else low <= number) or number > high:
            opening = "above" if above else "from"
            raise _invalid(name, value, f"a number {opening} {low:g} to {high:g}")
        return number

    return parse


def _length(minimum: int, maximum: int = MAX_DIMENSION) -> Callable[[str, str], Length]:
    """Pixels (`400`), or with a decimal point a fraction of the source (`0.5`; up to
    8.0, so that a fraction multiplied by dpr can still be written)."""
    pixels = _integer(minimum, maximum)
    fraction = _decimal(0, MAX_RATIO, above=minimum > 0)

    def parse(name: str, value: str) -> Length:
        if "." not in value:
            return pixels(name, value)
        if not _RATIO.fullmatch(value):
            raise _invalid(name, value, "pixels, or a fraction of the source such as 0.5")
        return Ratio(fraction(name, value))

    return parse


def _choice(kind: type[Any]) -> Callable[[str, str], Any]:
    def parse(name: str, value: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise _invalid(name, value, "one of " + ", ".join(v.value for v in kind)) from None

    return parse


def _format(name: str, value: str) -> OutputFormat:
    try:
        return OutputFormat(value)
    except ValueError:
        raise BadRequest(
            f"{name}={value!r}: output formats are " + ", ".join(f.value for f in OutputFormat),
            code="unsupported_format",
        ) from None


def _rect(name: str, value: str) -> tuple[Length, ...]:
    parts = value.split(",")
    if len(parts) != 4:
        raise _invalid(name, value, "x,y,width,height")
    corner, size = _length(0, MAX_SOURCE_SIDE), _length(1, MAX_SOURCE_SIDE)
    return (*(corner(name, p) for p in parts[:2]), *(size(name, p) for p in parts[2:]))


def _aspect(name: str, value: str) -> float:
    """`16:9` (or `1.85:1`) as width / height, to four decimals."""
    side = _decimal(0, 10_000, above=True)
    parts = value.split(":")
    if len(parts) != 2:
        raise _invalid(name, value, "width:height, such as 16:9")
    ratio = round(side(name, parts[0]) / side(name, parts[1]), 4)
    if not 0.01 <= ratio <= 100:
        raise _invalid(name, value, "an aspect ratio from 1:100 to 100:1")
    return ratio


def _crop(name: str, value: str) -> tuple[Crop, ...]:
    # imgix finds faces; libvips' attention finds skin tones among other things.
    return tuple(_choice(Crop)(name, "edges" if v == "faces" else v) for v in value.split(","))


def _colour(name: str, value: str) -> Colour:
    """imgix's hex colours: RGB, ARGB, RRGGBB or AARRGGBB."""
    if not _HEX_COLOUR.fullmatch(value):
        raise _invalid(name, value, "a hex colour: RGB, ARGB, RRGGBB or AARRGGBB")
    digits = "".join(c * 2 for c in value) if len(value) <= 4 else value
    channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
    alpha = channels.pop(0) if len(channels) == 4 else 255
    red, green, blue = channels
    return Colour(red, green, blue, alpha)


def _flag(name: str, value: str) -> bool:
    if value.lower() not in _BOOLEANS:
        raise _invalid(name, value, "1 or 0")
    return _BOOLEANS[value.lower()]


def _exactly(expected: str) -> Callable[[str, str], bool]:
    def parse(name: str, value: str) -> bool:
        if value != expected:
            raise _invalid(name, value, repr(expected))
        return True

    return parse


def _auto(name: str, value: str) -> frozenset[str]:
    """imgix's `enhance` and `redeye` are taken and not done: loaders send
    `auto=format,enhance` as a matter of course, and the picture is still right."""
    options = frozenset(value.split(","))
    if not options <= {"format", "compress", "enhance", "redeye"}:
        raise _invalid(name, value, "a list of format, compress, enhance and redeye")
    return options


def _filename(name: str, value: str) -> str:
    if not _FILENAME.fullmatch(value) or value.strip(". ") == "":
        raise _invalid(name, value, "a file name without quotes, slashes or control characters")
    return value


def _unix_time(name: str, value: str) -> int:
    if not _TIMESTAMP.fullmatch(value):
        raise _invalid(name, value, "a unix time in seconds")
    return int(value)


def _signature(name: str, value: str) -> str:
    if not _SIGNATURE.fullmatch(value):
        raise _invalid(name, value, "a URL signature")
    return value


@dataclass(frozen=True)
class _Param:
    field: str  # a TransformSpec field, or one of Request's
    parse: Callable[[str, str], Any]


PARAMETERS: dict[str, _Param] = {
    "rect": _Param("rect", _rect),
    "w": _Param("width", _length(1)),
    "h": _Param("height", _length(1)),
    "ar": _Param("aspect", _aspect),
    "min-w": _Param("min_width", _integer(1, MAX_DIMENSION)),
    "min-h": _Param("min_height", _integer(1, MAX_DIMENSION)),
    "max-w": _Param("max_width", _integer(1, MAX_DIMENSION)),
    "max-h": _Param("max_height", _integer(1, MAX_DIMENSION)),
    "dpr": _Param("dpr", _decimal(0, 5, above=True)),
    "fit": _Param("fit", _choice(Fit)),
    "fill": _Param("fill", _choice(Fill)),
    "fill-color": _Param("fill_color", _colour),
    "crop": _Param("crop", _crop),
    "fp-x": _Param("fp_x", _decimal(0, 1)),
    "fp-y": _Param("fp_y", _decimal(0, 1)),
    "fp-z": _Param("fp_z", _decimal(1, 100)),
    "trim": _Param("trim", _exactly("auto")),
    "rot": _Param("rotate", _integer(0, 359)),
    "flip": _Param("flip", _choice(Flip)),
    "blur": _Param("blur", _integer(0, 2000)),
    "sharp": _Param("sharpen", _integer(0, 100)),
    "pad": _Param("pad", _integer(0, MAX_PAD)),
    "bg": _Param("background", _colour),
    "q": _Param("quality", _integer(0, 100)),
    "lossless": _Param("lossless", _flag),
    "fm": _Param("format", _format),
    "auto": _Param("auto", _auto),
    "cs": _Param("colour_space", _choice(ColourSpace)),
    "dl": _Param("download", _filename),
    "s": _Param("signature", _signature),
    "expires": _Param("expires", _unix_time),
}


@dataclass(frozen=True, slots=True)
class Request:
    """What a URL asks for: the picture, and how to deliver it."""

    spec: TransformSpec
    download: str | None = None  # dl: send as an attachment with this file name
    expires: int | None = None  # unix seconds: no cache may keep the answer past them


def parse(query_string: str, rules: LibrarySettings = DEFAULT_RULES) -> TransformSpec:
    """The spec a query string asks for; BadRequest on any mistake."""
    return read(query_string, rules).spec


def read(
    query_string: str, rules: LibrarySettings = DEFAULT_RULES, *, signed: bool = False
) -> Request:
    """Read a raw query string under a library's rules; BadRequest on any mistake.
    `signed`: read it as a signed URL's query, spared the limits (see read_pairs)."""
    return read_pairs(pairs(query_string), rules, signed=signed)


def read_pairs(
    pairs: Iterable[tuple[str, str]], rules: LibrarySettings, *, signed: bool = False
) -> Request:
    """Read decoded (name, value) pairs, the common ground of every dialect. A URL is
    signed when its path carries a checked signature (`signed`) or it has an `s`
    (which signing.check then verifies): the limits for unsigned URLs spare it."""
    given = _decoded(pairs)
    named = [given.pop(alias) for alias in ("p", "preset") if alias in given]
    if len(named) > 1:
        raise BadRequest("name one preset, with p or preset", code="repeated_parameter")
    preset_name = named[0] if named else None
    if rules.presets_only and (preset_name is None or set(given) - URL_PARAMETERS):
        raise BadRequest("this library serves presets only: ?p=<name>", code="presets_only")
    # A preset's parameters come first; the URL's own override them.
    merged = {**_preset(preset_name, rules), **given} if preset_name is not None else given
    fields: dict[str, Any] = {}
    for name, value in merged.items():
        param = PARAMETERS.get(name)
        if param is None:
            if rules.ignore_unknown_parameters:
                continue
            raise BadRequest(f"unknown parameter {name!r}", code="unknown_parameter")
        fields[param.field] = param.parse(name, value)
    download = fields.pop("download", None)
    signed = fields.pop("signature", None) is not None or signed
    expires = fields.pop("expires", None)
    spec = _spec(fields)
    if not signed:  # limits for URLs anyone can write, not for signed ones
        spec = _limited(spec, rules)
    return Request(spec.normalised(), download, expires)


def _decoded(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The pairs as a dict, `name64` values decoded; a parameter given twice (also as
    `name` and `name64`) is a mistake, not a choice. The imgix SDKs' `ixlib` (which
    library made the URL) is dropped: it says nothing about the picture."""
    given: dict[str, str] = {}
    for raw_name, value in pairs:
        name = raw_name
        if raw_name in IGNORED_PARAMETERS:
            continue
        base = raw_name.removesuffix(BASE64_SUFFIX)
        if base != raw_name and base in PARAMETERS and base not in URL_PARAMETERS:
            # Not s or expires: signing.check reads those as sent, never decoded.
            name, value = base, _base64(raw_name, value)
        if name in given:
            raise BadRequest(f"parameter {name!r} is given twice", code="repeated_parameter")
        given[name] = value
    return given


def _base64(name: str, value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, ValueError):
        raise _invalid(name, value, "base64url-encoded UTF-8") from None


def _spec(fields: dict[str, Any]) -> TransformSpec:
    """Fields as parsed, folded into a spec: dpr into the sizes, fp-* into the focal
    point, auto into its two switches, quality's default by auto=compress."""
    dpr = fields.pop("dpr", 1.0)
    for side in ("width", "height"):
        if side in fields:
            fields[side] = _scaled(side, fields[side], dpr)
    focal = tuple(fields.pop(name, default) for name, default in _FOCAL_DEFAULTS)
    auto = fields.pop("auto", frozenset())
    spec = TransformSpec(
        **fields, focal=focal, auto_format="format" in auto, auto_compress="compress" in auto
    )
    return spec if "quality" in fields else replace(spec, quality=spec.default_quality)


_FOCAL_DEFAULTS = (("fp_x", 0.5), ("fp_y", 0.5), ("fp_z", 1.0))


def _limited(spec: TransformSpec, rules: LibrarySettings) -> TransformSpec:
    """Widths snapped to the allowed ones (as Next.js does with its device sizes; the
    height follows, to keep the shape), and quality capped."""
    width, height = spec.width, spec.height
    if rules.widths and isinstance(width, int):
        snapped = next((w for w in rules.widths if w >= width), rules.widths[-1])
        if isinstance(height, int):
            height = max(1, round(height * snapped / width))
        width = snapped
    return replace(spec, width=width, height=height, quality=min(spec.quality, rules.max_quality))


def pairs(query_string: str) -> list[tuple[str, str]]:
    """A query string's (name, value) pairs, decoded; 400 when it cannot be read."""
    try:
        return parse_qsl(
            query_string, keep_blank_values=True, max_num_fields=MAX_PARAMETERS, errors="strict"
        )
    except ValueError as exc:
        raise BadRequest(f"unreadable query string: {exc}", code="invalid_query") from None


def _preset(name: str, rules: LibrarySettings) -> dict[str, str]:
    query = rules.presets.get(name)
    if query is None:
        raise BadRequest(f"this library has no preset {name!r}", code="unknown_preset")
    return _decoded(pairs(query))


def check_preset(name: str, query: str) -> None:
    """Raise BadRequest unless `query` is a valid preset: parameters of the picture,
    each at most once, and no preset of its own."""
    try:
        if set(_decoded(pairs(query))) & (URL_PARAMETERS | {"p", "preset"}):
            raise BadRequest("it may not name s, expires or another preset")
        parse(query)
    except BadRequest as exc:
        raise BadRequest(f"preset {name!r}: {exc.message}", code="invalid_preset") from None


def _scaled(side: str, size: Length, dpr: float) -> Length:
    if isinstance(size, Ratio):
        ratio = max(MIN_RATIO, round(size.value * dpr, 4))  # never a 0.0 to write
        if ratio > MAX_RATIO:
            raise BadRequest(
                f"{side} {size.value:g} at dpr {dpr:g} is {ratio:g} times the source; "
                f"the most is {MAX_RATIO:g}",
                code="output_too_large",
            )
        return Ratio(ratio)
    scaled = max(1, int(size * dpr + 0.5))
    if scaled > MAX_DIMENSION:
        raise BadRequest(
            f"{side} {size} at dpr {dpr:g} is {scaled} pixels; the most is {MAX_DIMENSION}",
            code="output_too_large",
        )
    return scaled

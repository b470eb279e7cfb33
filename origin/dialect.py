"""The imgix query dialect (first slice): `?w=&h=&fit=&dpr=&q=&fm=&auto=`, plus the
signing parameters `s` and `expires` (checked by origin.signing, not part of the spec).

A table of small per-parameter parsers, each strict about its grammar: Python's
int() and float() accept " 1 ", "1_0", "١" and "inf", which no URL should.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from catalog import LibrarySettings
from origin.errors import BadRequest
from origin.spec import DEFAULT_QUALITY, MAX_DIMENSION, Fit, OutputFormat, TransformSpec

MAX_PARAMETERS = 32
DEFAULT_RULES = LibrarySettings()
# Parameters of the URL itself (signing), not of the picture.
URL_PARAMETERS = frozenset({"s", "expires"})
_UINT = re.compile(r"[0-9]{1,6}")
_DECIMAL = re.compile(r"[0-9]{1,2}(?:\.[0-9]{1,4})?")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{1,128}")


def _invalid(name: str, value: str, expected: str) -> BadRequest:
    return BadRequest(f"{name}={value!r}: expected {expected}", code="invalid_parameter")


def _integer(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, value: str) -> int:
        if not _UINT.fullmatch(value) or not low <= int(value) <= high:
            raise _invalid(name, value, f"a whole number from {low} to {high}")
        return int(value)

    return parse


def _dpr(name: str, value: str) -> float:
    if not _DECIMAL.fullmatch(value) or not 1 <= float(value) <= 5:
        raise _invalid(name, value, "a number from 1 to 5")
    return float(value)


def _fit(name: str, value: str) -> Fit:
    try:
        return Fit(value)
    except ValueError:
        raise _invalid(name, value, "one of " + ", ".join(f.value for f in Fit)) from None


def _format(name: str, value: str) -> OutputFormat:
    try:
        return OutputFormat(value)
    except ValueError:
        raise BadRequest(
            f"{name}={value!r}: output formats are " + ", ".join(f.value for f in OutputFormat),
            code="unsupported_format",
        ) from None


def _auto(name: str, value: str) -> bool:
    options = value.split(",")
    if any(option != "format" for option in options):
        raise _invalid(name, value, "'format'")
    return True


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
    field: str | None  # None: a parameter of the URL (signing), not of the picture
    parse: Callable[[str, str], Any]


PARAMETERS: dict[str, _Param] = {
    "w": _Param("width", _integer(1, MAX_DIMENSION)),
    "h": _Param("height", _integer(1, MAX_DIMENSION)),
    "fit": _Param("fit", _fit),
    "dpr": _Param("dpr", _dpr),
    "q": _Param("quality", _integer(1, 100)),
    "fm": _Param("format", _format),
    "auto": _Param("auto_format", _auto),
    "s": _Param(None, _signature),
    "expires": _Param(None, _unix_time),
}


def parse(query_string: str, rules: LibrarySettings = DEFAULT_RULES) -> TransformSpec:
    """Parse a raw query string, under a library's rules, into a normalised spec;
    BadRequest on any mistake."""
    pairs = _pairs(query_string)
    names = [name for name, _ in pairs]
    repeated = next((n for n in names if names.count(n) > 1), None)
    if repeated is not None:
        raise BadRequest(f"parameter {repeated!r} is given twice", code="repeated_parameter")
    given = dict(pairs)
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
        parsed = param.parse(name, value)
        if param.field is not None:
            fields[param.field] = parsed
    dpr = fields.pop("dpr", 1.0)
    for side in ("width", "height"):
        if side in fields:
            fields[side] = _scaled(side, fields[side], dpr)
    if "s" not in given:  # limits for URLs anyone can write, not for signed ones
        _snap_width(fields, rules.widths)
        if fields.get("quality", DEFAULT_QUALITY) > rules.max_quality:
            fields["quality"] = rules.max_quality
    return TransformSpec(**fields).normalised()


def _pairs(query_string: str) -> list[tuple[str, str]]:
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
    return dict(_pairs(query))


def check_preset(name: str, query: str) -> None:
    """Raise BadRequest unless `query` is a valid preset: parameters of the picture,
    each at most once, and no preset of its own."""
    pairs = _pairs(query)
    names = {n for n, _ in pairs}
    if names & (URL_PARAMETERS | {"p", "preset"}):
        raise BadRequest(
            f"preset {name!r} may not name s, expires or another preset", code="invalid_preset"
        )
    try:
        parse(query)
    except BadRequest as exc:
        raise BadRequest(f"preset {name!r}: {exc.message}", code="invalid_preset") from None


def _snap_width(fields: dict[str, Any], widths: tuple[int, ...]) -> None:
    """Round the width up to the nearest allowed one (the largest if it is wider than
    all), as Next.js does with its device sizes; the height follows, to keep the shape."""
    width = fields.get("width")
    if not widths or width is None:
        return
    snapped = next((w for w in widths if w >= width), widths[-1])
    if "height" in fields:
        fields["height"] = max(1, round(fields["height"] * snapped / width))
    fields["width"] = snapped


def _scaled(side: str, size: int, dpr: float) -> int:
    scaled = int(size * dpr + 0.5)
    if scaled > MAX_DIMENSION:
        raise BadRequest(
            f"{side} {size} at dpr {dpr:g} is {scaled} pixels; the most is {MAX_DIMENSION}",
            code="output_too_large",
        )
    return scaled

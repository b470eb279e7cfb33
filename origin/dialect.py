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

from origin.errors import BadRequest
from origin.spec import MAX_DIMENSION, Fit, OutputFormat, TransformSpec

MAX_PARAMETERS = 32
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


def parse(query_string: str) -> TransformSpec:
    """Parse a raw query string into a normalised spec; BadRequest on any mistake."""
    try:
        pairs = parse_qsl(
            query_string, keep_blank_values=True, max_num_fields=MAX_PARAMETERS, errors="strict"
        )
    except ValueError as exc:
        raise BadRequest(f"unreadable query string: {exc}", code="invalid_query") from None
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for name, value in pairs:
        param = PARAMETERS.get(name)
        if param is None:
            raise BadRequest(f"unknown parameter {name!r}", code="unknown_parameter")
        if name in seen:
            raise BadRequest(f"parameter {name!r} is given twice", code="repeated_parameter")
        seen.add(name)
        value = param.parse(name, value)
        if param.field is not None:
            fields[param.field] = value
    dpr = fields.pop("dpr", 1.0)
    for side in ("width", "height"):
        if side in fields:
            fields[side] = _scaled(side, fields[side], dpr)
    return TransformSpec(**fields).normalised()


def _scaled(side: str, size: int, dpr: float) -> int:
    scaled = int(size * dpr + 0.5)
    if scaled > MAX_DIMENSION:
        raise BadRequest(
            f"{side} {size} at dpr {dpr:g} is {scaled} pixels; the most is {MAX_DIMENSION}",
            code="output_too_large",
        )
    return scaled

"""Range requests (RFC 9110 §14): which part of a variant a GET asks for.

Only what clients need is served: one range of bytes. Anything else (other units,
several ranges, a header we cannot read) is ignored, and the whole variant is sent,
as the RFC allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import hdrs

from origin.errors import HTTPError

# One byte-range-spec: `first-last`, `first-` or `-suffix`, in ASCII digits only.
_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# More digits than any blob's size has: int() refuses very long digit strings.
_MAX_DIGITS = 18


class RangeNotSatisfiable(HTTPError):
    status, default_code = 416, "range_not_satisfiable"


@dataclass(frozen=True, slots=True)
class ByteRange:
    """The bytes [start, stop) of a representation of `size` bytes; never empty."""

    start: int
    stop: int
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{self.size}"


def requested(method: str, headers: Mapping[str, str], etag: str, size: int) -> ByteRange | None:
    """The part of a variant of `size` bytes with the strong `etag` that a request
    asks for, or None for all of it; RangeNotSatisfiable when it asks for none of it."""
    header = headers.get(hdrs.RANGE)
    # Ranges are defined for GET only (RFC 9110 §14.2): HEAD describes the whole.
    if header is None or method != hdrs.METH_GET:
        return None
    if not if_range_holds(headers.get(hdrs.IF_RANGE), etag):
        return None
    return parse(header, size)


def if_range_holds(if_range: str | None, etag: str) -> bool:
    """Whether a range may be served under an If-Range condition: when it names this
    very variant by its strong ETag (a weak tag never matches, §13.1.5).

    An If-Range date is treated as a mismatch, which only costs sending the whole
    variant: our Last-Modified is the image's, to the second, not the variant's bytes,
    so it is no strong validator for them."""
    return if_range is None or if_range == etag


def parse(header: str, size: int) -> ByteRange | None:
    """The range a Range header asks of `size` bytes: None when it is not one range of
    bytes we can read; RangeNotSatisfiable when it is, but holds none of the bytes."""
    unit, equals, specs = header.partition("=")
    if not equals or unit.lower() != "bytes":  # units are case-insensitive
        return None
    # A list may carry whitespace and empty elements around its commas (§5.6.1).
    elements = [element for element in (e.strip(" \t") for e in specs.split(",")) if element]
    spec = _SPEC.fullmatch(elements[0]) if len(elements) == 1 else None
    if spec is None:
        return None
    first, last = (_number(digits) if digits else None for digits in spec.groups())
    if first is not None:
        if last is not None and last < first:
            return None  # invalid, which is not unsatisfiable (§14.1.1)
        start, stop = first, size if last is None else min(last + 1, size)
    elif last is not None:
        start, stop = max(size - last, 0), size
    else:
        return None  # a bare "-"
    if start >= stop:
        raise RangeNotSatisfiable(
            f"the range {elements[0]!r} holds none of the {size} bytes",
            headers={hdrs.CONTENT_RANGE: f"bytes */{size}"},
        )
    return ByteRange(start, stop, size)


def _number(digits: str) -> int:
    """A position or length; any number longer than _MAX_DIGITS is past every blob."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS

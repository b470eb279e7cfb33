"""What an original's metadata says: the camera's EXIF fields, where it was taken (GPS,
read only when asked for) and its colour space. Read from the header, not the pixels.

Metadata is whatever the file's maker wrote, damaged or not: a field that cannot be
read or makes no sense is None, and nothing here raises.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pyvips

from origin.pipeline.vips import VIPS_ERRORS

# The colour spaces named; an RGB profile not among them is "rgb", and its description
# says which it is.
COLOUR_SPACES = ("srgb", "p3", "adobe-rgb", "prophoto", "rec2020", "rgb", "grey", "cmyk", "lab")
MAX_TEXT = 200  # characters of a camera, lens or profile name; more is not a name

# By the description of an RGB profile, first match wins.
_RGB_PROFILES = (
    ("srgb", re.compile(r"\bs-?rgb\b|61966", re.IGNORECASE)),
    ("p3", re.compile(r"p3", re.IGNORECASE)),
    ("adobe-rgb", re.compile(r"adobe ?rgb", re.IGNORECASE)),
    ("prophoto", re.compile(r"prophoto|romm", re.IGNORECASE)),
    ("rec2020", re.compile(r"2020", re.IGNORECASE)),
)
_INTERPRETATIONS = {
    "srgb": "rgb",
    "rgb": "rgb",
    "rgb16": "rgb",
    "scrgb": "rgb",
    "b-w": "grey",
    "grey16": "grey",
    "cmyk": "cmyk",
    "lab": "lab",
    "labq": "lab",
    "labs": "lab",
}

# libvips gives an EXIF entry as "value (libexif's reading, Format, n components, m
# bytes)". A text's value is repeated inside, which tells where it ends even when it
# has brackets of its own; libvips cuts long texts, and then the two may differ.
_TEXT_ENTRY = re.compile(r"(.*) \(\1, ASCII, \d+ components, \d+ bytes\)", re.DOTALL)
_ENTRY = re.compile(r"(.*?) \((.*), [A-Za-z]+, \d+ components, \d+ bytes\)", re.DOTALL)
_MAX_ENTRY = 4096  # characters; libvips cuts each part at about 1000
_RATIONAL = re.compile(r"(-?\d+)/(-?\d+)")
_DATE_TIME = re.compile(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d)")
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")


@dataclass(frozen=True, slots=True)
class Exif:
    camera: str | None  # make and model, e.g. "Canon EOS R5"
    lens: str | None
    taken_at: str | None  # ISO 8601 local time; with the offset when the camera wrote one
    orientation: int | None  # 1-8 as written; sizes and pixels are given upright anyway


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float  # degrees, north positive
    longitude: float  # degrees, east positive
    altitude: float | None  # metres above sea level


@dataclass(frozen=True, slots=True)
class ColourSpace:
    name: str  # one of COLOUR_SPACES
    profile: str | None  # the embedded ICC profile's description


def read_exif(image: pyvips.Image) -> Exif:
    make = _text(image, "exif-ifd0-Make")
    model = _text(image, "exif-ifd0-Model")
    # Most models repeat the make ("Canon" and "Canon EOS R5"; "NIKON CORPORATION" and
    # "NIKON D850"); Apple's do not ("Apple" and "iPhone 15").
    if make and model and model.casefold().startswith(make.split()[0].casefold()):
        camera: str | None = model
    else:
        camera = " ".join(part for part in (make, model) if part) or None
    orientation = _get(image, "orientation")
    return Exif(
        camera=camera,
        lens=_text(image, "exif-ifd2-LensModel"),
        taken_at=_taken_at(image),
        orientation=orientation if type(orientation) is int and 1 <= orientation <= 8 else None,
    )


def read_location(image: pyvips.Image) -> Location | None:
    """Where the picture was taken, if the file says so and makes sense."""
    latitude = _coordinate(image, "Latitude", "S", 90)
    longitude = _coordinate(image, "Longitude", "W", 180)
    if latitude is None or longitude is None:
        return None
    altitude = _degrees(_value(image, "exif-ifd3-GPSAltitude"))  # one rational: metres
    if altitude is not None:
        # 1 is below sea level; libvips gives libexif's reading of the byte, which
        # names 0 "Sea level" and 1 "Sea level reference".
        reference = (_value(image, "exif-ifd3-GPSAltitudeRef") or "").strip().casefold()
        if reference in ("1", "sea level reference") or reference.startswith("below"):
            altitude = -altitude
        altitude = round(altitude, 2)
    return Location(round(latitude, 7), round(longitude, 7), altitude)


def read_colour_space(image: pyvips.Image) -> ColourSpace:
    profile = _profile_description(image)
    try:
        family = _INTERPRETATIONS.get(image.interpretation, "rgb")
    except VIPS_ERRORS:
        family = "rgb"
    if family != "rgb":
        return ColourSpace(family, profile)
    if profile is None:
        return ColourSpace("srgb", None)  # what browsers take an untagged image for
    name = next((name for name, pattern in _RGB_PROFILES if pattern.search(profile)), "rgb")
    return ColourSpace(name, profile)


def _get(image: pyvips.Image, name: str) -> object:
    """A metadata item, or None when absent or unreadable. get_typeof first: pyvips
    raises on a name that is not there, and cannot decode every damaged one."""
    try:
        return image.get(name) if image.get_typeof(name) else None
    except VIPS_ERRORS:
        return None


def _value(image: pyvips.Image, name: str) -> str | None:
    """The value of an EXIF entry as written, without libvips' description."""
    entry = _get(image, name)
    if not isinstance(entry, str) or len(entry) > _MAX_ENTRY:
        return None
    match = _TEXT_ENTRY.fullmatch(entry) or _ENTRY.fullmatch(entry)
    return match.group(1) if match else None


def _text(image: pyvips.Image, name: str) -> str | None:
    return _clean(_value(image, name))


def _clean(text: str | None) -> str | None:
    """Printable text with single spaces, or None: some cameras pad with NULs or
    spaces, and a damaged entry decodes to replacement characters."""
    if text is None:
        return None
    kept = "".join(
        c if unicodedata.category(c)[0] not in "CZ" else " " for c in text if c != "\ufffd"
    )
    return " ".join(kept.split())[:MAX_TEXT] or None


def _taken_at(image: pyvips.Image) -> str | None:
    match = _DATE_TIME.fullmatch((_value(image, "exif-ifd2-DateTimeOriginal") or "").strip())
    if match is None:
        return None  # absent, or blanks ("    :  :  ") where the camera had no clock
    fraction = (_value(image, "exif-ifd2-SubSecTimeOriginal") or "").strip()
    milliseconds = int(fraction[:3].ljust(3, "0")) if fraction.isdigit() else None
    offset = _OFFSET.fullmatch((_value(image, "exif-ifd2-OffsetTimeOriginal") or "").strip())
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        zone = None
        if offset is not None:
            sign = -1 if offset.group(1) == "-" else 1
            delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
            zone = timezone(sign * delta)
        microsecond = (milliseconds or 0) * 1000
        taken = datetime(year, month, day, hour, minute, second, microsecond, zone)
    except ValueError:  # 0000:00:00, 25:00, an offset of a day or more
        return None
    return taken.isoformat(timespec="seconds" if milliseconds is None else "milliseconds")


def _degrees(value: str | None) -> float | None:
    """Degrees, minutes and seconds (or fewer of them) as rationals, in degrees."""
    if value is None:
        return None
    parts = _RATIONAL.findall(value)
    if not 1 <= len(parts) <= 3:
        return None
    total = 0.0
    for (numerator, denominator), unit in zip(parts, (1, 60, 3600), strict=False):
        if int(denominator) == 0:
            return None
        total += int(numerator) / int(denominator) / unit
    return total


def _coordinate(image: pyvips.Image, axis: str, negative: str, limit: int) -> float | None:
    degrees = _degrees(_value(image, f"exif-ifd3-GPS{axis}"))
    if degrees is None or not -limit <= degrees <= limit:
        return None
    reference = (_value(image, f"exif-ifd3-GPS{axis}Ref") or "").strip().upper()
    return -degrees if reference.startswith(negative) else degrees


def _profile_description(image: pyvips.Image) -> str | None:
    """The `desc` tag of an embedded ICC profile: ICC v2's ASCII text, or v4's
    multi-localised Unicode (the US English one, else the first)."""
    profile = _get(image, "icc-profile-data")
    if not isinstance(profile, bytes):
        return None
    try:
        (count,) = struct.unpack_from(">I", profile, 128)
        for n in range(min(count, 200)):
            signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * n)
            if signature == b"desc":
                return _clean(_description(profile[offset : offset + size]))
    except (struct.error, ValueError, UnicodeDecodeError):
        pass
    return None


def _description(tag: bytes) -> str | None:
    kind = tag[:4]
    if kind == b"desc":
        (length,) = struct.unpack_from(">I", tag, 8)
        return tag[12 : 12 + length].split(b"\0")[0].decode("latin-1")
    if kind == b"mluc":
        count, record = struct.unpack_from(">II", tag, 8)
        records = [struct.unpack_from(">4sII", tag, 16 + record * n) for n in range(min(count, 64))]
        if not records:
            return None
        _, length, offset = next((r for r in records if r[0] == b"enUS"), records[0])
        return tag[offset : offset + length].decode("utf-16-be", "replace")
    return None

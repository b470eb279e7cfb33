"""Handler for an image's `<picture>` element: AVIF and WebP sources and a JPEG or PNG
fallback, each at several widths, ready to paste into a page."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web

from admin_api.images import call, one_value
from admin_api.service import Admin
from catalog import Image, LibrarySettings, SigningKey
from origin import dialect, signing
from origin.errors import BadRequest, Conflict, HTTPError
from origin.pipeline.plan import output_size, plan, source_region

log = logging.getLogger(__name__)

DEFAULT_WIDTHS = (320, 640, 960, 1280, 1920)
MAX_WIDTHS = 10
MAX_WIDTH = 8192
DEFAULT_SIZES = "100vw"
MAX_SIZES = 1000
_PARAMETERS = frozenset({"widths", "sizes", "preset"})
# A `sizes` attribute's text: no quote or angle bracket, no control characters.
_SIZES = re.compile(r'[^<>"\x00-\x1f\x7f]+')


@dataclass(frozen=True, slots=True)
class Candidate:
    """One width of the picture: its query (without format) and its size out."""

    query: list[tuple[str, str]]
    width: int
    height: int


def parse_widths(text: str | None) -> tuple[int, ...]:
    """`320,640,1280`: up to MAX_WIDTHS whole numbers from 1 to MAX_WIDTH, sorted."""
    if text is None:
        return DEFAULT_WIDTHS
    parts = text.split(",")
    if len(parts) > MAX_WIDTHS or not all(
        p.isascii() and p.isdigit() and 1 <= int(p) <= MAX_WIDTH for p in parts
    ):
        raise BadRequest(
            f"widths is a list of at most {MAX_WIDTHS} whole numbers from 1 to {MAX_WIDTH},"
            " separated by commas",
            code="invalid_parameter",
        )
    return tuple(sorted({int(p) for p in parts}))


def parse_sizes(text: str | None) -> str:
    if text is None:
        return DEFAULT_SIZES
    text = text.strip()
    if len(text) > MAX_SIZES or not _SIZES.fullmatch(text):
        raise BadRequest(
            f'sizes is text of at most {MAX_SIZES} characters without <, > or "',
            code="invalid_parameter",
        )
    return text


def parse_preset(text: str | None, rules: LibrarySettings) -> str | None:
    if text is not None and text not in rules.presets:
        raise BadRequest(f"this library has no preset {text!r}", code="unknown_preset")
    return text


def used_widths(asked: tuple[int, ...], source_width: int) -> list[int]:
    """The widths asked for that do not enlarge the picture; the source's own width
    when every one would."""
    return [w for w in asked if w <= source_width] or [source_width]


def candidates(
    image: Image, widths: list[int], preset: str | None, rules: LibrarySettings, signed: bool
) -> list[Candidate]:
    """Each width's query and the size the origin makes of it, read the way the
    origin reads it (the library's preset, and its limits for unsigned URLs: the
    widths they snap to), so the `w` descriptors and the img's width and height tell
    what the browser will get. Widths that come out the same are given once. (A
    preset's `trim` is not foreseen: it depends on the pixels.)"""
    found: dict[int, Candidate] = {}
    for width in widths:
        query = [("w", str(width))] + ([("preset", preset)] if preset is not None else [])
        spec = dialect.read_pairs(query, rules, signed=signed).spec
        region = source_region(spec.rect, image.width, image.height)
        out_w, out_h = output_size(spec, plan(spec, (image.width, image.height), region).size)
        found.setdefault(out_w, Candidate(query, out_w, out_h))
    return sorted(found.values(), key=lambda c: c.width)


def fallback_format(image: Image) -> str:
    """`png` for a source with alpha (which a JPEG would lay on white), else `jpg`;
    for images from before alpha was recorded, `png` unless the source is a JPEG."""
    if image.has_alpha is None:
        return "jpg" if image.format == "jpeg" else "png"
    return "png" if image.has_alpha else "jpg"


async def signing_key(admin: Admin, image: Image, rules: LibrarySettings) -> SigningKey | None:
    """The library's newest key that signs queries, when its URLs must be signed."""
    if not rules.require_signed:
        return None
    library = await admin.catalog.libraries.get(image.library)
    keys = await admin.catalog.signing_keys.live(library) if library is not None else []
    usable = [k for k in keys if k.scheme in signing.QUERY_SCHEMES]
    if not usable:
        raise Conflict(
            f"library {image.library!r} requires signed URLs and has no native or imgix"
            " signing key to sign them with",
            code="no_signing_key",
        )
    return usable[0]  # newest first


def srcset(url: str, key: SigningKey | None, found: list[Candidate], fmt: str) -> str:
    return ", ".join(f"{variant_url(url, key, c, fmt)} {c.width}w" for c in found)


def variant_url(url: str, key: SigningKey | None, candidate: Candidate, fmt: str) -> str:
    query = urlencode([candidate.query[0], ("fm", fmt), *candidate.query[1:]], quote_via=quote)
    if key is not None:
        query = signing.sign(key, urlsplit(url).path, query)
    return f"{url}?{query}"


def picture(
    url: str,
    key: SigningKey | None,
    found: list[Candidate],
    fallback: str,
    sizes: str,
    image: Image,
) -> str:
    largest = found[-1]
    style = f"background-color:{image.colour}" if image.colour else None
    img = {
        "src": variant_url(url, key, largest, fallback),
        "srcset": srcset(url, key, found, fallback),
        "sizes": sizes,
        "width": str(largest.width),
        "height": str(largest.height),
        "alt": image.alt or "",
        "loading": "lazy",
        "decoding": "async",
        "style": style,
    }
    lines = ["<picture>"]
    for fmt, mime in (("avif", "image/avif"), ("webp", "image/webp")):
        attributes = {"type": mime, "srcset": srcset(url, key, found, fmt), "sizes": sizes}
        lines.append(f"  <source{_attributes(attributes)}>")
    lines += [f"  <img{_attributes(img)}>", "</picture>"]
    return "\n".join(lines) + "\n"


def _attributes(values: Mapping[str, str | None]) -> str:
    return "".join(
        f' {name}="{escape(value, quote=True)}"'
        for name, value in values.items()
        if value is not None
    )


async def image_html(request: web.Request) -> web.Response:
    """`?widths=320,640,1280&sizes=...&preset=...`: the image's `<picture>` element."""
    c = await call(request)
    query = request.query
    unknown = set(query) - _PARAMETERS
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}", code="unknown_parameter"
        )
    widths = parse_widths(one_value(query, "widths"))
    sizes = parse_sizes(one_value(query, "sizes"))
    preset = parse_preset(one_value(query, "preset"), c.rules)
    image = await c.image(request)
    key = await signing_key(c.admin, image, c.rules)
    try:
        found = candidates(
            image, used_widths(widths, image.width), preset, c.rules, key is not None
        )
    except HTTPError as exc:  # the origin would refuse these URLs: say why, now
        message = f"the origin would refuse these URLs: {exc.message}"
        raise BadRequest(message, code=exc.code) from None
    fallback = fallback_format(image)
    body = picture(c.admin.url(image), key, found, fallback, sizes, image)
    return web.Response(text=body, content_type="text/html", charset="utf-8")

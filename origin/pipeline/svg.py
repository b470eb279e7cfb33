"""SVG sources, made safe to hand to librsvg: nothing active, nothing external.

An SVG is a document, not a picture: it can hold scripts, event handlers, HTML in a
foreignObject, entity expansions and references to other files and URLs. Before
librsvg sees one, it is parsed here and rebuilt from what draws: SVG elements whose
links stay inside the document (or are inline raster images). What cannot be parsed
safely (a doctype or entity, too large, too many elements) is refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from origin.errors import Unprocessable, UnsupportedMediaType

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
MAX_SVG_BYTES = 2 * 1024 * 1024
MAX_SVG_ELEMENTS = 20_000

_DROPPED_ELEMENTS = {"script", "foreignObject", "iframe", "object", "embed", "audio", "video"}
_INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,", re.ASCII | re.IGNORECASE)
# url(...) whose target is not a fragment of this document.
_EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_IMPORT = re.compile(r"@import", re.IGNORECASE)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _refuse(why: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"this SVG cannot be drawn safely: {why}", code="unsafe_svg")


def sanitise(data: bytes) -> bytes:
    """The SVG rebuilt from its drawing elements only; typed errors for what we refuse."""
    if len(data) > MAX_SVG_BYTES:
        raise _refuse(f"it is larger than {MAX_SVG_BYTES} bytes")
    # The parser would expand entities (a billion laughs) and a doctype can declare
    # them: neither has a place in a picture.
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise _refuse("it has a doctype or entity declarations")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise Unprocessable(f"the SVG is not well-formed XML: {exc}", code="undecodable_image") from None
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NS):
        raise _refuse("its root element is not <svg>")
    if sum(1 for _ in root.iter()) > MAX_SVG_ELEMENTS:
        raise _refuse(f"it has more than {MAX_SVG_ELEMENTS} elements")
    _clean(root)
    return ET.tostring(root, encoding="utf-8")


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if not isinstance(child.tag, str) or not _draws(child):
            element.remove(child)  # comments, processing instructions, active elements
        else:
            _clean(child)
    for name, value in list(element.attrib.items()):
        if not _safe_attribute(name, value):
            del element.attrib[name]
    if _local(element.tag) == "style" and element.text and _external(element.text):
        element.text = ""


def _draws(element: ET.Element) -> bool:
    return _namespace(element.tag) in ("", SVG_NS) and _local(element.tag) not in _DROPPED_ELEMENTS


def _safe_attribute(name: str, value: str) -> bool:
    local = _local(name)
    if local.lower().startswith("on"):  # event handlers
        return False
    if local == "href":  # href and xlink:href: inside the document, or an inline raster
        target = value.strip()
        return target.startswith("#") or _INLINE_IMAGE.match(target) is not None
    return not _external(value)


def _external(text: str) -> bool:
    return _EXTERNAL_URL.search(text) is not None or _IMPORT.search(text) is not None


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

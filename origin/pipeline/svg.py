"""SVG sources, checked before librsvg sees them: nothing active, nothing external.

An SVG is a document, not a picture: it can hold scripts, event handlers, HTML in a
foreignObject, entity expansions, and references to other files and URLs, including
raster images that librsvg would decode with decoders outside our allowlist and
limits. An SVG with any of those is refused (415), never drawn with them cut out, so
what is stored is what is drawn. One that passes is rebuilt from the parsed tree, so
librsvg reads exactly what was checked; editors' metadata in other namespaces (and
comments and processing instructions) are left out of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from origin.errors import Unprocessable, UnsupportedMediaType

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XINCLUDE_NS = "http://www.w3.org/2001/XInclude"
MAX_SVG_BYTES = 2 * 1024 * 1024
MAX_SVG_ELEMENTS = 20_000

_ACTIVE_ELEMENTS = {"script", "foreignObject", "iframe", "object", "embed", "audio", "video"}
# url(...) whose target is not a fragment of this document, and CSS imports.
_EXTERNAL = re.compile(r"url\(\s*['\"]?\s*(?!#)|@import", re.IGNORECASE)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _refuse(why: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"this SVG cannot be drawn safely: {why}", code="unsafe_svg")


def sanitise(data: bytes) -> bytes:
    """The SVG rebuilt from its drawing elements; 415 `unsafe_svg` for anything
    active or external, 422 for what is not well-formed."""
    if len(data) > MAX_SVG_BYTES:
        raise _refuse(f"it is larger than {MAX_SVG_BYTES} bytes")
    # The parser would expand entities (a billion laughs), and a doctype can declare
    # them or name an external DTD: neither has a place in a picture.
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise _refuse("it has a doctype or entity declarations")
    if b"<?XML-STYLESHEET" in upper:
        raise _refuse("it links a stylesheet")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_pis=True))
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        raise Unprocessable(
            f"the SVG is not well-formed XML: {exc}", code="undecodable_image"
        ) from None
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NS):
        raise _refuse("its root element is not <svg>")
    if sum(1 for _ in root.iter()) > MAX_SVG_ELEMENTS:
        raise _refuse(f"it has more than {MAX_SVG_ELEMENTS} elements")
    _check(root)
    return ET.tostring(root, encoding="utf-8")


def _check(element: ET.Element) -> None:
    """Refuse what is active or external below `element`; drop what does not draw."""
    for child in list(element):
        if not isinstance(child.tag, str):  # processing instructions
            element.remove(child)
            continue
        namespace, local = _namespace(child.tag), _local(child.tag)
        if namespace == XINCLUDE_NS:
            raise _refuse("it includes another document")
        if namespace not in ("", SVG_NS):  # an editor's metadata: draws nothing
            element.remove(child)
            continue
        if local in _ACTIVE_ELEMENTS:
            raise _refuse(f"it has a <{local}> element")
        _check(child)
    for name, value in element.attrib.items():
        _check_attribute(name, value)
    if _local(element.tag) == "style" and element.text and _EXTERNAL.search(element.text):
        raise _refuse("its style sheet refers to another file")


def _check_attribute(name: str, value: str) -> None:
    local = _local(name)
    if local.lower().startswith("on"):
        raise _refuse(f"it has an event handler ({local})")
    if local == "href" and not value.strip().startswith("#"):
        raise _refuse("it links outside itself (only #fragment links are drawn)")
    if _EXTERNAL.search(value):
        raise _refuse(f"its {local} attribute refers to another file")


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

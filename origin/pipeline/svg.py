"""SVG sources, checked before librsvg sees them: nothing active, nothing external.

An SVG is a document, not a picture: it can hold scripts, event handlers, HTML in a
foreignObject, entity expansions, and references to other files and URLs, including
`data:` documents and raster images that librsvg would decode outside our allowlist
and limits. An SVG with any of those is refused (415), never drawn with them cut out,
so what is stored is what is drawn. One that passes is rebuilt from the parsed tree,
so librsvg reads exactly what was checked; editors' metadata in other namespaces (and
comments, processing instructions and the doctype) are left out of it.

CSS is checked as text, so what a CSS parser would read differently from these
patterns is refused outright: escapes (`u\\72 l(`), `@import`, and style elements
with elements inside them.
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
MAX_SVG_DEPTH = 200
# Elements drawn once <use> references are followed: 8 levels of 10 <use> each are
# 10^8 of them from a few hundred bytes, which librsvg takes seconds to refuse.
MAX_SVG_DRAWN = 200_000

_ACTIVE_ELEMENTS = {"script", "foreignObject", "iframe", "object", "embed", "audio", "video"}
# url(...) whose target is not a fragment of this document, in any quoting.
_EXTERNAL_URL = re.compile(r"url\(\s*(?!['\"]?\s*#)", re.IGNORECASE)
_AT_RULE = re.compile(r"@import", re.IGNORECASE)
# A doctype with an internal subset can declare entities; a public one names a DTD the
# parser never fetches (Illustrator writes one), and the rebuilt SVG has no doctype.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _refuse(why: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"this SVG cannot be drawn safely: {why}", code="unsafe_svg")


def sanitise(data: bytes) -> bytes:
    """The SVG rebuilt from its drawing elements; 415 `unsafe_svg` for anything
    active or external or too costly to draw, 422 for what is not well-formed."""
    if len(data) > MAX_SVG_BYTES:
        raise _refuse(f"it is larger than {MAX_SVG_BYTES} bytes")
    upper = data.upper()
    if b"<!ENTITY" in upper or _INTERNAL_SUBSET.search(data):
        raise _refuse("it declares entities")  # expansion: a billion laughs
    if b"<?XML-STYLESHEET" in upper:
        raise _refuse("it links a stylesheet")
    root = _parse(data)
    if _local(root.tag) != "svg" or _namespace(root.tag) not in ("", SVG_NS):
        raise _refuse("its root element is not <svg>")
    _check_shape(root)
    stack = [root]
    while stack:
        stack.extend(_check(stack.pop()))
    _check_expansion(root)
    return ET.tostring(root, encoding="utf-8")


def _parse(data: bytes) -> ET.Element:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_pis=True))
    try:
        parser.feed(data)
        return parser.close()
    except (ET.ParseError, LookupError) as exc:  # LookupError: an unknown encoding
        raise Unprocessable(
            f"the SVG is not well-formed XML: {exc}", code="undecodable_image"
        ) from None


def _check_shape(root: ET.Element) -> None:
    """At most MAX_SVG_ELEMENTS, nested at most MAX_SVG_DEPTH deep: serialising (and
    librsvg) recurse per level. Walked with a stack of our own, for the same reason."""
    count, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > MAX_SVG_ELEMENTS:
            raise _refuse(f"it has more than {MAX_SVG_ELEMENTS} elements")
        if depth > MAX_SVG_DEPTH:
            raise _refuse(f"it nests elements more than {MAX_SVG_DEPTH} deep")
        stack.extend((child, depth + 1) for child in element)


def _check(element: ET.Element) -> list[ET.Element]:
    """Refuse what is active or external in `element`; drop its children that do
    not draw, and return the others."""
    for child in list(element):
        if not isinstance(child.tag, str):  # processing instructions
            element.remove(child)
            continue
        namespace = _namespace(child.tag)
        if namespace == XINCLUDE_NS:
            raise _refuse("it includes another document")
        if namespace not in ("", SVG_NS):  # an editor's metadata: draws nothing
            element.remove(child)
            continue
        if _local(child.tag) in _ACTIVE_ELEMENTS:
            raise _refuse(f"it has a <{_local(child.tag)}> element")
    for name, value in element.attrib.items():
        _check_attribute(name, value)
    if _local(element.tag) == "style":
        if len(element):
            raise _refuse("its style sheet has elements inside it")
        _check_css("its style sheet", element.text or "")
    return list(element)


def _check_attribute(name: str, value: str) -> None:
    local = _local(name)
    if local.lower().startswith("on"):
        raise _refuse(f"it has an event handler ({local})")
    if local == "href" and not value.strip().startswith("#"):
        raise _refuse("it links outside itself (only #fragment links are drawn)")
    _check_css(f"its {local} attribute", value)


def _check_css(where: str, text: str) -> None:
    if "\\" in text:
        raise _refuse(f"{where} has CSS escapes")
    if _EXTERNAL_URL.search(text) or _AT_RULE.search(text):
        raise _refuse(f"{where} refers to another file")


def _check_expansion(root: ET.Element) -> None:
    """Count the elements librsvg would draw, a <use> standing for what it refers to
    (once per use); refuse past MAX_SVG_DRAWN, and <use> cycles. Each element's count
    is worked out once (post-order, with a stack of our own)."""
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}

    def target(element: ET.Element) -> ET.Element | None:
        if _local(element.tag) != "use":
            return None
        href = element.get("href") or element.get(f"{{{XLINK_NS}}}href") or ""
        return by_id.get(href.strip()[1:])

    drawn: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[ET.Element, bool]] = [(root, False)]
    while stack:
        element, children_done = stack.pop()
        key = id(element)
        if key in drawn:
            continue
        referred = target(element)
        parts = [*element, *([referred] if referred is not None else [])]
        if not children_done:
            if key in open_:
                raise _refuse("a <use> refers to itself")
            open_.add(key)
            stack.append((element, True))
            stack.extend((part, False) for part in parts if id(part) not in drawn)
            continue
        if any(id(part) not in drawn for part in parts):
            raise _refuse("a <use> refers to itself")  # a part still open: a cycle
        open_.discard(key)
        drawn[key] = 1 + sum(drawn[id(part)] for part in parts)
        if drawn[key] > MAX_SVG_DRAWN:
            raise _refuse(f"it would draw more than {MAX_SVG_DRAWN} elements")


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

"""Source formats: detected from the bytes, never from a name or a Content-Type."""

from __future__ import annotations

# Every source format we take, in the order the docs list them.
SOURCE_FORMATS = ("jpeg", "png", "webp", "gif", "avif", "heic", "tiff", "svg")

# The one libvips loader class that may read each format libvips decodes (we only
# ever load from memory, so only the buffer loaders are unblocked). HEIC is not here:
# the libvips in pyvips' wheel has no HEVC decoder, so pillow-heif decodes it.
LOADERS = {
    "jpeg": "VipsForeignLoadJpegBuffer",
    "png": "VipsForeignLoadPngBuffer",
    "webp": "VipsForeignLoadWebpBuffer",
    "gif": "VipsForeignLoadNsgifBuffer",
    "avif": "VipsForeignLoadHeifBuffer",
    "tiff": "VipsForeignLoadTiffBuffer",
    "svg": "VipsForeignLoadSvgBuffer",  # librsvg, only ever given sanitised SVG
}

# Formats whose pages are frames of an animation; a TIFF's pages are other pictures.
ANIMATED_FORMATS = frozenset({"gif", "webp"})

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_SVG_SNIFF = 1024  # an SVG's root element comes after at most this much prologue


def sniff(data: bytes) -> str | None:
    """The source format named by the file's magic bytes, or None if not one we take."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[4:8] == b"ftyp":
        brands = _iso_brands(data)
        if brands & _AVIF_BRANDS:  # an AVIF may list HEIF brands too; libvips reads it
            return "avif"
        if brands & _HEIC_BRANDS:
            return "heic"
        return None
    if _looks_like_svg(data):
        return "svg"
    return None


def _iso_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF `ftyp` box."""
    size = int.from_bytes(data[:4], "big")
    if not 16 <= size <= min(len(data), 4096):
        return set()
    box = data[8:size]
    return {box[:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}


def _looks_like_svg(data: bytes) -> bool:
    """Text that opens an <svg> element early on: an XML declaration, comments or a
    doctype may come first. Whether it is safe to draw is svg.sanitise's question."""
    head = data[:_SVG_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in head

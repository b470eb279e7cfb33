"""Source formats: detected from the bytes, never from a name or a Content-Type."""

from __future__ import annotations

# The sources we accept, each with the one libvips loader class that may read it
# (we only ever load from memory, so only the buffer loaders are unblocked).
LOADERS = {
    "jpeg": "VipsForeignLoadJpegBuffer",
    "png": "VipsForeignLoadPngBuffer",
    "webp": "VipsForeignLoadWebpBuffer",
    "gif": "VipsForeignLoadNsgifBuffer",
    "avif": "VipsForeignLoadHeifBuffer",
    "tiff": "VipsForeignLoadTiffBuffer",
}

_AVIF_BRANDS = {b"avif", b"avis"}


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
    if head[4:8] == b"ftyp" and _iso_brands(data) & _AVIF_BRANDS:
        return "avif"
    return None


def _iso_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF `ftyp` box."""
    size = int.from_bytes(data[:4], "big")
    if not 16 <= size <= min(len(data), 4096):
        return set()
    box = data[8:size]
    return {box[:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}

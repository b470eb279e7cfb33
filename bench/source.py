"""The bench's original image, and the raw-pyvips render the origin is compared with."""

from __future__ import annotations

import pyvips


def source_jpeg(width: int = 6000, height: int = 4000) -> bytes:
    """A photo-like JPEG: gradient plus noise, so it compresses like a real photo."""
    xyz = pyvips.Image.xyz(width, height)
    base = (xyz[0] * (200 / width)).bandjoin([xyz[1] * (200 / height), xyz[0] * 0 + 90])
    noise = pyvips.Image.gaussnoise(width, height, sigma=18, mean=0)
    image = (base + noise).cast("uchar").copy(interpretation="srgb")
    return bytes(image.jpegsave_buffer(Q=85))


def raw_render(data: bytes, width: int) -> bytes:
    return bytes(pyvips.Image.thumbnail_buffer(data, width).write_to_buffer(".webp"))


def libvips_version() -> str:
    return ".".join(str(pyvips.version(i)) for i in range(3))

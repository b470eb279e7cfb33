"""The bench's originals, and the raw-pyvips render the origin is compared with."""

from __future__ import annotations

import pyvips

from origin.pipeline.encode import encode
from origin.pipeline.vips import configure
from origin.spec import OutputFormat, TransformSpec

BIG = (6000, 4000)  # 24 MP, a camera's photo
SMALL = (1200, 800)


def source_jpeg(width: int = BIG[0], height: int = BIG[1]) -> bytes:
    """A photo-like JPEG: gradient plus noise, so it compresses like a real photo."""
    xyz = pyvips.Image.xyz(width, height)
    base = (xyz[0] * (200 / width)).bandjoin([xyz[1] * (200 / height), xyz[0] * 0 + 90])
    noise = pyvips.Image.gaussnoise(width, height, sigma=18, mean=0)
    image = (base + noise).cast("uchar").copy(interpretation="srgb")
    return bytes(image.jpegsave_buffer(Q=85))


def configure_libvips() -> None:
    """libvips set up in this process as the origin sets it up in its own (operation
    cache off, the same loaders), so that raw renders here get no help it lacks."""
    configure()


def raw_render(data: bytes, width: int, fmt: OutputFormat = OutputFormat.WEBP) -> bytes:
    """What the origin's render comes down to for `?w=<width>&fm=<fmt>` of a JPEG with
    no profile: one thumbnail_buffer, then the origin's own `encode` (its encoder
    options from `_OPTIONS`, its default quality, no metadata), imported, not copied."""
    image = pyvips.Image.thumbnail_buffer(data, width)
    return encode(image, TransformSpec(width=width, format=fmt))


def libvips_version() -> str:
    return ".".join(str(pyvips.version(i)) for i in range(3))

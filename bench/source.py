"""The bench's originals (generated, and the shared corpus of real photos), and the
raw-pyvips render the origin is compared with."""

from __future__ import annotations

from pathlib import Path, PurePath

import pyvips

from origin.pipeline.encode import encode
from origin.pipeline.source import open_source
from origin.pipeline.vips import configure
from origin.spec import OutputFormat, TransformSpec

BIG = (6000, 4000)  # 24 MP, a camera's photo
SMALL = (1200, 800)
# The generated originals, by the name the workloads give them.
GENERATED = {"big.jpg": BIG, "small.jpg": SMALL}
# Real photos, shared beside the repository and never copied into it
# (../shared/corpus/README.md says what each is), found from this file, not the cwd.
PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "photos"
MIME = {".jpg": "image/jpeg", ".heic": "image/heic"}


def copy_name(source: str, copy: int) -> str:
    """The file (or key) name of one copy of a source: `photo.jpg` -> `photo-3.jpg`."""
    path = PurePath(source)
    return f"{path.stem}-{copy}{path.suffix}"


def originals(names: set[str]) -> dict[str, bytes]:
    """The sources the workloads name: generated, or read from PHOTOS."""
    return {
        name: source_jpeg(*GENERATED[name]) if name in GENERATED else (PHOTOS / name).read_bytes()
        for name in sorted(names)
    }


def missing_photos(names: set[str]) -> list[str]:
    return sorted(name for name in names - GENERATED.keys() if not (PHOTOS / name).is_file())


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
    """What the origin's render comes down to for `?w=<width>&fm=<fmt>`: one libvips
    thumbnail (of the buffer; of pillow-heif's pixels for a HEIC, which the wheel's
    libvips cannot decode, as the origin's `Source` does), then the origin's own
    `encode` (its encoder options, its default quality, no metadata), imported, not
    copied."""
    image = open_source(data).thumbnail(width)
    return encode(image, TransformSpec(width=width, format=fmt))


def libvips_version() -> str:
    return ".".join(str(pyvips.version(i)) for i in range(3))

"""What an original is, for imgix's `fm=json` and `fm=blurhash`.

Blocking; runs in a worker thread. The upload probe says what the original is (and
refuses what it would refuse at upload), then one 64-pixel thumbnail gives both the
blurhash and the dominant colour. Rendered once per image version and stored, so the
probe's own small decode costs little.
"""

from __future__ import annotations

import builtins
import json
from collections import Counter
from dataclasses import asdict, dataclass

import blurhash
import pyvips
from PIL import Image

from origin.errors import Unprocessable
from origin.pipeline.probe import probe
from origin.pipeline.steps import flatten, to_srgb
from origin.pipeline.vips import VIPS_ERRORS
from origin.spec import OutputFormat

THUMBNAIL_SIZE = 64  # at most 4096 pixels: plain Python over them takes a few ms

Pixel = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Description:
    width: int  # as displayed, after the EXIF orientation
    height: int
    format: str  # as formats.sniff names it
    bytes: int  # of the original
    has_alpha: bool
    frames: int  # pages of an animated GIF or WebP, else 1
    blurhash: str
    dominant_color: str  # "#rrggbb"

    # `builtins.bytes`: in the class body, `bytes` is the field above.
    def to_json(self) -> builtins.bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()


def describe(original: bytes, max_pixels: int) -> Description:
    """Typed errors for what is not an image, cannot be decoded or is over max_pixels:
    those of the upload probe, which reads what an original is."""
    probed = probe(original, max_pixels)
    try:
        # Shrink-on-load and the EXIF orientation, as a render does; size="down" so a
        # tiny original is not blown up into interpolated colours that were never there.
        thumbnail = pyvips.Image.thumbnail_buffer(
            original, THUMBNAIL_SIZE, height=THUMBNAIL_SIZE, size="down"
        )
        rgb = flatten(to_srgb(thumbnail))  # transparency counts as white, as in a JPEG
        if rgb.bands == 1:
            rgb = rgb.bandjoin([rgb, rgb])
        data = bytes(rgb.write_to_memory())
    except VIPS_ERRORS:
        raise Unprocessable("the image could not be decoded", code="undecodable_image") from None
    pixels: list[Pixel] = list(zip(data[0::3], data[1::3], data[2::3], strict=True))
    picture = Image.frombytes("RGB", (rgb.width, rgb.height), data)
    return Description(
        width=probed.width,
        height=probed.height,
        format=probed.format,
        bytes=len(original),
        has_alpha=probed.has_alpha,
        frames=probed.pages,
        blurhash=blurhash.encode(picture, *components(probed.width, probed.height)),
        dominant_color=dominant_color(pixels),
    )


def components(width: int, height: int) -> tuple[int, int]:
    """Blurhash components across and down: 4 along the longer side, and along the
    shorter as many as keep the cells about square. With a fixed 4x3, each cell of a
    10:1 banner would be 7.5 times wider than tall and the hash would smear."""
    long, short = max(width, height), min(width, height)
    # int(x + 0.5), not round(): Python rounds halves to even, so 2.5 would give 2.
    across_short = max(1, min(4, int(4 * short / long + 0.5)))
    return (4, across_short) if width >= height else (across_short, 4)


def _bucket(pixel: Pixel) -> Pixel:
    return pixel[0] >> 4, pixel[1] >> 4, pixel[2] >> 4  # 4 bits a channel: 4096 buckets


def dominant_color(pixels: list[Pixel]) -> str:
    """The mean of the most populated colour bucket, as #rrggbb.

    Not the mean of the image: half red and half blue averages to a purple nobody
    sees. Ties go to the bucket seen first, so the answer is deterministic."""
    top = Counter(map(_bucket, pixels)).most_common(1)[0][0]
    members = [pixel for pixel in pixels if _bucket(pixel) == top]
    mean = (round(sum(channel) / len(members)) for channel in zip(*members, strict=True))
    return "#" + "".join(f"{value:02x}" for value in mean)


def describe_as(original: bytes, fmt: OutputFormat, max_pixels: int) -> bytes:
    """The body of `fm=json` or `fm=blurhash`: what a render is for a picture."""
    description = describe(original, max_pixels)
    if fmt is OutputFormat.BLURHASH:
        return description.blurhash.encode()
    return description.to_json()

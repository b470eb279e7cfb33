"""What an original is: measured at upload for the catalog, and the body of imgix's
`fm=json` and `fm=blurhash`.

Blocking; runs in a worker thread. The upload probe says what the original is (and
refuses what it would refuse at upload), its header what its metadata says
(`analysis`), then one 64-pixel thumbnail gives the blurhash, the dominant colour and
the LQIP. Rendered once per image version and stored, so the probe's own small decode
costs little.
"""

from __future__ import annotations

import base64
import builtins
import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import blurhash
import pyvips
from PIL import Image

from origin.errors import Unprocessable
from origin.pipeline.analysis import Location, read_colour_space, read_exif, read_location
from origin.pipeline.header import SourceLimits
from origin.pipeline.probe import Probe, probe_source
from origin.pipeline.source import Source, open_source
from origin.pipeline.steps import flatten, to_srgb
from origin.pipeline.vips import VIPS_ERRORS
from origin.spec import OutputFormat

THUMBNAIL_SIZE = 64  # at most 4096 pixels: plain Python over them takes a few ms
# The LQIP: a WebP this many pixels on its longer side, about 150-250 bytes for a photo
# (300-350 in base64): small enough to inline in every page that shows the image.
LQIP_SIZE = 32
LQIP_QUALITY = 50

Pixel = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Description:
    width: int  # as displayed, after the EXIF orientation
    height: int
    format: str  # as formats.sniff names it
    bytes: int  # of the original
    has_alpha: bool
    frames: int  # pages of an animated GIF or WebP, else 1
    colour_space: str  # one of analysis.COLOUR_SPACES
    icc_profile: str | None  # the embedded profile's description
    camera: str | None  # from the EXIF data, as analysis.Exif says
    lens: str | None
    taken_at: str | None
    orientation: int | None
    blurhash: str
    dominant_color: str  # "#rrggbb"
    lqip: str  # "data:image/webp;base64,..."
    # Only when asked for, for a library that keeps it; never public (`fm=json`).
    gps: Location | None = None

    def to_record(self) -> dict[str, Any]:
        """Every field, `gps` only when it was read: what the catalog keeps."""
        record = asdict(self)
        if self.gps is None:
            del record["gps"]
        return record

    # `builtins.bytes`: in the class body, `bytes` is the field above.
    def to_json(self) -> builtins.bytes:
        """The body of `fm=json`: the origin is public, so never the location."""
        public = asdict(self)
        del public["gps"]
        return json.dumps(public, sort_keys=True, separators=(",", ":")).encode()


def describe(original: bytes, limits: SourceLimits, *, gps: bool = False) -> Description:
    """Typed errors for what is not an image, cannot be decoded or is over the limits:
    those of the upload probe, which reads what an original is. With `gps`, where it
    was taken, if it says."""
    source = open_source(original)
    probed = probe_source(source, limits)
    return describe_source(source, probed, size=len(original), gps=gps)


def describe_source(source: Source, probed: Probe, *, size: int, gps: bool = False) -> Description:
    """The description of an original of `size` bytes that `probed` found `source`
    to be: the upload opens and probes an original once, then describes it from the
    same Source (one SVG check, one HEIC decode)."""
    try:
        header = source.image(access="sequential")  # metadata; no pixels are read
        has_profile = bool(header.get_typeof("icc-profile-data"))
        # Shrink-on-load and the EXIF orientation, as a render does; size="down" so a
        # tiny original is not blown up into interpolated colours that were never there.
        # Pixels in an embedded profile (Display P3, say) are converted as a render's are.
        thumbnail = source.thumbnail(
            THUMBNAIL_SIZE,
            height=THUMBNAIL_SIZE,
            size="down",
            **({"export_profile": "srgb"} if has_profile else {}),
        )
        rgb = flatten(to_srgb(thumbnail))  # transparency counts as white, as in a JPEG
        if rgb.bands == 1:
            rgb = rgb.bandjoin([rgb, rgb]).copy(interpretation="srgb")
        rgb = rgb.copy_memory()  # one decode for the hash, the colour and the LQIP
        data = bytes(rgb.write_to_memory())
        placeholder = lqip(rgb)
    except VIPS_ERRORS:
        raise Unprocessable("the image could not be decoded", code="undecodable_image") from None
    pixels: list[Pixel] = list(zip(data[0::3], data[1::3], data[2::3], strict=True))
    picture = Image.frombytes("RGB", (rgb.width, rgb.height), data)
    exif = read_exif(header)
    colour_space = read_colour_space(header)
    return Description(
        width=probed.width,
        height=probed.height,
        format=probed.format,
        bytes=size,
        has_alpha=probed.has_alpha,
        frames=probed.frames,
        colour_space=colour_space.name,
        icc_profile=colour_space.profile,
        camera=exif.camera,
        lens=exif.lens,
        taken_at=exif.taken_at,
        orientation=exif.orientation,
        blurhash=blurhash.encode(picture, *components(probed.width, probed.height)),
        dominant_color=dominant_color(pixels),
        lqip=placeholder,
        gps=read_location(header) if gps else None,
    )


def lqip(rgb: pyvips.Image) -> str:
    """A tiny WebP of the picture as a data URI, for a blurred placeholder drawn before
    the image loads; browsers that show the image read WebP."""
    small = rgb.thumbnail_image(LQIP_SIZE, height=LQIP_SIZE, size="down")
    data = bytes(small.webpsave_buffer(Q=LQIP_QUALITY, effort=6, keep="none"))
    return "data:image/webp;base64," + base64.b64encode(data).decode()


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


def describe_as(original: bytes, fmt: OutputFormat, limits: SourceLimits) -> bytes:
    """The body of `fm=json` or `fm=blurhash`: what a render is for a picture."""
    description = describe(original, limits)
    if fmt is OutputFormat.BLURHASH:
        return description.blurhash.encode()
    return description.to_json()

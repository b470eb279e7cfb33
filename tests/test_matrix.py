"""Issue #5's format matrix: every input kind renders to every output format.

Each output is decoded back and checked for its size, its colour mode and alpha, its
frames (animations stay animated in GIF and WebP, one frame elsewhere), that no
metadata but an ICC profile is left, and that it still looks like its source. Renders
go through the pure render function; uploads and the error codes go over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest
import pyvips
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from origin.errors import HTTPError
from origin.settings import OriginSettings
from origin.spec import OutputFormat
from tests import images
from tests.conftest import Tenant, error_of, upload
from tests.golden import ssim
from tests.rendering import render_query

PICTURES = [f for f in OutputFormat if f.is_picture]
ANIMATING = (OutputFormat.GIF, OutputFormat.WEBP)
WIDTH, HEIGHT = 100, 75  # what w=100 makes of every source below (all 4:3)
FRAMES = 4  # of the animated sources
MIN_SIMILARITY = 0.8  # SSIM: loose, for palettes and lossy encoders at 100 px


@dataclass(frozen=True)
class Source:
    make: Callable[[], bytes]
    picture: Callable[[], pyvips.Image]  # as displayed (its first frame), sRGB
    format: str  # as the upload reports it
    transparent: bool = False  # has pixels a format with alpha must keep see-through
    grey: bool = False
    frames: int = 1


def _photo() -> pyvips.Image:
    return images.photo(160, 120)


def _grey() -> pyvips.Image:
    return images.photo(160, 120).colourspace("b-w")


def _first_frame() -> pyvips.Image:
    return images.frame(0, 120, 90)


SOURCES: dict[str, Source] = {
    "jpeg": Source(lambda: images.jpeg(160, 120), _photo, "jpeg"),
    "jpeg-progressive": Source(images.jpeg_progressive, _photo, "jpeg"),
    # Stored 120x160, shown 160x120: the size checks hold the orientation too.
    "jpeg-exif-6": Source(lambda: images.jpeg(160, 120, orientation=6), _photo, "jpeg"),
    "jpeg-cmyk-icc": Source(lambda: images.jpeg_cmyk(profile=True), _photo, "jpeg"),
    "jpeg-cmyk": Source(lambda: images.jpeg_cmyk(profile=False), _photo, "jpeg"),
    "jpeg-grey": Source(images.jpeg_grey, _grey, "jpeg", grey=True),
    "png": Source(images.png, _photo, "png"),
    "png-16bit": Source(images.png16, _photo, "png"),
    "png-palette-trns": Source(
        images.png_palette_alpha, images.photo_with_alpha, "png", transparent=True
    ),
    "png-grey-alpha": Source(
        images.png_grey_alpha, images.photo_with_alpha, "png", transparent=True, grey=True
    ),
    "png-interlaced": Source(lambda: images.png(interlace=True), _photo, "png"),
    "webp-lossy": Source(images.webp, _photo, "webp"),
    "webp-lossless-alpha": Source(
        lambda: images.webp(lossless=True), images.photo_with_alpha, "webp", transparent=True
    ),
    "webp-animated": Source(images.animated_webp, _first_frame, "webp", frames=FRAMES),
    "avif-alpha": Source(images.avif, images.photo_with_alpha, "avif", transparent=True),
    "heic": Source(images.heic, _photo, "heic"),
    "gif": Source(images.gif, images.photo_with_alpha, "gif", transparent=True),
    "gif-animated": Source(images.animated_gif, _first_frame, "gif", frames=FRAMES),
    "tiff-two-pages": Source(images.tiff_pages, _photo, "tiff"),  # the first page only
    "svg": Source(images.svg, images.svg_picture, "svg", transparent=True),
}


@cache
def original(name: str) -> bytes:
    return SOURCES[name].make()


pytestmark = pytest.mark.usefixtures("production_loaders")


def decoded(data: bytes) -> pyvips.Image:
    """Every page of an encoded picture, one under the other."""
    image = pyvips.Image.new_from_buffer(data, "")
    if image.get_typeof("n-pages") and image.get("n-pages") > 1:
        image = pyvips.Image.new_from_buffer(data, "", n=-1)
    return image


def pages(image: pyvips.Image) -> tuple[int, int]:
    """Number of pages, and the height of one."""
    count = image.get("n-pages") if image.get_typeof("n-pages") else 1
    height = image.get("page-height") if image.get_typeof("page-height") else image.height
    return count, height


# What libvips' loaders report about the encoding itself. Anything else (EXIF, XMP,
# IPTC, an orientation, comments) is metadata the origin must not pass on; an ICC
# profile is allowed. A newer libvips may add encoding fields: add them here.
ENCODING_FIELDS = frozenset(
    {
        "width",
        "height",
        "bands",
        "format",
        "coding",
        "interpretation",
        "xoffset",
        "yoffset",
        "xres",
        "yres",
        "filename",
        "vips-loader",
        "n-pages",
        "page-height",
        "loop",
        "delay",
        "background",
        "bits-per-sample",
        "palette",
        "interlaced",
        "jpeg-multiscan",
        "jpeg-chroma-subsample",
        "heif-primary",
        "heif-compression",
        "gif-palette",
        "icc-profile-data",
    }
)


def _flag(image: pyvips.Image, name: str) -> bool:
    return bool(image.get_typeof(name)) and bool(image.get(name))


def check_rendered(data: bytes, fmt: OutputFormat, source: Source, size: tuple[int, int]) -> None:
    """Everything the matrix holds an output to, given the size of one frame."""
    image = decoded(data)
    assert image.get("vips-loader") == images.LOADERS[fmt]
    if fmt is OutputFormat.AVIF:
        assert image.get("heif-compression") == "av1"
    if fmt is OutputFormat.PJPG:
        assert _flag(image, "interlaced"), "not progressive"
    if fmt is OutputFormat.PNG8:
        assert _flag(image, "palette"), "not a palette PNG"

    count, page_height = pages(image)
    assert count == (source.frames if fmt in ANIMATING else 1), "frames"
    assert (image.width, page_height) == size, f"{image.width}x{page_height}"
    assert image.height == count * page_height, "page-height"

    assert image.format == "uchar", image.format
    assert image.interpretation in ("srgb", "b-w"), image.interpretation
    colour_bands = image.bands - (1 if image.hasalpha() else 0)
    assert colour_bands in ((1, 3) if source.grey else (3,)), f"{image.bands} bands"
    alpha = image.extract_band(image.bands - 1) if image.hasalpha() else None
    if not fmt.has_alpha:
        assert alpha is None, "alpha in a JPEG"
    elif source.transparent:
        assert alpha is not None, "alpha dropped"
        assert alpha.min() < 16, "the transparent border is not transparent"
    elif alpha is not None:
        assert alpha.min() > 240, "an opaque source came out see-through"
    if fmt is OutputFormat.PNG32:
        assert alpha is not None, "PNG32 without alpha"

    extra = set(image.get_fields()) - ENCODING_FIELDS
    assert not extra, f"metadata left in the output: {sorted(extra)}"

    first = image.crop(0, 0, image.width, page_height)
    reference = source.picture().thumbnail_image(size[0], height=size[1], size="force")
    score = ssim(first, reference)
    assert score > MIN_SIMILARITY, f"does not look like its source: SSIM {score:.3f}"


@pytest.mark.parametrize("fmt", PICTURES, ids=str)
@pytest.mark.parametrize("name", SOURCES)
def test_every_input_renders_to_every_output(name: str, fmt: OutputFormat) -> None:
    source = SOURCES[name]
    size = (WIDTH, HEIGHT)
    check_rendered(render_query(original(name), f"w={WIDTH}&fm={fmt}"), fmt, source, size)


@pytest.mark.parametrize("fmt", ANIMATING, ids=str)
@pytest.mark.parametrize("name", ["gif-animated", "webp-animated"])
def test_frames_are_resized_one_by_one(name: str, fmt: OutputFormat) -> None:
    """120x90 frames at w=50 are 37.5 pixels high: resizing the whole strip of frames
    at once would give a strip whose height is no whole number of frames."""
    image = decoded(render_query(original(name), f"w=50&fm={fmt}"))
    count, page_height = pages(image)
    assert count == FRAMES
    assert page_height in (37, 38)
    assert (image.width, image.height) == (50, FRAMES * page_height)


@pytest.mark.parametrize("fit", ["max", "min", "fillmax"])
@pytest.mark.parametrize("name", ["gif-animated", "png"])
def test_never_enlarged_unless_the_fit_says_so(name: str, fit: str) -> None:
    """max, min and fillmax never make the picture larger than its source; fillmax
    makes the canvas the asked size instead."""
    source = SOURCES[name]
    width, height = source.picture().width, source.picture().height
    fmt = OutputFormat.GIF if source.frames > 1 else OutputFormat.PNG
    query = f"w={width * 2}&h={height * 2}&fit={fit}&fm={fmt}"
    image = decoded(render_query(original(name), query))
    count, page_height = pages(image)
    assert count == source.frames
    if fit == "fillmax":
        assert (image.width, page_height) == (width * 2, height * 2)
        # The picture itself is at its own size in the middle, see-through around it.
        alpha = image.extract_band(3).crop(0, 0, image.width, page_height)
        assert alpha.crop(width // 2 + 2, height // 2 + 2, width - 4, height - 4).min() == 255
        assert alpha.crop(0, 0, width // 2 - 2, page_height).max() == 0
    else:
        assert (image.width, page_height) == (width, height)


# Over HTTP: uploads of every kind, and what is refused with which status.


async def test_every_input_uploads_and_serves(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    """Each kind is taken at upload with its size as displayed, and served. One test
    for all (the fixtures cost more than the uploads); every failure is listed."""
    failures = {}
    for name, source in SOURCES.items():
        try:
            picture = source.picture()
            body = await upload(admin, tenant, original(name), activate="true")
            sniffed = (body["width"], body["height"], body["format"])
            assert sniffed == (picture.width, picture.height, source.format), sniffed
            response = await origin.get(f"/{tenant.name}/{body['key']}?w={WIDTH}&fm=webp")
            assert response.status == 200, await response.text()
            check_rendered(await response.read(), OutputFormat.WEBP, source, (WIDTH, HEIGHT))
        except AssertionError as exc:
            failures[name] = str(exc).splitlines()[0] if str(exc) else repr(exc)
    assert not failures, failures


async def test_unsafe_svg_is_refused(admin: TestClient, tenant: Tenant) -> None:
    """Scripts, event handlers and anything that reads another file, URL or entity:
    415 at upload (the issue: "scripts/external references refused with 415"). The
    code tells it from a file that is no SVG at all (`unsupported_image`)."""
    answers = {}
    for name, data in images.UNSAFE_SVGS.items():
        form = FormData()
        form.add_field("file", data, filename="upload.svg")
        response = await admin.post(tenant.images, data=form, headers=tenant.auth())
        code = await error_of(response) if response.status >= 400 else None
        answers[name] = (response.status, code)
    refused = {name: answer for name, answer in answers.items() if answer == (415, "unsafe_svg")}
    assert refused == answers, f"not refused: {sorted(set(answers) - set(refused))}: {answers}"


@pytest.mark.parametrize("name", images.UNSAFE_SVGS)
def test_unsafe_svg_is_never_rendered(name: str) -> None:
    """Not drawn by a render either (say, an original stored before a rule was added)."""
    with pytest.raises(HTTPError) as caught:
        render_query(images.UNSAFE_SVGS[name], "w=50&fm=png")
    assert (caught.value.status, caught.value.code) == (415, "unsafe_svg")


async def test_animation_over_the_frame_cap_is_refused(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    cap = OriginSettings().max_animation_frames
    at_cap = await upload(admin, tenant, images.animated_gif(cap, 8, 6), activate="true")
    response = await origin.get(f"/{tenant.name}/{at_cap['key']}?fm=gif")
    assert response.status == 200
    assert pages(decoded(await response.read()))[0] == cap
    body = await upload(admin, tenant, images.animated_gif(cap + 1, 8, 6), expect=422)
    assert body["error"]["code"] == "too_many_frames"

"""origin/pipeline/encode.py: every output format encoded from a real picture and
decoded back, to check what a viewer gets: the format, the size, the quality scale,
exact pixels when lossless, no metadata, the profile when asked, and the frames of an
animation."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from origin.pipeline.encode import JPEG_DEFAULT_QUALITY, SRGB_PROFILE, encode, jpeg_quality
from origin.spec import DEFAULT_QUALITY, ColourSpace, OutputFormat, TransformSpec
from tests import images
from tests.golden import ssim
from tests.images import FRAME_COLOURS

PICTURES = [f for f in OutputFormat if f.is_picture]
LOSSY = [f for f in PICTURES if f.lossy]
PHOTO = images.photo(400, 300)


def encoded(
    image: pyvips.Image, fmt: OutputFormat, *, keep_profile: bool = False, **spec: Any
) -> bytes:
    return encode(image, TransformSpec(format=fmt, **spec), keep_profile=keep_profile)


def difference(a: pyvips.Image, b: pyvips.Image) -> float:
    return float((a.cast("int") - b.cast("int")).abs().max())


def with_metadata() -> pyvips.Image:
    """A photo as a camera leaves it: EXIF (orientation, make), XMP and an ICC profile."""
    image = images.encoded(images.jpeg(160, 120, orientation=1)).copy()
    image.set_type(pyvips.GValue.blob_type, "xmp-data", b"<x:xmpmeta>TestXmp</x:xmpmeta>")
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", SRGB_PROFILE)
    return image


@pytest.mark.parametrize("fmt", PICTURES)
def test_each_format_decodes_as_itself_at_its_size(fmt: OutputFormat) -> None:
    out = images.encoded(encoded(PHOTO, fmt))
    assert out.get("vips-loader") == images.LOADERS[fmt]
    assert (out.width, out.height) == (400, 300)
    # A palette of 256 colours bands a smooth gradient.
    assert ssim(out, PHOTO) > (0.85 if fmt in (OutputFormat.PNG8, OutputFormat.GIF) else 0.9)


@pytest.mark.parametrize("fmt", LOSSY)
def test_higher_quality_makes_larger_closer_pictures(fmt: OutputFormat) -> None:
    outs = [encoded(PHOTO, fmt, quality=q) for q in (20, 50, 90)]
    assert len(outs[0]) < len(outs[1]) < len(outs[2])
    scores = [ssim(images.encoded(out), PHOTO) for out in outs]
    assert scores[0] < scores[1] < scores[2]


@pytest.mark.parametrize("fmt", LOSSY)
def test_quality_0_is_the_encoders_lowest(fmt: OutputFormat) -> None:
    assert encoded(PHOTO, fmt, quality=0) == encoded(PHOTO, fmt, quality=1)


@pytest.mark.parametrize("fmt", [OutputFormat.PNG, OutputFormat.PNG32])
def test_png_is_exact(fmt: OutputFormat) -> None:
    picture = images.photo_with_alpha(160, 120)
    assert difference(images.encoded(encoded(picture, fmt)), picture) == 0


@pytest.mark.parametrize("fmt", [f for f in PICTURES if f.can_be_lossless])
def test_lossless_is_exact_alpha_included(fmt: OutputFormat) -> None:
    picture = images.photo_with_alpha(160, 120)
    out = images.encoded(encoded(picture, fmt, lossless=True))
    # Every pixel that shows; lossless WebP may change the colour of invisible ones.
    assert out.bands == 4 and difference(out.premultiply(), picture.premultiply()) == 0
    assert difference(out[3], picture[3]) == 0
    lossy = images.encoded(encoded(picture, fmt))
    assert difference(lossy, picture) > 0  # what lossless is for


def test_jpeg_quality_follows_libjpegs_scale() -> None:
    assert jpeg_quality(DEFAULT_QUALITY) == JPEG_DEFAULT_QUALITY
    assert (jpeg_quality(0), jpeg_quality(1), jpeg_quality(100)) == (1, 1, 100)
    qualities = [jpeg_quality(q) for q in range(1, 101)]
    assert qualities == sorted(qualities) and all(1 <= q <= 100 for q in qualities)


def test_jpeg_beats_libjpegs_table_at_the_default_q() -> None:
    """No larger, no worse than libjpeg's own table at q=75 (what Pillow and sharp
    write); bench.quality measures the same on real photos."""
    ours = encoded(PHOTO, OutputFormat.JPG)
    theirs = bytes(PHOTO.jpegsave_buffer(Q=DEFAULT_QUALITY, optimize_coding=True, keep="none"))
    assert len(ours) <= len(theirs)
    assert ssim(images.encoded(ours), PHOTO) >= ssim(images.encoded(theirs), PHOTO)


def test_avif_keeps_at_least_webps_picture_at_the_same_q() -> None:
    """AVIF takes q as it is: its picture at the default is no worse than WebP's."""
    avif, webp = (encoded(PHOTO, f) for f in (OutputFormat.AVIF, OutputFormat.WEBP))
    assert ssim(images.encoded(avif), PHOTO) >= ssim(images.encoded(webp), PHOTO)


def test_progressive_jpeg_is_progressive_and_plain_jpeg_is_not() -> None:
    plain = images.encoded(encoded(PHOTO, OutputFormat.JPG))
    progressive = images.encoded(encoded(PHOTO, OutputFormat.PJPG))
    assert not plain.get_typeof("interlaced")
    assert progressive.get("interlaced") == 1


@pytest.mark.parametrize(("quality", "chroma"), [(75, "4:2:0"), (89, "4:2:0"), (90, "4:4:4")])
def test_jpeg_subsamples_chroma_below_quality_90(quality: int, chroma: str) -> None:
    out = images.encoded(encoded(PHOTO, OutputFormat.JPG, quality=quality))
    assert out.get("jpeg-chroma-subsample") == chroma


@pytest.mark.parametrize(
    ("fmt", "palette"),
    [(OutputFormat.PNG8, True), (OutputFormat.GIF, True), (OutputFormat.PNG, False)],
)
def test_palette_formats_are_palettes(fmt: OutputFormat, palette: bool) -> None:
    out = images.encoded(encoded(PHOTO, fmt))
    assert bool(out.get_typeof("palette") and out.get("palette")) is palette
    if not palette:
        assert out.get("bits-per-sample") == 8


@pytest.mark.parametrize("fmt", PICTURES)
def test_no_metadata_is_written(fmt: OutputFormat) -> None:
    source = with_metadata()
    assert source.get("exif-ifd0-Make").startswith("TestCam")  # else this proves nothing
    data = encoded(source, fmt)
    out = images.encoded(data)
    written = [f for f in out.get_fields() if f.startswith(("exif", "xmp", "icc", "orientation"))]
    assert written == []
    assert b"TestCam" not in data and b"TestXmp" not in data


@pytest.mark.parametrize("fmt", [f for f in PICTURES if f is not OutputFormat.GIF])
def test_the_profile_is_kept_when_asked(fmt: OutputFormat) -> None:
    p3 = images.encoded(images.display_p3(32, 32, (200, 40, 40)))
    profile = bytes(p3.get("icc-profile-data"))
    assert profile != SRGB_PROFILE
    out = images.encoded(encoded(p3, fmt, keep_profile=True))
    assert bytes(out.get("icc-profile-data")) == profile
    assert not images.encoded(encoded(p3, fmt)).get_typeof("icc-profile-data")


@pytest.mark.parametrize("fmt", [f for f in PICTURES if f is not OutputFormat.GIF])
def test_cs_srgb_attaches_the_srgb_profile(fmt: OutputFormat) -> None:
    out = images.encoded(
        encoded(images.photo(32, 32), fmt, keep_profile=True, colour_space=ColourSpace.SRGB)
    )
    assert bytes(out.get("icc-profile-data")) == SRGB_PROFILE


@pytest.mark.parametrize("fmt", PICTURES)
def test_grey_pictures_stay_grey(fmt: OutputFormat) -> None:
    grey = images.photo(64, 48).colourspace("b-w")
    out = images.encoded(encoded(grey, fmt))
    if out.bands >= 3:  # some formats store grey as RGB
        colours = out[0:3]
        assert difference(colours[0], colours[1]) <= 2 and difference(colours[1], colours[2]) <= 2
    assert ssim(out, grey) > 0.9


@pytest.mark.parametrize("fmt", [f for f in PICTURES if f.animates])
def test_animations_keep_their_frames_delays_and_loop(fmt: OutputFormat) -> None:
    out = pyvips.Image.new_from_buffer(encoded(images.animation(4, 120, 90), fmt), "", n=-1)
    assert (out.width, out.height, out.get("n-pages"), out.get("page-height")) == (120, 360, 4, 90)
    assert list(out.get("delay")) == [80] * 4 and out.get("loop") == 0
    for index, colour in enumerate(FRAME_COLOURS):
        found = out(2, index * 90 + 85)[:3]
        assert all(abs(f - c) <= 12 for f, c in zip(found, colour, strict=True)), index

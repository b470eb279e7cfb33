"""What comes out is right: the picture, its orientation, colours and metadata."""

from __future__ import annotations

import dataclasses
import time

import pytest
import pyvips
from aiohttp.test_utils import TestClient

from origin.errors import BadRequest, HTTPError
from origin.pipeline.header import SourceLimits
from origin.pipeline.probe import probe
from origin.pipeline.render import RenderLimits, render
from origin.spec import ColourSpace, Fit, OutputFormat, TransformSpec
from tests import images
from tests.conftest import Tenant, upload
from tests.golden import assert_matches_golden, ssim


async def _render(
    admin: TestClient, origin: TestClient, tenant: Tenant, data: bytes, query: str
) -> bytes:
    body = await upload(admin, tenant, data, activate="true")
    response = await origin.get(f"/{tenant.name}/{body['key']}?{query}")
    assert response.status == 200, await response.text()
    return await response.read()


@pytest.mark.parametrize(
    ("golden", "query"),
    [
        ("crop_300x300", "w=300&h=300&fit=crop&fm=png"),
        ("fill_240x240", "w=240&h=240&fit=fill&fm=png"),
    ],
)
async def test_golden(
    request: pytest.FixtureRequest,
    admin: TestClient,
    origin: TestClient,
    tenant: Tenant,
    golden: str,
    query: str,
) -> None:
    data = await _render(admin, origin, tenant, images.jpeg(1200, 800), query)
    assert_matches_golden(request.config, golden, data)


async def test_render_matches_a_plain_libvips_resize(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    """Independent of the golden files: the variant looks like libvips' own thumbnail."""
    source = images.jpeg(1200, 800)
    data = await _render(admin, origin, tenant, source, "w=400&fm=png")
    reference = pyvips.Image.thumbnail_buffer(source, 400)
    assert ssim(images.encoded(data), reference) > 0.98


def test_ssim_tells_pictures_apart() -> None:
    picture = images.photo(300, 200)
    assert ssim(picture, picture) == pytest.approx(1.0)
    assert ssim(picture, picture.flipver()) < 0.9
    assert ssim(picture, picture.gaussblur(3)) < 0.99


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
async def test_exif_orientation_is_applied_and_dropped(
    admin: TestClient, origin: TestClient, tenant: Tenant, orientation: int
) -> None:
    source = images.jpeg(600, 400, orientation=orientation)
    stored = pyvips.Image.new_from_buffer(source, "")
    assert stored.get("orientation") == orientation
    body = await upload(admin, tenant, source, activate="true")
    assert (body["width"], body["height"]) == (600, 400)  # as displayed
    response = await origin.get(f"/{tenant.name}/{body['key']}?w=300&fm=jpg")
    rendered = images.encoded(await response.read())
    assert (rendered.width, rendered.height) == (300, 200)
    assert not set(rendered.get_fields()) & {"orientation", "exif-data"}
    assert ssim(rendered, images.photo(600, 400).thumbnail_image(300)) > 0.95
    top = rendered.crop(0, 0, rendered.width, 8).avg()
    assert top < 60, f"orientation {orientation}: the dark bar is not on top ({top:.0f})"


async def test_metadata_is_stripped(admin: TestClient, origin: TestClient, tenant: Tenant) -> None:
    source = images.jpeg(300, 200, orientation=1)
    assert "exif-data" in pyvips.Image.new_from_buffer(source, "").get_fields()
    for query in ("", "w=100", "w=100&fm=webp", "w=100&fm=png"):
        data = await _render(admin, origin, tenant, source, query)
        fields = set(images.encoded(data).get_fields())
        assert not fields & {"exif-data", "xmp-data", "iptc-data"}, query


async def test_alpha_is_flattened_onto_white_for_jpeg(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    source = images.png_with_alpha(400, 300)
    jpeg = images.encoded(await _render(admin, origin, tenant, source, "fm=jpg"))
    assert jpeg.bands == 3
    assert jpeg.crop(0, 0, 40, 40).min() > 245  # the transparent border became white
    png = images.encoded(await _render(admin, origin, tenant, source, "w=200"))
    assert png.bands == 4 and png.hasalpha()
    assert png.extract_band(3).crop(0, 0, 20, 20).max() == 0  # still transparent


async def test_no_parameters_reencodes_in_the_source_format(
    admin: TestClient, origin: TestClient, tenant: Tenant
) -> None:
    for maker, mime in (
        (lambda: images.photo(120, 80).webpsave_buffer(), "image/webp"),
        (lambda: images.photo(120, 80).gifsave_buffer(), "image/gif"),
        (lambda: images.photo(120, 80).tiffsave_buffer(), "image/png"),
    ):
        body = await upload(admin, tenant, maker(), activate="true")
        response = await origin.get(f"/{tenant.name}/{body['key']}")
        assert response.headers["Content-Type"] == mime
        rendered = images.encoded(await response.read())
        assert (rendered.width, rendered.height) == (120, 80)


LIMITS = RenderLimits(SourceLimits(10**8), max_output_pixels=10**8, timeout=20)


PICTURES = [f for f in OutputFormat if f.is_picture]


def test_sixteen_bit_and_grey_sources_render() -> None:
    sixteen = (images.photo(64, 48).cast("ushort") * 256).cast("ushort")
    grey = images.photo(64, 48).colourspace("b-w")
    sixteen_png = sixteen.copy(interpretation="rgb16").pngsave_buffer()
    assert images.encoded(sixteen_png).format == "ushort"
    for source in (sixteen_png, grey.jpegsave_buffer()):
        probe(source, SourceLimits(10**8))
        for fmt in PICTURES:
            data = render(source, TransformSpec(width=32, format=fmt), LIMITS)
            out = images.encoded(data)
            assert out.width == 32 and out.format == "uchar"


def test_a_render_past_its_deadline_is_abandoned() -> None:
    source = images.jpeg(400, 300)
    spec = TransformSpec(width=4000, height=4000, fit=Fit.SCALE, format=OutputFormat.WEBP)
    started = time.monotonic()
    with pytest.raises(HTTPError) as caught:
        render(source, spec, dataclasses.replace(LIMITS, timeout=0.001))
    assert (caught.value.status, caught.value.code) == (503, "render_timeout")
    assert time.monotonic() - started < 2  # abandoned, not finished (about 3 s here)


@pytest.mark.parametrize(
    ("spec", "limit"),
    [
        (TransformSpec(width=5000, height=5000, fit=Fit.SCALE, format=OutputFormat.PNG), 10**7),
        (TransformSpec(width=2100, height=2000, fit=Fit.SCALE, format=OutputFormat.GIF), 10**8),
    ],
)
def test_output_pixel_budgets(spec: TransformSpec, limit: int) -> None:
    with pytest.raises(BadRequest) as caught:
        render(images.jpeg(100, 100), spec, dataclasses.replace(LIMITS, max_output_pixels=limit))
    assert caught.value.code == "output_too_large"


def test_probe_refuses_what_no_render_could_use() -> None:
    nine_bands = pyvips.Image.black(32, 32, bands=9).cast("uchar").tiffsave_buffer()
    with pytest.raises(HTTPError) as caught:
        probe(nine_bands, SourceLimits(10**8))
    assert (caught.value.status, caught.value.code) == (422, "undecodable_image")


def test_all_frames_of_an_animation_share_the_output_budget() -> None:
    gif = images.animated_gif(8, 40, 40)
    limits = RenderLimits(SourceLimits(10**8), max_output_pixels=100 * 100 * 8, timeout=20)
    fits = TransformSpec(width=100, height=100, fit=Fit.SCALE, format=OutputFormat.WEBP)
    assert images.encoded(render(gif, fits, limits)).width == 100
    with pytest.raises(BadRequest) as refused:
        render(gif, dataclasses.replace(fits, width=101), limits)
    assert refused.value.code == "output_too_large"


def _damaged_after_first_frame(gif: bytes) -> bytes:
    """`gif` with one byte of a later frame changed so that frame cannot be decoded,
    while the first still can: found by trying, from the end."""
    for at in range(len(gif) - 2, len(gif) // 2, -1):
        damaged = gif[:at] + bytes([gif[at] ^ 0xFF]) + gif[at + 1 :]
        try:
            images.encoded(damaged).avg()
        except pyvips.Error:
            continue  # the first frame broke too
        try:
            pyvips.Image.new_from_buffer(damaged, "", n=-1).avg()
        except pyvips.Error:
            return damaged
    raise AssertionError("no byte of a later frame breaks it")


def test_an_animation_damaged_after_its_first_frame_is_refused_at_upload() -> None:
    damaged = _damaged_after_first_frame(images.animated_gif(4, 120, 90))
    assert images.encoded(damaged).avg() >= 0  # the first frame still reads
    with pytest.raises(HTTPError) as refused:
        probe(damaged, SourceLimits(10**8))
    assert refused.value.code == "undecodable_image"


def test_gif_keeps_no_wide_gamut_colours_it_cannot_label() -> None:
    """cs=origin keeps P3 pixels with their profile; GIF has no profile, so it gets
    sRGB pixels rather than P3 ones read as sRGB (too dull, or too bright)."""
    p3 = images.display_p3(16, 16, (255, 0, 0))
    spec = TransformSpec(format=OutputFormat.GIF, colour_space=ColourSpace.ORIGIN)
    red = images.encoded(render(p3, spec, LIMITS)).getpoint(8, 8)[:3]
    assert red[0] > 250 and red[1] < 10 and red[2] < 10


def test_a_heic_is_decoded_once_per_upload_and_per_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HEVC has no shrink-on-load: each decode is of the whole picture, so the probe,
    the analysis, trim and the load share one."""
    from admin_api.service import _analyse_and_hash
    from origin.pipeline import source

    decodes = []
    decode = source._heif_image
    monkeypatch.setattr(source, "_heif_image", lambda data: decodes.append(1) or decode(data))
    heic = images.heic()
    _analyse_and_hash(heic, SourceLimits(10**8), None, False)
    assert len(decodes) == 1
    render(heic, TransformSpec(width=50, trim=True, format=OutputFormat.JPG), LIMITS)
    assert len(decodes) == 2
